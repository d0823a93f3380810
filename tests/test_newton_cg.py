"""solver="newton-cg": scikit-learn's optimum for the logistic regression, the
L-BFGS optimum for the networks, through the graph's Hessian-vector products."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skgraph import (
    GraphClassifier,
    GraphRegressor,
    LogisticRegressionGraph,
    MLPClassifierGraph,
    MLPRegressorGraph,
    check_hessian_vector_products,
)
from skgraph._objectives import GraphObjective
from skgraph._optimize import minimize
from skgraph.layers import Dense


def _classification(n_classes, seed=0):
    return make_classification(
        120,
        5,
        n_informative=3,
        n_classes=n_classes,
        flip_y=0.2,
        random_state=seed,
    )


@pytest.mark.parametrize(
    "n_classes, C, weighted, class_weight",
    [
        (2, 1.0, False, None),
        (3, 1.0, False, None),
        (2, 0.1, True, "balanced"),
        (3, np.inf, True, None),
        (2, np.inf, False, {0: 2.0, 1: 0.5}),
    ],
)
def test_logistic_newton_cg_matches_scikit_learn(n_classes, C, weighted, class_weight):
    X, y = _classification(n_classes)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    sample_weight = sample_weight if weighted else None
    params = dict(solver="newton-cg", C=C, tol=1e-10, max_iter=200)
    theirs = LogisticRegression(class_weight=class_weight, **params)
    ours = LogisticRegressionGraph(class_weight=class_weight, **params)
    theirs.fit(X, y, sample_weight=sample_weight)
    ours.fit(X, y, sample_weight=sample_weight)
    scale = np.abs(theirs.coef_).max()
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(
        ours.intercept_, theirs.intercept_, rtol=0, atol=1e-4 * max(scale, 1.0)
    )
    assert 0 < ours.n_iter_[0] <= 2 * theirs.n_iter_[0]


@pytest.mark.parametrize("params", [{"l1_ratio": 0.5}, {"positive": True}])
def test_newton_cg_refuses_what_is_not_smooth(params):
    X, y = _classification(2)
    with pytest.raises(ValueError, match="newton-cg"):
        LogisticRegressionGraph(solver="newton-cg", **params).fit(X, y)


def test_newton_cg_refuses_dask_arrays():
    da = pytest.importorskip("dask.array")
    X, y = _classification(2)
    for estimator in (
        LogisticRegressionGraph(solver="newton-cg"),
        MLPClassifierGraph(solver="newton-cg"),
    ):
        with pytest.raises(ValueError, match="newton-cg.*Dask"):
            estimator.fit(da.from_array(X, chunks=60), da.from_array(y, chunks=60))


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegressionGraph(solver="newton-cg", C=np.inf, max_iter=1),
        MLPClassifierGraph((4,), solver="newton-cg", max_iter=2, random_state=0),
    ],
    ids=["logistic", "mlp"],
)
def test_newton_cg_warns_at_max_iter(estimator):
    X, y = _classification(2)
    with pytest.warns(ConvergenceWarning, match="newton-cg failed to converge"):
        estimator.fit(X, y)
    assert np.ravel(estimator.n_iter_)[0] == estimator.max_iter


def test_newton_cg_keeps_float32():
    X, y = _classification(3)
    X = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        logistic = LogisticRegressionGraph(solver="newton-cg").fit(X, y)
        network = MLPClassifierGraph((4,), solver="newton-cg", max_iter=20).fit(X, y)
    assert logistic.coef_.dtype == np.float32
    assert logistic.predict_proba(X).dtype == np.float32
    assert all(W.dtype == np.float32 for W in network.coefs_)


def _regression():
    X, y = make_regression(80, 4, noise=5.0, random_state=0)
    return X / X.std(axis=0), y / y.std()


_SMOOTH = dict(alpha=1.0, tol=1e-9, max_iter=500, random_state=0)

#: Small, strongly penalised networks: one minimum near the start.
NETWORKS = {
    "MLPRegressorGraph": lambda solver: MLPRegressorGraph(
        hidden_layer_sizes=(3,), activation="tanh", solver=solver, **_SMOOTH
    ),
    "GraphRegressor": lambda solver: GraphRegressor(
        [Dense(3, activation="gelu")], solver=solver, **_SMOOTH
    ),
    "MLPClassifierGraph": lambda solver: MLPClassifierGraph(
        (3,), activation="tanh", solver=solver, **_SMOOTH
    ),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_network_newton_cg_reaches_a_minimum_lbfgs_agrees_with(name):
    """No scikit-learn counterpart: L-BFGS-B is the reference. The estimator's
    lbfgs stops on scikit-learn's loose ``ftol``; a tight L-BFGS-B run from
    newton-cg's result must find nothing left to gain there."""
    X, y = _classification(2) if "Classifier" in name else _regression()
    lbfgs = NETWORKS[name]("lbfgs").fit(X, y)
    newton = NETWORKS[name]("newton-cg").fit(X, y)
    assert newton.loss_ <= lbfgs.loss_ * (1.0 + 1e-9)
    graph, loss, feed = newton._training_objective(X, y)
    start = graph.get_flat()
    polished = minimize(
        GraphObjective(graph, loss, feed),
        start,
        "lbfgs",
        tol=1e-10,
        options={"ftol": 0.0},
    )
    np.testing.assert_allclose(polished.theta, start, rtol=0, atol=1e-5)
    assert polished.loss == pytest.approx(newton.loss_, rel=1e-10)
    curve = np.asarray(newton.loss_curve_)
    assert len(curve) == newton.n_iter_
    assert np.all(np.diff(curve) <= 1e-12 * curve[:-1])  # never increases


def test_classifier_newton_cg_decreases_the_loss_and_checks_its_products():
    X, y = _classification(3)
    clf = GraphClassifier(
        [Dense(4, activation="gelu")],
        solver="newton-cg",
        label_smoothing=0.1,
        max_iter=30,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    curve = np.asarray(clf.loss_curve_)
    assert curve[-1] < curve[0]
    assert np.all(np.diff(curve) <= 1e-12 * curve[:-1])
    assert check_hessian_vector_products(clf, X, y).passed


def test_minimize_newton_cg_on_a_quadratic_and_without_hessp():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])

    def fun(theta):
        return 0.5 * theta @ A @ theta - b @ theta, A @ theta - b

    result = minimize(
        fun, np.zeros(2), "newton-cg", tol=1e-12, hessp=lambda theta, v: A @ v
    )
    np.testing.assert_allclose(result.theta, np.linalg.solve(A, b), rtol=1e-10)
    assert result.converged and result.n_iter <= 5
    at_optimum = minimize(fun, result.theta, "newton-cg", hessp=lambda t, v: A @ v)
    assert at_optimum.n_iter == 0 and at_optimum.converged
    with pytest.raises(ValueError, match="hessp"):
        minimize(fun, np.zeros(2), "newton-cg")
