"""Full-batch optimisers over a graph's flat parameter vector.

The objective is a function ``theta -> (loss, grad)``; :class:`GraphObjective`
makes one from a graph, a scalar node and the data. :func:`minimize` runs
plain gradient descent (the lecture's recipe) or scipy's L-BFGS-B / CG on it
and reports the same :class:`OptimizeResult` for all three.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from sklearn.exceptions import ConvergenceWarning

from skgraph.graph import Trace

__all__ = [
    "GraphObjective",
    "OptimizeResult",
    "minimize",
    "warn_if_not_converged",
    "SOLVERS",
]

#: The full-batch solvers :func:`minimize` knows.
SOLVERS = ("lbfgs", "cg", "gd")


class GraphObjective:
    """``theta -> (loss, grad)`` of a scalar graph node at fixed inputs.

    The forward and backward passes reuse one :class:`~skgraph.graph.Trace`,
    so every buffer a pass needs is allocated on the first call only. The
    data are referenced, never copied.

    Parameters
    ----------
    graph : Graph
    loss : Node
        The scalar to minimise.
    feed : dict of {Input: array-like}
        Values of the inputs ``loss`` depends on.

    Attributes
    ----------
    n_calls : int
        How many times the objective was evaluated.
    last_grad_norm : float
        Euclidean norm of the last gradient returned (``inf`` before the
        first call).
    """

    def __init__(self, graph, loss, feed):
        self.graph = graph
        self.loss = loss
        self.feed = feed
        self.program = graph.program((loss,), loss=loss)
        self.trace = self.program.bind(feed, Trace(self.program))
        self._grad = np.empty_like(graph.theta)
        self.n_calls = 0

    def __setstate__(self, state):
        # The trace's parameter values are views of graph.theta, which pickle
        # copies apart: bind the copy's trace to the copy's graph again.
        self.__dict__.update(state)
        self.program.bind(self.feed, self.trace)

    @property
    def last_grad_norm(self):
        if self.n_calls == 0:
            return np.inf
        return float(np.linalg.norm(self._grad))  # computed only when asked

    def __call__(self, theta):
        """Loss (float) and gradient (new float64 array) at ``theta``."""
        # set_flat without its checks: scipy hands back the vector it was given.
        np.copyto(self.graph.theta, theta, casting="unsafe")
        program, trace = self.program, self.trace
        program.backward(program.evaluate(trace))
        self.n_calls += 1
        # A new float64 array (scipy may keep it): the one copy this call makes.
        grad = trace.parameter_grad.astype(np.float64)
        self._grad = grad
        return float(trace.values[self.loss.index]), grad


@dataclass
class OptimizeResult:
    """What every solver reports.

    Attributes
    ----------
    theta : ndarray
        The final parameters.
    loss : float
        The objective at ``theta``.
    n_iter : int
        Iterations (parameter updates) done.
    n_fev : int
        Objective evaluations done.
    loss_curve : list of float
        The objective after each iteration.
    converged : bool
        Whether the solver's stopping test was met (not the iteration limit).
    stopped : bool
        Whether a callback asked to stop.
    message : str
    status : int
        scipy's exit status for ``"lbfgs"``/``"cg"`` (0 when converged);
        for ``"gd"``, 0 when converged, 1 at the iteration or evaluation
        limit, 2 when the line search found no decrease.
    """

    theta: np.ndarray
    loss: float
    n_iter: int
    n_fev: int
    loss_curve: list = field(default_factory=list)
    converged: bool = False
    stopped: bool = False
    message: str = ""
    status: int = 0

    @property
    def loss_increased(self):
        """Whether the objective went up at some iteration (oscillated or grew)."""
        curve = self.loss_curve
        return any(b > a for a, b in zip(curve, curve[1:], strict=False))


def warn_if_not_converged(solver, result, max_iter, advice=""):
    """Warn, in scikit-learn's words, when ``result`` did not converge.

    The message starts as scikit-learn's ``_check_optimize_result`` words it
    (``"lbfgs failed to converge after 3 iteration(s) (status=1): ..."``), so
    warning filters written for scikit-learn match it too; ``advice`` is
    appended. A run that a callback stopped is no failure.
    """
    if result.converged or result.stopped:
        return
    message = (
        f"{solver} failed to converge after {result.n_iter} iteration(s) "
        f"(status={result.status}):\n{result.message}\n"
    )
    if result.n_iter == max_iter:
        message += (
            "\nIncrease the number of iterations to improve the convergence "
            f"(max_iter={max_iter})."
        )
    message += (
        "\nYou might also want to scale the data as shown in:\n"
        "    https://scikit-learn.org/stable/modules/preprocessing.html"
    )
    if advice:
        message += "\n" + advice
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


class _Monitor:
    """Records the loss curve, prints progress, relays a callback's stop."""

    def __init__(self, fun, solver, verbose, callback, max_iter):
        self.fun = fun
        self.solver = solver
        self.verbose = verbose
        self.callback = callback
        self.max_iter = max_iter
        self.loss_curve = []
        self.stopped = False

    def __call__(self, theta, loss):
        """Report one finished iteration; True when the callback asks to stop."""
        if len(self.loss_curve) >= self.max_iter:
            # L-BFGS-B steps once even with maxiter=0; like scikit-learn, that
            # step is kept but not counted as an iteration.
            return False
        self.loss_curve.append(float(loss))
        iteration = len(self.loss_curve)
        if self.verbose:
            grad_norm = getattr(self.fun, "last_grad_norm", float("nan"))
            print(
                f"[{self.solver}] iteration {iteration}, loss = {loss:.8g}, "
                f"gradient norm = {grad_norm:.4g}"
            )
        if self.callback is not None and self.callback(iteration, theta, loss):
            self.stopped = True
        return self.stopped


def _scipy_minimize(fun, theta0, method, monitor, options):
    def callback(intermediate_result):
        if monitor(intermediate_result.x, intermediate_result.fun):
            raise StopIteration

    res = optimize.minimize(
        fun, theta0, method=method, jac=True, options=options, callback=callback
    )
    return OptimizeResult(
        theta=res.x,
        loss=float(res.fun),
        n_iter=min(int(res.nit), monitor.max_iter),
        n_fev=int(res.nfev),
        loss_curve=monitor.loss_curve,
        converged=bool(res.success) and not monitor.stopped,
        stopped=monitor.stopped,
        message=str(res.message),
        status=int(res.status),
    )


def _gradient_descent(fun, theta0, monitor, *, tol, max_iter, learning_rate, max_fun):
    """Full-batch gradient descent, as in the lecture.

    With a number, every step is ``theta -= learning_rate * grad``. With
    ``("auto", step0)`` each step backtracks (Armijo): starting from twice the
    last accepted step (``step0`` at first), the step halves until the loss
    decreases by at least ``step * ||grad||^2 / 2``; the loss thus decreases
    at every iteration.
    """
    theta = np.array(theta0, dtype=np.float64)
    loss, grad = fun(theta)
    n_fev, n_iter = 1, 0
    auto = isinstance(learning_rate, tuple)
    step = learning_rate[1] if auto else float(learning_rate)
    converged, status = False, 1
    message = f"Reached max_iter={max_iter} iterations."
    while True:
        if np.linalg.norm(grad) <= tol:
            converged, status = True, 0
            message = "Gradient norm below tol."
            break
        if n_iter >= max_iter:
            break
        if auto:
            if n_iter:  # twice the last accepted step; step0 at first
                step *= 2.0
            sq_norm = float(grad @ grad)
            while True:
                candidate = theta - step * grad
                new_loss, new_grad = fun(candidate)
                n_fev += 1
                if new_loss <= loss - 0.5 * step * sq_norm or n_fev >= max_fun:
                    break
                step *= 0.5
                if step * np.sqrt(sq_norm) <= np.finfo(float).eps * (
                    1.0 + np.linalg.norm(theta)
                ):
                    break
            if new_loss > loss:  # no decreasing step exists at this precision
                message = "Line search found no decrease: at machine precision."
                converged = bool(np.isfinite(loss))
                status = 0 if converged else 2
                break
            theta, loss, grad = candidate, new_loss, new_grad
        else:
            theta = theta - step * grad
            loss, grad = fun(theta)
            n_fev += 1
        n_iter += 1
        if monitor(theta, loss):
            message = "Stopped by callback."
            break
        if n_fev >= max_fun:
            message = f"Reached max_fun={max_fun} evaluations."
            break
    return OptimizeResult(
        theta=theta,
        loss=float(loss),
        n_iter=n_iter,
        n_fev=n_fev,
        loss_curve=monitor.loss_curve,
        converged=converged,
        stopped=monitor.stopped,
        message=message,
        status=status,
    )


def minimize(
    fun,
    theta0,
    solver="lbfgs",
    *,
    tol=1e-4,
    max_iter=100,
    max_fun=15000,
    learning_rate="auto",
    initial_step=1.0,
    options=None,
    verbose=0,
    callback=None,
):
    """Minimise ``fun: theta -> (loss, grad)`` with a full-batch solver.

    Parameters
    ----------
    fun : callable
        Returns the loss (float) and its gradient (1-D float64 array).
    theta0 : ndarray of shape (n_parameters,)
        The starting point.
    solver : {"lbfgs", "cg", "gd"}, default="lbfgs"
        ``"lbfgs"``: scipy's L-BFGS-B with scikit-learn's options
        (``gtol=tol``, ``ftol=64 * eps``, ``maxls=50``, ``maxfun=max_fun``).
        ``"cg"``: scipy's nonlinear conjugate gradients (``gtol=tol``).
        ``"gd"``: gradient descent, stopping when the gradient norm is at
        most ``tol``.
    tol : float, default=1e-4
    max_iter : int, default=100
    max_fun : int, default=15000
        Most objective evaluations (``lbfgs`` and ``gd``).
    learning_rate : float or "auto", default="auto"
        The step of ``"gd"``; ``"auto"`` backtracks from ``initial_step``.
    initial_step : float, default=1.0
        First trial step of ``learning_rate="auto"``.
    options : dict, optional
        scipy options of ``"lbfgs"``/``"cg"`` that replace the defaults
        above (scikit-learn's MLP, say, keeps scipy's ``ftol`` and ``maxls``).
    verbose : int, default=0
        Print the loss and gradient norm after each iteration.
    callback : callable, optional
        ``callback(iteration, theta, loss)`` after each iteration; a true
        return value stops the solver at the current parameters.

    Returns
    -------
    OptimizeResult
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    monitor = _Monitor(fun, solver, verbose, callback, max_iter)
    theta0 = np.asarray(theta0, dtype=np.float64)
    if solver == "lbfgs":
        options = {
            "maxiter": max_iter,
            "maxfun": max_fun,
            "maxls": 50,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
            **(options or {}),
        }
        return _scipy_minimize(fun, theta0, "L-BFGS-B", monitor, options)
    if solver == "cg":
        options = {"maxiter": max_iter, "gtol": tol, **(options or {})}
        return _scipy_minimize(fun, theta0, "CG", monitor, options)
    rate = ("auto", float(initial_step)) if learning_rate == "auto" else learning_rate
    return _gradient_descent(
        fun,
        theta0,
        monitor,
        tol=tol,
        max_iter=max_iter,
        learning_rate=rate,
        max_fun=max_fun,
    )
