#!/usr/bin/python3
"""make_sklearn_models.py OUT_DIR [--npy]: fits real scikit-learn pipelines (Debian's python3-sklearn),
writes each as an ONNX model with ai.onnx.ml operators (python3-onnx's helper; no converter is
packaged in Debian 12) and stores sklearn's own predictions as the reference outputs, in the
ONNX test-data layout: OUT_DIR/sklearn_<name>/model.onnx + test_data_set_0/{input,output}_N.pb.

`legacygpu test-onnx OUT_DIR` then checks the engine against scikit-learn end to end. --npy also
writes the numeric cases' tensors as <case>/npy/*.npy for tests/contrib/ort_crosscheck.mjs
(ONNX Runtime reads the same graphs; string tensors and ZipMap's sequence are left out)."""
import os
import sys

NPY = "--npy" in sys.argv[2:]

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC, LinearSVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

ML = "ai.onnx.ml"
OPSETS = [helper.make_opsetid("", 17), helper.make_opsetid(ML, 3)]


def write_case(out, name, nodes, inputs, outputs, feeds, refs):
    """inputs/outputs: [(name, elem_type, shape)]; feeds/refs: arrays in the same order."""
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_value_info(n, t) if isinstance(t, onnx.TypeProto) else helper.make_tensor_value_info(n, t, s)
         for n, t, s in outputs])
    model = helper.make_model(graph, opset_imports=OPSETS, producer_name="make_sklearn_models.py")
    model.ir_version = 8
    d = os.path.join(out, "sklearn_" + name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    plain = all(a.dtype != object for a in feeds + refs) and all(not isinstance(t, onnx.TypeProto) for _, t, _ in outputs)
    for kind, specs, arrays in (("input", inputs, feeds), ("output", outputs, refs)):
        for i, ((n, _, _), a) in enumerate(zip(specs, arrays)):
            t = numpy_helper.from_array(a, n)
            with open(os.path.join(d, "test_data_set_0", "%s_%d.pb" % (kind, i)), "wb") as f:
                f.write(t.SerializeToString())
            if NPY and plain:
                os.makedirs(os.path.join(d, "npy"), exist_ok=True)
                np.save(os.path.join(d, "npy", "%s.%s.npy" % (kind, n)), a)


def scaler_node(scaler, x, y):
    return helper.make_node("Scaler", [x], [y], domain=ML, offset=scaler.mean_.astype(np.float32).tolist(),
                            scale=(1.0 / scaler.scale_).astype(np.float32).tolist())


def tree_attrs(trees, prefix, n_out, weight_of, scale):
    """Attributes of TreeEnsembleClassifier/Regressor for fitted sklearn trees (x <= t: left)."""
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_truenodeids",
                         "nodes_falsenodeids", prefix + "_treeids", prefix + "_nodeids", prefix + "_ids", "w")}
    values = []
    for t, est in enumerate(trees):
        tr = est.tree_
        for i in range(tr.node_count):
            leaf = tr.children_left[i] < 0
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(0 if leaf else int(tr.feature[i]))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            a["nodes_truenodeids"].append(0 if leaf else int(tr.children_left[i]))
            a["nodes_falsenodeids"].append(0 if leaf else int(tr.children_right[i]))
            values.append(0.0 if leaf else float(tr.threshold[i]))
            if leaf:
                for k, w in enumerate(weight_of(tr, i)):
                    a[prefix + "_treeids"].append(t)
                    a[prefix + "_nodeids"].append(i)
                    a[prefix + "_ids"].append(k)
                    a["w"].append(float(w) * scale)
    w = a.pop("w")
    # float64 thresholds and weights (opset 3 tensors) for float64 X, as skl2onnx writes them for a
    # DoubleTensorType input: sklearn compares float32 features with float64 thresholds, which
    # float32 thresholds would not reproduce (a forest then flips a sample). ONNX Runtime wants
    # the *_as_tensor forms in X's type.
    a["nodes_values_as_tensor"] = numpy_helper.from_array(np.array(values, np.float64))
    a[prefix + "_weights_as_tensor"] = numpy_helper.from_array(np.array(w, np.float64))
    return a


def class_probs(tr, i):
    v = tr.value[i][0]
    return v / v.sum()


def main(out):
    os.makedirs(out, exist_ok=True)
    iris = load_iris()
    X = iris.data.astype(np.float32)
    y = iris.target
    rng = np.random.RandomState(0)
    Xt = X[rng.permutation(len(X))[:40]]

    # StandardScaler + multinomial LogisticRegression, probabilities through ZipMap.
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=500))]).fit(X, y)
    sc, lr = pipe.named_steps["scale"], pipe.named_steps["lr"]
    nodes = [scaler_node(sc, "X", "Xs"),
             helper.make_node("LinearClassifier", ["Xs"], ["label", "scores"], domain=ML,
                              coefficients=lr.coef_.astype(np.float32).ravel().tolist(),
                              intercepts=lr.intercept_.astype(np.float32).tolist(), classlabels_ints=[0, 1, 2],
                              post_transform="SOFTMAX"),
             helper.make_node("ZipMap", ["scores"], ["probabilities"], domain=ML, classlabels_int64s=[0, 1, 2])]
    # Declared as skl2onnx does: a sequence of maps {label: probability}. legacygpu returns it as
    # the dense [N, classes] tensor, which is what the reference holds.
    zipmap_type = onnx.TypeProto()
    zipmap_type.sequence_type.elem_type.map_type.key_type = TensorProto.INT64
    zipmap_type.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    write_case(out, "scaler_logreg", nodes, [("X", TensorProto.FLOAT, [None, 4])],
               [("label", TensorProto.INT64, [None]), ("probabilities", zipmap_type, None)],
               [Xt], [pipe.predict(Xt).astype(np.int64), pipe.predict_proba(Xt).astype(np.float32)])

    # Binary LogisticRegression with string labels: one coefficient row, LOGISTIC.
    Xb, yb = make_classification(n_samples=200, n_features=6, random_state=1)
    Xb = Xb.astype(np.float32)
    names = np.array(["no", "yes"], dtype=object)
    lrb = LogisticRegression().fit(Xb, names[yb])
    nodes = [helper.make_node("LinearClassifier", ["X"], ["label", "probabilities"], domain=ML,
                              coefficients=lrb.coef_.astype(np.float32).ravel().tolist(),
                              intercepts=lrb.intercept_.astype(np.float32).tolist(), classlabels_strings=["no", "yes"],
                              post_transform="LOGISTIC")]
    write_case(out, "logreg_binary_strings", nodes, [("X", TensorProto.FLOAT, [None, 6])],
               [("label", TensorProto.STRING, [None]), ("probabilities", TensorProto.FLOAT, [None, 2])],
               [Xb[:30]], [lrb.predict(Xb[:30]).astype(object), lrb.predict_proba(Xb[:30]).astype(np.float32)])

    # Decision tree and random forest classifiers.
    for name, model in (("decision_tree_classifier", DecisionTreeClassifier(max_depth=5, random_state=0)),
                        ("random_forest_classifier", RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0))):
        model.fit(X, y)
        trees = model.estimators_ if hasattr(model, "estimators_") else [model]
        attrs = tree_attrs(trees, "class", 3, class_probs, 1.0 / len(trees))
        nodes = [helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "probabilities"], domain=ML,
                                  classlabels_int64s=[0, 1, 2], post_transform="NONE", **attrs)]
        write_case(out, name, nodes, [("X", TensorProto.DOUBLE, [None, 4])],
                   [("label", TensorProto.INT64, [None]), ("probabilities", TensorProto.FLOAT, [None, 3])],
                   [Xt.astype(np.float64)], [model.predict(Xt).astype(np.int64), model.predict_proba(Xt).astype(np.float32)])

    # A binary random forest: leaves weigh both classes.
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(Xb, yb)
    attrs = tree_attrs(forest.estimators_, "class", 2, class_probs, 1.0 / 5)
    nodes = [helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "probabilities"], domain=ML,
                              classlabels_int64s=[0, 1], post_transform="NONE", **attrs)]
    write_case(out, "random_forest_binary", nodes, [("X", TensorProto.DOUBLE, [None, 6])],
               [("label", TensorProto.INT64, [None]), ("probabilities", TensorProto.FLOAT, [None, 2])],
               [Xb[:40].astype(np.float64)], [forest.predict(Xb[:40]).astype(np.int64), forest.predict_proba(Xb[:40]).astype(np.float32)])

    # The same forest with the positive class's weight alone (the binary form): scores [1 - p, p].
    attrs = tree_attrs(forest.estimators_, "class", 2, lambda tr, i: [0.0, class_probs(tr, i)[1]], 1.0 / 5)
    keep = [k for k, c in enumerate(attrs["class_ids"]) if c == 1]
    for key in ("class_treeids", "class_nodeids", "class_ids"):
        attrs[key] = [attrs[key][k] for k in keep]
    attrs["class_weights_as_tensor"] = numpy_helper.from_array(numpy_helper.to_array(attrs["class_weights_as_tensor"])[keep])
    nodes = [helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "probabilities"], domain=ML,
                              classlabels_int64s=[0, 1], post_transform="NONE", **attrs)]
    write_case(out, "random_forest_binary_positive_weights", nodes, [("X", TensorProto.DOUBLE, [None, 6])],
               [("label", TensorProto.INT64, [None]), ("probabilities", TensorProto.FLOAT, [None, 2])],
               [Xb[:40].astype(np.float64)], [forest.predict(Xb[:40]).astype(np.int64), forest.predict_proba(Xb[:40]).astype(np.float32)])

    # Decision tree and random forest regressors (diabetes).
    diab = load_diabetes()
    Xd, yd = diab.data.astype(np.float32), diab.target
    Xdt = Xd[:50]
    for name, model, agg in (("decision_tree_regressor", DecisionTreeRegressor(max_depth=6, random_state=0), "SUM"),
                             ("random_forest_regressor", RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0),
                              "AVERAGE")):
        model.fit(Xd, yd)
        trees = model.estimators_ if hasattr(model, "estimators_") else [model]
        attrs = tree_attrs(trees, "target", 1, lambda tr, i: [tr.value[i][0][0]], 1.0)
        nodes = [helper.make_node("TreeEnsembleRegressor", ["X"], ["variable"], domain=ML, n_targets=1,
                                  aggregate_function=agg, **attrs)]
        write_case(out, name, nodes, [("X", TensorProto.DOUBLE, [None, 10])], [("variable", TensorProto.FLOAT, [None, 1])],
                   [Xdt.astype(np.float64)], [model.predict(Xdt).astype(np.float32).reshape(-1, 1)])

    # SVC (RBF, one-vs-one): labels and the pairwise decision values; and with Platt probabilities.
    for name, svc in (("svc_rbf", SVC(kernel="rbf", gamma=0.5, decision_function_shape="ovo")),
                      ("svc_rbf_probability", SVC(kernel="rbf", gamma=0.5, probability=True, random_state=0))):
        svc.fit(X, y)
        attrs = dict(kernel_type="RBF", kernel_params=[0.5, 0.0, 3.0], vectors_per_class=svc.n_support_.tolist(),
                     support_vectors=svc.support_vectors_.astype(np.float32).ravel().tolist(),
                     coefficients=svc.dual_coef_.astype(np.float32).ravel().tolist(),
                     rho=svc.intercept_.astype(np.float32).tolist(), classlabels_ints=[0, 1, 2])
        if svc.probability:
            attrs.update(prob_a=svc.probA_.astype(np.float32).tolist(), prob_b=svc.probB_.astype(np.float32).tolist())
            scores = svc.predict_proba(Xt)
        else:
            scores = svc.decision_function(Xt)
        nodes = [helper.make_node("SVMClassifier", ["X"], ["label", "scores"], domain=ML, **attrs)]
        write_case(out, name, nodes, [("X", TensorProto.FLOAT, [None, 4])],
                   [("label", TensorProto.INT64, [None]), ("scores", TensorProto.FLOAT, [None, 3])],
                   [Xt], [svc.predict(Xt).astype(np.int64), scores.astype(np.float32)])

    # SVR (RBF).
    svr = SVR(kernel="rbf", gamma=2.0, C=50.0).fit(Xd[:200], yd[:200])
    nodes = [helper.make_node("SVMRegressor", ["X"], ["variable"], domain=ML, kernel_type="RBF", kernel_params=[2.0, 0.0, 3.0],
                              n_supports=int(svr.support_vectors_.shape[0]),
                              support_vectors=svr.support_vectors_.astype(np.float32).ravel().tolist(),
                              coefficients=svr.dual_coef_.astype(np.float32).ravel().tolist(),
                              rho=svr.intercept_.astype(np.float32).tolist())]
    write_case(out, "svr_rbf", nodes, [("X", TensorProto.FLOAT, [None, 10])], [("variable", TensorProto.FLOAT, [None, 1])],
               [Xdt], [svr.predict(Xdt).astype(np.float32).reshape(-1, 1)])

    # Normalizer (L2) + LinearSVC: scores are the raw decision values.
    lsvc = Pipeline([("norm", Normalizer("l2")), ("svc", LinearSVC(random_state=0, dual=True, max_iter=5000))]).fit(X, y)
    m = lsvc.named_steps["svc"]
    nodes = [helper.make_node("Normalizer", ["X"], ["Xn"], domain=ML, norm="L2"),
             helper.make_node("LinearClassifier", ["Xn"], ["label", "scores"], domain=ML,
                              coefficients=m.coef_.astype(np.float32).ravel().tolist(),
                              intercepts=m.intercept_.astype(np.float32).tolist(), classlabels_ints=[0, 1, 2])]
    write_case(out, "normalizer_linearsvc", nodes, [("X", TensorProto.FLOAT, [None, 4])],
               [("label", TensorProto.INT64, [None]), ("scores", TensorProto.FLOAT, [None, 3])],
               [Xt], [lsvc.predict(Xt).astype(np.int64), lsvc.decision_function(Xt).astype(np.float32)])

    # OneHotEncoder (string column) + imputed, scaled numbers -> Ridge.
    colors = np.array(["red", "green", "blue"], dtype=object)
    n = 120
    cat = colors[rng.randint(0, 3, n)]
    num = rng.randn(n, 2).astype(np.float32)
    num[rng.rand(n, 2) < 0.1] = np.nan
    target = (cat == "red") * 3.0 + (cat == "blue") * -2.0 + np.nan_to_num(num[:, 0]) * 1.5 + rng.randn(n) * 0.1
    table = np.empty((n, 3), dtype=object)
    table[:, 0], table[:, 1], table[:, 2] = cat, num[:, 0], num[:, 1]
    ct = ColumnTransformer([("cat", OneHotEncoder(categories=[["blue", "green", "red"]]), [0]),
                            ("num", Pipeline([("imp", SimpleImputer(strategy="mean")), ("sc", StandardScaler())]), [1, 2])])
    pipe = Pipeline([("prep", ct), ("ridge", Ridge(alpha=1.0))]).fit(table, target)
    imp = pipe.named_steps["prep"].named_transformers_["num"].named_steps["imp"]
    scn = pipe.named_steps["prep"].named_transformers_["num"].named_steps["sc"]
    ridge = pipe.named_steps["ridge"]
    nodes = [helper.make_node("OneHotEncoder", ["color"], ["onehot"], domain=ML, cats_strings=["blue", "green", "red"]),
             helper.make_node("Imputer", ["numbers"], ["filled"], domain=ML,
                              imputed_value_floats=imp.statistics_.astype(np.float32).tolist(),
                              replaced_value_float=float("nan")),
             scaler_node(scn, "filled", "scaled"),
             helper.make_node("FeatureVectorizer", ["onehot", "scaled"], ["features"], domain=ML, inputdimensions=[3, 2]),
             helper.make_node("LinearRegressor", ["features"], ["variable"], domain=ML,
                              coefficients=ridge.coef_.astype(np.float32).tolist(), intercepts=[float(ridge.intercept_)])]
    k = 25
    write_case(out, "onehot_imputer_ridge", nodes,
               [("color", TensorProto.STRING, [None]), ("numbers", TensorProto.FLOAT, [None, 2])],
               [("variable", TensorProto.FLOAT, [None, 1])],
               [cat[:k], num[:k]], [pipe.predict(table[:k]).astype(np.float32).reshape(-1, 1)])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: make_sklearn_models.py OUT_DIR [--npy]")
    main(sys.argv[1])
