"""L-BFGS-B on scipy's compiled routine, without its per-call wrappers.

``scipy.optimize.minimize(method="L-BFGS-B")`` wraps the objective in
layers (a memoised Jacobian, a ``ScalarFunction`` that copies, compares and
counts, an ``OptimizeResult`` built for every iteration's callback): about
20 µs per evaluation and 100 µs per call. On the small problems that a
logistic regression is often fitted on (hundreds of samples, 20-30
evaluations of 30-40 µs each) that is a third of the fit. :func:`lbfgsb`
drives the compiled routine that scipy drives, ``setulb``, with the same
arguments, in the same order, with the same stopping tests, so it takes
scipy's iterates exactly; only the wrappers are gone.

``setulb`` is private to scipy. Before its first use in a process the
driver is run beside :func:`scipy.optimize.minimize` on small problems
(:func:`routine_agrees`): unless both give the same iterates, counts and
messages, :func:`lbfgsb` calls :func:`scipy.optimize.minimize` instead. A
scipy release that changes the routine costs speed, never correctness.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import optimize

__all__ = ["halting_callback", "lbfgsb", "routine_agrees"]

# The routine's task codes (scipy's ``_lbfgsb_py.status_messages`` and
# ``task_messages``): what it asks for, and why it stopped.
_FG, _NEW_X, _CONVERGENCE, _STOP = 3, 1, 4, 5
_STATUS_WORDS = {
    0: "START",
    1: "NEW_X",
    2: "RESTART",
    3: "FG",
    4: "CONVERGENCE",
    5: "STOP",
    6: "WARNING",
    7: "ERROR",
    8: "ABNORMAL",
}
_MAX_FUN, _MAX_ITER, _HALTED = 502, 504, 505
_REASONS = {
    401: "NORM OF PROJECTED GRADIENT <= PGTOL",
    402: "RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    501: "CPU EXCEEDING THE TIME LIMIT",
    _MAX_FUN: "TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    503: "PROJECTED GRADIENT IS SUFFICIENTLY SMALL",
    _MAX_ITER: "TOTAL NO. OF ITERATIONS REACHED LIMIT",
    _HALTED: "CALLBACK REQUESTED HALT",
    601: "ROUNDING ERRORS PREVENT PROGRESS",
    602: "STP = STPMAX",
    603: "STP = STPMIN",
    604: "XTOL TEST SATISFIED",
    701: "NO FEASIBLE SOLUTION",
    702: "FACTR < 0",
    703: "FTOL < 0",
    704: "GTOL < 0",
    705: "XTOL < 0",
    706: "STP < STPMIN",
    707: "STP > STPMAX",
    708: "STPMIN < 0",
    709: "STPMAX < STPMIN",
    710: "INITIAL G >= 0",
    711: "M <= 0",
    712: "N <= 0",
    713: "INVALID NBD",
}
#: The options :func:`lbfgsb` takes, with scipy's defaults.
_DEFAULTS = {
    "maxcor": 10,
    "ftol": 2.2204460492503131e-09,
    "gtol": 1e-5,
    "maxfun": 15000,
    "maxiter": 15000,
    "maxls": 20,
}


def lbfgsb(fun, x0, callback=None, **options):
    """Minimise ``fun: x -> (value, gradient)`` from ``x0`` by L-BFGS-B, unbounded.

    What ``scipy.optimize.minimize(fun, x0, method="L-BFGS-B", jac=True,
    options=options)`` returns (the same iterates, ``nit``, ``nfev``,
    ``status`` and ``message``), at less cost per evaluation.

    Parameters
    ----------
    fun : callable
        ``fun(x)`` returns the value (a float) and the gradient (1-D) at a
        float64 ``x``, which it may keep (a copy of the routine's iterate).
    x0 : array-like
        The starting point.
    callback : callable, optional
        ``callback(x, value)`` after each iteration; a true return value
        stops the solver there (scipy's "CALLBACK REQUESTED HALT").
    **options
        ``maxcor``, ``ftol``, ``gtol``, ``maxfun``, ``maxiter`` and ``maxls``
        as scipy's (same defaults). Any other option goes, with the whole
        problem, to :func:`scipy.optimize.minimize`.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``jac``, ``nit``, ``nfev``, ``status``, ``success``
        and ``message``, as scipy's.
    """
    if set(options) - set(_DEFAULTS) or not routine_agrees():
        return _public_minimize(fun, x0, callback, options)
    return _drive(fun, x0, callback, **{**_DEFAULTS, **options})


def halting_callback(callback):
    """scipy's form of ``callback(x, value) -> stop``: a callback of
    ``intermediate_result`` that raises ``StopIteration`` to stop."""

    def halt_if_asked(intermediate_result):
        if callback(intermediate_result.x, intermediate_result.fun):
            raise StopIteration

    return halt_if_asked


def _public_minimize(fun, x0, callback, options):
    """:func:`lbfgsb` through :func:`scipy.optimize.minimize`."""
    return optimize.minimize(
        fun,
        x0,
        method="L-BFGS-B",
        jac=True,
        options=options,
        callback=None if callback is None else halting_callback(callback),
    )


def _evaluate(fun, x):
    """``fun`` at a copy of ``x`` (scipy's wrapper passes one too): the value
    as a scalar, the gradient as a float64 array of its own."""
    value, grad = fun(x.copy())
    if not np.isscalar(value):  # as scipy: np.array([1.3]) is taken too
        try:
            value = np.asarray(value).item()
        except (TypeError, ValueError) as error:
            raise ValueError(
                "The user-provided objective function must return a scalar value."
            ) from error
    return value, np.array(grad, dtype=np.float64).ravel()


def _asks_to_halt(callback, x, value):
    """Whether ``callback`` asks to stop: a true return value, or a
    ``StopIteration`` (which scipy's ``minimize`` takes as the same)."""
    try:
        return bool(callback(x, value))
    except StopIteration:
        return True


def _outcome(task, halted, exhausted):
    """``(status, message)`` as scipy reports them for the routine's last
    ``task``; ``exhausted``: maxiter or maxfun reached."""
    if halted:  # minimize's report of a callback's stop, whatever came after
        return 99, "`callback` raised `StopIteration`."
    word = _STATUS_WORDS.get(int(task[0]), str(task[0]))
    message = f"{word}: {_REASONS.get(int(task[1]), '')}"
    if task[0] == _CONVERGENCE:
        return 0, message
    return (1 if exhausted else 2), message


def _drive(fun, x0, callback, *, maxcor, ftol, gtol, maxfun, maxiter, maxls):
    """The loop of scipy's ``_minimize_lbfgsb`` around ``setulb``, unbounded."""
    from scipy.optimize import _lbfgsb  # private: see routine_agrees

    x = np.atleast_1d(np.array(x0, dtype=np.float64))  # stepped in place
    if x.ndim != 1:
        raise ValueError("'x0' must only have one dimension.")
    n, m = x.size, int(maxcor)
    # scipy evaluates at x0 when it sets up, before the routine's first call
    # (which is handed a zero value and gradient), and reuses that evaluation
    # when the routine first asks.
    value, grad = _evaluate(fun, x)
    evaluated_at, n_fev = x.copy(), 1
    if not maxls > 0:
        raise ValueError("maxls must be positive.")
    f, g = 0.0, np.zeros(n)
    kinds = np.zeros(n, np.int32)  # "nbd": no bound on any variable
    lower, upper = np.zeros(n), np.zeros(n)
    work = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m)
    int_work = np.zeros(3 * n, np.int32)
    task, line_search_task = np.zeros(2, np.int32), np.zeros(2, np.int32)
    logical_state, int_state = np.zeros(4, np.int32), np.zeros(44, np.int32)
    float_state = np.zeros(29)
    factr = ftol / np.finfo(float).eps
    n_iter, halted = 0, False
    while True:
        _lbfgsb.setulb(
            m, x, lower, upper, kinds, f, g, factr, gtol, work, int_work, task,
            logical_state, int_state, float_state, maxls, line_search_task,
        )  # fmt: skip
        if task[0] == _FG:
            if not np.array_equal(x, evaluated_at):
                value, grad = _evaluate(fun, x)
                evaluated_at = x.copy()
                n_fev += 1
            f, g = value, grad
        elif task[0] == _NEW_X:
            n_iter += 1
            if callback is not None and _asks_to_halt(callback, x, f):
                task[:] = _STOP, _HALTED
                halted = True
            if n_iter >= maxiter:
                task[:] = _STOP, _MAX_ITER
            elif n_fev > maxfun:
                task[:] = _STOP, _MAX_FUN
        else:
            break
    status, message = _outcome(task, halted, n_fev > maxfun or n_iter >= maxiter)
    return optimize.OptimizeResult(
        x=x,
        fun=f,
        jac=g,
        nit=n_iter,
        nfev=n_fev,
        status=status,
        success=status == 0,
        message=message,
    )


def _probe_problems():
    """Small problems on which :func:`routine_agrees` compares the two ways:
    ``(fun, x0, stop_after, options)``, ``stop_after``: the iteration whose
    callback halts (``None``: none does)."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(40, 6))
    b = rng.normal(size=40)

    def smooth(x):  # a logistic-like loss: smooth, convex, not quadratic
        z = A @ x - b
        p = np.logaddexp(0.0, z)
        return p.sum() + 0.5 * x @ x, A.T @ (1.0 / (1.0 + np.exp(-z))) + x

    def rosenbrock(x):  # not convex: line searches that backtrack
        return optimize.rosen(x), optimize.rosen_der(x)

    x0 = np.linspace(-1.0, 1.0, 6)
    return [
        (smooth, x0, None, {"gtol": 1e-6, "ftol": 0.0}),
        (smooth, x0, None, {"gtol": 0.0, "ftol": 1e-6, "maxcor": 3}),
        (rosenbrock, x0, None, {"gtol": 1e-9, "maxls": 50}),
        (rosenbrock, x0, None, {"maxiter": 4}),
        (rosenbrock, x0, None, {"maxfun": 6}),
        (rosenbrock, x0, 3, {}),
        (rosenbrock, x0, 3, {"maxiter": 3}),
        (rosenbrock, x0, 3, {"maxfun": 3}),
    ]


class _HaltAt:
    """A callback that asks to stop at iteration ``iteration`` (``None``: never)."""

    def __init__(self, iteration):
        self.iteration, self.seen = iteration, 0

    def __call__(self, x, value):
        self.seen += 1
        return self.seen == self.iteration


@functools.cache
def routine_agrees():
    """Whether :func:`lbfgsb`'s own loop gives what :func:`scipy.optimize.minimize`
    gives on small problems (same ``x``, value, counts, status and message).

    Checked once per process: the loop drives a private scipy routine, so a
    scipy release may change what it expects; then :func:`lbfgsb` uses the
    public function.
    """
    try:
        for fun, x0, stop_after, options in _probe_problems():
            ours = _drive(fun, x0, _HaltAt(stop_after), **{**_DEFAULTS, **options})
            theirs = _public_minimize(fun, x0, _HaltAt(stop_after), options)
            same = (
                np.array_equal(ours.x, theirs.x)
                and np.array_equal(ours.jac, theirs.jac)
                and ours.fun == float(theirs.fun)
                and (ours.nit, ours.nfev, ours.status)
                == (theirs.nit, theirs.nfev, theirs.status)
                and ours.message == theirs.message
            )
            if not same:
                return False
    except Exception:  # any change of interface: the public path serves
        return False
    return True
