"""ONNX export: onnxruntime computes what predict / predict_proba compute."""

import copy
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skgraph import (
    LogisticRegressionGraph,
    MLPClassifierGraph,
    MLPRegressorGraph,
    ops,
    to_onnx,
)
from skgraph.graph import Graph, Op
from skgraph.networks import mlp_graph

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

import skgraph.onnx as skgraph_onnx  # noqa: E402

TOLERANCE = {np.float64: 1e-6, np.float32: 1e-5}
N_ROWS = 1000


def _session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _data(dtype, n_features=6):
    rng = np.random.RandomState(0)
    return rng.randn(N_ROWS, n_features).astype(dtype)


def _targets(task, X):
    scores = X[:, :3] @ np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0], [-1.0, 0.5, 1.0]])
    if task == "binary":
        return (scores[:, 0] > 0).astype(int)
    if task == "multiclass":
        return scores.argmax(axis=1) + 3  # labels 3, 4, 5: not indices
    if task == "strings":
        return np.array(["cat", "cow", "dog"])[scores.argmax(axis=1)]
    return (scores > 0).astype(int)  # multilabel


def _estimator(name):
    if name == "lr":
        return LogisticRegressionGraph(max_iter=200)
    return MLPClassifierGraph(
        hidden_layer_sizes=(8, 4),
        activation={"mlp_relu": "relu", "mlp_tanh": "tanh"}.get(name, "logistic"),
        solver="lbfgs",
        max_iter=40,
        random_state=0,
    )


CASES = [
    ("lr", "binary"),
    ("lr", "multiclass"),
    ("lr", "strings"),
    ("mlp_relu", "binary"),
    ("mlp_tanh", "multiclass"),
    ("mlp_relu", "strings"),
    ("mlp_logistic", "multilabel"),
]
_FITTED = {}


def _fitted(name, task, dtype):
    key = (name, task, dtype)
    if key not in _FITTED:
        X = _data(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _FITTED[key] = _estimator(name).fit(X, _targets(task, X))
    return _FITTED[key]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("name", "task"), CASES, ids=["-".join(c) for c in CASES])
def test_onnxruntime_gives_predict_and_predict_proba(name, task, dtype):
    est = _fitted(name, task, dtype)
    model = to_onnx(est, _data(dtype)[:1])
    onnx.checker.check_model(model, full_check=True)
    session = _session(model)
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    for n_rows in (1, N_ROWS):
        X = _data(dtype)[:n_rows]
        label, proba = session.run(None, {"X": X})
        assert proba.dtype == dtype
        np.testing.assert_array_equal(label, est.predict(X))
        np.testing.assert_allclose(
            proba, est.predict_proba(X), rtol=0, atol=TOLERANCE[dtype]
        )
    if task == "strings":
        assert label.dtype == object
    else:
        assert label.dtype == np.int64  # as skl2onnx gives integer labels


def test_model_keeps_the_graph_dtype_by_default_and_follows_x():
    est = _fitted("lr", "binary", np.float64)
    default = to_onnx(est)
    assert default.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    as_float = to_onnx(est, _data(np.float32)[:1])
    assert as_float.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    X = _data(np.float32)[:50]
    label, _ = _session(as_float).run(None, {"X": X})
    np.testing.assert_array_equal(label, est.predict(X))


def test_a_model_fitted_on_sparse_input_serves_dense_rows():
    X = _data(np.float64)
    X[np.abs(X) < 0.8] = 0.0
    X_sparse = sp.csr_matrix(X)
    y = _targets("multiclass", X)
    est = LogisticRegressionGraph().fit(X_sparse, y)
    model = to_onnx(est, X_sparse)  # the dtype is read, the input is dense
    label, proba = _session(model).run(None, {"X": X_sparse.toarray()})
    np.testing.assert_array_equal(label, est.predict(X_sparse))
    np.testing.assert_allclose(proba, est.predict_proba(X_sparse), rtol=0, atol=1e-6)


@pytest.mark.parametrize("opset", [skgraph_onnx.MIN_OPSET, 18, 21])
def test_target_opset(opset):
    est = _fitted("mlp_tanh", "multiclass", np.float32)
    model = to_onnx(est, target_opset=opset)
    assert model.opset_import[0].version == opset
    X = _data(np.float32)[:20]
    label, _ = _session(model).run(None, {"X": X})
    np.testing.assert_array_equal(label, est.predict(X))


def test_clear_errors():
    est = _fitted("lr", "binary", np.float64)
    with pytest.raises(ValueError, match="target_opset must be between 13"):
        to_onnx(est, target_opset=9)
    with pytest.raises(ValueError, match="float32 or float64"):
        to_onnx(est, np.zeros((1, 6), dtype=np.int64))
    with pytest.raises(ValueError, match="X has 2 features"):
        to_onnx(est, np.zeros((1, 2)))
    with pytest.raises(TypeError, match="exports skgraph estimators"):
        X = _data(np.float64)
        to_onnx(LogisticRegression().fit(X, _targets("binary", X)))
    with pytest.raises(Exception, match="not fitted"):
        to_onnx(LogisticRegressionGraph())


class _Cube(Op):
    """x**3, an op of a user's own, without an ONNX lowering."""

    def forward(self, ctx, x):
        return x**3

    def backward(self, ctx, g, x):
        return (3 * g * x**2,)


def test_an_op_without_lowering_is_named_in_the_error():
    est = copy.deepcopy(_fitted("lr", "binary", np.float64))
    network = est._network
    network.logits = _Cube(network.logits, name="cubed_logits")
    with pytest.raises(TypeError, match=r"'cubed_logits' \(test_onnx\._Cube\)"):
        to_onnx(est)


def _lowered(graph, inputs, output, dtype, opset):
    """A model of ``output`` from the graph's ``inputs``, lowered op by op."""
    from onnx import helper

    builder = skgraph_onnx._ModelBuilder(dtype, opset)
    names = {node: node.name for node in inputs}
    (result,) = skgraph_onnx._lower_graph(builder, graph, [output], names)
    builder.op("Identity", result, output="out")
    element = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model_inputs = [
        helper.make_tensor_value_info(n.name, element, None) for n in inputs
    ]
    model_output = [helper.make_tensor_value_info("out", element, None)]
    return skgraph_onnx._make_model(builder, "ops", model_inputs, model_output)


OP_CASES = {
    "Affine": lambda x, W, b: ops.Affine(x, W, b),
    "Affine-no-bias": lambda x, W, b: ops.Affine(x, W),
    "MatMul": lambda x, W, b: ops.MatMul(x, W),
    "Add": lambda x, W, b: ops.Add(x, x),
    "Multiply": lambda x, W, b: ops.Multiply(x, ops.Sum(W, axis=1)),
    "Sum": lambda x, W, b: ops.Sum(x),
    "Sum-axis": lambda x, W, b: ops.Sum(x, axis=1),
    "Mean": lambda x, W, b: ops.Mean(x),
    "Mean-axis": lambda x, W, b: ops.Mean(x, axis=0),
    "Identity": lambda x, W, b: ops.Identity(x),
    "Sigmoid": lambda x, W, b: ops.Sigmoid(x),
    "Tanh": lambda x, W, b: ops.Tanh(x),
    "ReLU": lambda x, W, b: ops.ReLU(x),
    "Softmax": lambda x, W, b: ops.Softmax(x),
    "LogSoftmax": lambda x, W, b: ops.LogSoftmax(x),
    "Exp": lambda x, W, b: ops.Exp(x),
    "Log": lambda x, W, b: ops.Log(ops.Exp(x)),
    "Square": lambda x, W, b: ops.Square(x),
    "GELU": lambda x, W, b: ops.GELU(x),
    "LeakyReLU": lambda x, W, b: ops.LeakyReLU(x),
    "Softplus": lambda x, W, b: ops.Softplus(ops.Multiply(x, ops.Sum(W))),
    "SiLU": lambda x, W, b: ops.SiLU(x),
    "Dropout": lambda x, W, b: ops.Dropout(x, 0.5),
}


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("case", sorted(OP_CASES))
def test_every_lowering_computes_the_forward_rule(case, opset):
    rng = np.random.RandomState(1)
    graph = Graph()
    x = graph.input("x")
    W = graph.parameter("W", rng.randn(4, 3))
    b = graph.parameter("b", rng.randn(3))
    out = OP_CASES[case](x, W, b)
    X = rng.randn(5, 4)
    expected = graph.forward(out, {x: X}).value(out)
    (got,) = _session(_lowered(graph, [x], out, np.float64, opset)).run(None, {"x": X})
    # onnxruntime's Erf is single precision only (see ops.GELU.lower_onnx)
    tolerance = 1e-7 if case == "GELU" else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_training_only_ops_have_no_lowering():
    for op in (
        ops.L2Penalty,
        ops.SigmoidCrossEntropy,
        ops.SoftmaxCrossEntropy,
        ops.Huber,
    ):
        assert getattr(op, "lower_onnx", None) is None


class _TinyRegressor(RegressorMixin, BaseEstimator):
    """A regressor as a future skgraph one would be: a network, its logits."""

    def fit(self, X, y):
        rng = np.random.RandomState(0)
        self._network = mlp_graph(X.shape[1], (5,), y.shape[1], activation="tanh")
        self.graph_ = self._network.graph
        self.graph_.set_flat(rng.randn(self.graph_.n_parameters))
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        network = self._network
        return self.graph_.forward(network.logits, {network.X: X}).value(network.logits)


def test_a_regressor_exports_its_predictions_as_variable():
    X = _data(np.float64)
    est = _TinyRegressor().fit(X, np.zeros((len(X), 2)))
    session = _session(to_onnx(est))
    assert [o.name for o in session.get_outputs()] == ["variable"]
    (variable,) = session.run(None, {"X": X})
    np.testing.assert_allclose(variable, est.predict(X), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(
    ("loss", "n_outputs"), [("squared_error", 1), ("squared_error", 2), ("poisson", 2)]
)
def test_mlp_regressor_exports_its_predictions_as_variable(loss, n_outputs, dtype):
    X = _data(dtype)
    rng = np.random.default_rng(0)
    y = rng.poisson(2.0, size=(len(X), n_outputs)).astype(float)
    y = y[:, 0] if n_outputs == 1 else y
    est = MLPRegressorGraph(loss, (5,), "tanh", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    session = _session(to_onnx(est))
    assert [o.name for o in session.get_outputs()] == ["variable"]
    (variable,) = session.run(None, {"X": X})
    assert variable.shape == (len(X), n_outputs)
    expected = est.predict(X).reshape(len(X), n_outputs)
    # Rounding relative to the predictions' scale (exp outputs reach several).
    scale = np.abs(expected).max()
    np.testing.assert_allclose(
        variable, expected, rtol=0, atol=TOLERANCE[dtype] * scale
    )


# -- skl2onnx -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def registered():
    skgraph_onnx.register()
    skgraph_onnx.register()  # again: harmless


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_skl2onnx_converts_a_pipeline(registered, dtype):
    X = _data(dtype)
    y = _targets("strings", X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), _estimator("mlp_relu")).fit(X, y)
    model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    onnx.checker.check_model(model)
    label, proba = _session(model).run(None, {"X": X})
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(
        proba, pipe.predict_proba(X), rtol=0, atol=TOLERANCE[dtype]
    )


def test_skl2onnx_options_behave_as_for_scikit_learn(registered):
    X = _data(np.float32)
    y = _targets("multiclass", X)
    pipe = make_pipeline(StandardScaler(), LogisticRegressionGraph()).fit(X, y)
    zipmap = _session(skl2onnx.to_onnx(pipe, X[:1]))  # default: a ZipMap
    label, maps = zipmap.run(None, {"X": X[:3]})
    np.testing.assert_array_equal(label, pipe.predict(X[:3]))
    assert set(maps[0]) == {3, 4, 5}
    np.testing.assert_allclose(
        [maps[0][k] for k in (3, 4, 5)], pipe.predict_proba(X[:1])[0], atol=1e-5
    )
    nocl = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False, "nocl": True})
    indices, _ = _session(nocl).run(None, {"X": X[:50]})
    np.testing.assert_array_equal(indices, pipe.predict(X[:50]) - 3)


def test_skl2onnx_multilabel(registered):
    est = _fitted("mlp_logistic", "multilabel", np.float32)
    X = _data(np.float32)
    model = skl2onnx.to_onnx(est, X[:1], options={"zipmap": False})
    label, proba = _session(model).run(None, {"X": X})
    np.testing.assert_array_equal(label, est.predict(X))
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=0, atol=1e-5)


def test_skl2onnx_converts_a_column_transformer_pipeline(registered):
    pd = pytest.importorskip("pandas")
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "age": rng.uniform(20, 70, 300),
            "income": rng.lognormal(3, 1, 300),
            "city": rng.choice(["Oslo", "Lima", "Pune"], 300),
        }
    )
    y = np.where(frame["age"] + 10 * (frame["city"] == "Lima") > 45, "yes", "no")
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income"]),
            ("cat", OneHotEncoder(), ["city"]),
        ]
    )
    pipe = make_pipeline(columns, LogisticRegressionGraph()).fit(frame, y)
    types = [
        ("age", FloatTensorType([None, 1])),
        ("income", FloatTensorType([None, 1])),
        ("city", StringTensorType([None, 1])),
    ]
    model = skl2onnx.to_onnx(pipe, initial_types=types, options={"zipmap": False})
    feed = {
        "age": frame[["age"]].to_numpy(np.float32),
        "income": frame[["income"]].to_numpy(np.float32),
        "city": frame[["city"]].to_numpy(),
    }
    label, proba = _session(model).run(None, feed)
    np.testing.assert_array_equal(label, pipe.predict(frame))
    np.testing.assert_allclose(proba, pipe.predict_proba(frame), rtol=0, atol=1e-5)


def test_import_skgraph_imports_no_deploy_package():
    # skl2onnx alone takes seconds to import: registering is explicit.
    code = (
        "import sys, skgraph; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'onnx', 'onnxruntime', 'skl2onnx', 'skops'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_a_user_built_network_exports_without_its_dropout(dtype):
    from skgraph import GraphClassifier
    from skgraph.layers import Dense, Dropout

    X = _data(dtype)
    layers = [
        Dense(8, activation="gelu"),
        Dropout(0.3),
        Dense(6, activation="silu"),
        Dense(5, activation="softplus"),
        Dense(4, activation="leaky_relu"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = GraphClassifier(layers, max_iter=5, random_state=0)
        est.fit(X, _targets("multiclass", X))
    model = to_onnx(est, X[:1])
    assert "Dropout" not in {node.op_type for node in model.graph.node}
    label, proba = _session(model).run(None, {"X": X})
    np.testing.assert_array_equal(label, est.predict(X))
    np.testing.assert_allclose(
        proba, est.predict_proba(X), rtol=0, atol=TOLERANCE[dtype]
    )
