"""The JAX contenders of the benchmarks, written as a JAX user would write them.

* :class:`JaxLogisticRegression`: scikit-learn's logistic-regression
  objective (sigmoid cross-entropy on one logit column for two classes,
  multinomial softmax for more, ``||W||^2 / (2 C)`` over the sum of sample
  weights) as one jitted loss-and-gradient function, minimised by the same
  scipy L-BFGS-B with scikit-learn's options (``gtol=tol``, ``ftol=64 *
  eps``, ``maxls=50``).
* :class:`JaxMLPAdam`: one hidden layer of ReLU units, softmax
  cross-entropy (or, with ``regression=True``, the squared error
  ``0.5 * mean((y - f) ** 2)`` of ``MLPRegressor``), the L2 term
  ``alpha / (2 * batch) * ||W||^2`` of scikit-learn's MLP and its Adam; an
  epoch is one jitted ``lax.scan`` over the shuffled mini-batches (a partial
  last batch gets its own jitted step, as scikit-learn trains on it too).

JAX is optional (``pip install jax``): :data:`jax` is ``None`` without it.
Importing this module pins XLA to one thread (``XLA_FLAGS``, set before JAX
is imported; JAX still runs a runtime thread beside it) and enables float64.
Compilation happens on the first fit of each shape and dtype: call a fit once
before timing (the benchmarks report that warm-up separately).

:func:`confine_to_one_core` (the benchmarks' ``--one-core``) goes further
than ``XLA_FLAGS``: it keeps every thread of the process, JAX's runtime
thread included, on one CPU, so that each contender has the same one core.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import scipy.sparse as sp
from scipy import optimize

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
try:
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse
except ImportError:  # an optional contender
    jax = jnp = jsparse = None
else:
    jax.config.update("jax_enable_x64", True)


def confine_to_one_core():
    """Keep every thread of this process, and those it starts later, on one CPU.

    ``XLA_FLAGS`` gives XLA one compute thread, but JAX's runtime keeps
    another thread busy beside it, on another core when there is one: its
    CPU time then counts two cores and its wall time may gain from the
    second. Confined to one CPU, every contender has exactly one core (CPU
    time equals wall time). Linux only (``os.sched_setaffinity``).

    Returns
    -------
    cpu : int
        The CPU the process now runs on (the lowest it was allowed).
    """
    cpu = min(os.sched_getaffinity(0))
    # Each thread has its own mask, which threads started later inherit:
    # set it for every thread there is already (BLAS and JAX start theirs
    # at import).
    for thread in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # the thread ended
            os.sched_setaffinity(int(thread), {cpu})
    return cpu


def version():
    """``"JAX <version>"``, or a note that it is not installed."""
    return f"JAX {jax.__version__}" if jax else "JAX not installed (skipped)"


def _logistic_loss(theta, X, Y, n_classes, strength):
    """scikit-learn's objective at ``theta`` (W then b), unweighted samples."""
    n_features = X.shape[1]
    columns = 1 if n_classes == 2 else n_classes
    W = theta[: n_features * columns].reshape(n_features, columns)
    b = theta[n_features * columns :]
    Z = (X @ W.astype(X.dtype)).astype(theta.dtype) + b
    if columns == 1:
        z = Z[:, 0]
        loss = jnp.mean(jnp.logaddexp(0.0, z) - Y[:, 0] * z)
    else:
        loss = jnp.mean(jax.nn.logsumexp(Z, axis=1) - jnp.sum(Y * Z, axis=1))
    return loss + 0.5 * strength * jnp.sum(W * W)


if jax is not None:
    _logistic_value_and_grad = jax.jit(
        jax.value_and_grad(_logistic_loss), static_argnums=(3,)
    )


class JaxLogisticRegression:
    """L-BFGS-B over a jitted loss and gradient, as ``LogisticRegression(C, tol)``."""

    def __init__(self, C=1.0, tol=1e-4, max_iter=100):
        self.C, self.tol, self.max_iter = C, tol, max_iter

    def fit(self, X, y):
        classes, codes = np.unique(y, return_inverse=True)
        k = len(classes)
        columns = 1 if k == 2 else k
        Y = (codes[:, None] == (np.arange(columns) + (k == 2))).astype(X.dtype)
        # Sparse data as JAX's own sparse format (BCOO), which jit takes.
        if sp.issparse(X):
            X_j = jsparse.BCOO.from_scipy_sparse(X.tocsr())
        else:
            X_j = jnp.asarray(X)
        Y_j = jnp.asarray(Y)
        strength = 1.0 / (self.C * X.shape[0])

        def fun(theta):
            loss, grad = _logistic_value_and_grad(theta, X_j, Y_j, k, strength)
            return float(loss), np.asarray(grad, dtype=np.float64)

        theta0 = np.zeros((X.shape[1] + 1) * columns)
        result = optimize.minimize(
            fun,
            theta0,
            method="L-BFGS-B",
            jac=True,
            options=dict(
                maxiter=self.max_iter,
                maxls=50,
                gtol=self.tol,
                ftol=64 * np.finfo(float).eps,
            ),
        )
        W = result.x[: X.shape[1] * columns].reshape(X.shape[1], columns)
        self.coef_, self.intercept_ = W.T, result.x[X.shape[1] * columns :]
        self.n_iter_ = np.array([result.nit])
        return self


def _cross_entropy(Z, Y):
    """Softmax cross-entropy of the logits ``Z``, averaged over the rows."""
    return jnp.mean(jax.nn.logsumexp(Z, axis=1) - jnp.sum(Y * Z, axis=1))


def _squared_error(Z, Y):
    """scikit-learn's MLPRegressor loss: ``0.5 * mean((y - f) ** 2)``.

    Summed over the outputs (the gradient scikit-learn follows with several).
    """
    return 0.5 * jnp.mean(jnp.sum((Y - Z) ** 2, axis=1))


def _mlp_loss(params, X, Y, penalty, data_loss):
    W1, b1, W2, b2 = params
    H = jnp.maximum(X @ W1 + b1, 0.0)
    Z = H @ W2 + b2
    return data_loss(Z, Y) + penalty * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2))


def _adam_step(state, batch, alpha, data_loss, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step of scikit-learn's MLP on ``batch = (X, Y)``."""
    params, m, v, t = state
    X, Y = batch
    penalty = alpha / (2 * X.shape[0])
    loss, grads = jax.value_and_grad(_mlp_loss)(params, X, Y, penalty, data_loss)
    t = t + 1
    m = [b1 * a + (1 - b1) * g for a, g in zip(m, grads, strict=True)]
    v = [b2 * a + (1 - b2) * g * g for a, g in zip(v, grads, strict=True)]
    rate = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
    params = [
        p - rate * a / (jnp.sqrt(c) + eps) for p, a, c in zip(params, m, v, strict=True)
    ]
    return (params, m, v, t), loss * X.shape[0]


def _epoch(state, X, Y, alpha, data_loss):
    """``lax.scan`` of Adam steps over batches ``X``: (n_batches, batch, d)."""
    return jax.lax.scan(lambda s, b: _adam_step(s, b, alpha, data_loss), state, (X, Y))


if jax is not None:
    # The loss function is part of the compiled program (one per loss).
    _jit_epoch = jax.jit(_epoch, static_argnames="data_loss")
    _jit_step = jax.jit(_adam_step, static_argnames="data_loss")


class JaxMLPAdam:
    """``n_epochs`` of Adam on a one-hidden-layer ReLU MLP, batches of ``batch``.

    A classifier (softmax cross-entropy over ``y``'s classes, as
    ``MLPClassifier``) or, with ``regression=True``, a regressor (squared
    error over ``y``'s columns, identity output, as ``MLPRegressor``).
    """

    def __init__(self, hidden, batch, alpha, n_epochs, seed=0, regression=False):
        self.hidden, self.batch, self.alpha = hidden, batch, alpha
        self.n_epochs, self.seed, self.regression = n_epochs, seed, regression

    def _targets(self, y, dtype):
        """The output layer's targets: one-hot classes, or ``y`` as columns."""
        if self.regression:
            return np.asarray(y, dtype=dtype).reshape(len(y), -1)
        return np.eye(int(y.max()) + 1, dtype=dtype)[y]

    def fit(self, X, y):
        rng = np.random.default_rng(self.seed)
        n, d = X.shape
        dtype = X.dtype
        Y = self._targets(y, dtype)
        k = Y.shape[1]
        data_loss = _squared_error if self.regression else _cross_entropy
        sizes = [(d, self.hidden), (self.hidden,), (self.hidden, k), (k,)]
        bound = [np.sqrt(6.0 / (d + self.hidden)), np.sqrt(6.0 / (self.hidden + k))]
        params = [
            jnp.asarray(rng.uniform(-bound[i // 2], bound[i // 2], s).astype(dtype))
            for i, s in enumerate(sizes)
        ]
        zeros = [jnp.zeros_like(p) for p in params]
        state = (params, zeros, list(zeros), jnp.asarray(0, dtype=dtype))
        full = (n // self.batch) * self.batch
        for _ in range(self.n_epochs):
            order = rng.permutation(n)
            Xs, Ys = X[order], Y[order]
            shape = (full // self.batch, self.batch)
            state, losses = _jit_epoch(
                state,
                Xs[:full].reshape(*shape, d),
                Ys[:full].reshape(*shape, k),
                self.alpha,
                data_loss=data_loss,
            )
            if full < n:
                state, last = _jit_step(
                    state, (Xs[full:], Ys[full:]), self.alpha, data_loss=data_loss
                )
            jax.block_until_ready(state)
        self.params_ = state[0]
        return self.n_epochs
