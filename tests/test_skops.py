"""skops files: every estimator round-trips, trusting exactly skgraph's types."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skgraph
from skgraph import (
    Graph,
    LogisticRegressionGraph,
    MLPClassifierGraph,
    MLPRegressorGraph,
    ops,
)

sio = pytest.importorskip("skops.io")
from skops.io.exceptions import UntrustedTypesFoundException  # noqa: E402


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4)
    return X, rng.randint(0, 3, 80)


def _mlp(solver, **params):
    return MLPClassifierGraph(
        hidden_layer_sizes=(6,), solver=solver, max_iter=15, random_state=0, **params
    )


CASES = {
    "lr-binary": (LogisticRegressionGraph(), lambda X, y: (X, y % 2)),
    "lr-strings-f32": (
        LogisticRegressionGraph(),
        lambda X, y: (X.astype(np.float32), np.array(["a", "b", "c"])[y]),
    ),
    "mlp-adam": (_mlp("adam"), lambda X, y: (X, y)),
    "mlp-sgd-early-stopping": (
        _mlp("sgd", early_stopping=True),
        lambda X, y: (X, y),
    ),
    "mlp-lbfgs-multilabel": (
        _mlp("lbfgs", activation="tanh"),
        lambda X, y: (X, np.stack([y == 0, y == 1], axis=1).astype(int)),
    ),
    "graph-dropout-gelu": (
        skgraph.GraphClassifier(
            [skgraph.layers.Dense(6, activation="gelu"), skgraph.layers.Dropout(0.2)],
            max_iter=15,
            random_state=0,
        ),
        lambda X, y: (X, y),
    ),
    "pipeline": (
        make_pipeline(StandardScaler(), _mlp("lbfgs")),
        lambda X, y: (X, y),
    ),
    "mlp-regressor-poisson-2-outputs": (
        MLPRegressorGraph("poisson", (6,), max_iter=15, random_state=0),
        lambda X, y: (X, np.stack([y, 2 - y], axis=1)),
    ),
    "mlp-regressor-adam-early-stopping": (
        MLPRegressorGraph(hidden_layer_sizes=(6,), early_stopping=True, max_iter=15),
        lambda X, y: (X, X[:, 0] + y),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_skops_round_trip_trusts_only_skgraph_types(case):
    est, make = CASES[case]
    X, y = make(*_data())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted
    assert all(name.startswith("skgraph.") for name in untrusted), untrusted
    assert set(untrusted) <= set(skgraph.trusted_types())
    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(data)
    loaded = sio.loads(data, trusted=skgraph.trusted_types())
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))  # bitwise
    if hasattr(est, "predict_proba"):
        assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_a_loaded_network_keeps_its_links_and_trains_on():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = _mlp("adam").fit(X, y)
    loaded = sio.loads(sio.dumps(est), trusted=skgraph.trusted_types())
    graph, network = loaded.graph_, loaded._network
    assert network.graph is graph and network.X is graph.nodes[0]
    assert all(node.graph is graph for node in graph.nodes)
    assert graph.dtype == np.float64 and isinstance(graph.dtype, np.dtype)
    assert network.logits.parents[0] is graph["h1"]
    assert np.shares_memory(loaded.coefs_[0], graph.theta)  # views, as fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loaded.partial_fit(X, y)
        est.partial_fit(X, y)
    assert np.array_equal(loaded.graph_.theta, est.graph_.theta)


def test_a_bare_graph_dumps_without_recursion():
    graph = Graph()
    graph.input("x")
    loaded = sio.loads(sio.dumps(graph), trusted=skgraph.trusted_types())
    assert loaded["x"].graph is loaded
    assert sio.get_untrusted_types(data=sio.dumps(graph)) == [
        "skgraph.graph.Graph",
        "skgraph.graph.Input",
    ]


def test_trusted_types_are_exactly_skgraphs():
    names = skgraph.trusted_types()
    assert all(name.startswith("skgraph.") for name in names)
    assert len(names) == len(set(names))
    registries = ("ACTIVATIONS", "LAYER_ACTIVATIONS")
    op_names = {f"skgraph.ops.{name}" for name in ops.__all__ if name not in registries}
    assert op_names <= set(names)
    assert {
        "skgraph._logistic.LogisticRegressionGraph",
        "skgraph._mlp.MLPClassifierGraph",
        "skgraph._mlp_regressor.MLPRegressorGraph",
        "skgraph.graph.Graph",
    } <= set(names)
