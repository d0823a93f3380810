"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9).

Every solver of skgraph reports the end of each iteration (full batch) or
epoch (mini-batch) through one hook, ``callback(iteration, theta, loss) ->
stop``. :class:`FitCallbacks` turns that hook into scikit-learn's task tree:
the fit is the root task and each iteration one subtask, so ``ProgressBar``
and ``ScoringMonitor`` work unchanged, also inside ``GridSearchCV``. A callback
whose ``on_fit_task_end`` returns true stops the solver at the current
parameters. On an older scikit-learn the estimators simply have no callbacks.
"""

from __future__ import annotations

import copy

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stands in for ``sklearn.callback.CallbackSupportMixin`` (absent)."""


__all__ = ["CallbackSupportMixin", "FitCallbacks", "chain_hooks", "network_snapshot"]


def chain_hooks(*hooks):
    """One solver hook calling each given hook; stops when any asks to stop.

    ``None`` entries are dropped; with none left, returns ``None`` (the solver
    then skips the per-iteration call altogether).
    """
    hooks = [hook for hook in hooks if hook is not None]
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def chained(iteration, theta, loss):
        return any([hook(iteration, theta, loss) for hook in hooks])

    return chained


def network_snapshot(network, theta):
    """The attributes of a fitted estimator whose parameters are ``theta``.

    A deep copy of the network (graph included), so the estimator being fitted
    is never touched by a callback that evaluates the snapshot.
    """
    network = copy.deepcopy(network)
    network.graph.set_flat(theta)
    return {"_network": network, "graph_": network.graph}


class FitCallbacks:
    """The callback tasks of one fit: the fit itself and one per iteration.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted (its ``fit`` runs under ``_fit_context``,
        which tears the callbacks down however the fit ends).
    X, y : array-like
        The training data, passed to the hooks.
    sample_weight : ndarray or None
        Passed to the hooks as metadata.
    max_iter : int
        The most iterations (or epochs) the solver may run.
    snapshot : callable
        ``snapshot(theta) -> dict`` of the fitted attributes at ``theta``;
        evaluated only for hooks that ask for a ``fitted_estimator``.
    """

    def __init__(self, estimator, X, y, sample_weight, max_iter, snapshot):
        self.estimator = estimator
        self.X, self.y = X, y
        self.metadata = (
            None if sample_weight is None else {"sample_weight": sample_weight}
        )
        self.snapshot = snapshot
        self._root = None
        self._task = None
        if not hasattr(estimator, "_init_callback_context"):
            return
        # One subtask per iteration, plus the one begun but not run when the
        # solver stops.
        self._root = estimator._init_callback_context(max_subtasks=max_iter + 1)
        self._root.call_on_fit_task_begin(
            estimator=estimator, X=X, y=y, metadata=self.metadata
        )

    @property
    def active(self):
        """Whether any callback listens (else the per-iteration hook is skipped)."""
        return self._root is not None and bool(getattr(self._root, "_callbacks", ()))

    def _begin(self, theta):
        self._task = self._root.subcontext(task_name="iteration")
        self._task.call_on_fit_task_begin(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes=lambda: self.snapshot(theta),
        )

    def start(self, theta):
        """Begin the first iteration's task at the starting parameters."""
        if self.active:
            self._begin(theta.copy())

    def __call__(self, iteration, theta, loss):
        """End the iteration just done; begin the next. True asks to stop."""
        if not self.active:
            return False
        theta = theta.copy()
        stop = self._task.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes=lambda: self.snapshot(theta),
        )
        self._begin(theta)
        return bool(stop)

    def hook(self):
        """The per-iteration hook for a solver, or ``None`` when nobody listens."""
        return self if self.active else None

    def close(self):
        """End the last (never run) iteration task and the fit task."""
        if self._root is None:
            return
        if self._task is not None:
            self._task.call_on_fit_task_end(estimator=self.estimator)
        self._root.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes={},
        )
