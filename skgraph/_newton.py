"""Newton's method with a Cholesky solve, for the linear model's graph.

For the logistic-regression graph (``logits = X @ W + b``) the Hessian of the
objective with respect to the flat parameter vector ``theta = (W, b)`` is one
weighted product built from the graph's forward values::

    H = X1.T @ D @ X1 (x) per-class curvature + l2 * I_W

with ``X1 = [X, 1]`` (the ones only when there is an intercept; never
materialised beside ``X``: each block of rows is copied into a small buffer),
``D`` the sample weights ``s_i / S``, and the curvature of the loss in the
logits: ``p (1 - p)`` for the sigmoid, ``diag(p) - p p^T`` for the softmax.
:class:`LinearModelHessian` computes it from the logits of the objective's
last forward pass; :func:`newton_cholesky` runs scikit-learn 1.9's Newton
iteration on it (see its docstring for the rules it follows).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg import blas, lapack
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning

from skgraph.graph import Trace

__all__ = ["LinearModelHessian", "newton_cholesky"]

#: Bytes of the row-block buffer of the dense Hessian product.
_BLOCK_BYTES = 4 * 2**20
#: The line search: step factor, Armijo constant and most trials (scikit-learn's).
_BETA, _SIGMA, _MAX_TRIALS = 0.5, 0.5**11, 21


class LinearModelHessian:
    """The Hessian of the linear model's objective, from the graph's logits.

    Each call runs the forward pass of the graph's ``logits`` node on ``X``
    (a program and trace of its own, bound once: independent of how the
    objective evaluates the loss) and builds the weighted product from it.

    Parameters
    ----------
    network : Network
        The linear graph (one affine layer).
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
        The weight of each loss term: ``s_i / S`` for the training objective
        (``None``: every sample weighs ``1 / n_samples``), ``s_i`` for the
        information of the log-likelihood.
    l2_strength : float
        The L2 term's Hessian on ``W``: ``1 / (C S)`` for the objective,
        ``1 / C`` for the information.

    Attributes
    ----------
    n_classes : int
        Logit columns (1 for the sigmoid).
    fit_intercept : bool
    n_dof : int
        Rows of ``X1``: the features, plus one with an intercept.
    """

    def __init__(self, network, X, sample_weight, l2_strength):
        self.network = network
        self.X = X
        n_samples = X.shape[0]
        if sample_weight is None:
            sample_weight = np.full(n_samples, 1.0 / n_samples)
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self.l2_strength = float(l2_strength)
        self.n_classes = network.weights[0].shape[1]
        self.fit_intercept = bool(network.biases)
        self.n_dof = X.shape[1] + int(self.fit_intercept)
        n = self.n_dof * self.n_classes
        self._blocks = _row_blocks(n_samples, n + self.n_dof)
        self._program = network.graph.program((network.logits,))
        self._trace = self._program.bind({network.X: X}, Trace(self._program))
        self._X1 = None  # one block's rows of X1, made on first use

    @classmethod
    def from_feed(cls, network, feed):
        """The Hessian of the objective whose inputs ``feed`` holds."""
        return cls(
            network,
            feed[network.X],
            feed[network.sample_weight],
            float(feed[network.l2_strength]),
        )

    def logits(self, theta, objective=None):
        """The logits at ``theta`` (float64), from a forward pass of the graph.

        ``objective``: one that may have evaluated them at ``theta`` already
        (:meth:`FullBatchObjective.last_value
        <skgraph._objectives.FullBatchObjective.last_value>`), which saves
        the pass.
        """
        logits = None
        if objective is not None:
            logits = objective.last_value(self.network.logits, theta)
        if logits is None:
            np.copyto(self.network.graph.theta, theta, casting="unsafe")
            self._program.evaluate(self._trace)
            logits = self._trace.values[self.network.logits.index]
        return np.asarray(logits, dtype=np.float64)

    def curvature(self, theta, objective=None):
        """Per-sample curvature weights at ``theta``: ``(h, P)``.

        For the sigmoid, ``h = w_i * p_i (1 - p_i)`` and ``P`` is None; for
        the softmax, ``h = w_i`` and ``P`` the probabilities (``w`` the
        sample weights). ``objective``: see :meth:`logits`.
        """
        logits = self.logits(theta, objective)
        if self.n_classes == 1:
            p = expit(logits[:, 0])
            return self.sample_weight * p * (1.0 - p), None
        # The softmax in numpy's calls alone: scipy's wrapper costs more than
        # the arithmetic on the small problems this solver is chosen for.
        P = logits - logits.max(axis=1, keepdims=True)
        with np.errstate(under="ignore"):  # exp(-large) -> 0 is exact enough
            np.exp(P, out=P)
        P /= np.add.reduce(P, axis=1, keepdims=True)
        return self.sample_weight, P

    def pointwise_warning(self, h):
        """scikit-learn's test: over a quarter of the (weighted) curvatures <= 0."""
        if self.n_classes > 1:
            return False
        nonpositive = h <= 0
        if not nonpositive.any():
            return False
        return bool(np.average(nonpositive, weights=self.sample_weight) > 0.25)

    def __call__(self, theta, objective=None):
        """``(H, warning)``: the Hessian (float64, both triangles) at ``theta``.

        ``warning`` is scikit-learn's ``hessian_warning``: more than a quarter
        of the sigmoid's weighted pointwise curvatures are not positive
        (negative sample weights); ``H`` then uses their absolute values, as
        scikit-learn does. ``objective``: one whose last evaluation may give
        the logits (see :meth:`logits`).
        """
        h, P = self.curvature(theta, objective)
        warning = self.pointwise_warning(h)
        if P is None:
            h = np.abs(h)
        n = self.n_dof * self.n_classes
        H = np.zeros((n, n), order="F")
        if sp.issparse(self.X):
            self._sparse_product(h, P, H)
            H = 0.5 * (H + H.T)  # sparse products round each triangle apart
        else:
            for rows in self._blocks:
                if P is None:
                    self._dense_block(rows, h, H)
                else:
                    self._dense_multinomial_block(rows, h, P, H)
            H += np.triu(H, 1).T  # BLAS filled the upper triangle only
        n_weights = self.X.shape[1] * self.n_classes
        H.flat[: n_weights * (n + 1) : n + 1] += self.l2_strength
        return H, warning

    def _block_buffer(self):
        """The rows of ``X1`` of one block: one buffer, reused by every call
        (a fresh one of a few MB costs its page faults at every block)."""
        if self._X1 is None:
            self._X1 = np.empty((self._blocks[0].stop, self.n_dof))
        return self._X1

    def _block_rows(self, rows, scale=None):
        """``X1 = [X, 1]`` of ``rows`` in the reused buffer, times ``scale``.

        ``scale`` (a column, or ``None``) multiplies each row as it is copied.
        """
        X1 = self._block_buffer()[: rows.stop - rows.start]
        n_features = self.X.shape[1]
        if scale is None:
            X1[:, :n_features] = self.X[rows]
            if self.fit_intercept:
                X1[:, -1] = 1.0
            return X1
        np.multiply(self.X[rows], scale, out=X1[:, :n_features])
        if self.fit_intercept:
            X1[:, -1:] = scale
        return X1

    def _dense_block(self, rows, h, H):
        """Add the upper triangle of one block of rows' terms to ``H`` (sigmoid)."""
        X1 = self._block_rows(rows, np.sqrt(h[rows])[:, None])  # h >= 0
        blas.dsyrk(1.0, X1.T, beta=1.0, c=H, overwrite_c=True)

    def _dense_multinomial_block(self, rows, w, P, H):
        """Add the upper triangle of one block of rows' terms to ``H`` (softmax).

        With ``O = x (x) p`` (the classes of one feature adjacent, as in
        ``theta``), the block's Hessian is ``blockdiag_k(X1.T diag(w p_k)
        X1) - O.T diag(w) O``.
        """
        X1 = self._block_rows(rows)
        K, p, w = self.n_classes, P[rows], w[rows]
        outer = (X1[:, :, None] * p[:, None, :]).reshape(len(w), -1)
        # A class's block is strided in H, where BLAS cannot write: each is
        # made apart (its lower triangle zero) and added.
        if w.min() >= 0.0:  # syrk: half the work, on sqrt(w) rows
            root = np.sqrt(w)[:, None]
            blas.dsyrk(-1.0, (outer * root).T, beta=1.0, c=H, overwrite_c=True)
            class_roots = np.sqrt(p) * root
            for k in range(K):
                H[k::K, k::K] += blas.dsyrk(1.0, (X1 * class_roots[:, k, None]).T)
            return
        H -= np.triu((outer * w[:, None]).T @ outer)  # negative sample weights
        for k in range(K):
            H[k::K, k::K] += np.triu((X1 * (w * p[:, k])[:, None]).T @ X1)

    def _sparse_product(self, h, P, H):
        """``H`` from sparse ``X``: one sparse product per pair of classes."""
        K = self.n_classes
        for k in range(K):
            for m in range(k, K):
                # the softmax's curvature between classes k and m
                hkm = h if P is None else h * P[:, k] * ((k == m) - P[:, m])
                block = _sparse_sandwich(self.X, hkm, self.fit_intercept)
                H[k::K, m::K] = block
                H[m::K, k::K] = block.T


def _sparse_sandwich(X, h, fit_intercept):
    """``X1.T @ diag(h) @ X1`` for sparse ``X`` (dense result)."""
    XhX = (X.T @ X.multiply(h[:, None]).tocsc()).toarray()
    if not fit_intercept:
        return XhX
    Xh = np.asarray(X.T @ h).ravel()
    return np.block([[XhX, Xh[:, None]], [Xh[None, :], np.array([[h.sum()]])]])


def _row_blocks(n_samples, width):
    """Slices of rows whose buffer of ``width`` float64 columns stays small."""
    size = max(256, _BLOCK_BYTES // (8 * max(width, 1)))
    return [slice(i, min(i + size, n_samples)) for i in range(0, n_samples, size)]


def cholesky_solve(H, g):
    """``-H^{-1} g`` by Cholesky, or ``LinAlgError`` if ``H`` is not usable.

    ``H`` not positive definite, or ill-conditioned (LAPACK's estimate of
    the reciprocal condition number below machine epsilon, the test of
    ``scipy.linalg.solve`` that scikit-learn's Newton solver relies on),
    raises :class:`numpy.linalg.LinAlgError`.
    """
    factor, info = lapack.dpotrf(H, lower=False, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(
            f"The Hessian is not positive definite (leading minor {info})."
        )
    rcond, _ = lapack.dpocon(factor, np.linalg.norm(H, 1))  # upper, the default
    if rcond < np.finfo(np.float64).eps:
        raise np.linalg.LinAlgError(
            f"The Hessian is ill-conditioned: reciprocal condition number {rcond:.3g}."
        )
    step, info = lapack.dpotrs(factor, -g, lower=False)
    return step


class _Fallback(Exception):
    """The Newton iteration hands over to L-BFGS (scikit-learn's fallback)."""


class _NewtonCholesky:
    """scikit-learn 1.9's ``NewtonCholeskySolver`` on ``theta = (W, b)``.

    The flat layout of ``theta`` (``W`` of shape (n_features, n_classes) in
    C order, then ``b``) is scikit-learn's ``coef.ravel(order="F")``: the
    classes of one feature are adjacent. The softmax is invariant to adding
    a constant to every class, so the Hessian is singular along those
    directions where nothing penalises them: without an L2 term (all of
    ``theta``) and for the intercept. As scikit-learn does, the last class's
    entries of those directions are fixed at zero (the system is solved
    without them) and the symmetric parametrisation (zero mean over the
    classes) restored at the end.
    """

    def __init__(self, fun, hessian, tol, eps):
        self.fun = fun
        self.hessian = hessian
        self.tol = tol
        self.eps = eps
        K = hessian.n_classes
        n = hessian.n_dof * K
        self.free = np.ones(n, dtype=bool)  # the entries the Newton step moves
        if K > 1 and hessian.l2_strength == 0.0:
            self.free[K - 1 :: K] = False
        elif K > 1 and hessian.fit_intercept:
            self.free[-1] = False
        self.all_free = bool(self.free.all())

    def setup(self, theta):
        """Shift ``theta``'s fixed entries to zero (the same probabilities)."""
        theta = np.array(theta, dtype=np.float64)
        K = self.hessian.n_classes
        if K > 1 and self.hessian.l2_strength == 0.0:
            per_feature = theta.reshape(-1, K)
            per_feature -= per_feature[:, -1:]
        elif K > 1 and self.hessian.fit_intercept:
            theta[-K:] -= theta[-1]
        return theta

    def direction(self, theta, grad):
        """The Newton step (and the Hessian), or :class:`_Fallback`."""
        objective = self.fun if hasattr(self.fun, "last_value") else None
        H, pointwise_warning = self.hessian(theta, objective)
        if pointwise_warning:
            warnings.warn(
                "The inner solver of newton-cholesky detected a pointwise hessian "
                "with many negative values (negative sample weights). It will now "
                "resort to lbfgs instead.",
                ConvergenceWarning,
                stacklevel=5,
            )
            raise _Fallback
        free = self.free
        step = np.zeros_like(theta)
        try:
            if self.all_free:
                step[:] = cholesky_solve(H, grad)
            else:
                step[free] = cholesky_solve(H[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError as error:
            warnings.warn(
                "The inner solver of newton-cholesky stumbled upon a singular or "
                "very ill-conditioned Hessian matrix. It will now resort to lbfgs "
                "instead. Possible remedies: remove collinear features of X or "
                f"lower C (a stronger penalty).\n{error}",
                scipy.linalg.LinAlgWarning,
                stacklevel=5,
            )
            raise _Fallback from error
        if grad @ step > 0:  # not a descent direction
            raise _Fallback
        return step, H

    def line_search(self, theta, loss, grad, step):
        """scikit-learn's backtracking: ``(theta, loss, grad)`` accepted."""
        armijo = _SIGMA * float(grad @ step)
        t, sum_abs_grad = 1.0, None
        for _ in range(_MAX_TRIALS):
            candidate = theta + t * step
            new_loss, new_grad = self.fun(candidate)
            improvement = new_loss - loss
            if improvement <= t * armijo:
                return candidate, new_loss, new_grad
            if abs(improvement) <= abs(loss * self.eps):
                # At the objective's rounding: accept a smaller gradient.
                if sum_abs_grad is None:
                    sum_abs_grad = np.abs(grad).sum()
                if np.abs(new_grad).sum() < sum_abs_grad:
                    return candidate, new_loss, new_grad
            t *= _BETA
        warnings.warn(
            "Line search of the Newton solver newton-cholesky did not converge "
            f"after {_MAX_TRIALS} refinements. It will now resort to lbfgs.",
            ConvergenceWarning,
            stacklevel=5,
        )
        raise _Fallback

    def converged(self, grad, step, H):
        """Largest gradient entry and half the squared Newton decrement <= tol."""
        if np.abs(grad).max(initial=0.0) > self.tol:
            return False
        return 0.5 * float(step @ H @ step) <= self.tol

    def finalize(self, theta):
        """Back to the symmetric parametrisation (zero mean over the classes)."""
        K = self.hessian.n_classes
        if K > 1 and self.hessian.l2_strength == 0.0:
            per_feature = theta.reshape(-1, K)
            per_feature -= per_feature.mean(axis=1, keepdims=True)
        elif K > 1 and self.hessian.fit_intercept:
            theta[-K:] -= theta[-K:].mean()
        return theta


def newton_cholesky(fun, theta0, hessian, monitor, *, tol, max_iter, eps, fallback):
    """Minimise ``fun`` by Newton steps with a Cholesky solve, as scikit-learn.

    scikit-learn 1.9's ``NewtonCholeskySolver``, step for step: each
    iteration solves ``H step = -grad`` (:func:`cholesky_solve`), then
    backtracks from ``t = 1`` (halving ``t``, at most 21 trials) until
    ``f(theta + t step) - f(theta) <= 2**-11 t grad.step``, or, when the
    change is within ``eps`` of the objective, until the gradient's L1 norm
    decreased. It stops when the largest gradient entry is at most ``tol``
    and half the squared Newton decrement ``step.H.step`` is too. A
    Hessian that is singular, ill-conditioned or not positive definite
    (``scipy.linalg.LinAlgWarning``), a step that does not descend, a
    pointwise curvature mostly negative or a line search that fails
    (``ConvergenceWarning``) hand over to ``fallback(theta, max_iter)``
    (L-BFGS) for the iterations left.

    Parameters
    ----------
    fun : callable
        ``theta -> (loss, grad)``.
    theta0 : ndarray
    hessian : LinearModelHessian
    monitor : callable
        ``monitor(theta, loss)`` after each iteration; true to stop.
    tol : float
    max_iter : int
    eps : float
        The relative change of the objective the line search treats as
        rounding (``16`` machine epsilons of the data's dtype).
    fallback : callable
        ``fallback(theta, max_iter) -> OptimizeResult``.

    Returns
    -------
    theta, loss, n_iter, converged, result
        ``result`` is the fallback's :class:`OptimizeResult` when it ran,
        else ``None``.
    """
    solver = _NewtonCholesky(fun, hessian, tol, eps)
    theta = solver.setup(theta0)
    loss, grad = fun(theta)
    iteration, converged, result = 1, False, None
    while iteration <= max_iter and not converged:
        try:
            step, H = solver.direction(theta, grad)
            theta, loss, grad = solver.line_search(theta, loss, grad, step)
        except _Fallback:
            result = fallback(theta, max_iter - iteration)
            theta, loss = np.array(result.theta, dtype=np.float64), result.loss
            converged = result.converged
            iteration += result.n_iter
            break
        converged = solver.converged(grad, step, H)
        iteration += 1
        if monitor(theta, loss):
            break
    return solver.finalize(theta), loss, iteration - 1, converged, result
