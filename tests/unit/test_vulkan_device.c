/*
 * test_vulkan_device.c: the Vulkan device layer on the machine's Vulkan device (lavapipe
 * in CI), with the Khronos validation layer on and no message allowed: enumeration and
 * LEGACYGPU_VK_DEVICES, caps, buffer sub-allocation and alignment, the memory cap giving
 * a clear out-of-memory error, the weights cache shared between sessions, the pipeline
 * cache file written then reused (and a corrupt one ignored), graph_compute (upload,
 * the test kernel, download) in fp32 and fp16 storage, SMALL_SUBMITS splitting, and a
 * validation message failing the next device call. Settings read once per process
 * (environment variables) run in a child: this binary re-executed with --child MODE.
 * Exit 77 (skipped) only when the machine has no Vulkan device.
 */
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lg_test.h"

#ifndef LG_HAVE_VULKAN
int main(void)
{
    printf("test_vulkan_device: skipped: this build has no Vulkan backend (LG_VULKAN=OFF)\n");
    return 77;
}
#else

#include "backends/vulkan/vk_internal.h"
#include "base/tensor_impl.h"
#include "model/graph.h"

static const lg_backend_i *vk;
static char cache_home[] = "/tmp/lg_vkhome_XXXXXX"; /* pipeline caches of this run */

/* ---- helpers ------------------------------------------------------------------------ */

static lg_device *open_dev(lg_precision prec)
{
    lg_device_config cfg = { .precision = prec };
    lg_device *d = NULL;
    int rc = vk->device_open(0, &cfg, &d);
    if (rc != LG_OK) fail_msg("device_open: %s", lg_last_error());
    return d;
}

static lg_tensor *dev_tensor(lg_device *d, lg_buffer *buf, uint64_t offset, int64_t n)
{
    lg_tensor *t = lg_tensor_new_empty();
    t->dtype = LG_FLOAT;
    t->ndim = 1;
    t->dims[0] = n;
    t->buf = buf;
    t->offset = offset;
    return t;
}

static lg_tensor *host_tensor(int64_t n)
{
    lg_tensor *t = lg_tensor_new_empty();
    assert_int_equal(lg_tensor_reset(t, LG_FLOAT, 1, (int64_t[]){ n }), LG_OK);
    return t;
}

static lg_attr scale_attrs[2] = {
    { .name = "alpha", .type = LG_ATTR_FLOAT, .f = 2.0f },
    { .name = "beta", .type = LG_ATTR_FLOAT, .f = 0.5f },
};
static lg_node scale_node = {
    .name = "scale0", .op_type = "Scale", .domain = "ai.legacygpu.test", .opset = 1, .n_attrs = 2, .attrs = scale_attrs,
};

/* x -> Scale(alpha, beta) -> ... (n_nodes times, ping-pong between two device tensors)
 * -> y, checked against the same arithmetic in double within tol. */
static void run_chain(lg_device *d, int64_t n, int n_nodes, float alpha, float beta, double tol)
{
    scale_attrs[0].f = alpha;
    scale_attrs[1].f = beta;
    uint64_t bytes = vk->storage_bytes(d, LG_FLOAT, n), align = vk->alignment(d);
    uint64_t slot = (bytes + align - 1) / align * align;
    lg_buffer *buf;
    assert_int_equal(vk->buffer_alloc(d, 2 * slot, &buf), LG_OK);
    lg_tensor *a = dev_tensor(d, buf, 0, n), *b = dev_tensor(d, buf, slot, n);
    lg_tensor *x = host_tensor(n), *y = host_tensor(n);
    float *xv = x->data;
    for (int64_t i = 0; i < n; i++) xv[i] = (float)((i % 97) - 48) / 16.0f;

    lg_dev_node *nodes = calloc((size_t)n_nodes, sizeof(*nodes));
    const lg_tensor *ins[2][1] = { { a }, { b } };
    lg_tensor *outs[2][1] = { { b }, { a } };
    for (int k = 0; k < n_nodes; k++) {
        nodes[k] = (lg_dev_node){ .node = &scale_node, .opset = 1, .n_inputs = 1, .inputs = ins[k % 2], .n_outputs = 1,
                                  .outputs = outs[k % 2] };
        uint32_t host_in = 7;
        assert_true(vk->supports_node(d, &scale_node, 1, 1, ins[k % 2], 1, (const lg_tensor *const *)outs[k % 2], &host_in));
        assert_int_equal(host_in, 0);
        assert_int_equal(vk->node_prepare(d, &nodes[k], &nodes[k].state), LG_OK);
    }
    lg_dev_copy up = { x, a }, down = { y, n_nodes % 2 ? b : a };
    lg_dev_graph g = { 1, &up, n_nodes, nodes, 1, &down };
    int rc = vk->graph_compute(d, &g);
    if (rc != LG_OK) fail_msg("graph_compute: %s", lg_last_error());
    const float *yv = y->data;
    for (int64_t i = 0; i < n; i++) {
        double want = xv[i];
        for (int k = 0; k < n_nodes; k++) want = want * alpha + beta;
        if (fabs(yv[i] - want) > tol * (1 + fabs(want))) fail_msg("y[%lld] = %g, want %g", (long long)i, yv[i], want);
    }
    for (int k = 0; k < n_nodes; k++) vk->node_release(d, nodes[k].state);
    free(nodes);
    lg_tensor_free(x);
    lg_tensor_free(y);
    lg_tensor_free(a);
    lg_tensor_free(b);
    vk->buffer_free(d, buf);
}

/* Runs this binary with --child mode under env ("NAME=VALUE" or NULL); its exit status,
 * its stdout and stderr in out. */
static int child(const char *mode, const char *env1, const char *env2, char *out, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "env %s %s /proc/%d/exe --child %s 2>&1", env1 ? env1 : "", env2 ? env2 : "", (int)getpid(),
             mode);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_enumeration_and_caps(void **state)
{
    (void)state;
    int n = vk->device_count();
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        char name[256];
        assert_int_equal(vk->device_name(i, name, sizeof(name)), LG_OK);
        const lg_vk_caps *c = lg_vk_caps_of(i);
        assert_non_null(c);
        assert_string_equal(name, c->name);
        assert_true(c->max_storage_range >= (1u << 20));
        assert_true(c->min_storage_align >= 16 && (c->min_storage_align & (c->min_storage_align - 1)) == 0);
        assert_true(c->subgroup_min >= 1 && c->subgroup_min <= c->subgroup_max);
        assert_true(c->n_heaps >= 1 && c->device_local_bytes > 0 && c->max_alloc_bytes > 0);
        assert_true(c->api_version >= VK_API_VERSION_1_1);
        json_t *j = vk->device_describe(i);
        assert_non_null(j);
        static const char *const keys[] = { "index", "name", "vendor", "vendor_id", "device_id", "driver_name",
                                            "driver_info", "driver_version", "type", "api_version", "heaps",
                                            "max_allocation_bytes", "max_storage_buffer_range", "subgroup_size",
                                            "storage16", "fp16", "int8", "arch", "quirks" };
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (!json_object_get(j, keys[k])) fail_msg("describe lacks '%s'", keys[k]);
        assert_int_equal(json_array_size(json_object_get(j, "heaps")), (size_t)c->n_heaps);
        if (c->arch == LG_VK_ARCH_LLVMPIPE) {
            /* lavapipe: never chosen by auto; fp16 arithmetic off by the quirks table. */
            assert_false(vk->device_auto(i));
            assert_true(c->quirks & LG_VK_QUIRK_NO_FP16);
            assert_string_equal(json_string_value(json_object_get(j, "arch")), "llvmpipe");
            assert_string_equal(json_string_value(json_array_get(json_object_get(j, "quirks"), 0)), "no_fp16");
        }
        json_decref(j);
    }
    assert_null(vk->device_describe(n));
    lg_device *d = NULL;
    assert_error(vk->device_open(n, NULL, &d), LG_E_NOT_FOUND, "no device");
    assert_null(d);
}

/* The arch classes and the quirks table on the devices it was written for. */
static void test_arch_and_quirks_table(void **state)
{
    (void)state;
    static const struct {
        uint32_t vendor, driver, sg_min, sg_max, cus;
        const char *name;
        lg_vk_arch arch;
        uint32_t quirks;
    } cases[] = {
        { 0x1002, VK_DRIVER_ID_MESA_RADV, 64, 64, 36, "AMD Radeon RX 580 Series (RADV POLARIS10)", LG_VK_ARCH_AMD_GCN,
          LG_VK_QUIRK_BINDING_MARGIN | LG_VK_QUIRK_NO_FP16 },
        { 0x1002, VK_DRIVER_ID_MESA_RADV, 64, 64, 16, "AMD Radeon Pro 555X (RADV POLARIS11)", LG_VK_ARCH_AMD_GCN,
          LG_VK_QUIRK_BINDING_MARGIN | LG_VK_QUIRK_NO_FP16 | LG_VK_QUIRK_SMALL_SUBMITS },
        { 0x1002, VK_DRIVER_ID_MESA_RADV, 64, 64, 64, "AMD Radeon RX Vega (RADV VEGA10)", LG_VK_ARCH_AMD_GCN,
          LG_VK_QUIRK_BINDING_MARGIN },
        { 0x1002, VK_DRIVER_ID_AMD_PROPRIETARY, 64, 64, 36, "Radeon RX 580 Series", LG_VK_ARCH_AMD_GCN,
          LG_VK_QUIRK_BINDING_MARGIN | LG_VK_QUIRK_NO_FP16 },
        { 0x1002, VK_DRIVER_ID_MESA_RADV, 32, 64, 40, "AMD Radeon RX 5700 XT (RADV NAVI10)", LG_VK_ARCH_AMD_RDNA, 0 },
        { 0x10de, VK_DRIVER_ID_NVIDIA_PROPRIETARY, 32, 32, 0, "NVIDIA GeForce GTX 1080", LG_VK_ARCH_NVIDIA_PRE_TURING,
          LG_VK_QUIRK_NO_FP16 },
        { 0x10de, VK_DRIVER_ID_NVIDIA_PROPRIETARY, 32, 32, 0, "NVIDIA GeForce RTX 2080", LG_VK_ARCH_NVIDIA_TURING, 0 },
        { 0x8086, VK_DRIVER_ID_INTEL_OPEN_SOURCE_MESA, 8, 32, 0, "Intel(R) UHD Graphics 620 (KBL GT2)", LG_VK_ARCH_INTEL, 0 },
        { 0x10005, VK_DRIVER_ID_MESA_LLVMPIPE, 8, 8, 0, "llvmpipe (LLVM 15.0.6, 256 bits)", LG_VK_ARCH_LLVMPIPE,
          LG_VK_QUIRK_NO_FP16 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lg_vk_caps c = { .vendor_id = cases[i].vendor, .driver_id = cases[i].driver, .subgroup_min = cases[i].sg_min,
                         .subgroup_max = cases[i].sg_max, .compute_units = cases[i].cus,
                         .max_storage_range = 0xffffffffull };
        snprintf(c.name, sizeof(c.name), "%s", cases[i].name);
        lg_vk_classify(&c, false);
        lg_vk_apply_limits(&c);
        if (c.arch != cases[i].arch || c.quirks != cases[i].quirks)
            fail_msg("%s: arch %s quirks 0x%x, want %s 0x%x", cases[i].name, lg_vk_arch_name(c.arch), c.quirks,
                     lg_vk_arch_name(cases[i].arch), cases[i].quirks);
        assert_true(c.max_storage_range == ((c.quirks & LG_VK_QUIRK_BINDING_MARGIN) ? 1ull << 31 : 0xffffffffull));
    }
    assert_string_equal(lg_vk_quirk_name(LG_VK_QUIRK_SMALL_SUBMITS), "small_submits");
    assert_null(lg_vk_quirk_name(1u << 30));
}

static void test_binding_cap(void **state)
{
    (void)state;
    char out[4096];
    int st = child("binding", "LEGACYGPU_VK_MAX_BINDING_MB=1", NULL, out, sizeof(out));
    if (st != 0) fail_msg("child binding: exit %d: %s", st, out);
    assert_non_null(strstr(out, "max_storage_range=1048576"));
    assert_non_null(strstr(out, "LG_E_LIMIT vulkan: shader 'test_scale' running node 'scale0' (Scale): binding 0 is "
                                "1200000 bytes, '"));
}

static void test_visible_devices(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(child("count", "LEGACYGPU_VK_DEVICES=0", NULL, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "count=1\n"));
    assert_int_equal(child("count", "LEGACYGPU_VK_DEVICES=0,0", NULL, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "count=1\n"));
    /* A bad index: one clear message, and no device. */
    assert_int_equal(child("count", "LEGACYGPU_VK_DEVICES=99", NULL, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "LEGACYGPU_VK_DEVICES='99': expected a comma list of device indices"));
    assert_non_null(strstr(out, "count=0\n"));
}

static void test_buffers_and_alignment(void **state)
{
    (void)state;
    lg_device *d = open_dev(LG_PRECISION_FP32);
    uint64_t align = vk->alignment(d), base = lg_vk_memory_in_use(d);
    assert_true(align >= 16);
    assert_true(vk->max_buffer_bytes(d) <= (1ull << 30));
    lg_buffer *b[8];
    static const uint64_t sizes[8] = { 1, 3, 100, 4096, 1 << 20, 17, 5 << 20, 64 };
    for (int i = 0; i < 8; i++) {
        assert_int_equal(vk->buffer_alloc(d, sizes[i], &b[i]), LG_OK);
        assert_true(b[i]->offset % align == 0 && b[i]->size >= sizes[i]);
        for (int k = 0; k < i; k++) /* no overlap with any live buffer of the same block */
            if (b[k]->block == b[i]->block)
                assert_true(b[k]->offset + b[k]->size <= b[i]->offset || b[i]->offset + b[i]->size <= b[k]->offset);
    }
    assert_true(lg_vk_memory_in_use(d) > base);
    /* Free every other one, then the rest: the blocks go back to the driver. */
    for (int i = 0; i < 8; i += 2) vk->buffer_free(d, b[i]);
    lg_buffer *again;
    assert_int_equal(vk->buffer_alloc(d, 50, &again), LG_OK);
    assert_true(again->offset % align == 0);
    vk->buffer_free(d, again);
    for (int i = 1; i < 8; i += 2) vk->buffer_free(d, b[i]);
    assert_int_equal(lg_vk_memory_in_use(d), base);
    lg_buffer *huge;
    assert_error(vk->buffer_alloc(d, vk->max_buffer_bytes(d) + 1, &huge), LG_E_NOMEM, "larger than one allocation");
    vk->device_close(d);
}

static void test_memory_cap(void **state)
{
    (void)state;
    char out[4096];
    int st = child("oom", "LEGACYGPU_VK_MEM_LIMIT_MB=8", NULL, out, sizeof(out));
    if (st != 0) fail_msg("child oom: exit %d: %s", st, out);
    /* The message names what, its size, the device and the heap with the cap. */
    assert_non_null(strstr(out, "LG_E_NOMEM vulkan: cannot allocate 16.0 MiB for activations on '"));
    assert_non_null(strstr(out, "limited to 8.0 MiB by LEGACYGPU_VK_MEM_LIMIT_MB"));
    assert_non_null(strstr(out, "in use"));
    assert_non_null(strstr(out, "weights of node 'conv1'"));
}

static void test_weights_shared(void **state)
{
    (void)state;
    lg_device *d1 = open_dev(LG_PRECISION_FP32), *d2 = open_dev(LG_PRECISION_FP32);
    lg_device *h = open_dev(LG_PRECISION_FP16);
    bool direct = d1->ctx->direct;
    d1->ctx->direct = false; /* weights through staging (the direct path: graph tests) */
    uint64_t base = lg_vk_memory_in_use(d1);
    static float w[1000];
    for (int i = 0; i < 1000; i++) w[i] = (float)i;
    lg_vk_weight *a, *b, *c, *e;
    assert_int_equal(lg_vk_weights_upload_f32(d1, w, 0, w, 1000, &a), LG_OK);
    uint64_t one = lg_vk_memory_in_use(d1);
    assert_int_equal(lg_vk_weights_upload_f32(d2, w, 0, w, 1000, &b), LG_OK);
    assert_ptr_equal(a, b); /* same model, same device: one copy */
    assert_int_equal(lg_vk_memory_in_use(d1), one);
    assert_int_equal(lg_vk_weight_binding(a).range, 4000);
    assert_int_equal(lg_vk_weights_upload_f32(d1, w, 1, w, 1000, &c), LG_OK); /* other variant */
    assert_ptr_not_equal(a, c);
    assert_int_equal(lg_vk_weights_upload_f32(h, w, 0, w, 1000, &e), LG_OK);  /* fp16 session */
    assert_ptr_not_equal(a, e);
    assert_int_equal(lg_vk_weight_binding(e).range, 2000);
    /* The bytes on the device are the weights (read back as a download). */
    lg_device *readers[2] = { d1, h };
    lg_vk_weight *ws[2] = { a, e };
    for (int k = 0; k < 2; k++) {
        lg_vk_binding wb = lg_vk_weight_binding(ws[k]);
        lg_tensor *t = dev_tensor(readers[k], (lg_buffer *)wb.buf, wb.offset, 1000), *back = host_tensor(1000);
        lg_dev_copy down = { back, t };
        lg_dev_graph g = { 0, NULL, 0, NULL, 1, &down };
        assert_int_equal(vk->graph_compute(readers[k], &g), LG_OK);
        for (int i = 0; i < 1000; i++) assert_float_equal(((float *)back->data)[i], w[i], k ? 0.5 : 0);
        lg_tensor_free(t);
        lg_tensor_free(back);
    }
    lg_vk_weights_release(d1, a);
    lg_vk_weights_release(d1, c);
    lg_vk_weights_release(h, e);
    assert_true(lg_vk_memory_in_use(d1) > base || one == base); /* b still holds it */
    lg_vk_weights_release(d2, b);
    assert_int_equal(lg_vk_memory_in_use(d1), base);
    d1->ctx->direct = direct;
    vk->device_close(h);
    vk->device_close(d2);
    vk->device_close(d1);
}

static void test_pipeline_cache_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/lg_vkcache_XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("XDG_CACHE_HOME", dir, 1);
    lg_device *d = open_dev(LG_PRECISION_FP32);
    char path[512];
    snprintf(path, sizeof(path), "%s", lg_vk_pipeline_cache_path(d));
    assert_true(strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "/legacygpu/vk-"));
    assert_int_equal(lg_vk_pipeline_cache_loaded(d), 0);
    lg_vk_pipeline *p;
    const uint32_t spec[1] = { 32 };
    assert_int_equal(lg_vk_pipeline_get(d, "test_scale", 2, 12, 1, spec, &p), LG_OK);
    lg_vk_pipeline *again;
    assert_int_equal(lg_vk_pipeline_get(d, "test_scale", 2, 12, 1, spec, &again), LG_OK);
    assert_ptr_equal(p, again);
    assert_error(lg_vk_pipeline_get(d, "no_such_shader", 1, 0, 0, NULL, &p), LG_E_UNSUPPORTED, "no shader 'no_such_shader'");
    vk->device_close(d); /* last session: the context closes and saves the cache */
    struct stat st; /* lavapipe's cache holds just the 32-byte header; real drivers more */
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size >= 32);

    d = open_dev(LG_PRECISION_FP32);
    assert_int_equal(lg_vk_pipeline_cache_loaded(d), (uint64_t)st.st_size);
    vk->device_close(d);

    /* A corrupt file is ignored, and replaced by a good one at close. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a pipeline cache, but it is long enough to look like one", f);
    fclose(f);
    d = open_dev(LG_PRECISION_FP32);
    assert_int_equal(lg_vk_pipeline_cache_loaded(d), 0);
    assert_int_equal(lg_vk_pipeline_get(d, "test_scale", 2, 12, 1, spec, &p), LG_OK);
    vk->device_close(d);
    d = open_dev(LG_PRECISION_FP32);
    assert_true(lg_vk_pipeline_cache_loaded(d) >= 32);
    vk->device_close(d);
    unlink(path);
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/legacygpu", dir);
    rmdir(sub);
    rmdir(dir);
    setenv("XDG_CACHE_HOME", cache_home, 1);
}

static void test_graph_compute_fp32(void **state)
{
    (void)state;
    lg_device *d = open_dev(LG_PRECISION_FP32);
    assert_false(lg_vk_fp16_storage(d));
    assert_int_equal(lg_vk_device_variant(d), LG_VK_VARIANT_FP32);
    /* Both copy paths: direct (device memory the host sees: lavapipe) and staging. */
    bool direct = d->ctx->direct;
    for (int pass = 0; pass < 2; pass++) {
        d->ctx->direct = pass == 0 && direct;
        run_chain(d, 1000, 1, 2.0f, 0.5f, 1e-6);
        run_chain(d, 1, 3, 2.0f, 0.5f, 1e-6);
        run_chain(d, 100003, 5, -1.5f, 0.25f, 1e-6); /* several workgroups, odd size */
    }
    d->ctx->direct = direct;
    vk->device_close(d);
}

static void test_graph_compute_fp16_storage(void **state)
{
    (void)state;
    lg_device *d = open_dev(LG_PRECISION_FP16);
    const lg_vk_caps *c = lg_vk_device_caps(d);
    if (!c->storage16) {
        assert_false(lg_vk_fp16_storage(d));
        vk->device_close(d);
        skip();
    }
    assert_true(lg_vk_fp16_storage(d));
    assert_int_equal(vk->storage_bytes(d, LG_FLOAT, 10), 20);
    assert_int_equal(vk->storage_bytes(d, LG_INT64, 10), 80);
    /* lavapipe: fp16 storage, fp32 arithmetic (NO_FP16 quirk). */
    if (c->quirks & LG_VK_QUIRK_NO_FP16) assert_int_equal(lg_vk_device_variant(d), LG_VK_VARIANT_FP16);
    bool direct = d->ctx->direct;
    for (int pass = 0; pass < 2; pass++) {
        d->ctx->direct = pass == 0 && direct;
        run_chain(d, 4097, 1, 2.0f, 0.5f, 2e-3);
        run_chain(d, 333, 2, -0.5f, 1.0f, 4e-3);
    }
    d->ctx->direct = direct;
    vk->device_close(d);
}

/* The third shader variant (fp16 arithmetic) where the device has it: on lavapipe with
 * its no_fp16 quirk turned off, validation on. */
static void test_fp16_math_variant(void **state)
{
    (void)state;
    if (!lg_vk_caps_of(0)->fp16_math || !lg_vk_caps_of(0)->storage16) skip();
    char out[4096];
    int st = child("fp16math", "LEGACYGPU_VK_QUIRKS=-no_fp16", NULL, out, sizeof(out));
    if (st != 0) fail_msg("child fp16math: exit %d: %s", st, out);
    assert_non_null(strstr(out, "variant 2 ok"));
}

static void test_small_submits(void **state)
{
    (void)state;
    char out[4096];
    int st = child("chain", "LEGACYGPU_VK_QUIRKS=+small_submits", NULL, out, sizeof(out));
    if (st != 0) fail_msg("child chain: exit %d: %s", st, out);
    assert_non_null(strstr(out, "small_submits ok"));
}

static void test_validation_message_fails_next_call(void **state)
{
    (void)state;
    char out[8192];
    int st = child("invalid", NULL, NULL, out, sizeof(out));
    if (st != 0) fail_msg("child invalid: exit %d: %s", st, out);
    assert_non_null(strstr(out, "LG_E_DEVICE vulkan: 1 validation message(s) on '"));
}

static void test_unknown_op_and_device_lost(void **state)
{
    (void)state;
    lg_device *d = open_dev(LG_PRECISION_FP32);
    lg_buffer *buf;
    assert_int_equal(vk->buffer_alloc(d, 4096, &buf), LG_OK);
    lg_tensor *a = dev_tensor(d, buf, 0, 16), *b = dev_tensor(d, buf, 1024, 16);
    lg_node odd = { .name = "odd0", .op_type = "NoSuchOp", .domain = "ai.legacygpu.test", .opset = 1 };
    const lg_tensor *ins[1] = { a };
    lg_tensor *outs[1] = { b };
    uint32_t host_in;
    assert_false(vk->supports_node(d, &odd, 1, 1, ins, 1, (const lg_tensor *const *)outs, &host_in));
    lg_dev_node dn = { .node = &odd, .opset = 1, .n_inputs = 1, .inputs = ins, .n_outputs = 1, .outputs = outs };
    void *st;
    assert_error(vk->node_prepare(d, &dn, &st), LG_E_UNSUPPORTED, "no kernel for node 'odd0' (NoSuchOp, opset 1)");
    /* A lost device: the run fails naming the device and the partition, and so does the
     * next one, without touching the device again. */
    dn.node = &scale_node;
    assert_int_equal(vk->node_prepare(d, &dn, &dn.state), LG_OK);
    lg_dev_graph g = { 0, NULL, 1, &dn, 0, NULL };
    lg_vk_inject_device_lost(1);
    char want[400];
    snprintf(want, sizeof(want), "vulkan: device lost on '%s' while running a partition of 1 node(s) ending with 'scale0'",
             lg_vk_device_name(d));
    assert_error(vk->graph_compute(d, &g), LG_E_DEVICE, want);
    assert_error(vk->graph_compute(d, &g), LG_E_DEVICE, "was lost earlier");
    lg_device *fresh = open_dev(LG_PRECISION_FP32); /* while d still holds the lost one */
    assert_ptr_not_equal(fresh->ctx, d->ctx);
    run_chain(fresh, 10, 1, 2.0f, 0.5f, 1e-6);
    vk->device_close(fresh);
    vk->node_release(d, dn.state);
    lg_tensor_free(a);
    lg_tensor_free(b);
    vk->buffer_free(d, buf);
    vk->device_close(d);
}

/* Two sessions on one GPU from two threads: the shared queue, memory and pipeline cache
 * hold; each thread checks its own results (no cmocka calls off the main thread). */
typedef struct worker {
    int id;
    lg_tensor *x, *y; /* host tensors of 5000 floats, made by the main thread */
    int errors;
    char message[256];
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    lg_device_config cfg = { .precision = LG_PRECISION_FP32 };
    lg_device *d;
    if (vk->device_open(0, &cfg, &d) != LG_OK) {
        snprintf(w->message, sizeof(w->message), "open: %s", lg_last_error());
        w->errors++;
        return NULL;
    }
    lg_attr attrs[2] = { { .name = "alpha", .type = LG_ATTR_FLOAT, .f = (float)(w->id + 2) },
                         { .name = "beta", .type = LG_ATTR_FLOAT, .f = 1.0f } };
    lg_node node = { .name = "scale_t", .op_type = "Scale", .domain = "ai.legacygpu.test", .opset = 1, .n_attrs = 2,
                     .attrs = attrs };
    const int64_t n = 5000;
    lg_buffer *buf = NULL;
    lg_tensor *a = NULL, *b = NULL, *x = w->x, *y = w->y;
    int rc = vk->buffer_alloc(d, 2 * 4 * (uint64_t)n, &buf);
    if (rc == LG_OK) {
        a = dev_tensor(d, buf, 0, n);
        b = dev_tensor(d, buf, 4 * (uint64_t)n, n);
    }
    const lg_tensor *ins[1] = { a };
    lg_tensor *outs[1] = { b };
    lg_dev_node dn = { .node = &node, .opset = 1, .n_inputs = 1, .inputs = ins, .n_outputs = 1, .outputs = outs };
    if (rc == LG_OK) rc = vk->node_prepare(d, &dn, &dn.state);
    for (int it = 0; rc == LG_OK && it < 20; it++) {
        float *xv = x->data, *yv = y->data;
        for (int64_t i = 0; i < n; i++) xv[i] = (float)(i % 100 + it);
        lg_dev_copy up = { x, a }, down = { y, b };
        lg_dev_graph g = { 1, &up, 1, &dn, 1, &down };
        if ((rc = vk->graph_compute(d, &g)) != LG_OK) break;
        for (int64_t i = 0; i < n; i++)
            if (yv[i] != xv[i] * attrs[0].f + 1.0f) {
                snprintf(w->message, sizeof(w->message), "thread %d run %d: y[%lld] = %g", w->id, it, (long long)i, yv[i]);
                w->errors++;
                break;
            }
    }
    if (rc != LG_OK) {
        snprintf(w->message, sizeof(w->message), "thread %d: %s", w->id, lg_last_error());
        w->errors++;
    }
    vk->node_release(d, dn.state);
    lg_tensor_free(a);
    lg_tensor_free(b);
    vk->buffer_free(d, buf);
    vk->device_close(d);
    return NULL;
}

static void test_sessions_in_threads(void **state)
{
    (void)state;
    pthread_t t[3];
    worker w[3];
    for (int i = 0; i < 3; i++) w[i] = (worker){ .id = i, .x = host_tensor(5000), .y = host_tensor(5000) };
    for (int i = 0; i < 3; i++) assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 3; i++) {
        lg_tensor_free(w[i].x);
        lg_tensor_free(w[i].y);
        if (w[i].errors) fail_msg("%s", w[i].message);
    }
}

/* Runs last: nothing above made the validation layer speak. */
static void test_no_validation_messages(void **state)
{
    (void)state;
    assert_true(lg_vk_validation_enabled());
    assert_int_equal(lg_vk_validation_messages(), 0);
}

/* ---- child modes ------------------------------------------------------------------- */

static int child_main(const char *mode)
{
    if (!strcmp(mode, "count")) {
        printf("count=%d\n", vk->device_count());
        return 0;
    }
    lg_device *d = NULL;
    lg_device_config cfg = { !strcmp(mode, "fp16math") ? LG_PRECISION_FP16 : LG_PRECISION_FP32 };
    if (vk->device_open(0, &cfg, &d) != LG_OK) {
        printf("device_open: %s\n", lg_last_error());
        return 1;
    }
    int rc = 0;
    if (!strcmp(mode, "oom")) {
        lg_buffer *b;
        int r = vk->buffer_alloc(d, 16 << 20, &b);
        printf("%s %s\n", lg_err_name(r), lg_last_error());
        if (r == LG_OK) rc = 1;
        static float w[3 << 20]; /* 12 MiB of weights */
        lg_vk_weight *wt;
        d->preparing = "conv1";
        r = lg_vk_weights_upload_f32(d, w, 0, w, 3 << 20, &wt);
        printf("%s %s\n", lg_err_name(r), lg_last_error());
        if (r == LG_OK) rc = 1;
        /* Smaller ones still fit. */
        if (vk->buffer_alloc(d, 1 << 20, &b) != LG_OK) rc = 1;
        else vk->buffer_free(d, b);
    } else if (!strcmp(mode, "chain")) {
        /* 70 dispatches: three submissions under SMALL_SUBMITS. */
        run_chain(d, 257, 70, -1.0f, 0.25f, 1e-6);
        printf("%s after %llu submissions\n", d->n_submits >= 3 ? "small_submits ok" : "small_submits NOT split",
               (unsigned long long)d->n_submits);
    } else if (!strcmp(mode, "fp16math")) {
        run_chain(d, 3001, 2, -0.5f, 1.0f, 4e-3);
        printf("variant %d %s\n", (int)lg_vk_device_variant(d), lg_vk_fp16_math(d) ? "ok" : "without fp16 math");
    } else if (!strcmp(mode, "binding")) {
        printf("max_storage_range=%llu\n", (unsigned long long)lg_vk_device_caps(d)->max_storage_range);
        run_chain(d, 1000, 1, 2.0f, 0.5f, 1e-6); /* small ones still run */
        lg_buffer *buf;
        if (vk->buffer_alloc(d, 2400000, &buf) != LG_OK) return 1;
        lg_tensor *a = dev_tensor(d, buf, 0, 300000), *b = dev_tensor(d, buf, 1200000, 300000);
        const lg_tensor *ins[1] = { a };
        lg_tensor *outs[1] = { b };
        lg_dev_node dn = { .node = &scale_node, .opset = 1, .n_inputs = 1, .inputs = ins, .n_outputs = 1, .outputs = outs };
        lg_dev_graph g = { 0, NULL, 1, &dn, 0, NULL };
        int r = vk->graph_compute(d, &g);
        printf("%s %s\n", lg_err_name(r), lg_last_error());
        if (r == LG_OK) rc = 1;
        lg_tensor_free(a);
        lg_tensor_free(b);
        vk->buffer_free(d, buf);
    } else if (!strcmp(mode, "invalid")) {
        /* A buffer of size 0 breaks a valid-usage rule: the layer reports it, and the
         * session's next call fails naming it. */
        VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 0,
                                   .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
        VkBuffer buf = VK_NULL_HANDLE;
        vkCreateBuffer(d->ctx->dev, &bci, NULL, &buf);
        if (buf) vkDestroyBuffer(d->ctx->dev, buf, NULL);
        lg_buffer *b;
        int r = vk->buffer_alloc(d, 64, &b);
        printf("%s %s\n", lg_err_name(r), lg_last_error());
        if (r == LG_OK) rc = 1;
        if (vk->buffer_alloc(d, 64, &b) != LG_OK) rc = 1; /* reported once */
        else vk->buffer_free(d, b);
    } else {
        rc = 2;
    }
    vk->device_close(d);
    return rc;
}

int main(int argc, char **argv)
{
    setenv("LEGACYGPU_VK_VALIDATE", "require", 0); /* a missing layer fails, never skips validation */
    vk = lg_backend_find("vulkan");
    assert_non_null(vk);
    if (argc == 3 && !strcmp(argv[1], "--child")) return child_main(argv[2]);
    if (vk->device_count() == 0) {
        printf("test_vulkan_device: skipped: no Vulkan device on this machine (Debian: mesa-vulkan-drivers)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration_and_caps),
        cmocka_unit_test(test_arch_and_quirks_table),
        cmocka_unit_test(test_visible_devices),
        cmocka_unit_test(test_binding_cap),
        cmocka_unit_test(test_buffers_and_alignment),
        cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_weights_shared),
        cmocka_unit_test(test_pipeline_cache_file),
        cmocka_unit_test(test_graph_compute_fp32),
        cmocka_unit_test(test_graph_compute_fp16_storage),
        cmocka_unit_test(test_fp16_math_variant),
        cmocka_unit_test(test_small_submits),
        cmocka_unit_test(test_validation_message_fails_next_call),
        cmocka_unit_test(test_unknown_op_and_device_lost),
        cmocka_unit_test(test_sessions_in_threads),
        cmocka_unit_test(test_no_validation_messages),
    };
    /* Pipeline caches go to a folder of this run, not the user's. */
    assert_non_null(mkdtemp(cache_home));
    setenv("XDG_CACHE_HOME", cache_home, 1);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cache_home);
    if (system(cmd) != 0) fprintf(stderr, "test_vulkan_device: could not remove %s\n", cache_home);
    return failed;
}
#endif
