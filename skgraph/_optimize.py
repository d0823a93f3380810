"""Full-batch optimisers over a graph's flat parameter vector.

The objective is a function ``theta -> (loss, grad)``, made from a network
and its data by :mod:`skgraph._objectives`. :func:`minimize` runs plain
gradient descent (the lecture's recipe), scipy's L-BFGS-B / CG on it, or
scipy's Newton-CG on it and its Hessian-vector products (the objective's
``hessp``), and reports the same :class:`OptimizeResult` for all four.

An L1 term ``l1_strength * ||theta[penalized]||_1`` and sign constraints
``theta[penalized] >= 0`` are not differentiable: :func:`minimize` adds them
to the smooth objective itself. ``"lbfgs"`` splits the penalised entries,
``w = u - v`` with ``u, v >= 0``, into a smooth bound-constrained problem for
L-BFGS-B, then polishes on the orthant of the signs found; ``"gd"`` takes
proximal (soft-thresholding) steps. Both stop when the gradient mapping
``theta - prox(theta - grad)`` (see :class:`skgraph.ops.L1Penalty`), the
gradient when there is no such term and L-BFGS-B's own projected gradient on
the split problem, is at most ``tol``; ``"lbfgs"`` also asks that its last
step be small (see :func:`_split_lbfgs`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from sklearn.exceptions import ConvergenceWarning

from skgraph._lbfgsb import halting_callback, lbfgsb
from skgraph._newton import newton_cholesky
from skgraph._objectives import GraphObjective  # noqa: F401 (its old home)
from skgraph.ops import L1Penalty

__all__ = [
    "OptimizeResult",
    "minimize",
    "warn_if_not_converged",
    "check_in_memory_solver",
    "SOLVERS",
]

#: The full-batch solvers :func:`minimize` knows ("newton-cholesky" needs a
#: ``hessian``: the linear model's, see :mod:`skgraph._newton`).
SOLVERS = ("lbfgs", "cg", "gd", "newton-cg", "newton-cholesky")
#: The solvers that handle an L1 term and sign constraints.
NONSMOOTH_SOLVERS = ("lbfgs", "gd")
#: The solvers that need the objective's Hessian-vector products (in memory).
SECOND_ORDER_SOLVERS = ("newton-cg", "newton-cholesky")
#: Most L-BFGS-B runs of one fit with an L1 term or bounds (see _split_lbfgs).
_MAX_RESTARTS = 20
#: The split L-BFGS-B's last step, relative to the largest weight, is at most
#: this times ``tol`` at return (saga's rule, with a margin: see _split_lbfgs).
_STEP_MARGIN = 0.1


def check_in_memory_solver(solver, distributed):
    """Refuse a second-order solver on Dask arrays, before any work is done."""
    if distributed and solver in SECOND_ORDER_SOLVERS:
        raise ValueError(
            f"solver={solver!r} cannot fit Dask arrays: its second-order "
            "steps (Hessian-vector products, the Hessian) run on in-memory "
            "data. Use solver='lbfgs', 'cg' or 'gd', or compute the arrays "
            "into memory first."
        )


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
        for the other solvers 0 when converged, else 1.
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
    """scipy's ``method`` (L-BFGS-B: its routine, driven by :func:`lbfgsb`)."""
    if method == "L-BFGS-B":
        res = lbfgsb(fun, theta0, monitor, **options)
    else:
        res = optimize.minimize(
            fun,
            theta0,
            method=method,
            jac=True,
            options=options,
            callback=halting_callback(monitor),
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


class _LastEvaluation:
    """``fun`` remembering its last point: a callback reads the gradient there."""

    def __init__(self, fun):
        self.fun = fun
        self.x = None
        self.n_calls = 0

    def __call__(self, x):
        if self.x is None or not np.array_equal(x, self.x):
            self.value = self.fun(x)
            self.x = np.array(x, dtype=np.float64)
            self.n_calls += 1
        return self.value


#: scipy's truncated Newton methods, by the name ``options["method"]`` gives.
_NEWTON_METHODS = {
    "line-search": ("Newton-CG", {"xtol": np.finfo(float).eps}),
    "trust-region": ("trust-ncg", {"gtol": 0.0}),
}


def _newton_cg(fun, hessp, theta0, monitor, *, tol, max_iter, options):
    """Truncated Newton on the graph's ``hessp``, stopped as scikit-learn's.

    Each iteration solves ``H p = -grad`` by conjugate gradients to a
    relative accuracy ``min(0.5, sqrt(|grad|))``, then steps along ``p``.
    ``options["method"]`` picks how: ``"line-search"`` (the default) is
    scipy's Newton-CG, a Wolfe line search along ``p``, which is
    scikit-learn's ``newton-cg`` (the same CG tolerance, the same number of
    products); ``"trust-region"`` is scipy's trust-ncg (Steihaug's CG inside
    a trust region), which on a non-convex objective (a network) steps to
    the region's edge along directions of negative curvature, where the
    line search falls back to a gradient step. Both stop, as scikit-learn's,
    when ``max |grad| <= tol`` (checked before the first iteration too) or
    at ``max_iter`` iterations (rejected trust-region steps count). Where
    the line search finds no decrease, or the trust region's quadratic
    model predicts none, the gradient is at the objective's rounding: that
    is convergence too. Other ``options`` go to scipy.
    """
    hessp = getattr(fun, "hessp", None) if hessp is None else hessp
    if hessp is None:
        raise ValueError(
            "solver='newton-cg' needs Hessian-vector products: pass hessp, "
            "or an objective with a hessp method."
        )
    memo = _LastEvaluation(fun)
    loss, grad = memo(theta0)
    solved = float(np.abs(grad).max(initial=0.0)) <= tol
    if solved:
        return _descent_result(theta0, loss, 0, 1, monitor, True, "max |grad| <= tol.")

    def callback(intermediate_result):
        nonlocal solved
        if monitor(intermediate_result.x, intermediate_result.fun):
            raise StopIteration
        solved = float(np.abs(memo(intermediate_result.x)[1]).max()) <= tol
        if solved:
            raise StopIteration

    options = dict(options or {})
    method, defaults = _NEWTON_METHODS[options.pop("method", "line-search")]
    options = {"maxiter": max_iter, **defaults, **options}
    res = optimize.minimize(
        memo,
        theta0,
        method=method,
        jac=True,
        hessp=hessp,
        options=options,
        callback=callback,
    )
    message = "max |grad| <= tol." if solved else str(res.message)
    # status 2: the line search found no decrease, or the trust region's
    # model predicted none.
    at_precision = int(res.status) == 2 and np.isfinite(res.fun)
    converged = (solved or bool(res.success) or at_precision) and not monitor.stopped
    return OptimizeResult(
        theta=res.x,
        loss=float(res.fun),
        n_iter=min(int(res.nit), max_iter),
        n_fev=memo.n_calls,
        loss_curve=monitor.loss_curve,
        converged=converged,
        stopped=monitor.stopped,
        message=message,
        status=0 if converged else max(int(res.status), 1),
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
    converged = False
    message = f"Reached max_iter={max_iter} iterations."
    while True:
        if np.linalg.norm(grad) <= tol:
            converged = True
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
                break
            theta, loss, grad = candidate, new_loss, new_grad
        else:
            theta = theta - step * grad
            loss, grad = fun(theta)
            n_fev += 1
        n_iter += 1
        stop = _stop_after_iteration(monitor, theta, loss, n_fev, max_fun)
        if stop:
            message = stop
            break
    return _descent_result(theta, loss, n_iter, n_fev, monitor, converged, message)


def _stop_after_iteration(monitor, theta, loss, n_fev, max_fun):
    """Why a descent loop stops after an iteration (a message), or ``None``."""
    if monitor(theta, loss):
        return "Stopped by callback."
    if n_fev >= max_fun:
        return f"Reached max_fun={max_fun} evaluations."
    return None


def _descent_result(theta, loss, n_iter, n_fev, monitor, converged, message):
    return OptimizeResult(
        theta=theta,
        loss=float(loss),
        n_iter=n_iter,
        n_fev=n_fev,
        loss_curve=monitor.loss_curve,
        converged=converged,
        stopped=monitor.stopped,
        message=message,
        status=0 if converged else 1,
    )


class _Nonsmooth:
    """``l1_strength * ||theta[penalized]||_1``; optionally ``theta[penalized] >= 0``.

    Parameters
    ----------
    l1_strength : float
        As the graph's ``l1_strength`` input is fed (0 for sign constraints
        only).
    penalized : slice
        The entries of ``theta`` the term and the constraints apply to.
    nonnegative : bool
    """

    def __init__(self, l1_strength, penalized, nonnegative):
        self.l1_strength = float(l1_strength)
        self.penalized = penalized
        self.nonnegative = bool(nonnegative)

    def value(self, theta):
        if self.l1_strength == 0.0:
            return 0.0
        return self.l1_strength * float(np.abs(theta[self.penalized]).sum())

    def prox(self, theta, step):
        """The proximal step of ``step * term`` (plus the constraints): new array."""
        out = theta.copy()
        out[self.penalized] = L1Penalty.prox(
            theta[self.penalized], step * self.l1_strength, nonnegative=self.nonnegative
        )
        return out

    def gradient_mapping(self, theta, grad):
        """``theta - prox(theta - grad, 1)``: zero exactly at a minimum.

        The move of a proximal gradient step of length one, given the smooth
        part's gradient: the gradient itself without an L1 term or bounds,
        and L-BFGS-B's projected gradient (``P(x - g) - x``) for the split
        problem at a split point with ``u * v = 0``.
        """
        return theta - self.prox(theta - grad, 1.0)

    def feasible(self, theta):
        """``theta`` with its penalised entries clipped at 0 when nonnegative."""
        theta = np.array(theta, dtype=np.float64)
        if self.nonnegative:
            np.maximum(theta[self.penalized], 0.0, out=theta[self.penalized])
        return theta


class _SplitProblem:
    """The L1 problem as a smooth one over ``z = (theta with u, v)`` with bounds.

    The penalised entries ``w = u - v`` are split into their positive and
    negative parts, ``u, v >= 0``, and ``l1_strength * |w|`` becomes the linear
    ``l1_strength * (u + v)``: smooth, and at a minimum one of ``u_j, v_j`` is zero
    (otherwise lowering both would lower the objective), so the split adds
    no spurious minima. ``z`` is ``theta`` with ``u`` in place of ``w``,
    followed by ``v``; with ``nonnegative=True`` there is no ``v`` (``w = u``).
    """

    def __init__(self, fun, term, n_parameters):
        self.fun = fun
        self.term = term
        self.n = n_parameters
        index = np.arange(n_parameters)[term.penalized]
        self.n_split = 0 if term.nonnegative else index.size
        lower = np.full(n_parameters + self.n_split, -np.inf)
        lower[index] = 0.0
        lower[n_parameters:] = 0.0
        self.bounds = optimize.Bounds(lower, np.inf)
        self.options = {}  # L-BFGS-B's gtol test: the gradient mapping
        self.last = (None, None)  # the last point evaluated and its gradient

    def theta(self, z):
        theta = z[: self.n].copy()
        if self.n_split:
            theta[self.term.penalized] -= z[self.n :]
        return theta

    def start(self, theta):
        """The split of ``theta`` with ``u * v = 0``: ``u = w+``, ``v = w-``."""
        w = theta[self.term.penalized]
        z = np.concatenate([theta, np.maximum(-w, 0.0)[: self.n_split]])
        z[: self.n][self.term.penalized] = np.maximum(w, 0.0)
        return z

    def __call__(self, z):
        theta = self.theta(z)
        loss, grad = self.fun(theta)
        l1 = self.term.l1_strength
        grad_z = np.empty(z.size)
        grad_z[: self.n] = grad
        if l1:
            loss += l1 * float(z[: self.n][self.term.penalized].sum())
            loss += l1 * float(z[self.n :].sum())
            grad_z[: self.n][self.term.penalized] += l1
        if self.n_split:
            np.subtract(l1, grad[self.term.penalized], out=grad_z[self.n :])
        self.last = z.copy(), grad_z
        return loss, grad_z

    def optimality(self, z):
        """``(theta, |gradient mapping|_max)`` of the L1 problem at ``z``."""
        last_z, grad_z = self.last
        if last_z is None or not np.array_equal(z, last_z):
            grad_z = self(z)[1]
        theta = self.theta(z)
        mapping = self.term.gradient_mapping(theta, self.smooth_gradient(z, grad_z))
        return theta, float(np.abs(mapping).max(initial=0.0))

    def smooth_gradient(self, z, grad_z):
        """The smooth part's gradient in ``theta`` from the split one at ``z``."""
        grad = grad_z[: self.n].copy()
        grad[self.term.penalized] -= self.term.l1_strength
        return grad


def _split_lbfgs(fun, theta0, monitor, term, *, tol, max_iter, options):
    """L-BFGS-B on the split problem, then on the orthant it finds, until solved.

    The split problem finds the signs and zeros: L-BFGS-B runs on it until
    its projected gradient, at a split point with ``u * v = 0`` the gradient
    mapping of the L1 problem, is at most ``tol`` (``gtol``). That alone can
    leave ill-conditioned problems (correlated features, a weak L2 term) far
    from the minimum, with ``u`` and ``v`` of one entry drifting along a
    redundant direction where the quasi-Newton model stalls (it may also
    stop there on ``ftol``). So a polish follows on the orthant of the signs
    reached (:class:`_OrthantProblem`, smooth, no redundant directions),
    which stops when its projected gradient is at most ``tol`` and its last
    quasi-Newton step moved no weight by more than ``_STEP_MARGIN * tol``
    times the largest weight: scikit-learn's ``saga`` rule (``tol`` times the
    largest weight per epoch) with a margin, since a step estimates the
    distance left. The L1 problem is solved when that holds and its gradient
    mapping is at most ``tol`` (no zero wants to move); otherwise split and
    orthant runs alternate, each with fresh memory, until it is, ``max_iter``
    iterations are spent, or a whole run makes no progress (``ftol``).
    """
    split = problem = _SplitProblem(fun, term, theta0.size)
    stop = None
    theta = term.feasible(theta0)

    def callback(intermediate_result):
        z = intermediate_result.x
        if monitor(problem.theta(z), intermediate_result.fun):
            raise StopIteration
        if problem is not split and stop.solved(z):
            raise StopIteration

    n_iter = n_fev = 0
    loss = np.inf
    for _ in range(_MAX_RESTARTS):
        stop = _OrthantStoppingRule(problem, tol)
        res = optimize.minimize(
            problem,
            problem.start(theta),
            method="L-BFGS-B",
            jac=True,
            bounds=problem.bounds,
            options={**options, "maxiter": max_iter - n_iter, **problem.options},
            callback=callback,
        )
        n_iter += int(res.nit)
        n_fev += int(res.nfev)
        progress = _decreased(loss, float(res.fun), options["ftol"])
        theta, loss = problem.theta(res.x), float(res.fun)
        optimality = split.optimality(split.start(theta))[1]
        solved = optimality <= tol and (stop.done or problem is split)
        message = "Solved to tol." if solved else str(res.message)
        if monitor.stopped or n_iter >= max_iter or (solved and stop.done):
            break
        if not progress:
            message = "No progress at machine precision: " + message
            break
        # After the split problem, polish on the orthant reached; after a
        # polish that did not solve the problem, the split problem again.
        problem = _OrthantProblem(fun, term, theta) if problem is split else split
    else:
        message = f"Stopped after {_MAX_RESTARTS} restarts: {message}"
    converged = (solved or not progress) and not monitor.stopped
    status = 0 if converged else max(int(res.status), 1)
    return _split_result(
        theta, loss, min(n_iter, max_iter), n_fev, monitor, message, status
    )


class _OrthantProblem:
    """The L1 problem on the orthant of the signs of ``theta``: smooth there.

    Each penalised entry keeps its sign (bounds ``[0, inf)``, ``(-inf, 0]``,
    or ``[0, 0]`` for a zero), and ``l1_strength * |w|`` is the linear
    ``l1_strength * sign * w``. Where the signs are those of the minimum, its minimum
    is the L1 problem's, and L-BFGS-B converges to it as on any smooth
    problem, without the flat directions of the split ``u - v``.
    """

    def __init__(self, fun, term, theta):
        self.fun = fun
        self.term = term
        penalized = np.zeros(theta.size, dtype=bool)
        penalized[term.penalized] = True
        self.sign = np.where(penalized, np.sign(theta), 0.0)
        lower = np.where(penalized & (self.sign >= 0), 0.0, -np.inf)
        upper = np.where(penalized & (self.sign <= 0), 0.0, np.inf)
        self.bounds = optimize.Bounds(lower, upper)
        self.options = {"gtol": 0.0}  # the stopping rule decides
        self.last = (None, None)

    def theta(self, z):
        return np.array(z, dtype=np.float64)

    start = theta

    def __call__(self, z):
        loss, grad = self.fun(z)
        grad_z = grad + self.term.l1_strength * self.sign
        self.last = z.copy(), grad_z
        return loss + self.term.l1_strength * float(self.sign @ z), grad_z

    def optimality(self, z):
        """``(theta, |projected gradient|_max)`` of the orthant problem."""
        last_z, grad_z = self.last
        if last_z is None or not np.array_equal(z, last_z):
            grad_z = self(z)[1]
        lower, upper = self.bounds.lb, self.bounds.ub
        projected = np.clip(z - grad_z, lower, upper) - z
        return self.theta(z), float(np.abs(projected).max(initial=0.0))


class _OrthantStoppingRule:
    """Whether the L1 problem is solved at an iterate of the orthant problem.

    Solved: the projected gradient is at most ``tol`` (max norm) and the
    last step, from the second iteration of a run on (the first is a short
    steepest-descent step), moved no weight by more than ``tol`` times the
    largest weight (see :func:`_split_lbfgs`). ``done`` records that it held.
    """

    def __init__(self, problem, tol):
        self.problem = problem
        self.tol = tol
        self.previous = None
        self.done = False

    def solved(self, z):
        theta, optimality = self.problem.optimality(z)
        previous, self.previous = self.previous, theta
        if previous is None:
            return False
        step = float(np.abs(theta - previous).max(initial=0.0))
        scale = float(np.abs(theta).max(initial=0.0))
        self.done = optimality <= self.tol and step <= _STEP_MARGIN * self.tol * scale
        return self.done


def _decreased(before, after, ftol):
    """Whether a whole L-BFGS-B run with fresh memory lowered the objective by
    more than ``ftol`` (relative): if not, it ended where the objective's
    rounding does."""
    if not np.isfinite(before):
        return bool(before - after > ftol)
    return before - after > ftol * max(abs(before), abs(after), 1.0)


def _split_result(theta, loss, n_iter, n_fev, monitor, message, status):
    # n_iter is capped at max_iter: L-BFGS-B steps once even at maxiter=0.
    return OptimizeResult(
        theta=theta,
        loss=loss,
        n_iter=n_iter,
        n_fev=n_fev,
        loss_curve=monitor.loss_curve,
        converged=status == 0,
        stopped=monitor.stopped,
        message=message,
        status=status,
    )


def _proximal_gradient(
    fun, theta0, monitor, term, *, tol, max_iter, learning_rate, max_fun
):
    """Accelerated proximal gradient descent (FISTA with restarts).

    Each step is a gradient step on the smooth part from the extrapolated
    point ``y`` followed by the proximal step of the L1 term and the sign
    constraints (soft-thresholding, clipping); ``y`` moves on from the new
    point with Nesterov's momentum. Whenever the whole objective would
    increase, the momentum is dropped and the step retaken from the current
    point (adaptive restart), so the objective decreases at every iteration.
    With ``("auto", step0)`` the step follows the rule of plain gradient
    descent: twice the last accepted step (``step0`` at first), halved until
    ``f(x+) <= f(y) + grad(y) . d + ||d||^2 / (2 step)`` with ``d = x+ - y``
    (the standard sufficient decrease of a proximal step; ``f`` the smooth
    part). Stops when the Euclidean norm of the gradient mapping (the
    gradient, without L1 term or constraints) is at most ``tol``.
    """
    x = term.feasible(theta0)
    f_x, g_x = fun(x)
    F_x = f_x + term.value(x)
    n_fev, n_iter = 1, 0
    auto = isinstance(learning_rate, tuple)
    step = learning_rate[1] if auto else float(learning_rate)
    y, f_y, g_y = x, f_x, g_x
    momentum = 1.0
    converged = False
    message = f"Reached max_iter={max_iter} iterations."
    while True:
        if np.linalg.norm(term.gradient_mapping(x, g_x)) <= tol:
            converged = True
            message = "Norm of the gradient mapping below tol."
            break
        if n_iter >= max_iter:
            break
        if auto and n_iter:
            step *= 2.0
        candidate, f_new, g_new, step, n_fev = _proximal_step(
            fun, term, (y, f_y, g_y), step, auto=auto, n_fev=n_fev, max_fun=max_fun
        )
        F_new = f_new + term.value(candidate)
        if F_new > F_x and y is not x:  # the momentum overshot: restart
            y, f_y, g_y, momentum = x, f_x, g_x, 1.0
            if n_fev >= max_fun:
                message = f"Reached max_fun={max_fun} evaluations."
                break
            continue
        if auto and F_new > F_x:  # no decreasing step exists at this precision
            message = "Line search found no decrease: at machine precision."
            converged = bool(np.isfinite(F_x))
            break
        following = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum * momentum))
        beta = (momentum - 1.0) / following
        momentum = following
        previous = x
        x, f_x, g_x, F_x = candidate, f_new, g_new, F_new
        if beta > 0.0:
            y = x + beta * (x - previous)
            f_y, g_y = fun(y)
            n_fev += 1
        else:
            y, f_y, g_y = x, f_x, g_x
        n_iter += 1
        stop = _stop_after_iteration(monitor, x, F_x, n_fev, max_fun)
        if stop:
            message = stop
            break
    return _descent_result(x, F_x, n_iter, n_fev, monitor, converged, message)


def _proximal_step(fun, term, point, step, *, auto, n_fev, max_fun):
    """One proximal gradient step from ``point = (y, f(y), grad f(y))``.

    With ``auto``, ``step`` halves until the step decreases the smooth part
    enough (see :func:`_proximal_gradient`), until ``max_fun`` evaluations
    are spent, or until the step no longer moves ``y`` at this precision.
    Returns the new point, its smooth loss and gradient, the step taken and
    the evaluation count.
    """
    y, f_y, g_y = point
    while True:
        candidate = term.prox(y - step * g_y, step)
        d = candidate - y
        f_new, g_new = fun(candidate)
        n_fev += 1
        if not auto or n_fev >= max_fun:
            break
        if f_new <= f_y + float(g_y @ d) + float(d @ d) / (2.0 * step):
            break
        step *= 0.5
        if np.sqrt(float(d @ d)) <= np.finfo(float).eps * (1.0 + np.linalg.norm(y)):
            break
    return candidate, f_new, g_new, step, n_fev


def _lbfgs_options(tol, max_iter, max_fun, options):
    """scikit-learn's L-BFGS-B options for LogisticRegression, then ``options``."""
    return {
        "maxiter": max_iter,
        "maxfun": max_fun,
        "maxls": 50,
        "gtol": tol,
        "ftol": 64 * np.finfo(float).eps,
        **(options or {}),
    }


def _newton(fun, theta0, hessian, monitor, tol, max_iter, lbfgs_options):
    """``"newton-cholesky"``, with L-BFGS-B (``lbfgs_options``) as its fallback."""
    if hessian is None:
        raise ValueError("solver='newton-cholesky' needs the objective's hessian.")

    def fallback(theta, iterations_left):
        options = {**lbfgs_options, "maxiter": iterations_left}
        return _scipy_minimize(fun, theta, "L-BFGS-B", monitor, options)

    eps = 16 * np.finfo(hessian.X.dtype).eps
    theta, loss, n_iter, converged, lbfgs = newton_cholesky(
        fun,
        theta0,
        hessian,
        monitor,
        tol=tol,
        max_iter=max_iter,
        eps=eps,
        fallback=fallback,
    )
    if lbfgs is not None:
        message, status = "L-BFGS-B (fallback): " + lbfgs.message, lbfgs.status
    elif converged:
        message, status = "Converged: gradient and Newton decrement below tol.", 0
    else:
        message, status = (
            f"Newton solver did not converge after {n_iter} iterations.",
            1,
        )
    return OptimizeResult(
        theta=theta,
        loss=float(loss),
        n_iter=n_iter,
        n_fev=getattr(fun, "n_calls", 0),
        loss_curve=monitor.loss_curve,
        converged=converged and not monitor.stopped,
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
    l1_strength=0.0,
    penalized=None,
    nonnegative=False,
    hessp=None,
    hessian=None,
):
    """Minimise ``fun: theta -> (loss, grad)`` with a full-batch solver.

    With ``l1_strength > 0`` or ``nonnegative=True`` the problem is ``fun(theta) +
    l1_strength * ||theta[penalized]||_1`` subject to ``theta[penalized] >= 0`` when
    ``nonnegative``: ``"lbfgs"`` solves it as a bound-constrained problem in
    split variables, ``"gd"`` by accelerated proximal gradient steps (see
    the module docstring); ``"cg"`` cannot.

    Parameters
    ----------
    fun : callable
        Returns the loss (float) and its gradient (1-D float64 array).
    theta0 : ndarray of shape (n_parameters,)
        The starting point.
    solver : {"lbfgs", "cg", "gd", "newton-cg", "newton-cholesky"}, \
            default="lbfgs"
        ``"lbfgs"``: scipy's L-BFGS-B with scikit-learn's options
        (``gtol=tol``, ``ftol=64 * eps``, ``maxls=50``, ``maxfun=max_fun``).
        ``"newton-cholesky"``: Newton steps with the full ``hessian``
        (:func:`skgraph._newton.newton_cholesky`), L-BFGS-B as fallback.
        ``"cg"``: scipy's nonlinear conjugate gradients (``gtol=tol``).
        ``"gd"``: gradient descent, stopping when the gradient norm is at
        most ``tol``. ``"newton-cg"``: scipy's Newton-CG (or trust-ncg,
        ``options={"method": "trust-region"}``) on ``hessp``, stopping when
        ``max |grad| <= tol`` (see :func:`_newton_cg`).
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
    l1_strength : float, default=0.0
        Strength of the L1 term on ``theta[penalized]``.
    penalized : slice, optional
        The entries that the L1 term and ``nonnegative`` apply to (all by
        default).
    nonnegative : bool, default=False
        Constrain ``theta[penalized] >= 0``.
    hessp : callable, optional
        ``hessp(theta, v)``: the Hessian of ``fun`` at ``theta`` times ``v``;
        by default ``fun.hessp`` (a :class:`GraphObjective` has one). Needed
        by ``"newton-cg"`` only.
    hessian : LinearModelHessian, optional
        ``theta -> (H, warning)``, needed by ``"newton-cholesky"``.

    Returns
    -------
    OptimizeResult
        ``loss`` and ``loss_curve`` include the L1 term.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    monitor = _Monitor(fun, solver, verbose, callback, max_iter)
    theta0 = np.asarray(theta0, dtype=np.float64)
    nonsmooth = l1_strength > 0.0 or nonnegative
    if nonsmooth and solver not in NONSMOOTH_SOLVERS:
        raise ValueError(
            f"solver={solver!r} handles neither an L1 term nor sign constraints; "
            f"use one of {NONSMOOTH_SOLVERS}."
        )
    term = _Nonsmooth(
        l1_strength, slice(None) if penalized is None else penalized, nonnegative
    )
    if solver in ("lbfgs", "newton-cholesky"):
        options = _lbfgs_options(tol, max_iter, max_fun, options)
        if solver == "newton-cholesky":
            return _newton(fun, theta0, hessian, monitor, tol, max_iter, options)
        if nonsmooth:
            return _split_lbfgs(
                fun, theta0, monitor, term, tol=tol, max_iter=max_iter, options=options
            )
        return _scipy_minimize(fun, theta0, "L-BFGS-B", monitor, options)
    if solver == "cg":
        options = {"maxiter": max_iter, "gtol": tol, **(options or {})}
        return _scipy_minimize(fun, theta0, "CG", monitor, options)
    if solver == "newton-cg":
        return _newton_cg(
            fun, hessp, theta0, monitor, tol=tol, max_iter=max_iter, options=options
        )
    rate = ("auto", float(initial_step)) if learning_rate == "auto" else learning_rate
    descent = dict(tol=tol, max_iter=max_iter, learning_rate=rate, max_fun=max_fun)
    if nonsmooth:
        return _proximal_gradient(fun, theta0, monitor, term, **descent)
    return _gradient_descent(fun, theta0, monitor, **descent)
