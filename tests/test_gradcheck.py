"""The public finite-difference gradient checker."""

import numpy as np
import pytest
import scipy.sparse as sp

from skgraph import GradientCheck, check_gradients, ops
from skgraph.graph import Graph
from skgraph.networks import linear_graph, mlp_graph


def _network(activation="tanh", output="softmax", n_outputs=3, seed=0, sparse=False):
    net = mlp_graph(4, (5, 3), n_outputs, activation=activation, output=output)
    rng = np.random.default_rng(seed)
    net.graph.set_flat(rng.normal(scale=0.7, size=net.graph.n_parameters))
    X = rng.normal(size=(9, 4))
    if sparse:
        X = sp.csr_matrix(np.where(rng.uniform(size=X.shape) < 0.5, X, 0.0))
    if output == "softmax":
        Y = np.eye(n_outputs)[rng.integers(n_outputs, size=9)]
    else:
        Y = (rng.uniform(size=(9, n_outputs)) < 0.5).astype(float)
    s = rng.uniform(0.5, 2.0, 9)
    feed = {net.X: X, net.y: Y, net.sample_weight: s / s.sum(), net.l2_strength: 0.3}
    return net, feed


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("output", ["logistic", "softmax"])
def test_mlp_gradients_are_exact(activation, output):
    net, feed = _network(activation, output)
    theta = net.graph.get_flat()
    result = check_gradients(net.graph, loss=net.objective, feed=feed, max_entries=None)
    assert isinstance(result, GradientCheck)
    assert list(result) == [p.name for p in net.graph.parameters]
    assert result.max_error < 1e-6, result
    for name in result:
        assert result.backprop[name].shape == result.numeric[name].shape
    np.testing.assert_array_equal(net.graph.theta, theta)  # left as found


def test_sparse_input_gradients():
    net, feed = _network(sparse=True)
    assert check_gradients(net.graph, loss=net.objective, feed=feed).max_error < 1e-6


def test_linear_graph_without_intercept():
    net = linear_graph(3, 1, fit_intercept=False, output="logistic")
    net.graph.set_flat([0.3, -0.2, 0.5])
    rng = np.random.default_rng(1)
    feed = {
        net.X: rng.normal(size=(6, 3)),
        net.y: rng.integers(2, size=(6, 1)).astype(float),
        net.sample_weight: np.full(6, 1 / 6),
        net.l2_strength: 0.1,
    }
    result = check_gradients(net.graph, loss=net.objective, feed=feed)
    assert list(result) == ["W"] and result.max_error < 1e-6


def test_detects_a_wrong_derivative():
    class WrongSquare(ops.Square):
        def backward(self, ctx, g, x):
            return (g * x,)  # should be 2 g x

    g = Graph()
    w = g.parameter("w", np.array([1.0, -2.0, 3.0]))
    loss = ops.Sum(WrongSquare(w))
    result = check_gradients(g, loss=loss, feed={})
    assert result["w"] == pytest.approx(0.5, rel=1e-6)
    assert "w" in repr(result)


def test_max_entries_samples_each_parameter():
    net, feed = _network()
    result = check_gradients(net.graph, loss=net.objective, feed=feed, max_entries=4)
    assert all(v.size <= 4 for v in result.numeric.values())
    assert result.numeric["W1"].size == 4  # 20 entries, 4 checked
    again = check_gradients(net.graph, loss=net.objective, feed=feed, max_entries=4)
    np.testing.assert_array_equal(again.numeric["W1"], result.numeric["W1"])


def test_float32_graph():
    net = mlp_graph(3, (4,), 2, activation="tanh", output="softmax", dtype=np.float32)
    rng = np.random.default_rng(0)
    net.graph.set_flat(rng.normal(scale=0.5, size=net.graph.n_parameters))
    feed = {
        net.X: rng.normal(size=(8, 3)).astype(np.float32),
        net.y: np.eye(2, dtype=np.float32)[rng.integers(2, size=8)],
        net.sample_weight: np.full(8, 1 / 8, dtype=np.float32),
        net.l2_strength: 0.1,
    }
    assert check_gradients(net.graph, loss=net.objective, feed=feed).max_error < 1e-2


def test_estimator_protocol():
    """An estimator is checked through its ``_training_objective``."""
    net, feed = _network(output="logistic", n_outputs=1)

    class Fitted:
        def _training_objective(self, X, y, sample_weight):
            assert X is feed[net.X] and sample_weight is None
            return net.graph, net.objective, feed

    result = check_gradients(Fitted(), feed[net.X], feed[net.y])
    assert result.max_error < 1e-6


def test_argument_errors():
    net, feed = _network()
    with pytest.raises(ValueError, match="loss"):
        check_gradients(net.graph, feed=feed)
    with pytest.raises(ValueError, match="X"):
        check_gradients(object())
    assert GradientCheck().max_error == 0.0
