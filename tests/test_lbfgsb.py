"""The L-BFGS-B driver: scipy's iterates, counts and messages, at less cost."""

import numpy as np
import pytest
import scipy
import scipy.optimize
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version

import skgraph._lbfgsb as driver
from skgraph import LogisticRegressionGraph, MLPClassifierGraph
from skgraph._lbfgsb import lbfgsb, routine_agrees
from skgraph._objectives import FullBatchObjective


def _captured_objective(estimator, X, y):
    """The FullBatchObjective a fit of ``estimator`` minimises, and its start."""
    seen = {}
    evaluate = FullBatchObjective._evaluate

    def spy(self, theta):
        seen.setdefault("objective", self)
        seen.setdefault("theta0", np.array(theta, dtype=np.float64))
        return evaluate(self, theta)

    FullBatchObjective._evaluate = spy
    try:
        estimator.fit(X, y)
    finally:
        FullBatchObjective._evaluate = evaluate
    return seen["objective"], seen["theta0"]


def _logistic_objective():
    X, y = load_breast_cancer(return_X_y=True)
    return _captured_objective(
        LogisticRegressionGraph(max_iter=1), StandardScaler().fit_transform(X), y
    )


def _mlp_objective():  # not convex: line searches that backtrack
    X, y = make_classification(200, 10, n_informative=6, n_classes=3, random_state=0)
    mlp = MLPClassifierGraph((8,), solver="lbfgs", max_iter=1, random_state=0)
    return _captured_objective(mlp, X, y)


class _HaltAt:
    """Records each iteration's point and value; asks to stop at ``iteration``
    (by its return value, or by raising StopIteration when ``raising``)."""

    def __init__(self, iteration, raising=False):
        self.iteration, self.raising, self.seen = iteration, raising, []

    def __call__(self, x, value):
        self.seen.append((x.copy(), value))
        if len(self.seen) == self.iteration:
            if self.raising:
                raise StopIteration
            return True
        return False


class _Careless:
    """An objective that scribbles on the point it is given and hands back
    one reused gradient buffer: the driver must not let either change its
    iterates (scipy's wrapper copies the point; the routine keeps its own
    gradient)."""

    def __init__(self, objective):
        self.objective = objective
        self.grad = None

    def __call__(self, x):
        value, grad = self.objective(x)
        if self.grad is None:
            self.grad = np.empty_like(grad)
        np.copyto(self.grad, grad)
        x[:] = np.nan
        return value, self.grad


OPTIONS = {
    "converged": {"gtol": 1e-6, "ftol": 64 * np.finfo(float).eps, "maxls": 50},
    "ftol": {"gtol": 0.0, "ftol": 1e-7},
    "few corrections": {"maxcor": 3, "gtol": 1e-8},
    "maxiter": {"maxiter": 5},
    "maxfun": {"maxfun": 4},
    "halt at maxiter": {"maxiter": 3},
    "halt at maxfun": {"maxfun": 3},
}


def _scipy(objective, theta0, options, halt):
    def callback(intermediate_result):
        if halt(intermediate_result.x, intermediate_result.fun):
            raise StopIteration

    return scipy.optimize.minimize(
        objective,
        theta0,
        method="L-BFGS-B",
        jac=True,
        options=options,
        callback=callback,
    )


@pytest.mark.parametrize("make", [_logistic_objective, _mlp_objective])
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("halt", [None, "returns", "raises"])
def test_the_driver_takes_scipys_iterates(make, options, halt):
    # The driver's own loop (not lbfgsb, which would give way to scipy if
    # the routine changed), against scipy.optimize.minimize: the same
    # compiled routine fed the same numbers, so exactly the same results.
    objective, theta0 = make()
    start = theta0.copy()
    halt_at = None if halt is None else 3
    ours_callback = _HaltAt(halt_at, raising=halt == "raises")
    their_callback = _HaltAt(halt_at)
    ours = driver._drive(
        _Careless(objective),
        theta0,
        ours_callback,
        **{**driver._DEFAULTS, **options},
    )
    theirs = _scipy(objective, theta0, options, their_callback)
    assert (ours.nit, ours.nfev, ours.status, ours.success) == (
        theirs.nit,
        theirs.nfev,
        theirs.status,
        theirs.success,
    )
    assert ours.message == theirs.message
    np.testing.assert_array_equal(ours.x, theirs.x)
    np.testing.assert_array_equal(ours.jac, theirs.jac)
    assert ours.fun == theirs.fun
    assert len(ours_callback.seen) == len(their_callback.seen)
    for (x, value), (x_theirs, value_theirs) in zip(
        ours_callback.seen, their_callback.seen, strict=True
    ):
        np.testing.assert_array_equal(x, x_theirs)
        assert value == value_theirs
    np.testing.assert_array_equal(theta0, start)  # not stepped in place


def test_lbfgsb_is_the_driver_where_the_routine_agrees(monkeypatch):
    objective, theta0 = _logistic_objective()
    drives = _count_drives(monkeypatch)
    result = lbfgsb(objective, theta0, gtol=1e-8)
    assert drives == ([1] if routine_agrees() else [])
    expected = _scipy(objective, theta0, {"gtol": 1e-8}, _HaltAt(None))
    np.testing.assert_array_equal(result.x, expected.x)
    assert (result.nit, result.message) == (expected.nit, expected.message)


def test_the_compiled_routine_is_driven_on_the_scipy_it_was_checked_against():
    # Checked against scipy 1.17. A later scipy may change the private
    # routine: lbfgsb then uses scipy.optimize.minimize (the test above
    # holds either way), and this check says so when it is updated.
    if parse_version(scipy.__version__) < parse_version("1.18"):
        assert routine_agrees()


def _count_drives(monkeypatch):
    calls = []
    drive = driver._drive

    def spy(*args, **kwargs):
        calls.append(1)
        return drive(*args, **kwargs)

    monkeypatch.setattr(driver, "_drive", spy)
    return calls


def _interface_changed(*args, **kwargs):
    raise TypeError("setulb() takes 18 arguments (17 given)")


def _semantics_changed(*args, **kwargs):
    result = _drive(*args, **kwargs)
    result.nit += 1  # say, tasks renumbered
    return result


_drive = driver._drive


@pytest.mark.parametrize("changed", [_interface_changed, _semantics_changed])
def test_a_changed_routine_falls_back_to_scipys_public_function(monkeypatch, changed):
    objective, theta0 = _logistic_objective()
    expected = scipy.optimize.minimize(
        objective, theta0, method="L-BFGS-B", jac=True, options={"gtol": 1e-8}
    )
    monkeypatch.setattr(driver, "_drive", changed)
    routine_agrees.cache_clear()
    try:
        assert not routine_agrees()
        fallback = lbfgsb(objective, theta0, gtol=1e-8)
    finally:
        monkeypatch.undo()
        routine_agrees.cache_clear()
    np.testing.assert_allclose(fallback.x, expected.x, rtol=1e-13, atol=1e-15)
    assert (fallback.nit, fallback.message) == (expected.nit, expected.message)


def test_options_the_driver_does_not_know_go_to_scipy(monkeypatch):
    objective, theta0 = _logistic_objective()
    drives = _count_drives(monkeypatch)
    known = lbfgsb(objective, theta0, gtol=1e-8, maxcor=5)
    assert drives == [1]
    other = lbfgsb(objective, theta0, gtol=1e-8, maxcor=5, eps=1e-7)
    assert drives == [1]  # scipy's minimize took the eps option
    np.testing.assert_allclose(other.x, known.x, rtol=1e-13, atol=1e-15)
    for unknown in ({}, {"eps": 1e-7}):  # either way, scipy's message
        with pytest.raises(ValueError, match="maxls must be positive"):
            lbfgsb(objective, theta0, maxls=0, **unknown)


def test_the_driver_checks_its_inputs_as_scipy_does():
    def quadratic(x):
        return np.array([x @ x]), 2.0 * x  # a one-element value, as scipy allows

    x0 = np.array([1.0, -2.0])
    for run in (driver._drive, _public):
        result = run(quadratic, x0, None, **driver._DEFAULTS)
        np.testing.assert_allclose(result.x, 0.0, atol=1e-8)
        with pytest.raises(ValueError, match="must return a scalar value"):
            run(lambda x: (x, x), x0, None, **driver._DEFAULTS)
        with pytest.raises(ValueError, match="'x0' must only have one dimension"):
            run(quadratic, x0[None, :], None, **driver._DEFAULTS)


def _public(fun, x0, callback, **options):
    return driver._public_minimize(fun, x0, callback, options)
