"""Solver objects: configured once, then ``solve(objective, theta0, callback)``.

Every solver returns an :class:`~skgraph._optimize.OptimizeResult` and owns
its stopping rules, its convergence warning and its divergence check, so an
estimator only chooses and configures one:

- :class:`FullBatchSolver` (``"lbfgs"``, ``"cg"``, ``"gd"``) minimises
  ``objective: theta -> (loss, grad)`` with
  :func:`~skgraph._optimize.minimize`, the L1 term and sign constraints
  included;
- :class:`MiniBatchSolver` (``"sgd"``, ``"adam"``) runs the epochs of
  :func:`~skgraph._stochastic.run_epochs` over
  ``objective.batch_loss(rows) -> loss`` (a
  :class:`~skgraph._objectives.MiniBatchObjective`, whose ``grad`` holds
  the gradient), updating ``theta0`` in place.

Both call ``callback(iteration, theta, loss)`` after each iteration (or
epoch); a true return value stops them at the current parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skgraph._callbacks import chain_hooks
from skgraph._optimize import OptimizeResult, minimize, warn_if_not_converged
from skgraph._stochastic import TrainingState, run_epochs

__all__ = ["FullBatchSolver", "MiniBatchSolver"]


class FullBatchSolver:
    """``"lbfgs"``, ``"cg"`` or ``"gd"`` on the whole training objective.

    Parameters
    ----------
    method : {"lbfgs", "cg", "gd"}
    step_name : str, default="learning_rate"
        The estimator's name of the ``"gd"`` step, for the messages.
    advice : str, default=""
        Appended to the convergence warning.
    stop_on_divergence : bool, default=False
        Stop as soon as the loss is not finite: a fixed-step gradient
        descent whose step is too large.
    finite_loss : bool, default=False
        Raise a ValueError when the final loss is not finite.
    **options
        The keyword arguments of :func:`~skgraph._optimize.minimize`
        (``tol``, ``max_iter``, ``max_fun``, ``learning_rate``,
        ``initial_step``, ``options``, ``verbose``, ``l1_strength``, ``penalized``,
        ``nonnegative``).
    """

    def __init__(
        self,
        method,
        *,
        step_name="learning_rate",
        advice="",
        stop_on_divergence=False,
        finite_loss=False,
        **options,
    ):
        self.method = method
        self.step_name = step_name
        self.advice = advice
        self.stop_on_divergence = stop_on_divergence
        self.finite_loss = finite_loss
        self.options = options

    def solve(self, objective, theta0, callback=None):
        """Minimise ``objective`` from ``theta0``; warn if it did not converge.

        Returns
        -------
        OptimizeResult

        Raises
        ------
        ValueError
            With ``finite_loss``, when the loss became infinite or NaN (the
            step is too large).
        """
        stop = _stop_if_diverged if self.stop_on_divergence else None
        result = minimize(
            objective,
            theta0,
            self.method,
            callback=chain_hooks(callback, stop),
            **self.options,
        )
        if self.finite_loss and not np.isfinite(result.loss):
            step = self.options.get("learning_rate")
            raise ValueError(
                f"solver={self.method!r} diverged: the loss became {result.loss} "
                f"after {result.n_iter} steps of {self.step_name}={step!r}. Use a "
                f"smaller {self.step_name}, or {self.step_name}='auto'."
            )
        self._warn_if_not_converged(result)
        return result

    def solve_polished(self, coarse, objective, theta0, callback=None, warm_up=0):
        """Minimise ``coarse`` (fast, float32), then polish on ``objective``.

        The fine ``objective`` (float64) starts where the coarse solve
        stopped, with the iterations left, and decides convergence: a coarse
        solve that met ``tol`` costs one more evaluation, one stopped by its
        rounding (line searches that cannot see a decrease) is finished in
        float64. A coarse solve that used up ``max_iter`` without converging
        is not polished (no iteration is left). The polish gets the
        evaluations left too (``max_fun``). One warning at most, for the two
        solves together.

        With ``warm_up`` > 0 (``"lbfgs"``), the polish's test on the relative
        decrease of the loss (scipy's ``ftol``) counts only after
        ``warm_up`` iterations: its L-BFGS starts with an empty memory, and
        the first short steps it takes near the optimum would pass that
        test long before the optimum is reached.

        Returns
        -------
        OptimizeResult
            Iterations, evaluations and loss curves of both solves.
        """
        max_iter = self.options.get("max_iter", 100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            first = self.solve(coarse, theta0, callback)
        done = first.n_iter
        if first.stopped or (done >= max_iter and not first.converged):
            self._warn_if_not_converged(first)
            return first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            second = self._solve_with_budget_left(
                objective, first, max_iter - done, callback, warm_up
            )
        result = replace(
            second,
            n_iter=done + second.n_iter,
            n_fev=first.n_fev + second.n_fev,
            loss_curve=first.loss_curve + second.loss_curve,
        )
        self._warn_if_not_converged(result)
        return result

    def _solve_with_budget_left(
        self, objective, first, iterations_left, callback, warm_up
    ):
        """``solve`` from where ``first`` stopped, with ``iterations_left``
        (and the evaluations ``first`` left, where limited); ``warm_up``: see
        :meth:`solve_polished`."""
        saved = dict(self.options)
        self.options["max_iter"] = iterations_left
        if "max_fun" in saved:
            self.options["max_fun"] = max(1, saved["max_fun"] - first.n_fev)
        stop = None
        if warm_up:
            options = dict(saved.get("options") or {})
            stop = _DecreaseAfterWarmUp(options.get("ftol", 0.0), warm_up)
            self.options["options"] = {**options, "ftol": 0.0}  # tested by stop
        try:
            result = self.solve(
                objective,
                first.theta,
                chain_hooks(_shifted(callback, first.n_iter), stop),
            )
        finally:
            self.options = saved
        if stop is not None and stop.fired:
            result = replace(result, converged=True, stopped=False, status=0)
        return result

    def _warn_if_not_converged(self, result):
        """scikit-learn's ConvergenceWarning, plus the advice for this fit.

        A ``"gd"`` whose loss went up at some iteration is told that its
        step is too large.
        """
        advice = self.advice
        if self.method == "gd" and result.loss_increased:
            step = self.options.get("learning_rate")
            advice = (
                f"The loss increased during the fit: {self.step_name}="
                f"{step!r} is too large a step for this data; use a smaller "
                f"{self.step_name}.\n{advice}"
            )
        max_iter = self.options.get("max_iter", 100)
        warn_if_not_converged(self.method, result, max_iter, advice)


def _shifted(callback, done):
    """``callback`` counting on from iteration ``done``."""
    if callback is None:
        return None
    return lambda iteration, theta, loss: callback(done + iteration, theta, loss)


class _DecreaseAfterWarmUp:
    """Solver callback: scipy's L-BFGS-B ``ftol`` test, after ``warm_up``
    iterations: stop when an iteration lowers the loss by at most ``ftol *
    max(|loss|, |previous loss|, 1)``."""

    def __init__(self, ftol, warm_up):
        self.ftol = ftol
        self.warm_up = warm_up
        self.previous = None
        self.fired = False

    def __call__(self, iteration, theta, loss):
        previous, self.previous = self.previous, loss
        if iteration <= self.warm_up or previous is None:
            return False
        scale = max(abs(previous), abs(loss), 1.0)
        self.fired = previous - loss <= self.ftol * scale
        return self.fired


def _stop_if_diverged(iteration, theta, loss):
    """Solver callback: stop a fixed-step gradient descent whose loss blew up."""
    return not np.isfinite(loss)


class MiniBatchSolver:
    """Epochs of ``"sgd"`` or ``"adam"`` steps, as scikit-learn's MLP.

    Parameters
    ----------
    optimizer : SGD or Adam
        Its state (moments, learning-rate schedule) carries over from one
        ``solve`` to the next.
    state : TrainingState, optional
        What carries over between fits (loss curve, best loss, samples
        seen, early-stopping scores); a new one by default. Updated in place.
    **epochs
        The keyword arguments of :func:`~skgraph._stochastic.run_epochs`:
        ``batch_size``, ``max_iter`` (epochs), ``shuffle``, ``random_state``,
        ``tol``, ``n_iter_no_change``, and optionally ``order`` (the training
        rows), ``validation`` (``validation() -> score``: early stopping on
        that score, keeping the best parameters), ``incremental`` (one epoch,
        without the convergence warning) and ``verbose``.
    """

    def __init__(self, optimizer, *, state=None, **epochs):
        self.optimizer = optimizer
        self.state = TrainingState() if state is None else state
        self.epochs = epochs

    def solve(self, objective, theta0, callback=None):
        """Train ``theta0`` in place on the mini-batches of ``objective``.

        Returns
        -------
        OptimizeResult
            ``theta`` is ``theta0``; ``loss`` the mean batch objective of the
            last epoch; ``n_fev`` the batches evaluated; ``loss_curve`` this
            call's epochs; ``converged`` whether training ended before the
            epoch limit (the stopping test, or a callback), never for one
            incremental epoch.
        """
        state = self.state
        n_before, updates_before = len(state.loss_curve), self.optimizer.n_updates
        n_iter, loss = run_epochs(
            objective, self.optimizer, theta0, state, callback=callback, **self.epochs
        )
        max_iter = self.epochs["max_iter"]
        converged = not self.epochs.get("incremental") and n_iter < max_iter
        return OptimizeResult(
            theta=theta0,
            loss=loss,
            n_iter=n_iter,
            n_fev=self.optimizer.n_updates - updates_before,
            loss_curve=state.loss_curve[n_before:],
            converged=converged,
            status=0 if converged else 1,
        )
