"""The full-batch solvers on problems with a known optimum."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from skgraph._objectives import GraphObjective
from skgraph._optimize import SOLVERS, OptimizeResult, minimize
from skgraph.networks import linear_graph

#: (solver, extra arguments) covering every way to run ``minimize``.
SOLVER_SETTINGS = [
    ("lbfgs", {}),
    ("cg", {}),
    ("gd", {"learning_rate": "fixed"}),  # replaced by 1 / Lipschitz constant
    ("gd", {"learning_rate": "auto"}),
]
IDS = ["lbfgs", "cg", "gd-fixed", "gd-auto"]


def _with_step(kwargs, lipschitz):
    kwargs = dict(kwargs)
    if kwargs.get("learning_rate") == "fixed":
        kwargs["learning_rate"] = 1.0 / lipschitz
    return kwargs


# -- a convex quadratic ------------------------------------------------------------


def _quadratic(n=6, seed=0):
    """``f(t) = t'At/2 - b't`` with a known minimiser ``A^-1 b``."""
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    A = M @ M.T / n + np.eye(n)
    b = rng.normal(size=n)

    def fun(theta):
        Atheta = A @ theta
        return float(0.5 * theta @ Atheta - b @ theta), Atheta - b

    return fun, np.linalg.solve(A, b), np.linalg.eigvalsh(A).max()


@pytest.mark.parametrize(("solver", "kwargs"), SOLVER_SETTINGS, ids=IDS)
def test_quadratic_optimum(solver, kwargs):
    fun, optimum, lipschitz = _quadratic()
    result = minimize(
        fun,
        np.zeros(optimum.size),
        solver,
        tol=1e-10,
        max_iter=5000,
        **_with_step(kwargs, lipschitz),
    )
    assert isinstance(result, OptimizeResult)
    assert result.converged and not result.stopped
    np.testing.assert_allclose(result.theta, optimum, rtol=1e-7, atol=1e-9)
    assert result.loss == pytest.approx(fun(optimum)[0], rel=1e-12)
    assert len(result.loss_curve) == result.n_iter > 0
    assert result.n_fev >= result.n_iter
    assert result.loss_curve[-1] == pytest.approx(result.loss, rel=1e-12)
    if solver == "gd":  # a descent method with these steps: monotone ...
        curve = np.asarray(result.loss_curve)
        # ... to rounding. Once converged, steps change the loss by less than
        # the error of evaluating it: near the optimum f = t'At/2 - b't is a
        # difference of terms of size |f| and 2|f|, each a 6-term dot product
        # whose rounding depends on the BLAS kernel (a rise of 3 ulps of |f|
        # on AMD Zen, 2 with the Sandybridge kernels). 8 ulps covers a few ulps
        # of error in each of the two evaluations compared; a step too long
        # for descent raises the loss by many orders of magnitude more.
        assert np.all(np.diff(curve) <= 8 * np.spacing(np.abs(curve[1:])))


@pytest.mark.parametrize(("solver", "kwargs"), SOLVER_SETTINGS, ids=IDS)
def test_iteration_limit_is_not_convergence(solver, kwargs):
    fun, optimum, lipschitz = _quadratic()
    result = minimize(
        fun,
        np.zeros(optimum.size),
        solver,
        tol=1e-12,
        max_iter=2,
        **_with_step(kwargs, lipschitz),
    )
    assert not result.converged
    assert result.n_iter <= 2
    assert len(result.loss_curve) == result.n_iter
    assert result.message


@pytest.mark.parametrize(("solver", "kwargs"), SOLVER_SETTINGS, ids=IDS)
def test_callback_stops(solver, kwargs):
    fun, optimum, lipschitz = _quadratic()
    seen = []

    def callback(iteration, theta, loss):
        seen.append((iteration, loss))
        return iteration == 3

    result = minimize(
        fun,
        np.zeros(optimum.size),
        solver,
        tol=1e-12,
        max_iter=100,
        callback=callback,
        **_with_step(kwargs, lipschitz),
    )
    assert [i for i, _ in seen] == [1, 2, 3]
    assert result.stopped and not result.converged
    assert result.n_iter == 3
    assert result.loss_curve == [loss for _, loss in seen]
    np.testing.assert_allclose(fun(result.theta)[0], result.loss, rtol=1e-12)


def test_verbose_reports_progress(capsys):
    fun, optimum, _ = _quadratic()
    minimize(fun, np.zeros(optimum.size), "gd", max_iter=3, tol=0, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert "iteration 1" in lines[0] and "loss" in lines[0]


def test_unknown_solver():
    fun, optimum, _ = _quadratic()
    assert SOLVERS == ("lbfgs", "cg", "gd", "newton-cg", "newton-cholesky")
    with pytest.raises(ValueError, match="solver"):
        minimize(fun, np.zeros(optimum.size), "newton")
    with pytest.raises(ValueError, match="newton-cholesky.*hessian"):
        minimize(fun, np.zeros(optimum.size), "newton-cholesky")


def test_scipy_options_override_defaults():
    fun, optimum, _ = _quadratic()
    result = minimize(
        fun, np.zeros(optimum.size), "lbfgs", tol=1e-12, options={"maxiter": 1}
    )
    assert result.n_iter == 1 and not result.converged


# -- logistic regression against scikit-learn -----------------------------------------


def _problem(n_classes, seed=0):
    X, y = make_classification(
        n_samples=150,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    sample_weight = np.random.default_rng(seed).uniform(0.5, 2.0, y.size)
    return X, y, sample_weight


def _objective(X, y, sample_weight, C, n_classes):
    """scikit-learn's objective as a graph: s_i / S weights, 1 / (C S) strength."""
    binary = n_classes == 2
    net = linear_graph(
        X.shape[1],
        1 if binary else n_classes,
        output="logistic" if binary else "softmax",
    )
    Y = y[:, None].astype(float) if binary else np.eye(n_classes)[y]
    S = sample_weight.sum()
    feed = {
        net.X: X,
        net.y: Y,
        net.sample_weight: sample_weight / S,
        net.l2_strength: 1.0 / (C * S),
    }
    return net, GraphObjective(net.graph, net.objective, feed)


def _lipschitz(X, sample_weight, C):
    """An upper bound of the binary objective's gradient Lipschitz constant."""
    X1 = np.hstack([X, np.ones((X.shape[0], 1))])
    S = sample_weight.sum()
    return 0.25 * np.linalg.norm(X1.T @ (X1 * (sample_weight / S)[:, None]), 2) + 1 / (
        C * S
    )


@pytest.mark.parametrize(("solver", "kwargs"), SOLVER_SETTINGS, ids=IDS)
def test_binary_logistic_regression_matches_sklearn(solver, kwargs):
    C = 0.5
    X, y, sample_weight = _problem(2)
    reference = LogisticRegression(C=C, tol=1e-12, max_iter=10_000)
    reference.fit(X, y, sample_weight=sample_weight)
    net, objective = _objective(X, y, sample_weight, C, 2)
    result = minimize(
        objective,
        net.graph.get_flat(),
        solver,
        # Not 1e-9: there the loss changes by a few ulps per step, and the line
        # searches of cg and of gd's auto step stop at machine precision first
        # with some BLAS kernels (OpenBLAS's Sandybridge ones).
        tol=1e-8,
        max_iter=20_000,
        **_with_step(kwargs, _lipschitz(X, sample_weight, C)),
    )
    assert result.converged
    net.graph.set_flat(result.theta)
    np.testing.assert_allclose(net.weights[0].value.T, reference.coef_, rtol=1e-5)
    np.testing.assert_allclose(
        net.biases[0].value, reference.intercept_, rtol=1e-5, atol=1e-7
    )
    assert objective.n_calls == result.n_fev


def test_multinomial_logistic_regression_matches_sklearn():
    C = 2.0
    X, y, sample_weight = _problem(3)
    reference = LogisticRegression(C=C, tol=1e-12, max_iter=10_000)
    reference.fit(X, y, sample_weight=sample_weight)
    net, objective = _objective(X, y, sample_weight, C, 3)
    result = minimize(
        objective, net.graph.get_flat(), "lbfgs", tol=1e-10, max_iter=5000
    )
    assert result.converged
    net.graph.set_flat(result.theta)
    np.testing.assert_allclose(net.weights[0].value.T, reference.coef_, rtol=1e-5)
    b = net.biases[0].value  # defined up to a common shift
    np.testing.assert_allclose(
        b - b.mean(), reference.intercept_ - reference.intercept_.mean(), atol=1e-6
    )


# -- the objective adapter ---------------------------------------------------------


def test_graph_objective_contract():
    X, y, sample_weight = _problem(2)
    net, objective = _objective(X, y, sample_weight, 1.0, 2)
    assert objective.last_grad_norm == np.inf and objective.n_calls == 0
    assert objective.feed[net.X] is X  # referenced, not copied
    theta = np.random.default_rng(0).normal(size=net.graph.n_parameters)
    loss, grad = objective(theta)
    assert isinstance(loss, float)
    assert grad.dtype == np.float64 and grad.shape == theta.shape
    assert objective.last_grad_norm == pytest.approx(np.linalg.norm(grad))
    np.testing.assert_array_equal(net.graph.theta, theta)
    buffer = objective.trace.value(net.logits)
    loss2, grad2 = objective(theta)
    assert objective.trace.value(net.logits) is buffer  # buffers reused
    assert loss2 == loss
    np.testing.assert_array_equal(grad2, grad)
    assert grad2 is not grad  # a fresh array each call: scipy may keep it
    assert objective.n_calls == 2
    value, flat = net.graph.value_and_grad(net.objective, objective.feed)
    assert value == loss
    np.testing.assert_array_equal(flat, grad)


def test_graph_objective_float32_returns_float64():
    X, y, sample_weight = _problem(2)
    net = linear_graph(X.shape[1], 1, output="logistic", dtype=np.float32)
    feed = {
        net.X: X.astype(np.float32),
        net.y: y[:, None].astype(np.float32),
        net.sample_weight: (sample_weight / sample_weight.sum()).astype(np.float32),
        net.l2_strength: 0.01,
    }
    objective = GraphObjective(net.graph, net.objective, feed)
    loss, grad = objective(np.zeros(net.graph.n_parameters))
    assert grad.dtype == np.float64
    assert objective.trace.value(net.logits).dtype == np.float32
    assert loss == pytest.approx(np.log(2.0), rel=1e-6)
    result = minimize(objective, np.zeros(net.graph.n_parameters), "lbfgs", tol=1e-4)
    assert result.loss < np.log(2.0)
