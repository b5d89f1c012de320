#!/usr/bin/python3
"""make_contrib_cases.py OUT_DIR [--npy] [--half]: test cases for the com.microsoft (ONNX Runtime
contrib) operators, one folder per case in the ONNX test-data layout (model.onnx +
test_data_set_0/input_N.pb, output_N.pb). Reference outputs are computed here with numpy from
the operator descriptions in ONNX Runtime's docs/ContribOperators.md. --npy also writes each
case's inputs and outputs as .npy under <case>/npy/ for tests/contrib/ort_crosscheck.mjs (ONNX
Runtime). --half writes, instead, float16 versions of the float cases listed in HALF (inputs
are drawn exactly representable in float16, so the float32 references hold; compare them with
a float16 tolerance)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from scipy.special import erf

MS = "com.microsoft"
rng = np.random.RandomState(7)
f32 = np.float32
CASES = []


def case(name, op, inputs, outputs, domain=MS, opset=17, **attrs):
    """inputs: [(name, array or None)]; outputs: [(name, reference array or None for unused)];
    opset: of the default domain."""
    CASES.append((name, op, inputs, outputs, domain, opset, attrs))


def rnd(*shape, lo=-2.0, hi=2.0):
    """Uniform values that float16 holds exactly (see --half)."""
    return rng.uniform(lo, hi, shape).astype(np.float16).astype(f32)


HALF = ["gelu", "fast_gelu_bias", "skip_layer_norm", "simplified_layer_norm", "fused_matmul_transa", "rotary_embedding",
        "attention_mask_lengths", "multi_head_attention", "group_query_attention"]


def halved():
    """The HALF cases with every float32 tensor as float16."""
    def h(items):
        return [(n, a.astype(np.float16) if a is not None and a.dtype == f32 else a) for n, a in items]
    return [("f16_" + name, op, h(ins), h(outs), domain, opset, attrs)
            for name, op, ins, outs, domain, opset, attrs in CASES if name in HALF]


def gelu(x):
    return (0.5 * x * (1 + erf(x / np.sqrt(2)))).astype(f32)


def quant(x, scale, zp, dt):
    info = np.iinfo(dt)
    return np.clip(np.rint(x.astype(f32) / f32(scale)) + zp, info.min, info.max).astype(dt)


def dequant(q, scale, zp):
    return ((q.astype(np.int32) - zp).astype(f32) * f32(scale)).astype(f32)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def activations():
    x = rnd(2, 3, 8)
    case("gelu", "Gelu", [("X", x)], [("Y", gelu(x))])
    b = rnd(8)
    z = x + b
    case("fast_gelu_bias", "FastGelu", [("X", x), ("bias", b)],
         [("Y", (0.5 * z * (1 + np.tanh(0.7978845608028654 * (z + 0.044715 * z ** 3)))).astype(f32))])
    case("bias_gelu", "BiasGelu", [("A", x), ("B", b)], [("C", gelu(x + b))])
    case("quick_gelu", "QuickGelu", [("X", x)], [("Y", (x / (1 + np.exp(-1.5 * x))).astype(f32))], alpha=1.5)


def norms():
    x, skip, g, beta, bias = rnd(2, 3, 16), rnd(2, 3, 16), rnd(16), rnd(16), rnd(16)
    s = x + skip + bias
    mu = s.mean(-1, keepdims=True)
    inv = 1 / np.sqrt(((s - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    case("skip_layer_norm", "SkipLayerNormalization", [("input", x), ("skip", skip), ("gamma", g), ("beta", beta), ("bias", bias)],
         [("output", ((s - mu) * inv * g + beta).astype(f32)), ("", None), ("", None), ("sum", s.astype(f32))], epsilon=1e-5)
    rms = 1 / np.sqrt((s ** 2).mean(-1, keepdims=True) + 1e-6)
    case("skip_simplified_layer_norm", "SkipSimplifiedLayerNormalization", [("input", x), ("skip", skip), ("gamma", g), ("bias", bias)],
         [("output", (s * rms * g).astype(f32)), ("", None), ("", None), ("sum", s.astype(f32))], epsilon=1e-6)
    r = 1 / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5)
    case("simplified_layer_norm", "SimplifiedLayerNormalization", [("X", x), ("scale", g)], [("Y", (x * r * g).astype(f32))],
         domain="", axis=-1, epsilon=1e-5)
    mu = x.mean(-1, keepdims=True)
    inv = 1 / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    ln = [("X", x), ("scale", g), ("B", beta)], [("Y", ((x - mu) * inv * g + beta).astype(f32))]
    case("layer_norm", "LayerNormalization", *ln, axis=-1, epsilon=1e-5)
    case("layer_norm_default_domain_opset16", "LayerNormalization", *ln, domain="", opset=16, axis=-1, epsilon=1e-5)


def matmuls():
    a, b = rnd(2, 1, 5, 3), rnd(4, 5, 6)
    ref = 0.5 * np.matmul(np.swapaxes(a, -1, -2), b)
    case("fused_matmul_transa", "FusedMatMul", [("A", a), ("B", b)], [("Y", ref.astype(f32))], alpha=0.5, transA=1)
    b2 = rnd(2, 1, 6, 5)
    case("fused_matmul_transb", "FusedMatMul", [("A", rnd(3, 5)), ("B", b2)], [("Y", None)], transB=1)
    CASES[-1][3][0] = ("Y", np.matmul(CASES[-1][2][0][1], np.swapaxes(b2, -1, -2)).astype(f32))
    # MatMulNBits: K = 40 (the last block is partial), N = 6, 4 bits, blocks of 16, packed zero points, bias.
    K, N, blk = 40, 6, 16
    kb = (K + blk - 1) // blk
    codes = rng.randint(0, 16, (N, kb * blk)).astype(np.uint8)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).reshape(N, kb, blk // 2)
    scales = rng.uniform(0.01, 0.1, (N, kb)).astype(f32)
    zps = rng.randint(0, 16, (N, kb)).astype(np.uint8)
    zpad = np.zeros((N, (kb + 1) // 2 * 2), np.uint8)
    zpad[:, :kb] = zps
    zpacked = (zpad[:, 0::2] | (zpad[:, 1::2] << 4)).astype(np.uint8)
    w = ((codes.astype(f32) - np.repeat(zps, blk, 1).astype(f32)) * np.repeat(scales, blk, 1))[:, :K]
    a = rnd(2, 3, K)
    bias = rnd(N)
    case("matmul_nbits_zp_bias", "MatMulNBits", [("A", a), ("B", packed), ("scales", scales), ("zero_points", zpacked), ("", None),
                                                 ("bias", bias)],
         [("Y", (np.matmul(a, w.T) + bias).astype(f32))], K=K, N=N, bits=4, block_size=blk)
    w8 = ((codes.astype(f32) - 8) * np.repeat(scales, blk, 1))[:, :K]
    case("matmul_nbits_symmetric", "MatMulNBits", [("A", a[0]), ("B", packed), ("scales", scales.ravel())],
         [("Y", np.matmul(a[0], w8.T).astype(f32))], K=K, N=N, bits=4, block_size=blk)
    ai, bi = rng.randint(-300, 300, (3, 4)).astype(np.int16), rng.randint(-300, 300, (4, 5)).astype(np.int16)
    case("matmul_integer16", "MatMulInteger16", [("A", ai), ("B", bi)], [("Y", np.matmul(ai.astype(np.int32), bi.astype(np.int32)))])
    # DynamicQuantizeMatMul: A is quantized to uint8 over its range (holding 0) first.
    a = rnd(2, 3, 8)
    bq = rng.randint(-128, 128, (8, 5)).astype(np.int8)
    bs, bz, bb = rng.uniform(0.01, 0.05, 5).astype(f32), rng.randint(-3, 4, 5).astype(np.int8), rnd(5)
    lo, hi = min(0.0, a.min()), max(0.0, a.max())
    sa = f32((f32(hi) - f32(lo)) / f32(255))
    za = int(np.clip(np.rint(f32(0) - f32(lo) / sa), 0, 255))
    aq = quant(a, sa, za, np.uint8).astype(np.int64) - za
    acc = np.matmul(aq, bq.astype(np.int64) - bz.astype(np.int64)).astype(f32)
    case("dynamic_quantize_matmul", "DynamicQuantizeMatMul", [("A", a), ("B", bq), ("b_scale", bs), ("b_zero_point", bz), ("bias", bb)],
         [("Y", (acc * sa * bs + bb).astype(f32))])


def qlinear():
    sa, za, sb, zb, sc, zc = f32(0.05), 120, f32(0.08), 130, f32(0.1), 125
    a = rng.randint(0, 256, (2, 3, 4)).astype(np.uint8)
    b = rng.randint(0, 256, (3, 1)).astype(np.uint8)
    qa = [("A", a), ("A_scale", np.array(sa)), ("A_zero_point", np.array(za, np.uint8)), ("B", b), ("B_scale", np.array(sb)),
          ("B_zero_point", np.array(zb, np.uint8)), ("C_scale", np.array(sc)), ("C_zero_point", np.array(zc, np.uint8))]
    case("qlinear_add", "QLinearAdd", qa, [("C", quant(dequant(a, sa, za) + dequant(b, sb, zb), sc, zc, np.uint8))])
    ai, bi = rng.randint(-128, 128, (2, 3, 4)).astype(np.int8), rng.randint(-128, 128, (4,)).astype(np.int8)
    qm = [("A", ai), ("A_scale", np.array(sa)), ("A_zero_point", np.array(3, np.int8)), ("B", bi), ("B_scale", np.array(sb)),
          ("B_zero_point", np.array(-2, np.int8)), ("C_scale", np.array(f32(0.2))), ("C_zero_point", np.array(1, np.int8))]
    case("qlinear_mul_int8", "QLinearMul", qm, [("C", quant(dequant(ai, sa, 3) * dequant(bi, sb, -2), f32(0.2), 1, np.int8))])
    x = rng.randint(0, 256, (2, 5)).astype(np.uint8)
    xs, xz, ys, yz = f32(0.04), 128, f32(1 / 256), 0
    un = [("X", x), ("X_scale", np.array(xs)), ("X_zero_point", np.array(xz, np.uint8)), ("Y_scale", np.array(ys)),
          ("Y_zero_point", np.array(yz, np.uint8))]
    case("qlinear_sigmoid", "QLinearSigmoid", un, [("Y", quant(1 / (1 + np.exp(-dequant(x, xs, xz))), ys, yz, np.uint8))])
    xi = rng.randint(-128, 128, (2, 5)).astype(np.int8)
    ui = [("X", xi), ("X_scale", np.array(xs)), ("X_zero_point", np.array(-3, np.int8)), ("Y_scale", np.array(f32(0.03))),
          ("Y_zero_point", np.array(2, np.int8))]
    d = dequant(xi, xs, -3)
    case("qlinear_leaky_relu", "QLinearLeakyRelu", ui, [("Y", quant(np.where(d >= 0, d, f32(0.1) * d), f32(0.03), 2, np.int8))],
         alpha=0.1)
    x1, x2 = rng.randint(0, 256, (2, 2, 3)).astype(np.uint8), rng.randint(0, 256, (2, 3, 3)).astype(np.uint8)
    cat = np.concatenate([dequant(x1, f32(0.02), 100), dequant(x2, f32(0.05), 90)], 1)
    case("qlinear_concat", "QLinearConcat", [("Y_scale", np.array(f32(0.04))), ("Y_zero_point", np.array(110, np.uint8)),
                                             ("X1", x1), ("X1_scale", np.array(f32(0.02))), ("X1_zero_point", np.array(100, np.uint8)),
                                             ("X2", x2), ("X2_scale", np.array(f32(0.05))), ("X2_zero_point", np.array(90, np.uint8))],
         [("Y", quant(cat, f32(0.04), 110, np.uint8))], axis=1)
    img = rng.randint(0, 256, (2, 3, 5, 5)).astype(np.uint8)
    gp = [("X", img), ("x_scale", np.array(f32(0.02))), ("x_zero_point", np.array(128, np.uint8)), ("y_scale", np.array(f32(0.01))),
          ("y_zero_point", np.array(120, np.uint8))]
    mean = (img.astype(np.int64) - 128).sum((2, 3), keepdims=True).astype(f32) / f32(25) * f32(0.02)
    case("qlinear_global_average_pool", "QLinearGlobalAveragePool", gp, [("Y", quant(mean, f32(0.01), 120, np.uint8))])
    nhwc = np.ascontiguousarray(img.transpose(0, 2, 3, 1))
    gp2 = [("X", nhwc)] + gp[1:]
    case("qlinear_global_average_pool_nhwc", "QLinearGlobalAveragePool", gp2,
         [("Y", quant(mean, f32(0.01), 120, np.uint8).transpose(0, 2, 3, 1))], channels_last=1)
    # AveragePool 3x3, stride 2, pads 1, padding not counted.
    xf = dequant(img, f32(0.02), 128)
    pad = np.pad(xf, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = np.pad(np.ones_like(xf), ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((2, 3, 3, 3), f32)
    for i in range(3):
        for j in range(3):
            win = pad[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            out[:, :, i, j] = win.sum((2, 3)) / ones[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].sum((2, 3))
    case("qlinear_average_pool", "QLinearAveragePool", gp, [("Y", quant(out, f32(0.01), 120, np.uint8))], kernel_shape=[3, 3],
         strides=[2, 2], pads=[1, 1, 1, 1])
    xq = rnd(2, 4)
    case("quantize_linear", "QuantizeLinear", [("x", xq), ("y_scale", np.array(f32(0.02))), ("y_zero_point", np.array(128, np.uint8))],
         [("y", quant(xq, f32(0.02), 128, np.uint8))])
    sc4 = np.array([0.01, 0.02, 0.03, 0.04], f32)
    case("dequantize_linear_axis", "DequantizeLinear", [("x", img[0, :, :, :4].reshape(3, 5, 4)[0]), ("x_scale", sc4),
                                                        ("x_zero_point", np.array([1, 2, 3, 4], np.uint8))],
         [("y", ((img[0, :, :, :4].reshape(3, 5, 4)[0].astype(np.int32) - [1, 2, 3, 4]) * sc4).astype(f32))], axis=1)


def misc():
    x, w, bias = rnd(1, 2, 6, 6), rnd(4, 2, 3, 3), rnd(4)
    y = np.zeros((1, 4, 4, 4), f32)
    for i in range(4):
        for j in range(4):
            y[0, :, i, j] = np.tensordot(w, x[0, :, i:i + 3, j:j + 3], 3) + bias
    z = rnd(1, 4, 4, 4)
    case("fused_conv_relu_z", "FusedConv", [("X", x), ("W", w), ("B", bias), ("Z", z)], [("Y", np.maximum(y + z, 0).astype(f32))],
         activation="Relu", kernel_shape=[3, 3])
    case("fused_conv_leaky", "FusedConv", [("X", x), ("W", w), ("B", bias)], [("Y", np.where(y >= 0, y, 0.2 * y).astype(f32))],
         activation="LeakyRelu", activation_params=[0.2], kernel_shape=[3, 3])
    case("range", "Range", [("start", np.array(f32(1.5))), ("limit", np.array(f32(7))), ("delta", np.array(f32(0.75)))],
         [("Y", np.arange(1.5, 7, 0.75).astype(f32))])
    m = rnd(2, 4, 5)
    case("trilu_upper", "Trilu", [("X", m), ("k", np.array(1, np.int64))], [("Y", np.triu(m, 1).astype(f32))], upper=1)


def write(out, with_npy, cases):
    for name, op, inputs, outputs, domain, opset, attrs in cases:
        # An input or output without an array is omitted (an empty name in the node).
        inputs = [(n if a is not None else "", a) for n, a in inputs]
        outputs = [(n if a is not None else "", a) for n, a in outputs]
        node = helper.make_node(op, [n for n, _ in inputs], [n for n, _ in outputs], domain=domain, name=name, **attrs)
        ttype = onnx.mapping.NP_TYPE_TO_TENSOR_TYPE
        vin = [helper.make_tensor_value_info(n, ttype[a.dtype], a.shape) for n, a in inputs if n]
        vout = [helper.make_tensor_value_info(n, ttype[a.dtype], a.shape) for n, a in outputs if n]
        g = helper.make_graph([node], name, vin, vout)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MS, 1)], producer_name="make_contrib_cases.py")
        m.ir_version = 8
        d = os.path.join(out, "contrib_" + name)
        os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
        onnx.save(m, os.path.join(d, "model.onnx"))
        for kind, items in (("input", [(n, a) for n, a in inputs if n]), ("output", [(n, a) for n, a in outputs if n])):
            for i, (n, a) in enumerate(items):
                with open(os.path.join(d, "test_data_set_0", "%s_%d.pb" % (kind, i)), "wb") as f:
                    f.write(numpy_helper.from_array(np.asarray(a), n).SerializeToString())
                if with_npy:
                    os.makedirs(os.path.join(d, "npy"), exist_ok=True)
                    np.save(os.path.join(d, "npy", "%s.%s.npy" % (kind, n)), np.asarray(a))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make_contrib_cases.py OUT_DIR [--npy]")
    activations()
    norms()
    matmuls()
    qlinear()
    misc()
    try:
        import attention_cases
        attention_cases.add(case, rnd, softmax, rng)
    except ImportError:
        pass
    write(sys.argv[1], "--npy" in sys.argv[2:], halved() if "--half" in sys.argv[2:] else CASES)


if __name__ == "__main__":
    main()
