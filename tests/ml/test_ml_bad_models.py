#!/usr/bin/python3
"""test_ml_bad_models.py LEGACYGPU: malformed ai.onnx.ml attributes (tree node ids out of
range, arrays of mismatched lengths, cycles, labels that do not fit the coefficients) and
malformed com.microsoft weights/attributes must each fail when the session is created, with
exit status 1 and one clear message naming the node and the attribute; `legacygpu info MODEL`
must mark the node as not runnable."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ML = "ai.onnx.ml"
MS = "com.microsoft"


def tree(**over):
    a = dict(nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[0, 0, 0],
             nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF"], nodes_values=[0.5, 0, 0], nodes_truenodeids=[1, 0, 0],
             nodes_falsenodeids=[2, 0, 0], target_treeids=[0, 0], target_nodeids=[1, 2], target_ids=[0, 0],
             target_weights=[1.0, 2.0], n_targets=1)
    a.update(over)
    return helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, name="trees", **a)


def v5(**over):
    a = dict(n_targets=1, nodes_featureids=[0], nodes_truenodeids=[0], nodes_falsenodeids=[1], nodes_trueleafs=[1],
             nodes_falseleafs=[1], nodes_modes=numpy_helper.from_array(np.array([0], np.uint8)),
             nodes_splits=numpy_helper.from_array(np.array([0.5], np.float32)), tree_roots=[0], leaf_targetids=[0, 0],
             leaf_weights=numpy_helper.from_array(np.array([1, 2], np.float32)))
    a.update(over)
    return helper.make_node("TreeEnsemble", ["X"], ["Y"], domain=ML, name="trees", **a)


def linear(**over):
    a = dict(coefficients=[1.0, 2.0, 3.0, 4.0], intercepts=[0.0, 0.0], classlabels_ints=[0, 1])
    a.update(over)
    return helper.make_node("LinearClassifier", ["X"], ["label", "Y"], domain=ML, name="linear", **a)


def nbits(b_bytes, **over):
    a = dict(K=2, N=2, bits=4, block_size=16)
    a.update(over)
    return helper.make_node("MatMulNBits", ["X", "B", "scales"], ["Y"], domain=MS, name="nbits", **a), [
        numpy_helper.from_array(np.zeros(b_bytes, np.uint8).reshape(2, 1, -1), "B"),
        numpy_helper.from_array(np.ones((2, 1), np.float32), "scales")]


CASES = [
    ("true child out of range", tree(nodes_truenodeids=[9, 0, 0]), "true child id 9 is not a node of tree 0"),
    ("mismatched lengths", tree(nodes_featureids=[0, 0]), "nodes_featureids has 2 values, nodes_treeids has 3"),
    ("cycle", tree(nodes_modes=["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"], nodes_truenodeids=[1, 0, 0],
                   nodes_falsenodeids=[2, 2, 0], target_nodeids=[2, 2]), "has a cycle"),
    ("weight on a branch", tree(target_nodeids=[0, 2]), "not a LEAF"),
    ("target id out of range", tree(target_ids=[0, 3]), "target/class id 3 is outside 0..0"),
    ("unknown mode", tree(nodes_modes=["BRANCH_XX", "LEAF", "LEAF"]), "nodes_modes[0] is 'BRANCH_XX'"),
    ("v5 leaf out of range", v5(nodes_falsenodeids=[7]), "false child 7 is outside the leaves"),
    ("v5 root out of range", v5(tree_roots=[3]), "tree_roots[0] is 3"),
    ("v5 mismatched leaves", v5(leaf_targetids=[0]), "leaf_targetids has 1 values, leaf_weights has 2"),
    ("linear coefficients", linear(coefficients=[1.0, 2.0, 3.0]), "coefficients has 3 values"),
    ("linear labels", linear(classlabels_ints=[0, 1, 2]), "2 coefficient rows for 3 class labels"),
    ("svm coefficients", helper.make_node("SVMClassifier", ["X"], ["label", "Y"], domain=ML, name="svm", kernel_type="RBF",
                                          kernel_params=[0.5, 0, 3], vectors_per_class=[1, 1], support_vectors=[0, 0, 1, 1],
                                          coefficients=[1.0], rho=[0.0], classlabels_ints=[0, 1]),
     "coefficients has 1 values"),
    ("label encoder lengths", helper.make_node("LabelEncoder", ["X"], ["Y"], domain=ML, name="enc", keys_int64s=[1, 2, 3],
                                               values_int64s=[4, 5]), "has 3 keys but 2 values"),
    ("matmulnbits B size", nbits(10), "B must be uint8 [N=2, 1 blocks, 8 bytes]"),
    ("matmulnbits bits", nbits(16, bits=3), "bits = 3; supported: 2, 4, 8"),
    ("fusedconv activation", (helper.make_node("FusedConv", ["X", "W"], ["Y"], domain=MS, name="fconv", activation="Swish"),
                              [numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "W")]),
     "activation 'Swish' is not one of"),
]


def main(exe):
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        x = numpy_helper.from_array(np.zeros((2, 2), np.float32), "X")
        xi = numpy_helper.from_array(np.zeros((2, 2), np.int64), "X")
        for i, (name, node, want) in enumerate(CASES):
            node, inits = node if isinstance(node, tuple) else (node, [])
            is_int = node.op_type == "LabelEncoder"
            outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in node.output]
            g = helper.make_graph([node], "bad", [helper.make_tensor_value_info("X", TensorProto.INT64 if is_int else TensorProto.FLOAT, [2, 2])],
                                  outs, initializer=inits)
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1),
                                                    helper.make_opsetid(ML, 5 if node.op_type == "TreeEnsemble" else 3)])
            path = os.path.join(tmp, "m%d.onnx" % i)
            onnx.save(m, path)
            xin = os.path.join(tmp, "x%d.pb" % i)
            with open(xin, "wb") as f:
                f.write((xi if is_int else x).SerializeToString())
            r = subprocess.run([exe, "run", path, "--input", "X=" + xin, "--output-dir", os.path.join(tmp, "out")],
                               capture_output=True, text=True, timeout=60)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            ok = r.returncode == 1 and len(lines) == 1 and want in lines[0] and node.name in lines[0]
            info = subprocess.run([exe, "info", path], capture_output=True, text=True, timeout=60)
            ok_info = info.returncode == 0 and want in info.stdout
            print("%s  %-26s %s" % ("ok  " if ok and ok_info else "FAIL", name, lines[0] if lines else r.stderr))
            if not ok_info:
                print("      info did not mark the node:\n" + info.stdout + info.stderr)
            failures += not (ok and ok_info)
    print("%d of %d bad models rejected as expected" % (len(CASES) - failures, len(CASES)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
