/*
 * copy_nd.glsl: the body of copy_nd.comp (float tensors, STORE_T) and copy_nd_u32.comp
 * (32-bit words: int32, and int64 as two words per element). Copies the n elements of
 * an up-to-6-D index space: element (i0..i5) goes from src[soff + sum ik * ss[k]] to
 * dst[doff + sum ik * ds[k]]. Transpose, Slice (steps as strides, negative too),
 * Concat and Split (regions of a larger tensor), Expand (stride 0), Tile via repeated
 * copies: vk_ops_copy.c.
 */
layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(binding = 0) readonly buffer S { ELEM_T src[]; };
layout(binding = 1) writeonly buffer D { ELEM_T dst[]; };
layout(push_constant) uniform Push {
    uint n, ndim;
    uint soff, doff;
    uint dims[6];
    int ss[6];
    int ds[6];
} pc;

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    int si = int(pc.soff), di = int(pc.doff);
    uint rest = i;
    for (int k = int(pc.ndim) - 1; k >= 0; k--) {
        int c = int(rest % pc.dims[k]);
        rest /= pc.dims[k];
        si += c * pc.ss[k];
        di += c * pc.ds[k];
    }
    dst[di] = src[si];
}
