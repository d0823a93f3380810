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
    def __init__(self, iteration):
        self.iteration, self.seen = iteration, []

    def __call__(self, x, value):
        self.seen.append((x.copy(), value))
        return len(self.seen) == self.iteration


OPTIONS = {
    "converged": {"gtol": 1e-6, "ftol": 64 * np.finfo(float).eps, "maxls": 50},
    "ftol": {"gtol": 0.0, "ftol": 1e-7},
    "few corrections": {"maxcor": 3, "gtol": 1e-8},
    "maxiter": {"maxiter": 5},
    "maxfun": {"maxfun": 4},
}


@pytest.mark.parametrize("make", [_logistic_objective, _mlp_objective])
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("halt_at", [None, 3])
def test_lbfgsb_takes_scipys_iterates(make, options, halt_at):
    objective, theta0 = make()
    start = theta0.copy()
    ours_callback, their_callback = _HaltAt(halt_at), _HaltAt(halt_at)
    ours = lbfgsb(objective, theta0, ours_callback, **options)

    def callback(intermediate_result):
        if their_callback(intermediate_result.x, intermediate_result.fun):
            raise StopIteration

    theirs = scipy.optimize.minimize(
        objective,
        theta0,
        method="L-BFGS-B",
        jac=True,
        options=options,
        callback=callback,
    )
    assert (ours.nit, ours.nfev, ours.status, ours.success) == (
        theirs.nit,
        theirs.nfev,
        theirs.status,
        theirs.success,
    )
    assert ours.message == theirs.message
    np.testing.assert_allclose(ours.x, theirs.x, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ours.jac, theirs.jac, rtol=1e-12, atol=1e-15)
    assert ours.fun == pytest.approx(theirs.fun, rel=1e-14)
    assert len(ours_callback.seen) == len(their_callback.seen)
    for (x, value), (x_theirs, value_theirs) in zip(
        ours_callback.seen, their_callback.seen, strict=True
    ):
        np.testing.assert_allclose(x, x_theirs, rtol=1e-13, atol=1e-15)
        assert value == pytest.approx(value_theirs, rel=1e-14)
    np.testing.assert_array_equal(theta0, start)  # not stepped in place


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
