"""LogisticRegressionGraph(solver="newton-cholesky") against scikit-learn's.

The Hessian the solver builds from the graph is checked against finite
differences of the graph's gradient; the fits against scikit-learn's
``LogisticRegression(solver="newton-cholesky")`` run beside them: the same
optimum, the same ``n_iter_``, the same warnings and fallbacks.
"""

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skgraph import LogisticRegressionGraph
from skgraph._newton import LinearModelHessian, cholesky_solve
from skgraph._objectives import FullBatchObjective
from skgraph._optimize import GraphObjective
from skgraph.networks import linear_graph


def _data(n_classes, n_samples=120, n_features=5, seed=0):
    return make_classification(
        n_samples,
        n_features,
        n_informative=min(4, n_features),
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )


def _parameters(est):
    return np.concatenate([est.coef_.ravel(), est.intercept_])


def _fit_both(X, y, sample_weight=None, **params):
    settings = dict(solver="newton-cholesky", tol=1e-8, **params)
    reference = LogisticRegression(**settings).fit(X, y, sample_weight=sample_weight)
    graph = LogisticRegressionGraph(**settings).fit(X, y, sample_weight=sample_weight)
    return reference, graph


def _assert_same_fit(reference, graph, rtol=1e-4):
    expected, got = _parameters(reference), _parameters(graph)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=rtol * scale)
    assert graph.n_iter_.tolist() == reference.n_iter_.tolist()


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_matches_finite_differences_of_the_gradient(
    n_classes, fit_intercept, sparse, weighted
):
    _check_hessian(n_classes, fit_intercept, sparse, weighted, negative=False)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_multinomial_hessian_with_negative_sample_weights(fit_intercept, sparse):
    # The dense product's branch without syrk. (The binary Hessian takes
    # the curvatures' absolute values then, as scikit-learn's does.)
    _check_hessian(3, fit_intercept, sparse, weighted=True, negative=True)


def _check_hessian(n_classes, fit_intercept, sparse, weighted, negative):
    """The Hessian at a point near a short fit, against finite differences."""
    X, y = _data(n_classes, n_samples=40, n_features=4)
    rng = np.random.default_rng(0)
    sample_weight = rng.uniform(0.5, 2.0, len(y)) if weighted else None
    est = LogisticRegressionGraph(C=0.7, fit_intercept=fit_intercept, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=sample_weight)
    if negative:
        sample_weight[:4] = -0.4
    Xs = sp.csr_matrix(X) if sparse else X
    graph, node, feed = est._training_objective(Xs, y, sample_weight)
    network = est._network
    objective = GraphObjective(graph, node, feed)
    hessian = LinearModelHessian.from_feed(network, feed)
    theta = est.graph_.theta.copy() + rng.normal(0, 0.3, est.graph_.theta.size)
    H, warning = hessian(theta)
    assert not warning
    step = 1e-6
    columns = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = step
        columns.append((objective(theta + e)[1] - objective(theta - e)[1]) / (2 * step))
    numeric = np.array(columns).T
    np.testing.assert_allclose(H, numeric, rtol=1e-6, atol=1e-6 * np.abs(H).max())
    np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"C": np.inf},
        {"fit_intercept": False},
        {"C": np.inf, "fit_intercept": False},
        {"class_weight": "balanced", "C": 0.1},
    ],
)
def test_same_optimum_and_iterations_as_scikit_learn(n_classes, params):
    X, y = _data(n_classes)
    _assert_same_fit(*_fit_both(X, y, **params))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sample_weight_and_sparse_input(n_classes):
    X, y = _data(n_classes)
    sample_weight = np.random.default_rng(1).uniform(0.1, 3.0, len(y))
    _assert_same_fit(*_fit_both(X, y, sample_weight=sample_weight, C=2.0))
    _assert_same_fit(*_fit_both(sp.csr_matrix(X), y, C=2.0))
    _assert_same_fit(*_fit_both(sp.csc_matrix(X), y, C=np.inf))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_continues_from_the_fitted_coefficients():
    X, y = _data(3)
    reference, graph = _fit_both(X, y, C=1.0, warm_start=True, max_iter=2)
    for est in (reference, graph):
        est.set_params(C=0.5, max_iter=100)
        est.fit(X, y)
    _assert_same_fit(reference, graph)


def test_convergence_warning_at_max_iter():
    X, y = _data(2)
    with pytest.warns(ConvergenceWarning, match="newton-cholesky failed to converge"):
        graph = LogisticRegressionGraph(solver="newton-cholesky", max_iter=1, tol=1e-12)
        graph.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        reference = LogisticRegression(solver="newton-cholesky", max_iter=1, tol=1e-12)
        reference.fit(X, y)
    _assert_same_fit(reference, graph, rtol=1e-10)


def test_singular_hessian_falls_back_to_lbfgs_as_scikit_learn():
    X, y = _data(2)
    X = np.hstack([X, X[:, :1]])  # a repeated column: singular without penalty
    with pytest.warns(scipy.linalg.LinAlgWarning, match="ill-conditioned"):
        graph = LogisticRegressionGraph(solver="newton-cholesky", C=np.inf, tol=1e-6)
        graph.fit(X, y)
    with pytest.warns(scipy.linalg.LinAlgWarning):
        reference = LogisticRegression(solver="newton-cholesky", C=np.inf, tol=1e-6)
        reference.fit(X, y)
    assert graph.n_iter_.tolist() == reference.n_iter_.tolist()
    # The same predictions: the split of the repeated column's weight is free.
    np.testing.assert_allclose(
        graph.decision_function(X), reference.decision_function(X), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_hessian_reads_the_logits_of_the_objectives_last_evaluation(n_classes):
    # The Newton iteration asks for the Hessian where the line search has
    # just evaluated the objective: its forward pass is not run again.
    X, y = _data(n_classes, n_samples=40, n_features=4)
    n_outputs = 1 if n_classes == 2 else n_classes
    output = "logistic" if n_classes == 2 else "softmax"
    network = linear_graph(4, n_outputs, output=output)
    theta = np.random.default_rng(0).normal(size=network.graph.n_parameters)
    Y = np.eye(n_classes)[y][:, -n_outputs:]
    objective = FullBatchObjective(network, X, np.asfortranarray(Y), None, 1.0)
    hessian = LinearModelHessian(network, X, None, 1.0 / len(X))
    expected, _ = hessian(theta)
    objective(theta)
    runs = []
    hessian._program.evaluate = lambda trace: runs.append(trace)
    shared, _ = hessian(theta, objective)
    assert runs == []
    np.testing.assert_allclose(shared, expected, rtol=1e-12, atol=1e-15)
    hessian(theta + 0.5, objective)  # elsewhere: its own forward pass
    assert len(runs) == 1


def test_cholesky_solve_refuses_what_it_cannot_solve():
    np.testing.assert_allclose(
        cholesky_solve(np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([1.0, 1.0])),
        [-1 / 3, -1 / 3],
    )
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        cholesky_solve(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2))
    with pytest.raises(np.linalg.LinAlgError, match="ill-conditioned"):
        cholesky_solve(np.diag([1.0, 1e-18]), np.ones(2))


@pytest.mark.parametrize(
    ("params", "match"),
    [({"l1_ratio": 0.5}, "L1 penalty"), ({"positive": True}, "non-negative")],
)
def test_refuses_what_newton_cholesky_cannot_do(params, match):
    X, y = _data(2)
    with pytest.raises(ValueError, match=match):
        LogisticRegressionGraph(solver="newton-cholesky", **params).fit(X, y)


def test_float32_input_gives_a_float32_model():
    X, y = _data(3)
    est = LogisticRegressionGraph(solver="newton-cholesky", tol=1e-8)
    est.fit(X.astype(np.float32), y)
    assert est.coef_.dtype == np.float32
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float32
    reference = LogisticRegressionGraph(solver="newton-cholesky", tol=1e-8).fit(X, y)
    np.testing.assert_allclose(est.coef_, reference.coef_, rtol=1e-4, atol=1e-4)


def test_dask_input_is_refused_clearly():
    import dask.array as da

    X, y = _data(2)
    est = LogisticRegressionGraph(solver="newton-cholesky")
    with pytest.raises(ValueError, match="newton-cholesky.*Dask"):
        est.fit(da.from_array(X, chunks=60), da.from_array(y, chunks=60))
