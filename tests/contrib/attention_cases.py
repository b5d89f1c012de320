"""attention_cases.py: the attention-family cases of make_contrib_cases.py (RotaryEmbedding,
Attention, MultiHeadAttention, GroupQueryAttention) with numpy references written from
ONNX Runtime's docs/ContribOperators.md."""
import numpy as np

f32 = np.float32


def rotate(x, cos, sin, interleaved):
    """x [..., H]; cos/sin [..., rot/2] broadcastable; rotates the first rot elements."""
    half = cos.shape[-1]
    y = x.copy()
    if interleaved:
        x1, x2 = x[..., 0:2 * half:2], x[..., 1:2 * half:2]
        y[..., 0:2 * half:2] = x1 * cos - x2 * sin
        y[..., 1:2 * half:2] = x2 * cos + x1 * sin
    else:
        x1, x2 = x[..., :half], x[..., half:2 * half]
        y[..., :half] = x1 * cos - x2 * sin
        y[..., half:2 * half] = x2 * cos + x1 * sin
    return y


def heads(x, n):
    """[B, S, n*H] -> [B, n, S, H]"""
    b, s, d = x.shape
    return x.reshape(b, s, n, d // n).transpose(0, 2, 1, 3)


def merge(x):
    b, n, s, h = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, s, n * h)


def attend(q, k, v, add, softmax):
    """q [B,N,S,H], k/v [B,N,T,*], add broadcastable to [B,N,S,T]."""
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1]) + add
    return np.matmul(softmax(scores), v)


def add(case, rnd, softmax, rng):
    # RotaryEmbedding: [B, S, N*H] with position ids, and [B, N, S, H] interleaved from an offset.
    # Tables rounded through float16 so the float16 cases (--half) share the references.
    cos_t = np.cos(np.arange(10)[:, None] * (1.0 / 10000 ** (np.arange(4) / 4))).astype(np.float16).astype(f32)
    sin_t = np.sin(np.arange(10)[:, None] * (1.0 / 10000 ** (np.arange(4) / 4))).astype(np.float16).astype(f32)
    x = rnd(2, 3, 16)
    pid = np.array([[0, 1, 2], [4, 5, 6]], np.int64)
    ref = merge(rotate(heads(x, 2), cos_t[pid][:, None], sin_t[pid][:, None], False))
    case("rotary_embedding", "RotaryEmbedding", [("input", x), ("position_ids", pid), ("cos_cache", cos_t), ("sin_cache", sin_t)],
         [("output", ref.astype(f32))], num_heads=2)
    x4 = rnd(1, 2, 3, 8)
    off = np.array([3], np.int64)
    pos = np.arange(3) + 3
    case("rotary_embedding_bnsh_interleaved", "RotaryEmbedding",
         [("input", x4), ("position_ids", off), ("cos_cache", cos_t), ("sin_cache", sin_t)],
         [("output", rotate(x4, cos_t[pos], sin_t[pos], True).astype(f32))], interleaved=1)

    # Attention: packed projection, key lengths as mask_index.
    B, S, N, H = 2, 4, 3, 4
    D = N * H
    x, w, bias = rnd(B, S, D), rnd(D, 3 * D, lo=-0.5, hi=0.5), rnd(3 * D)
    qkv = x @ w + bias
    q, k, v = heads(qkv[..., :D], N), heads(qkv[..., D:2 * D], N), heads(qkv[..., 2 * D:], N)
    lengths = np.array([4, 2], np.int32)
    madd = np.where(np.arange(S)[None, :] < lengths[:, None], 0.0, -10000.0)[:, None, None, :]
    case("attention_mask_lengths", "Attention", [("input", x), ("weights", w), ("bias", bias), ("mask_index", lengths)],
         [("output", merge(attend(q, k, v, madd, softmax)).astype(f32))], num_heads=N)
    # Attention with a past, causal, and the present output.
    P = 2
    past = rnd(2, B, N, P, H)
    kk, vv = np.concatenate([past[0], k], 2), np.concatenate([past[1], v], 2)
    T = P + S
    causal = np.where(np.arange(T)[None, :] <= (P + np.arange(S))[:, None], 0.0, -10000.0)
    case("attention_causal_past", "Attention", [("input", x), ("weights", w), ("bias", bias), ("mask_index", None), ("past", past)],
         [("output", merge(attend(q, kk, vv, causal, softmax)).astype(f32)), ("present", np.stack([kk, vv]).astype(f32))],
         num_heads=N, unidirectional=1)

    # MultiHeadAttention: separate key/value, a 0/1 key padding mask and an attention bias.
    L = 5
    qx, kx, vx = rnd(B, S, D), rnd(B, L, D), rnd(B, L, D)
    kpm = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.int32)
    ab = rnd(1, N, S, L)
    madd = np.where(kpm[:, None, None, :] == 1, 0.0, -10000.0) + ab
    case("multi_head_attention", "MultiHeadAttention",
         [("query", qx), ("key", kx), ("value", vx), ("bias", None), ("key_padding_mask", kpm), ("attention_bias", ab)],
         [("output", merge(attend(heads(qx, N), heads(kx, N), heads(vx, N), madd, softmax)).astype(f32))], num_heads=N)
    # ... with bias and a past, returning present_key/present_value.
    mb = rnd(3 * D)
    pk, pv = rnd(B, N, P, H), rnd(B, N, P, H)
    kk = np.concatenate([pk, heads(kx + mb[D:2 * D], N)], 2)
    vv = np.concatenate([pv, heads(vx + mb[2 * D:], N)], 2)
    case("multi_head_attention_past", "MultiHeadAttention",
         [("query", qx), ("key", kx), ("value", vx), ("bias", mb), ("key_padding_mask", None), ("attention_bias", None),
          ("past_key", pk), ("past_value", pv)],
         [("output", merge(attend(heads(qx + mb[:D], N), kk, vv, 0.0, softmax)).astype(f32)), ("present_key", kk.astype(f32)),
          ("present_value", vv.astype(f32))], num_heads=N)

    # GroupQueryAttention: 4 query heads over 2 kv heads, a past of 2, three new tokens.
    B, S, N, NKV, H, P = 1, 3, 4, 2, 16, 2  # ONNX Runtime wants head sizes of 16 for its rotary path
    q, k, v = rnd(B, S, N * H), rnd(B, S, NKV * H), rnd(B, S, NKV * H)
    pk, pv = rnd(B, NKV, P, H), rnd(B, NKV, P, H)
    T = P + S
    seqlens = np.array([T - 1], np.int32)
    total = np.array([T], np.int32)

    def gqa_ref(qh, kh):
        kk = np.concatenate([pk, kh], 2)
        vv = np.concatenate([pv, heads(v, NKV)], 2)
        rep = N // NKV
        kk_r, vv_r = np.repeat(kk, rep, 1), np.repeat(vv, rep, 1)
        mask = np.where(np.arange(T)[None, :] <= (P + np.arange(S))[:, None], 0.0, -1e30)
        return merge(attend(qh, kk_r, vv_r, mask, softmax)).astype(f32), kk.astype(f32), vv.astype(f32)

    out, kk, vv = gqa_ref(heads(q, N), heads(k, NKV))
    gin = [("query", q), ("key", k), ("value", v), ("past_key", pk), ("past_value", pv), ("seqlens_k", seqlens),
           ("total_sequence_length", total)]
    case("group_query_attention", "GroupQueryAttention", gin,
         [("output", out), ("present_key", kk), ("present_value", vv)], num_heads=N, kv_num_heads=NKV)
    # ... with rotary embedding of Q and the new K at positions P .. P + S - 1.
    freq = np.arange(10)[:, None] * (1.0 / 10000 ** (np.arange(H // 2) / (H // 2)))
    cos2, sin2 = np.cos(freq).astype(np.float16).astype(f32), np.sin(freq).astype(np.float16).astype(f32)
    pos = P + np.arange(S)
    qr = rotate(heads(q, N), cos2[pos], sin2[pos], False)
    kr = rotate(heads(k, NKV), cos2[pos], sin2[pos], False)
    out, kk, vv = gqa_ref(qr, kr)
    case("group_query_attention_rotary", "GroupQueryAttention", gin + [("cos_cache", cos2), ("sin_cache", sin2)],
         [("output", out), ("present_key", kk), ("present_value", vv)], num_heads=N, kv_num_heads=NKV, do_rotary=1)
