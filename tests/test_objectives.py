"""The objective module: one interface, its variants agree with each other."""

import inspect
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skgraph import (
    GraphClassifier,
    GraphRegressor,
    MLPClassifierGraph,
    MLPRegressorGraph,
    mlp_graph,
)
from skgraph._objectives import (
    FullBatchObjective,
    GraphObjective,
    MiniBatchObjective,
    Objective,
)
from skgraph._weights import normalized


def _network_and_data(n=23, seed=0):
    rng = np.random.default_rng(seed)
    network = mlp_graph(4, (5,), 3, activation="tanh")
    network.graph.set_flat(rng.normal(size=network.graph.n_parameters))
    X = rng.normal(size=(n, 4))
    Y = np.zeros((n, 3), order="F")
    Y[np.arange(n), rng.integers(0, 3, n)] = 1.0
    return network, X, Y, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("block_size", [None, 5, 23, 100])
def test_row_blocks_give_the_whole_batch_objective(weighted, block_size):
    network, X, Y, weights = _network_and_data()
    weights = weights if weighted else None
    theta = network.graph.theta.copy()
    whole = FullBatchObjective(network, X, Y, weights, 0.3)
    blocks = FullBatchObjective(network, X, Y, weights, 0.3, block_size)
    S = len(X) if weights is None else weights.sum()
    feed = network.feed(
        X, Y, None if weights is None else normalized(weights, S, X.dtype), 0.3 / S
    )
    reference = GraphObjective(network.graph, network.objective, feed)
    expected_loss, expected_grad = reference(theta)
    for objective in (whole, blocks):
        for _ in range(2):  # again: the traces' buffers are reused
            loss, grad = objective(theta)
            assert loss == pytest.approx(expected_loss, rel=1e-12)
            np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)
        assert grad.dtype == np.float64
        assert objective.n_calls == 2
        assert objective.last_grad_norm == pytest.approx(np.linalg.norm(grad))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_narrow_data_are_widened_a_block_at_a_time(monkeypatch, weighted):
    # float32 X, float64 network: each block is cast into one shared buffer
    # (here of 4 rows: the byte cap binds before the block size asked for),
    # and the objective and its Hessian products are those of a float64 X.
    import skgraph._objectives as objectives

    monkeypatch.setattr(objectives, "_WIDENED_BLOCK_BYTES", 4 * 4 * 8)
    network, X, Y, weights = _network_and_data()
    weights = weights if weighted else None
    X32 = X.astype(np.float32)
    theta = network.graph.theta.copy()
    direction = np.random.default_rng(1).normal(size=theta.shape)
    narrow = FullBatchObjective(network, X32, Y, weights, 0.3, block_size=10)
    wide = FullBatchObjective(network, X32.astype(np.float64), Y, weights, 0.3)
    assert [b.stop - b.start for b in narrow._blocks] == [4] * 5 + [3]
    feeds = [feed[network.X] for feed in narrow.block_feeds()]
    assert all(x.dtype == np.float64 and np.shares_memory(x, feeds[0]) for x in feeds)
    expected_loss, expected_grad = wide(theta)
    for _ in range(2):
        loss, grad = narrow(theta)
        assert loss == pytest.approx(expected_loss, rel=1e-12)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        narrow.hessp(theta, direction), wide.hessp(theta, direction), rtol=1e-10
    )
    # Unblocked, the data are fed as they are (the first layer widens them).
    (feed,) = FullBatchObjective(network, X32, Y, weights, 0.3).block_feeds()
    assert feed[network.X] is X32


def test_a_shorter_last_block_has_its_own_trace():
    # 23 rows in blocks of 5: four of 5 rows, one of 3; each size keeps its
    # trace, so no buffer is reallocated from one evaluation to the next.
    network, X, Y, _ = _network_and_data()
    objective = FullBatchObjective(network, X, Y, None, 0.1, block_size=5)
    theta = network.graph.theta.copy()
    objective(theta)
    buffers = {
        n: [id(b) for ctx in trace.contexts if ctx for _, b in ctx._buffers.values()]
        for n, trace in objective._traces.items()
    }
    objective(theta)
    assert sorted(objective._traces) == [3, 5]
    for n, trace in objective._traces.items():
        again = [
            id(b) for ctx in trace.contexts if ctx for _, b in ctx._buffers.values()
        ]
        assert again == buffers[n]


def test_the_whole_batch_is_fed_as_it_is():
    network, X, Y, _ = _network_and_data()
    X = sp.csr_matrix(X)
    objective = FullBatchObjective(network, X, Y, None, 0.1)
    (feed,) = objective.block_feeds()
    assert feed[network.X] is X  # a slice of a sparse matrix would copy it
    assert feed[network.sample_weight] is None  # the plain mean


def test_last_value_only_at_the_point_of_the_last_whole_batch_evaluation():
    network, X, Y, _ = _network_and_data()
    whole = FullBatchObjective(network, X, Y, None, 0.1)
    blocks = FullBatchObjective(network, X, Y, None, 0.1, block_size=5)
    theta = network.graph.theta.copy()
    assert whole.last_value(network.logits, theta) is None  # not evaluated yet
    whole(theta)
    blocks(theta)
    expected = network.graph.forward([network.logits], {network.X: X})
    np.testing.assert_allclose(
        whole.last_value(network.logits, theta),
        expected.value(network.logits),
        rtol=1e-12,
    )
    assert whole.last_value(network.logits, theta + 1.0) is None
    assert blocks.last_value(network.logits, theta) is None  # no trace holds all


def test_objectives_pickle_and_evaluate_the_same():
    network, X, Y, weights = _network_and_data()
    objective = FullBatchObjective(network, X, Y, weights, 0.2, block_size=7)
    theta = network.graph.theta.copy()
    loss, grad = objective(theta)
    copied = pickle.loads(pickle.dumps(objective))
    copied_loss, copied_grad = copied(theta)
    assert copied_loss == loss
    np.testing.assert_array_equal(copied_grad, grad)


def test_every_variant_shares_the_base():
    for variant in (GraphObjective, FullBatchObjective):
        assert issubclass(variant, Objective)
    assert Objective().last_grad_norm == np.inf


def test_a_mini_batch_objective_takes_rows_not_theta():
    network, X, Y, weights = _network_and_data()
    objective = MiniBatchObjective(network, X, Y, weights, 0.4, batch_size=6)
    assert not isinstance(objective, Objective)
    assert not callable(objective)  # no theta -> (loss, grad) to misuse
    objective.batch_loss(slice(0, 6))
    assert objective.n_calls == 1


def test_a_mini_batch_is_normalised_by_its_own_sum():
    network, X, Y, weights = _network_and_data()
    objective = MiniBatchObjective(network, X, Y, weights, 0.4, batch_size=6)
    rows = np.array([3, 1, 4, 15, 9, 2])
    loss = objective.batch_loss(rows)
    S = weights[rows].sum()
    feed = network.feed(X[rows], Y[rows], weights[rows] / S, 0.4 / S)
    expected = GraphObjective(network.graph, network.objective, feed)
    expected_loss, expected_grad = expected(network.graph.theta.copy())
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(objective.grad, expected_grad, rtol=1e-10)


def _fresh_batch_objective(network, X, Y, weights, rows, l2_alpha):
    """The batch ``rows`` evaluated from scratch, at the graph's parameters."""
    w = np.ones(len(X)) if weights is None else weights
    S = w[rows].sum()
    feed = network.feed(X[rows], Y[rows], w[rows] / S, l2_alpha / S)
    return GraphObjective(network.graph, network.objective, feed)(
        network.graph.theta.copy()
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_batches_in_reused_buffers_follow_the_rows_and_the_parameters(weighted):
    # Full batches are gathered into the same buffers and bound once: each
    # batch must still see its own rows and the parameters as updated in
    # place, through partial batches, slices and a pickled copy.
    network, X, Y, weights = _network_and_data()
    weights = weights if weighted else None
    objective = MiniBatchObjective(network, X, Y, weights, 0.4, batch_size=6)
    rng = np.random.default_rng(1)
    batches = [rng.permutation(23)[:6], rng.permutation(23)[:6], np.arange(5)]
    for rows in [*batches, slice(2, 8), rng.permutation(23)[:6]]:
        network.graph.theta += 0.01  # an optimiser's step, in place
        loss = objective.batch_loss(rows)
        expected_loss, expected_grad = _fresh_batch_objective(
            network, X, Y, weights, rows, 0.4
        )
        assert loss == pytest.approx(expected_loss, rel=1e-12)
        np.testing.assert_allclose(objective.grad, expected_grad, rtol=1e-10)
    copied = pickle.loads(pickle.dumps(objective))
    copied.graph.theta += 0.01
    loss = copied.batch_loss(batches[0])
    expected_loss, _ = _fresh_batch_objective(
        copied.network, X, Y, weights, batches[0], 0.4
    )
    assert loss == pytest.approx(expected_loss, rel=1e-12)


_HIDDEN = {"hidden_layer_sizes", "activation"}


@pytest.mark.parametrize(
    ("ours", "reference", "own", "dropped"),
    [
        (MLPClassifierGraph, MLPClassifier, {"class_weight"}, set()),
        (MLPRegressorGraph, MLPRegressor, set(), set()),
        (
            GraphClassifier,
            MLPClassifier,
            {"layers", "loss", "label_smoothing", "class_weight"},
            _HIDDEN,
        ),
        (GraphRegressor, MLPRegressor, {"layers", "loss", "huber_delta"}, _HIDDEN),
    ],
)
def test_shared_parameter_lists_are_scikit_learns(ours, reference, own, dropped):
    # One dict of defaults makes the four __init__s: each signature is
    # scikit-learn's MLP's (less the hidden layers for the layer estimators)
    # plus the estimator's own parameters.
    theirs = inspect.signature(reference).parameters
    expected = {k: v.default for k, v in theirs.items() if k not in dropped | own}
    parameters = inspect.signature(ours).parameters
    assert {k: v.default for k, v in parameters.items() if k not in own} == expected
    assert ours(alpha=0.5).get_params()["alpha"] == 0.5
    with pytest.raises(TypeError, match="unexpected keyword argument 'alhpa'"):
        ours(alhpa=0.5)
