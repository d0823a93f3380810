"""Mini-batch solvers: SGD (momentum, Nesterov) and Adam on a graph's objective.

Each step evaluates the same objective node as the full-batch solvers, fed one
mini-batch at a time by :class:`~skgraph._objectives.MiniBatchObjective`, so
the sum of weights ``S`` of the objective is the batch's (as scikit-learn's
MLP does). Everything a step touches is allocated once: the batch rows are
gathered into fixed buffers, the pass reuses one :class:`~skgraph.graph.Trace`,
the gradient lands in one flat vector, and the optimisers update the graph's
flat parameter vector in place.

:func:`run_epochs` is the epoch loop, with scikit-learn 1.9's stopping rules
(``tol`` / ``n_iter_no_change`` on the training loss or on a validation
score) and its learning-rate schedules.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "SGD",
    "Adam",
    "TrainingState",
    "run_epochs",
]


class SGD:
    """Stochastic gradient descent with (Nesterov) momentum, in place.

    With velocity ``v``, rate ``lr`` and momentum ``mu``, a step is::

        v <- mu * v - lr * grad
        theta <- theta + v                         (classical momentum)
        theta <- theta + mu * v - lr * grad        (Nesterov's momentum)

    Parameters
    ----------
    n_parameters : int
    dtype : dtype
        The parameters' floating-point type.
    learning_rate_init : float
    schedule : {"constant", "invscaling", "adaptive"}
        ``"invscaling"``: ``lr = learning_rate_init / (t + 1) ** power_t``
        after each epoch, ``t`` counting samples seen. ``"adaptive"``: ``lr``
        is divided by 5 each time the stopping test fires, until it falls
        under 1e-6.
    momentum : float
    nesterov : bool
    power_t : float
    """

    def __init__(
        self,
        n_parameters,
        dtype,
        learning_rate_init,
        schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.schedule = schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = float(power_t)
        self.velocity = np.zeros(n_parameters, dtype=dtype)
        self.n_updates = 0

    def update(self, theta, grad):
        """One step: change ``theta`` in place; ``grad`` is used as scratch."""
        velocity, step = self.velocity, grad
        step *= self.learning_rate
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            theta -= step
            theta += np.multiply(velocity, self.momentum, out=step)
        else:
            theta += velocity
        self.n_updates += 1

    def iteration_ends(self, n_seen):
        """Apply the ``"invscaling"`` schedule after an epoch."""
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (n_seen + 1) ** self.power_t

    def trigger_stopping(self, message, verbose):
        """True to stop; ``"adaptive"`` first divides the rate by 5 instead."""
        if self.schedule != "adaptive":
            if verbose:
                print(f"{message} Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(f"{message} Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{message} Setting learning rate to {self.learning_rate:f}")
        return False


class Adam:
    """Adam (Kingma and Ba, 2014), in place.

    With ``t`` the number of updates so far (this one included)::

        m <- beta_1 * m + (1 - beta_1) * grad
        v <- beta_2 * v + (1 - beta_2) * grad**2
        lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        theta <- theta - lr_t * m / (sqrt(v) + epsilon)

    as scikit-learn's ``AdamOptimizer`` (``epsilon`` is added to ``sqrt(v)``
    before the bias correction is folded into ``lr_t``). The moments are
    kept divided by ``1 - beta``, ``M = m / (1 - beta_1)`` and ``V = v / (1 -
    beta_2)``, whose updates ``M <- beta_1 M + grad`` and ``V <- beta_2 V +
    grad**2`` take two passes less; the constants move into the step::

        theta <- theta - lr_t (1 - beta_1) / sqrt(1 - beta_2)
                         * M / (sqrt(V) + epsilon / sqrt(1 - beta_2))

    Parameters
    ----------
    n_parameters : int
    dtype : dtype
    learning_rate_init : float
    beta_1, beta_2 : float
    epsilon : float
    """

    def __init__(
        self,
        n_parameters,
        dtype,
        learning_rate_init=1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
    ):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.M = np.zeros(n_parameters, dtype=dtype)
        self.V = np.zeros(n_parameters, dtype=dtype)
        self.n_updates = 0

    def update(self, theta, grad):
        """One step: change ``theta`` in place; ``grad`` is used as scratch."""
        self.n_updates = t = self.n_updates + 1
        M, V, g = self.M, self.V, grad
        b1, b2 = self.beta_1, self.beta_2
        M *= b1
        M += g
        V *= b2
        V += np.multiply(g, g, out=g)
        # Python floats (math, not NumPy scalars): float32 moments then
        # update in float32, with no float64 loop and casts per pass.
        self.learning_rate = (
            self.learning_rate_init * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        )
        root = math.sqrt(1.0 - b2)
        step = np.sqrt(V, out=g)
        step += self.epsilon / root
        np.divide(M, step, out=step)
        step *= self.learning_rate * (1.0 - b1) / root
        theta -= step

    def iteration_ends(self, n_seen):
        """Adam has no schedule."""

    def trigger_stopping(self, message, verbose):
        """Always stop."""
        if verbose:
            print(f"{message} Stopping.")
        return True


@dataclass
class TrainingState:
    """What the epoch loop carries from one ``fit``/``partial_fit`` to the next.

    Attributes mirror scikit-learn's fitted attributes of the same meaning.
    """

    loss_curve: list = field(default_factory=list)
    best_loss: float | None = np.inf
    validation_scores: list | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    n_seen: int = 0
    best_theta: np.ndarray | None = None

    def start(self, early_stopping, theta):
        """Make the state fit for a run with or without early stopping."""
        if early_stopping and self.validation_scores is None:
            self.validation_scores = []
            self.best_validation_score = -np.inf
            self.best_loss = None
        elif not early_stopping and self.best_loss is None:
            self.best_loss = np.inf
        if early_stopping and self.best_theta is None:
            self.best_theta = theta.copy()


def _batches(n_samples, batch_size):
    for start in range(0, n_samples, batch_size):
        yield start, min(start + batch_size, n_samples)


def run_epochs(
    objective,
    optimizer,
    theta,
    state,
    *,
    order=None,
    batch_size,
    max_iter,
    shuffle,
    random_state,
    tol,
    n_iter_no_change,
    validation=None,
    incremental=False,
    verbose=False,
    callback=None,
):
    """Train for up to ``max_iter`` epochs, as scikit-learn's MLP does.

    After each epoch the loss is the mean of the batch objectives weighted by
    the batch sizes. Training stops when the loss (or, with ``validation``,
    the validation score) has not improved by ``tol`` for more than
    ``n_iter_no_change`` consecutive epochs (the ``"adaptive"`` SGD schedule
    first lowers its rate instead). With ``validation``, the parameters that
    scored best are restored at the end.

    Parameters
    ----------
    objective : skgraph._objectives.MiniBatchObjective
        ``objective.batch_loss(rows) -> loss`` leaves the batch's gradient
        in ``objective.grad``; ``objective.X`` is the training data.
    optimizer : SGD or Adam
    theta : ndarray
        The graph's flat parameter vector, updated in place.
    state : TrainingState
        Updated in place.
    order : ndarray of int or None
        The training rows (``None``: all rows, in order). Shuffled in place
        at each epoch when ``shuffle``.
    batch_size : int
    max_iter : int
    shuffle : bool
    random_state : RandomState
    tol : float
    n_iter_no_change : int or inf
    validation : callable, optional
        ``validation() -> score`` (higher is better) at the current
        parameters; enables early stopping.
    incremental : bool, default=False
        One epoch only (``partial_fit``), without the convergence warning.
    verbose : bool, default=False
    callback : callable, optional
        ``callback(epoch, theta, loss)`` after each epoch; a true return value
        stops training at the current parameters.

    Returns
    -------
    n_iter : int
        The epochs run.
    loss : float
        The loss of the last epoch.
    """
    early_stopping = validation is not None
    state.start(early_stopping, theta)
    if order is None and shuffle:
        order = np.arange(objective.X.shape[0])
    n_samples = objective.X.shape[0] if order is None else len(order)
    n_iter, loss = 0, np.nan
    try:
        for _ in range(max_iter):
            if shuffle:
                # In place; the same permutation as scikit-learn's `shuffle`.
                random_state.shuffle(order)
            accumulated = 0.0
            for start, stop in _batches(n_samples, batch_size):
                rows = slice(start, stop) if order is None else order[start:stop]
                accumulated += objective.batch_loss(rows) * (stop - start)
                optimizer.update(theta, objective.grad)
            n_iter += 1
            loss = accumulated / n_samples
            state.n_seen += n_samples
            state.loss_curve.append(loss)
            if verbose:
                print(f"Iteration {n_iter}, loss = {loss:.8f}")
            if early_stopping:
                _update_on_validation(state, validation(), theta, tol, verbose)
            else:
                _update_on_loss(state, loss, tol)
            optimizer.iteration_ends(state.n_seen)
            if state.no_improvement_count > n_iter_no_change:
                what = "Validation score" if early_stopping else "Training loss"
                message = (
                    f"{what} did not improve more than tol={tol:f} for "
                    f"{n_iter_no_change} consecutive epochs."
                )
                if optimizer.trigger_stopping(message, verbose):
                    break
                state.no_improvement_count = 0
            if incremental or (callback is not None and callback(n_iter, theta, loss)):
                break
            if n_iter == max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached "
                    "and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=3)
    if early_stopping:
        theta[...] = state.best_theta
    return n_iter, loss


def _update_on_loss(state, loss, tol):
    if loss > state.best_loss - tol:
        state.no_improvement_count += 1
    else:
        state.no_improvement_count = 0
    if loss < state.best_loss:
        state.best_loss = loss


def _update_on_validation(state, score, theta, tol, verbose):
    state.validation_scores.append(score)
    if verbose:
        print(f"Validation score: {score:f}")
    if score < state.best_validation_score + tol:
        state.no_improvement_count += 1
    else:
        state.no_improvement_count = 0
    if score > state.best_validation_score:
        state.best_validation_score = score
        state.best_theta[...] = theta
