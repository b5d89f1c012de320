/*
 * vk_ops_test.c: the device layer's own kernels, ops of the private domain
 * "ai.legacygpu.test" that no model uses:
 *   - "Scale": Y = X * alpha + beta on float tensors (shaders/test_scale.comp);
 *     tests/unit/test_vulkan_device.c runs it to prove uploads, a pipeline with push and
 *     specialisation constants, recording and downloads end to end.
 *   - "FmaPeak": no inputs, output Y (float, n elements, one invocation each); attribute
 *     `iters` (default 1): each invocation runs iters x 64 fp32 FMAs (128 flops per
 *     iteration, FMA_PEAK_FLOPS_PER_ITER) and stores one value (shaders/fma_peak.comp).
 *     bench/gpu_bench.c times it to measure the device's fp32 peak.
 */
#include "backends/vulkan/vk.h"
#include "base/error.h"
#include "model/graph.h"

#define SCALE_WG 64
#define FMA_PEAK_WG 256

static bool scale_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                           int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    *host_inputs = 0;
    return n_in == 1 && n_out == 1 && in[0] && out[0] && in[0]->dtype == LG_FLOAT && out[0]->dtype == LG_FLOAT &&
           lg_tensor_numel_(in[0]) == lg_tensor_numel_(out[0]);
}

static int scale_prepare(lg_device *d, const lg_dev_node *dn, void **state)
{
    /* Built here once per session, so recording never builds pipelines. */
    lg_vk_pipeline *p;
    const uint32_t spec[1] = { SCALE_WG };
    LG_CHECK(lg_vk_pipeline_get(d, "test_scale", 2, 12, 1, spec, &p));
    *state = p;
    return LG_OK;
}

static int scale_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    lg_vk_pipeline *p = dn->state;
    if (!p) LG_CHECK(scale_prepare(d, dn, (void **)&p));
    struct {
        uint32_t n;
        float alpha, beta;
    } push = { (uint32_t)lg_tensor_numel_(dn->inputs[0]), lg_attr_float(dn->node, "alpha", 1.0f),
               lg_attr_float(dn->node, "beta", 0.0f) };
    lg_vk_binding b[2] = { lg_vk_bind_tensor(d, dn->inputs[0]), lg_vk_bind_tensor(d, dn->outputs[0]) };
    return lg_vk_dispatch(r, p, 2, b, &push, sizeof(push), lg_vk_groups(push.n, SCALE_WG), 1, 1);
}

static bool fma_peak_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                              int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    *host_inputs = 0;
    return n_in == 0 && n_out == 1 && out[0] && out[0]->dtype == LG_FLOAT && lg_tensor_numel_(out[0]) > 0 &&
           lg_tensor_numel_(out[0]) <= (int64_t)FMA_PEAK_WG * 65535 && lg_attr_int(n, "iters", 1) >= 0 &&
           lg_attr_int(n, "iters", 1) <= UINT32_MAX;
}

static int fma_peak_prepare(lg_device *d, const lg_dev_node *dn, void **state)
{
    lg_vk_pipeline *p;
    const uint32_t spec[1] = { FMA_PEAK_WG };
    LG_CHECK(lg_vk_pipeline_get(d, "fma_peak", 1, 16, 1, spec, &p));
    *state = p;
    return LG_OK;
}

static int fma_peak_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    lg_vk_pipeline *p = dn->state;
    if (!p) LG_CHECK(fma_peak_prepare(d, dn, (void **)&p));
    struct {
        uint32_t n, iters;
        float a, b;
    } push = { (uint32_t)lg_tensor_numel_(dn->outputs[0]), (uint32_t)lg_attr_int(dn->node, "iters", 1), 0.999f,
               0.001f };
    lg_vk_binding b = lg_vk_bind_tensor(d, dn->outputs[0]);
    return lg_vk_dispatch(r, p, 1, &b, &push, sizeof(push), lg_vk_groups(push.n, FMA_PEAK_WG), 1, 1);
}

const lg_vk_op lg_vk_ops_test[] = {
    { "Scale", "ai.legacygpu.test", 1, 1000, scale_supports, scale_prepare, NULL, scale_record, NULL },
    { "FmaPeak", "ai.legacygpu.test", 1, 1000, fma_peak_supports, fma_peak_prepare, NULL, fma_peak_record, NULL },
    { 0 },
};
