"""Standard errors and confidence intervals of a fitted logistic regression.

The covariance of the coefficients is the inverse of the observed
information, the Hessian of the weighted negative log-likelihood (plus the
L2 term) at the fitted coefficients, which :class:`~skgraph._newton.LinearModelHessian`
builds from the graph's forward values::

    I = X1.T @ diag(s_i p_i (1 - p_i)) @ X1 + 1/C * I_W        (two classes)

with ``X1 = [1, X]`` and ``s_i`` the sample weight times the class weight:
the objective that ``fit`` minimises, times ``S = sum_i s_i``. For
``C = inf`` this is the maximum-likelihood covariance of statsmodels'
``Logit`` (``GLM(..., family=Binomial(), freq_weights=s)`` with weights).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from sklearn.utils.validation import check_is_fitted

from skgraph._newton import LinearModelHessian

__all__ = ["LogisticSummary", "InferenceWarning", "coef_covariance"]

#: The Hessian's condition number above which the standard errors are
#: flagged as unreliable (about 6 of float64's 16 digits survive inversion).
CONDITION_THRESHOLD = 1e10


class InferenceWarning(UserWarning):
    """The standard errors of a fitted model are not to be trusted.

    Issued by :meth:`LogisticRegressionGraph.summary` and
    :meth:`LogisticRegressionGraph.coef_covariance` when the data are
    separable without penalty (the maximum-likelihood estimate does not
    exist: the coefficients grow without bound as the solver runs) or when
    the Hessian's condition number exceeds ``1e10`` (collinear features,
    quasi-separation: inverting it loses most digits).
    """


def _parameter_names(estimator):
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        names = [f"x{j + 1}" for j in range(estimator.n_features_in_)]
    names = [str(name) for name in names]
    return (["const"] if estimator.fit_intercept else []) + names


def _information(estimator, X, y, sample_weight):
    """The observed information in the graph's layout, and the data's fit.

    Returns ``(I, separated)``: ``I`` the Hessian of the weighted negative
    log-likelihood plus the L2 term (``S`` times that of the training
    objective) in ``theta``'s layout (features then intercept, the classes
    of one row adjacent); ``separated``: whether the model classifies every
    sample strictly correctly (then the data are separable).
    """
    check_is_fitted(estimator)
    X, y, sample_weight = estimator._validate_training_data(
        X, y, sample_weight, reset=False
    )
    targets = estimator._encode_targets(y, X.dtype)
    loss_weights = estimator._loss_weights(targets, sample_weight)
    loss_weights = np.ones(X.shape[0]) if loss_weights is None else loss_weights
    network = estimator._network
    hessian = LinearModelHessian(network, X, loss_weights, estimator._l2_alpha())
    theta = network.graph.theta.copy()
    H, _ = hessian(theta)
    logits, Y = hessian.logits(theta), np.asarray(targets.Y)
    if logits.shape[1] == 1:
        margin = np.where(Y[:, 0] > 0, logits[:, 0], -logits[:, 0])
    else:
        others = np.where(Y > 0, -np.inf, logits).max(axis=1)
        margin = (logits * Y).sum(axis=1) - others
    return H, bool(np.all(margin > 0))


def _statsmodels_indices(estimator):
    """Where statsmodels' parameters sit in ``theta``: ``(indices, reference)``.

    Two classes: ``[const, x1, ..., xd]`` (``Logit(y, add_constant(X))``),
    ``reference`` None. More (``C = inf`` only): statsmodels' ``MNLogit``
    parameters are the coefficients of classes ``1..K-1`` minus those of
    class 0, its reference; ``indices[k - 1]`` and ``reference`` are those
    of class ``k`` and class 0, each in the order ``[const, x1, ..., xd]``.
    """
    d = estimator.n_features_in_
    rows = ([d] if estimator.fit_intercept else []) + list(range(d))
    K = len(estimator.classes_)
    if K == 2:
        return np.array(rows), None
    indices = np.array([[row * K + k for row in rows] for k in range(1, K)])
    return indices, np.array([row * K for row in rows])


def _check_inferable(estimator):
    """Refuse the models whose standard errors this module cannot give."""
    C, l1_ratio = estimator._effective_penalty()
    if l1_ratio > 0:
        raise ValueError(
            f"Standard errors need a smooth objective: l1_ratio={l1_ratio!r} > 0 "
            "(an L1 penalty) has none at the zeros of coef_. Refit with "
            "l1_ratio=0."
        )
    if estimator.positive:
        raise ValueError(
            "Standard errors assume unconstrained coefficients: refit with "
            "positive=False."
        )
    if len(estimator.classes_) > 2 and np.isfinite(C):
        raise ValueError(
            f"Standard errors of a multinomial model need C=np.inf (got C={C!r}): "
            "with an L2 penalty the symmetric parametrisation does not map to "
            "statsmodels' MNLogit, whose reference-class coefficients are "
            "what the unpenalised covariance describes."
        )


def coef_covariance(estimator, X, y, sample_weight=None):
    """``(params, covariance, names)`` of a fitted model on ``(X, y)``.

    See :meth:`LogisticRegressionGraph.coef_covariance`; ``params`` has shape
    (n_params,) for two classes and (n_classes - 1, n_params) for more, and
    ``covariance`` is over ``params.ravel()``.
    """
    _check_inferable(estimator)
    H, separated = _information(estimator, X, y, sample_weight)
    theta = estimator.graph_.theta.astype(np.float64)
    indices, reference = _statsmodels_indices(estimator)
    params = theta[indices]
    if reference is not None:
        params = params - theta[reference]
    flat = indices.ravel()
    information = H[np.ix_(flat, flat)]
    unpenalized = not np.isfinite(estimator._effective_penalty()[0])
    _warn_if_unreliable(information, separated and unpenalized)
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        covariance = np.linalg.pinv(information, hermitian=True)
    return params, covariance, _parameter_names(estimator)


def _warn_if_unreliable(information, separated):
    if separated:
        warnings.warn(
            "The training data are separable: the model classifies every sample "
            "correctly, so without penalty (C=np.inf) the maximum-likelihood "
            "estimate does not exist (the coefficients grow without bound as the "
            "solver runs) and these standard errors are meaningless. Use a finite "
            "C, or remove the separating features.",
            InferenceWarning,
            stacklevel=4,
        )
    condition = np.linalg.cond(information)
    if not condition <= CONDITION_THRESHOLD:
        warnings.warn(
            f"The Hessian is ill-conditioned (condition number {condition:.3g} > "
            f"{CONDITION_THRESHOLD:g}): collinear features or quasi-separated "
            "data. The standard errors are unreliable.",
            InferenceWarning,
            stacklevel=4,
        )


class LogisticSummary:
    """Coefficients, standard errors, z statistics, p-values and intervals.

    Made by :meth:`LogisticRegressionGraph.summary`. For two classes every
    array has one entry per parameter, in statsmodels' order (``const``
    first, then the features); for ``K > 2`` classes, one row per class
    ``1..K-1``, each the difference to class 0 (statsmodels' ``MNLogit``).

    Attributes
    ----------
    names : list of str
        The parameters: ``"const"`` (when there is an intercept), then the
        feature names (``feature_names_in_``, or ``x1, x2, ...``).
    classes : ndarray or None
        ``classes_[1:]``, the rows of a multiclass summary (``None`` for two
        classes, whose coefficients are those of ``classes_[1]``).
    reference : object
        ``classes_[0]``, the reference class of a multiclass summary.
    coef, stderr, z, p_value : ndarray of shape (n_params,) or (K - 1, n_params)
        The estimates, their standard errors, ``coef / stderr`` and the
        two-sided p-values of the normal distribution.
    conf_int : ndarray of shape (n_params, 2) or (K - 1, n_params, 2)
        The ``1 - alpha`` confidence intervals, ``coef -+ z_{alpha/2} stderr``.
    covariance : ndarray of shape (n, n)
        The covariance of ``coef.ravel()``.
    alpha : float
    """

    def __init__(self, params, covariance, names, classes, alpha):
        self.names = list(names)
        self.classes = None if len(classes) == 2 else np.asarray(classes)[1:]
        self.reference = classes[0]
        self.alpha = float(alpha)
        self.covariance = covariance
        self.coef = params
        self.stderr = np.sqrt(np.diag(covariance)).reshape(params.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.z = params / self.stderr
        self.p_value = 2.0 * stats.norm.sf(np.abs(self.z))
        half_width = stats.norm.isf(self.alpha / 2.0) * self.stderr
        self.conf_int = np.stack([params - half_width, params + half_width], axis=-1)

    def _columns(self):
        lower, upper = self.alpha / 2.0, 1.0 - self.alpha / 2.0
        return ["coef", "std err", "z", "P>|z|", f"[{lower:g}", f"{upper:g}]"]

    def _rows(self):
        """``(class or None, name, six numbers)`` per parameter."""
        groups = [None] if self.classes is None else list(self.classes)
        rows = []
        for g, label in enumerate(groups):
            pick = (lambda a: a) if label is None else (lambda a, g=g: a[g])
            columns = (self.coef, self.stderr, self.z, self.p_value)
            values = np.column_stack([pick(a) for a in columns] + [pick(self.conf_int)])
            rows += [
                (label, name, v) for name, v in zip(self.names, values, strict=True)
            ]
        return rows

    def __str__(self):
        width = max(len(name) for name in self.names + ["class"]) + 2
        header = " " * width + "".join(f"{c:>11}" for c in self._columns())
        lines, current = [header, "-" * len(header)], None
        for label, name, values in self._rows():
            if label is not None and label != current:
                lines.append(f"class {label} (vs {self.reference}):")
                current = label
            numbers = "".join(f"{v:>11.4g}" for v in values)
            lines.append(f"{name:<{width}}{numbers}")
        return "\n".join(lines)

    def to_frame(self):
        """The table as a :class:`pandas.DataFrame` (needs pandas).

        Returns
        -------
        pandas.DataFrame
            One row per parameter (indexed by ``(class, name)`` for more than
            two classes), the columns of ``str(summary)``.
        """
        import pandas as pd

        rows = self._rows()
        data = np.array([values for *_, values in rows])
        if self.classes is None:
            index = pd.Index([name for _, name, _ in rows])
        else:
            index = pd.MultiIndex.from_tuples(
                [(label, name) for label, name, _ in rows], names=["class", "name"]
            )
        return pd.DataFrame(data, index=index, columns=self._columns())
