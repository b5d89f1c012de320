/*
 * vk_ops_binary.c: elementwise binary ops on float tensors with numpy broadcasting
 * (shaders/binary.comp): Add, Sub, Mul, Div, Pow, Max, Min (two inputs), PRelu (slope
 * broadcast). Up to 6 output dims. An output larger than one binding is written in
 * chunks; inputs of the output's shape go along chunk by chunk, broadcast inputs must
 * fit one binding whole.
 */
#include <string.h>

#include "backends/vulkan/vk_kern.h"

#define BIN_MAX_DIMS 6

typedef struct binary_push {
    uint32_t n, base, op, flags;
    uint32_t ndim;
    uint32_t dims[BIN_MAX_DIMS];
    uint32_t sa[BIN_MAX_DIMS];
    uint32_t sb[BIN_MAX_DIMS];
} binary_push;

static const struct { const char *op; uint32_t code; } binary_codes[] = {
    { "Add", 0 }, { "Sub", 1 }, { "Mul", 2 }, { "Div", 3 }, { "Pow", 4 },
    { "Max", 5 }, { "Min", 6 }, { "PRelu", 7 }, { "Sum", 0 },
};

static int binary_code(const lg_node *n)
{
    for (size_t i = 0; i < sizeof(binary_codes) / sizeof(binary_codes[0]); i++)
        if (strcmp(binary_codes[i].op, n->op_type) == 0) return (int)binary_codes[i].code;
    return -1;
}

/* Whether input t can be read by a chunked dispatch of y: of y's size (flat), or whole. */
static bool input_ok(lg_device *d, const lg_tensor *t, const lg_tensor *y)
{
    if (!t || t->dtype != LG_FLOAT || !lg_vkk_small(t) || t->ndim > y->ndim) return false;
    return lg_tensor_numel_(t) == lg_tensor_numel_(y) || lg_vkk_fits(d, t);
}

static bool binary_supports(lg_device *d, const lg_node *n, int opset, int n_in, const lg_tensor *const *in,
                            int n_out, const lg_tensor *const *out, uint32_t *host_inputs)
{
    const lg_tensor *y = n_out > 0 ? out[0] : NULL;
    if (n_in != 2 || binary_code(n) < 0 || !y || y->dtype != LG_FLOAT || !lg_vkk_small(y)) return false;
    if (y->ndim > BIN_MAX_DIMS) return false;
    return input_ok(d, in[0], y) && input_ok(d, in[1], y);
}

static int binary_record(lg_vk_rec *r, const lg_dev_node *dn)
{
    lg_device *d = lg_vk_rec_device(r);
    const lg_vk_tune *t = lg_vk_tune_get(d);
    const lg_tensor *a = dn->inputs[0], *b = dn->inputs[1], *y = dn->outputs[0];
    binary_push p;
    lg_vk_pipeline *pipe;
    memset(&p, 0, sizeof(p));
    p.op = (uint32_t)binary_code(dn->node);
    p.ndim = (uint32_t)(y->ndim > 0 ? y->ndim : 1);
    p.dims[0] = 1;
    for (int k = 0; k < y->ndim; k++) p.dims[k] = (uint32_t)y->dims[k];
    lg_vkk_bcast_strides(a->ndim, a->dims, y->ndim, y->dims, p.sa);
    lg_vkk_bcast_strides(b->ndim, b->dims, y->ndim, y->dims, p.sb);
    uint64_t n = (uint64_t)lg_tensor_numel_(y), chunk = lg_vkk_chunk_elems(d, lg_vkk_esize(d, LG_FLOAT));
    bool a_flat = (uint64_t)lg_tensor_numel_(a) == n, b_flat = (uint64_t)lg_tensor_numel_(b) == n;
    p.flags = (a_flat ? 1u : 0u) | (b_flat ? 2u : 0u);
    LG_CHECK(lg_vk_pipeline_get(d, "binary", 3, sizeof(p), 1, &t->wg_elem, &pipe));
    for (uint64_t first = 0; first < n; first += chunk) {
        uint64_t cnt = n - first < chunk ? n - first : chunk;
        lg_vk_binding bind[3] = {
            a_flat ? lg_vkk_bind_range(d, a, first, cnt) : lg_vk_bind_tensor(d, a),
            b_flat ? lg_vkk_bind_range(d, b, first, cnt) : lg_vk_bind_tensor(d, b),
            lg_vkk_bind_range(d, y, first, cnt),
        };
        p.n = (uint32_t)cnt;
        p.base = (uint32_t)first;
        LG_CHECK(lg_vkk_dispatch_1d(r, pipe, 3, bind, &p, sizeof(p), cnt, t->wg_elem));
    }
    return LG_OK;
}

#define BINARY(name, since) { name, "", since, LG_VK_OPSET_MAX, binary_supports, NULL, NULL, binary_record, NULL }

const lg_vk_op lg_vk_ops_binary[] = {
    BINARY("Add", 7), BINARY("Sub", 7), BINARY("Mul", 7), BINARY("Div", 7), BINARY("Pow", 7),
    BINARY("Max", 8), BINARY("Min", 8), BINARY("PRelu", 7), BINARY("Sum", 8),
    { NULL }
};
