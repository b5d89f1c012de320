/*
 * slice.glsl: the body of slice.comp (float tensors) and slice_u32.comp (int32, int64 as
 * two words): Slice-10+ with starts, axes and steps read on the device, so starts
 * computed at run time (shufflenet's channel split: Shape -> Div -> Slice) need no trip
 * to the host. Ends are not read: y's shape already says how many elements each axis
 * takes. Indices are int32, or int64 (is64) saturated to int32. vk_ops_copy.c.
 */
layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(binding = 0) readonly buffer X { ELEM_T x[]; };
layout(binding = 1) readonly buffer Starts { int starts[]; };
layout(binding = 2) readonly buffer Axes { int axes[]; };
layout(binding = 3) readonly buffer Steps { int steps[]; };
layout(binding = 4) writeonly buffer Y { ELEM_T y[]; };
layout(push_constant) uniform Push {
    uint n;              /* elements of y times words */
    uint ndim, nsl;      /* rank, entries of starts */
    uint flags;          /* 1: axes given, 2: steps given, 4: int64 indices */
    uint words;          /* 32-bit words per element (1, or 2 for int64 data) */
    uint in_dims[6];
    uint out_dims[6];
} pc;

int read_index(uint which, uint j)
{
    if ((pc.flags & 4u) == 0u) return which == 0u ? starts[j] : which == 1u ? axes[j] : steps[j];
    int lo = which == 0u ? starts[2u * j] : which == 1u ? axes[2u * j] : steps[2u * j];
    int hi = which == 0u ? starts[2u * j + 1u] : which == 1u ? axes[2u * j + 1u] : steps[2u * j + 1u];
    /* the int64 value saturated to int32 (INT64_MAX "to the end" included) */
    if (hi > 0 || (hi == 0 && lo < 0)) return 0x7fffffff;
    if (hi < -1 || (hi == -1 && lo >= 0)) return int(0x80000000u);
    return lo;
}

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    uint w = i % pc.words, rest = i / pc.words;
    int src = 0, stride = 1;
    for (int k = int(pc.ndim) - 1; k >= 0; k--) {
        int o = int(rest % pc.out_dims[k]);
        rest /= pc.out_dims[k];
        int dim = int(pc.in_dims[k]), start = 0, step = 1;
        for (uint j = 0u; j < pc.nsl; j++) {
            int a = (pc.flags & 1u) != 0u ? read_index(1u, j) : int(j);
            if (a < 0) a += int(pc.ndim);
            if (a != k) continue;
            start = read_index(0u, j);
            step = (pc.flags & 2u) != 0u ? read_index(2u, j) : 1;
        }
        if (start < 0) start = max(start + dim, 0);
        start = step > 0 ? min(start, dim) : min(start, dim - 1);
        src += (start + o * step) * stride;
        stride *= dim;
    }
    y[i] = x[uint(src) * pc.words + w];
}
