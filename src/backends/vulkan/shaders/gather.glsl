/*
 * gather.glsl: Gather along one axis (vk_ops_gather.c): data viewed as [outer][A][inner],
 * indices as a flat list of nidx, y as [outer][nidx][inner]. Indices are int32 or int64
 * (is64: two words each, low word first; no shaderInt64 needed), negative ones count
 * from the end; out-of-range indices are clamped (constant indices were checked at
 * prepare). ELEM_T: floats (STORE_T) or 32-bit words (gather_u32.comp).
 */
layout(local_size_x = 256) in;
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(binding = 0) readonly buffer D { ELEM_T data[]; };
layout(binding = 1) readonly buffer I { uint idx[]; };
layout(binding = 2) writeonly buffer Y { ELEM_T y[]; };
layout(push_constant) uniform Push {
    uint n, A, inner, nidx;
    uint is64;
    uint words;          /* words per element for the u32 variant (1 or 2), else 1 */
} pc;

void main()
{
    uint i = LG_FLAT_INDEX(WG);
    if (i >= pc.n) return;
    uint w = i % pc.words, e = i / pc.words;
    uint in_ = e % pc.inner, t = e / pc.inner, j = t % pc.nidx, o = t / pc.nidx;
    int k = pc.is64 != 0u ? int(idx[2u * j]) : int(idx[j]);
    if (k < 0) k += int(pc.A);
    k = clamp(k, 0, int(pc.A) - 1);
    y[i] = data[((o * pc.A + uint(k)) * pc.inner + in_) * pc.words + w];
}
