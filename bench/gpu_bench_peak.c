/*
 * gpu_bench_peak.c: a Vulkan device's fp32 peak for the GPU benchmark, measured with
 * the FmaPeak kernel of the test domain (src/backends/vulkan/vk_ops_test.c,
 * shaders/fma_peak.comp) through the backend interface: one node, no copies, one
 * submission per timing. Flops: invocations x iters x 128.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/tensor_impl.h"
#include "bench/gpu_bench.h"
#include "model/graph.h"
#include "runtime/backend.h"

#define FLOPS_PER_ITER 128.0

double gb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct peak_run {
    const lg_backend_i *vk;
    lg_device *d;
    lg_attr attr;
    lg_node node;
    lg_dev_node dn;
} peak_run;

/* Seconds of one submission of FmaPeak with iters. */
static int time_once(peak_run *p, uint32_t iters, double *secs)
{
    p->attr.i = iters;
    lg_dev_graph g = { 0, NULL, 1, &p->dn, 0, NULL };
    double t0 = gb_now();
    LG_CHECK(p->vk->graph_compute(p->d, &g));
    *secs = gb_now() - t0;
    return LG_OK;
}

/* The fastest of n submissions. */
static int time_best(peak_run *p, uint32_t iters, int n, double *best)
{
    *best = 1e30;
    for (int i = 0; i < n; i++) {
        double t;
        LG_CHECK(time_once(p, iters, &t));
        if (t < *best) *best = t;
    }
    return LG_OK;
}

static int measure(peak_run *p, int64_t inv, double target_s, gb_peak *out)
{
    double t0, t;
    LG_CHECK(time_best(p, 0, 3, &t0));
    /* Calibration: grow iters until the arithmetic takes a measurable 20 ms. */
    uint32_t iters = 16;
    LG_CHECK(time_once(p, iters, &t));
    while (t - t0 < 0.02 && iters < (1u << 26)) {
        iters *= 4;
        LG_CHECK(time_once(p, iters, &t));
    }
    double scale = target_s / (t - t0 > 1e-6 ? t - t0 : 1e-6);
    double want = (double)iters * (scale > 1 ? scale : 1);
    out->iters = want > (double)(1u << 30) ? (1u << 30) : (uint32_t)want;
    out->invocations = inv;
    out->overhead_s = t0;
    LG_CHECK(time_best(p, out->iters, 3, &out->seconds));
    double work = out->seconds - t0 > 1e-9 ? out->seconds - t0 : out->seconds;
    out->gflops = (double)inv * out->iters * FLOPS_PER_ITER / work / 1e9;
    return LG_OK;
}

int gb_measure_peak(int dev, bool software, double target_s, gb_peak *out)
{
    memset(out, 0, sizeof(*out));
    peak_run p = { .vk = lg_backend_find("vulkan") };
    if (!p.vk) return lg_error(LG_E_UNSUPPORTED, "this build has no Vulkan backend");
    lg_device_config cfg = { .precision = LG_PRECISION_FP32 };
    LG_CHECK(p.vk->device_open(dev, &cfg, &p.d));
    /* A big GPU keeps ~100k invocations resident (H200: 132 SMs x 2048): 1M is several
     * full waves. lavapipe runs invocations on the CPU's threads: 16k is plenty. */
    int64_t inv = software ? 256 * 64 : 256 * 4096;
    lg_buffer *buf = NULL;
    lg_tensor *y = lg_tensor_new_empty();
    int rc = y ? p.vk->buffer_alloc(p.d, p.vk->storage_bytes(p.d, LG_FLOAT, inv), &buf)
               : lg_error(LG_E_NOMEM, "out of memory");
    if (rc == LG_OK) {
        y->dtype = LG_FLOAT;
        y->ndim = 1;
        y->dims[0] = inv;
        y->buf = buf;
        y->offset = 0;
        p.attr = (lg_attr){ .name = "iters", .type = LG_ATTR_INT, .i = 1 };
        p.node = (lg_node){ .name = "fma_peak", .op_type = "FmaPeak", .domain = "ai.legacygpu.test", .opset = 1,
                            .n_attrs = 1, .attrs = &p.attr };
        lg_tensor *outs[1] = { y };
        p.dn = (lg_dev_node){ .node = &p.node, .opset = 1, .n_outputs = 1, .outputs = outs };
        uint32_t host_in = 0;
        if (!p.vk->supports_node(p.d, &p.node, 1, 0, NULL, 1, (const lg_tensor *const *)outs, &host_in))
            rc = lg_error(LG_E_UNSUPPORTED, "vulkan: the FmaPeak test kernel is missing from this build");
        if (rc == LG_OK) rc = p.vk->node_prepare(p.d, &p.dn, &p.dn.state);
        if (rc == LG_OK) rc = measure(&p, inv, target_s, out);
        if (p.dn.state) p.vk->node_release(p.d, p.dn.state);
    }
    if (buf) p.vk->buffer_free(p.d, buf);
    lg_tensor_free(y);
    p.vk->device_close(p.d);
    return rc;
}
