"""The solver objects on their own: quadratics, a small logistic objective and
mini-batch least squares, as scikit-learn tests its stochastic optimisers."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skgraph._objectives import GraphObjective
from skgraph._optimize import OptimizeResult
from skgraph._solvers import FullBatchSolver, MiniBatchSolver
from skgraph._stochastic import SGD, Adam, TrainingState
from skgraph.networks import linear_graph


def _quadratic(n=5, seed=0):
    """``theta -> (1/2 theta'A theta - b'theta, A theta - b)`` and its minimiser."""
    rng = np.random.RandomState(seed)
    Q = rng.normal(size=(n, n))
    A = Q @ Q.T + n * np.eye(n)
    b = rng.normal(size=n)

    def objective(theta):
        return 0.5 * theta @ A @ theta - b @ theta, A @ theta - b

    return objective, np.linalg.solve(A, b), A


@pytest.mark.parametrize("method", ["lbfgs", "cg", "gd"])
def test_full_batch_solvers_find_the_minimum_of_a_quadratic(method):
    objective, minimiser, A = _quadratic()
    step = 1.0 / np.linalg.eigvalsh(A).max()
    solver = FullBatchSolver(method, tol=1e-10, max_iter=5000, learning_rate=step)
    result = solver.solve(objective, np.zeros(5))
    assert isinstance(result, OptimizeResult)
    assert result.converged
    np.testing.assert_allclose(result.theta, minimiser, rtol=1e-7, atol=1e-9)
    assert result.loss == pytest.approx(objective(result.theta)[0])
    assert len(result.loss_curve) == result.n_iter


@pytest.mark.parametrize("method", ["lbfgs", "cg", "gd"])
def test_full_batch_solvers_stop_at_max_iter_and_warn(method):
    objective, _, A = _quadratic(n=20)
    step = 0.1 / np.linalg.eigvalsh(A).max()
    solver = FullBatchSolver(method, tol=1e-12, max_iter=2, learning_rate=step)
    with pytest.warns(ConvergenceWarning, match=f"{method} failed to converge"):
        result = solver.solve(objective, np.zeros(20))
    assert result.n_iter == 2
    assert not result.converged


def _counted(objective):
    """``objective`` that counts its calls (in ``calls``)."""

    def counted(theta):
        counted.calls += 1
        return objective(theta)

    counted.calls = 0
    return counted


def _rounded(objective):
    """``objective`` seen in float32: what a coarse solve works with."""

    def rounded(theta):
        loss, grad = objective(theta.astype(np.float32).astype(np.float64))
        return float(np.float32(loss)), grad.astype(np.float32).astype(np.float64)

    return rounded


def test_a_polished_solve_finishes_on_the_fine_objective():
    objective, minimiser, _ = _quadratic(n=20)
    fine = _counted(objective)
    solver = FullBatchSolver("lbfgs", tol=1e-10, max_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = solver.solve_polished(_rounded(objective), fine, np.zeros(20))
    assert fine.calls > 0 and result.converged
    # float64's resolution of the loss: changes of 1e-14 of it around 0.3
    np.testing.assert_allclose(result.theta, minimiser, rtol=0, atol=1e-7)
    assert len(result.loss_curve) == result.n_iter
    assert solver.options["max_iter"] == 500  # restored after the polish


def test_a_coarse_solve_that_used_up_max_iter_is_not_polished():
    objective, _, _ = _quadratic(n=20)
    fine = _counted(objective)
    solver = FullBatchSolver("lbfgs", tol=1e-12, max_iter=2)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        result = solver.solve_polished(_rounded(objective), fine, np.zeros(20))
    assert fine.calls == 0
    assert result.n_iter == 2 and not result.converged


def test_the_polish_tests_ftol_after_its_warm_up_with_the_evaluations_left():
    objective, minimiser, _ = _quadratic(n=20)
    seen = []
    solver = FullBatchSolver(
        "lbfgs", tol=1e-10, max_iter=500, max_fun=1000, options={"ftol": 1e-12}
    )
    original = solver.solve

    def spy(objective, theta0, callback=None):
        options = solver.options["options"], solver.options["max_fun"]
        result = original(objective, theta0, callback)
        seen.append((*options, result.n_fev))
        return result

    solver.solve = spy
    result = solver.solve_polished(
        _rounded(objective), objective, np.zeros(20), None, 5
    )
    (coarse_options, coarse_fun, coarse_fev), (polish_options, polish_fun, _) = seen
    # scipy's own ftol test is off in the polish; the warm-up rule applies it
    assert coarse_options == {"ftol": 1e-12} and polish_options == {"ftol": 0.0}
    assert coarse_fun == 1000 and polish_fun == 1000 - coarse_fev
    assert solver.options["options"] == {"ftol": 1e-12}
    assert result.converged and not result.stopped
    np.testing.assert_allclose(result.theta, minimiser, rtol=0, atol=1e-7)


def test_the_ftol_test_counts_only_after_the_warm_up():
    from skgraph._solvers import _DecreaseAfterWarmUp

    stop = _DecreaseAfterWarmUp(ftol=1e-3, warm_up=2)
    # iterations 1 and 2 may decrease as little as they like
    assert not any(stop(i, None, loss) for i, loss in [(1, 5.0), (2, 5.0)])
    assert not stop(3, None, 4.0)  # a decrease of 1 / 5: on
    assert stop(4, None, 4.0 - 1e-3)  # of 1e-3 / 4 <= 1e-3: converged
    assert stop.fired


def test_a_looser_tol_stops_earlier():
    objective, _, A = _quadratic(n=20)
    step = 1.0 / np.linalg.eigvalsh(A).max()
    n_iter = [
        FullBatchSolver("gd", tol=tol, max_iter=10_000, learning_rate=step)
        .solve(objective, np.zeros(20))
        .n_iter
        for tol in (1e-2, 1e-8)
    ]
    assert n_iter[0] < n_iter[1]


def test_gradient_descent_with_too_large_a_step_diverges_with_a_clear_error():
    objective, _, A = _quadratic()
    step = 3.0 / np.linalg.eigvalsh(A).max()
    solver = FullBatchSolver(
        "gd",
        tol=1e-8,
        max_iter=10_000,
        learning_rate=step,
        stop_on_divergence=True,
        finite_loss=True,
    )
    with (
        pytest.raises(ValueError, match="diverged: the loss became"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow on the way
        solver.solve(objective, np.ones(5))


def test_a_loss_that_went_up_is_named_in_the_warning():
    objective, _, A = _quadratic()
    step = 2.05 / np.linalg.eigvalsh(A).max()  # oscillates, slowly grows
    solver = FullBatchSolver(
        "gd", tol=1e-12, max_iter=50, learning_rate=step, step_name="learning_rate_init"
    )
    with pytest.warns(ConvergenceWarning, match="learning_rate_init=.* too large"):
        solver.solve(objective, np.ones(5))


def test_a_callback_stops_the_solver_without_a_warning():
    objective, _, _ = _quadratic()
    seen = []

    def stop_at_three(iteration, theta, loss):
        seen.append(iteration)
        return iteration == 3

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = FullBatchSolver("lbfgs", tol=1e-12, max_iter=100).solve(
            objective, np.zeros(5), stop_at_three
        )
    assert seen == [1, 2, 3]
    assert result.stopped and result.n_iter == 3


def test_lbfgs_on_a_logistic_objective_matches_scikit_learn():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = (X @ [1.0, -2.0, 0.5] + rng.normal(size=60) > 0).astype(int)
    network = linear_graph(3, 1, output="logistic")
    n = len(y)
    feed = network.feed(X, y[:, None].astype(float), None, 1.0 / n)
    objective = GraphObjective(network.graph, network.objective, feed)
    result = FullBatchSolver("lbfgs", tol=1e-10, max_iter=200).solve(
        objective, network.graph.theta
    )
    reference = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    W, b = network.weights[0], network.biases[0]
    np.testing.assert_allclose(
        result.theta[W.offset : W.offset + W.size], reference.coef_.ravel(), rtol=1e-5
    )
    np.testing.assert_allclose(
        result.theta[b.offset : b.offset + b.size], reference.intercept_, rtol=1e-5
    )


class _LeastSquares:
    """Mini-batch objective ``rows -> mean 1/2 (x_i theta - y_i)^2``, as
    :class:`~skgraph._objectives.MiniBatchObjective` (``X``, ``batch_loss``
    and ``grad``)."""

    def __init__(self, X, y, theta):
        self.X, self.y, self.theta = X, y, theta
        self.grad = np.zeros_like(theta)

    def batch_loss(self, rows):
        X, y = self.X[rows], self.y[rows]
        residual = X @ self.theta - y
        self.grad[...] = X.T @ residual / len(y)
        return 0.5 * float(residual @ residual) / len(y)


def _least_squares(n=200, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.01 * rng.normal(size=n)


def _mini_batch(optimizer, **kwargs):
    options = {
        "batch_size": 20,
        "max_iter": 50,
        "shuffle": True,
        "random_state": np.random.RandomState(0),
        "tol": 1e-4,
        "n_iter_no_change": 10,
    }
    return MiniBatchSolver(optimizer, **{**options, **kwargs})


@pytest.mark.parametrize(
    "optimizer",
    [
        SGD(3, np.float64, 0.05, "constant", momentum=0.9),
        Adam(3, np.float64, 0.05),
    ],
    ids=["sgd", "adam"],
)
def test_mini_batch_solvers_converge_on_least_squares(optimizer):
    X, y = _least_squares()
    theta = np.zeros(3)
    result = _mini_batch(optimizer, max_iter=200).solve(
        _LeastSquares(X, y, theta), theta
    )
    assert isinstance(result, OptimizeResult)
    assert result.theta is theta
    assert result.converged and result.n_iter < 200
    np.testing.assert_allclose(theta, np.linalg.lstsq(X, y)[0], atol=0.02)
    assert result.loss_curve[-1] == result.loss
    assert result.n_fev == result.n_iter * 10  # 200 rows in batches of 20


def test_mini_batch_solver_stops_at_max_iter_and_warns():
    X, y = _least_squares()
    theta = np.zeros(3)
    solver = _mini_batch(SGD(3, np.float64, 1e-4), max_iter=3)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        result = solver.solve(_LeastSquares(X, y, theta), theta)
    assert result.n_iter == 3 and not result.converged


def test_invscaling_schedule_decays_with_the_samples_seen():
    X, y = _least_squares()
    theta = np.zeros(3)
    optimizer = SGD(3, np.float64, 0.1, "invscaling", power_t=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _mini_batch(optimizer, max_iter=3).solve(_LeastSquares(X, y, theta), theta)
    assert optimizer.learning_rate == pytest.approx(0.1 / (3 * 200 + 1) ** 0.5)


def test_adaptive_schedule_divides_the_rate_by_five_instead_of_stopping():
    X, y = _least_squares()
    theta = np.linalg.lstsq(X, y)[0]  # at the optimum: no improvement
    optimizer = SGD(3, np.float64, 1e-3, "adaptive", momentum=0.0)
    solver = _mini_batch(optimizer, n_iter_no_change=2, max_iter=10, tol=1.0)
    with pytest.warns(ConvergenceWarning):
        solver.solve(_LeastSquares(X, y, theta), theta)
    # The first epoch sets the best loss; then the test fires (count > 2) at
    # epochs 4, 7 and 10, and each time the rate is divided instead.
    assert optimizer.learning_rate == pytest.approx(1e-3 / 5**3)


def test_n_iter_no_change_stops_a_run_that_does_not_improve():
    X, y = _least_squares()
    theta = np.linalg.lstsq(X, y)[0]
    solver = _mini_batch(SGD(3, np.float64, 1e-6), n_iter_no_change=4, tol=1.0)
    result = solver.solve(_LeastSquares(X, y, theta), theta)
    # The first epoch improves on the infinite best loss; four more do not,
    # and the fifth without improvement stops.
    assert result.n_iter == 6 and result.converged


def test_early_stopping_keeps_the_best_parameters():
    X, y = _least_squares()
    theta = np.zeros(3)
    scores = iter([0.1, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -0.1])
    best = []

    def validation():
        score = next(scores)
        if score == 0.5:
            best.append(theta.copy())
        return score

    state = TrainingState()
    solver = _mini_batch(
        SGD(3, np.float64, 0.01), n_iter_no_change=3, validation=validation, state=state
    )
    result = solver.solve(_LeastSquares(X, y, theta), theta)
    assert result.n_iter == 6
    assert state.validation_scores == [0.1, 0.5, 0.4, 0.3, 0.2, 0.1]
    assert state.best_validation_score == 0.5
    np.testing.assert_array_equal(theta, best[0])


def test_mini_batch_solver_carries_its_state_across_calls():
    X, y = _least_squares()
    theta = np.zeros(3)
    state = TrainingState()
    solver = _mini_batch(Adam(3, np.float64, 0.01), incremental=True, state=state)
    first = solver.solve(_LeastSquares(X, y, theta), theta)
    second = solver.solve(_LeastSquares(X, y, theta), theta)
    assert first.n_iter == second.n_iter == 1 and not second.converged
    assert state.n_seen == 400
    assert state.loss_curve == [first.loss, second.loss]
    assert second.loss < first.loss
