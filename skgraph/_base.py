"""What the estimators share (validation, the training feed) and the layers of
the classifiers (label and weight encoding, prediction from the logits) and
of the regressors (targets, prediction).

The path of the data through ``fit`` is one straight line: validate -> encode
labels and weights -> build the graph -> minimise its objective -> unpack the
parameters. Subclasses supply the graph and the solver; prediction runs the
forward pass of ``graph_`` up to its logits node.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skgraph._callbacks import CallbackSupportMixin, FitCallbacks, network_snapshot
from skgraph._dask import DaskObjective, dask_problem, is_dask_collection
from skgraph._dask import predict_blockwise as _predict_blockwise
from skgraph._optimize import warn_if_not_converged
from skgraph._weights import per_class_weights

_FLOATS = (np.float64, np.float32)
_SPARSE_FORMATS = ("csr", "csc")


def dask_aware(method):
    """Let a prediction method take a Dask array: it then returns one, lazily."""

    @functools.wraps(method)
    def wrapper(self, X):
        if is_dask_collection(X):
            check_is_fitted(self)
            return _predict_blockwise(self, method, X)
        return method(self, X)

    return wrapper


def restore_on_error(fit):
    """Make ``fit`` all or nothing: an exception leaves the estimator as it was.

    A fit interrupted by ``KeyboardInterrupt`` or by an exception from a
    callback or a solver restores the estimator's attributes as they were
    before the call, and the parameters of the graph it had (which a
    solver may have changed in place): never a half-fitted model. What an
    estimator mutates in place besides (optimiser moments, the training
    state of ``partial_fit``) it names in ``_fit_mutable_state``.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        graph = saved.get("graph_")
        theta = None if graph is None else graph.theta.copy()
        mutable = {
            name: copy.deepcopy(saved[name])
            for name in self._fit_mutable_state
            if name in saved
        }
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved, **mutable)
            if graph is not None:
                np.copyto(graph.theta, theta)
            raise

    return wrapper


def _check_classification_targets(y):
    """scikit-learn's ``check_classification_targets``, skipped where dtype decides.

    A 1-D array of integers or booleans, or of finite floats that are all
    whole numbers (in int64), is always a binary or multiclass target;
    scikit-learn finds out which with a pass of ``np.unique`` that ``fit``
    then repeats. Anything else gets scikit-learn's own check (and its error
    messages).
    """
    if y.ndim == 1 and y.dtype.kind in "biu":
        return
    if y.ndim == 1 and y.dtype.kind == "f" and np.isfinite(y).all():
        with np.errstate(invalid="ignore"):  # as scikit-learn: whole in int64
            if (y.astype(np.int64) == y).all():
                return
    check_classification_targets(y)


class _Targets:
    """Encoded labels of a training set.

    Attributes
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
        What the loss node is fed: one 0/1 column for a binary problem, one
        per label for multilabel, one-hot rows for multiclass.
    codes : ndarray of shape (n_samples,) or None
        Class index of each sample (``None`` for multilabel).
    output : {"logistic", "softmax"}
        The link (and fused loss) of the output layer.
    """

    def __init__(self, Y, codes, output):
        self.Y = Y
        self.codes = codes
        self.output = output


class _BaseGraphEstimator(CallbackSupportMixin, BaseEstimator):
    """What every skgraph estimator shares (not for direct use).

    Subclasses set ``self._network`` (a :class:`~skgraph.networks.Network`)
    and ``self.graph_`` in ``fit``, and define ``_penalty_coefficient`` (the
    L2 strength before it is divided by the sum of the weights ``S``),
    ``_validate_training_data``, ``_encode_targets`` and
    ``_effective_weights``.
    """

    _fit_mutable_state = ()

    def _fit_callbacks(self, network, X, y, sample_weight, max_iter):
        """scikit-learn's callbacks for this fit: one task per iteration or epoch.

        See :class:`skgraph._callbacks.FitCallbacks`; the snapshot handed to a
        hook that asks for a fitted estimator is a copy of ``network`` at the
        solver's current parameters.
        """
        return FitCallbacks(
            self,
            X,
            y,
            sample_weight,
            max_iter,
            snapshot=lambda theta: network_snapshot(network, theta),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _validate_training_data(self, X, y, sample_weight, *, reset=True, **target):
        """Checked ``X`` (float64/float32, CSR/CSC), ``y`` and ``sample_weight``.

        ``target`` holds the keywords of scikit-learn's ``validate_data`` that
        say what ``y`` may be (e.g. ``multi_output``, ``y_numeric``).
        """
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=_SPARSE_FORMATS,
            dtype=_FLOATS,
            reset=reset,
            **target,
        )
        if sample_weight is None:  # what _check_sample_weight makes, less its cost
            return X, y, np.ones(X.shape[0], dtype=X.dtype)
        # Negative weights are accepted, as scikit-learn's estimators do.
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        return X, y, sample_weight

    def _validate_X(self, X):
        check_is_fitted(self)
        return validate_data(
            self, X, accept_sparse=_SPARSE_FORMATS, dtype=_FLOATS, reset=False
        )

    def _training_feed(self, network, X, targets, weights):
        """The feed of the objective ``1/S sum s_i loss_i + c/(2S) ||W||^2``.

        ``weights=None`` means that every sample weighs one: ``S`` is the
        number of samples and the loss nodes take the plain mean, with no
        weight vector to make or read.
        """
        if weights is None:
            total, normalized = float(X.shape[0]), None
        else:
            total = float(weights.sum(dtype=np.float64))
            if not total > 0.0:
                raise ValueError(
                    "The sample weights (times class weights) sum to "
                    f"{total}; they must have a positive sum."
                )
            normalized = weights / X.dtype.type(total)
        feed = {
            network.X: X,
            network.y: targets.Y,
            network.sample_weight: normalized,
            network.l2_strength: self._penalty_coefficient() / total,
        }
        if network.l1_strength is not None:  # elastic net: l1_ratio / (C S)
            feed[network.l1_strength] = self._l1_coefficient() / total
        return feed

    def _training_objective(self, X, y, sample_weight=None):
        """``(graph, objective node, feed)`` of the fitted model on ``(X, y)``.

        Used by :func:`skgraph.check_gradients` to check the training
        objective at the fitted parameters: its smooth part, the whole
        objective less an L1 penalty (``|w|`` has no derivative at the zeros
        of a sparse model). The feed also holds the L1 strength, so a pass
        through ``graph_``'s full ``objective`` node can use it as well.
        """
        check_is_fitted(self)
        X, y, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=False
        )
        targets = self._encode_targets(y, X.dtype)
        weights = self._effective_weights(targets, sample_weight)
        feed = self._training_feed(self._network, X, targets, weights)
        return self.graph_, self._network.smooth_objective, feed

    def _warn_if_not_converged(self, result, advice):
        """scikit-learn's ConvergenceWarning for a full-batch fit, plus ``advice``.

        A fixed-step ``"gd"`` whose loss went up at some iteration is told
        that its step (``_step_parameter``) is too large.
        """
        if self.solver == "gd" and result.loss_increased:
            step = self._step_parameter
            advice = (
                f"The loss increased during the fit: {step}="
                f"{getattr(self, step)!r} is too large a step for this data; "
                f"use a smaller {step}.\n{advice}"
            )
        warn_if_not_converged(self.solver, result, self.max_iter, advice)


class GraphClassifierMixin(ClassifierMixin, _BaseGraphEstimator):
    """Base of the skgraph classifiers (not for direct use): label encoding,
    class weights and prediction from the graph's logits."""

    _supports_multilabel = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self._supports_multilabel
        return tags

    def _validate_training_data(self, X, y, sample_weight, *, reset=True):
        X, y, sample_weight = super()._validate_training_data(
            X, y, sample_weight, reset=reset, multi_output=self._supports_multilabel
        )
        _check_classification_targets(y)
        return X, y, sample_weight

    def _fit_classes(self, y, classes=None):
        """Set ``classes_`` from ``y`` (or from ``classes``, for partial_fit)."""
        if self._supports_multilabel and type_of_target(y) == "multilabel-indicator":
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
            return
        self._label_binarizer = None
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        if len(self.classes_) < 2:
            raise ValueError(
                f"y contains 1 class ({self.classes_[0]!r}); a classifier needs "
                "samples of at least 2 classes."
            )

    @property
    def _is_multilabel(self):
        return getattr(self, "_label_binarizer", None) is not None

    def _encode_targets(self, y, dtype):
        """The targets of ``y`` in terms of the fitted ``classes_``."""
        if self._is_multilabel:
            Y = np.asarray(self._label_binarizer.transform(y), dtype=dtype)
            return _Targets(Y, None, "logistic")
        n_classes = len(self.classes_)
        codes = np.searchsorted(self.classes_, y)
        np.minimum(codes, n_classes - 1, out=codes)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise ValueError(
                f"y contains labels {np.unique(y[unseen]).tolist()} not in "
                f"classes_ {self.classes_.tolist()}."
            )
        if n_classes == 2:
            return _Targets(codes.astype(dtype)[:, None], codes, "logistic")
        # Column-major, like the softmax logits of networks.mlp_graph.
        Y = np.zeros((len(codes), n_classes), dtype=dtype, order="F")
        Y[np.arange(len(codes)), codes] = 1.0
        return _Targets(Y, codes, "softmax")

    def _effective_weights(self, targets, sample_weight):
        """``s_i = sample_weight_i * class_weight[y_i]`` (as scikit-learn 1.9)."""
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return sample_weight
        if targets.codes is None:
            raise ValueError("class_weight is not supported for multilabel targets.")
        class_totals = None
        if isinstance(class_weight, str):  # "balanced" needs each class's total
            class_totals = np.bincount(
                targets.codes, weights=sample_weight, minlength=len(self.classes_)
            )
        per_class = per_class_weights(class_weight, self.classes_, class_totals)
        return sample_weight * per_class[targets.codes].astype(sample_weight.dtype)

    def _distributed_problem(self, X, y, sample_weight, build_network):
        """``(network, objective)`` of a full-batch fit on Dask arrays.

        Validation, label and weight encoding run on the cluster (see
        :func:`skgraph._dask.dask_problem`); ``build_network(n_features,
        n_outputs, output, dtype)`` makes the graph; the objective evaluates
        each row chunk's loss and gradient where the chunk lives.
        """
        problem = dask_problem(self, X, y, sample_weight)
        network = build_network(
            problem.X.shape[1], problem.Y.shape[1], problem.output, problem.X.dtype
        )
        objective = DaskObjective(
            network,
            problem.X,
            problem.Y,
            problem.weights,
            self._penalty_coefficient() / problem.total,
        )
        return network, objective, problem

    # -- prediction ----------------------------------------------------------------
    def _logits(self, X):
        X = self._validate_X(X)
        network = self._network
        trace = self.graph_.forward(network.logits, {network.X: X})
        return trace.value(network.logits)

    @dask_aware
    def decision_function(self, X):
        """The logits: the output layer before its sigmoid or softmax.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For two classes, the logit of ``classes_[1]``; otherwise one
            column per class (or label).
        """
        Z = self._logits(X)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    @dask_aware
    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column ``k`` is the probability of ``classes_[k]``; rows sum to
            one (multilabel: each column is that label's own probability).
        """
        Z = self._logits(X)
        if self._network.output == "softmax":
            return softmax(Z, axis=1)
        if self._is_multilabel:
            return expit(Z)
        return np.hstack([expit(-Z), expit(Z)])

    @dask_aware
    def predict_log_proba(self, X):
        """Log of probability estimates, computed from the logits.

        Finite for any finite input (``log_softmax`` and ``log_expit`` of the
        logits, never ``log(predict_proba(X))``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        Z = self._logits(X)
        if self._network.output == "softmax":
            return log_softmax(Z, axis=1)
        if self._is_multilabel:
            return log_expit(Z)
        return np.hstack([log_expit(-Z), log_expit(Z)])

    @dask_aware
    def predict(self, X):
        """Predict class labels (an indicator matrix for multilabel targets).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        Z = self._logits(X)
        if self._is_multilabel:
            return self._label_binarizer.inverse_transform((Z > 0).astype(int))
        if Z.shape[1] == 1:
            return self.classes_[(Z[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(Z, axis=1)]


class GraphRegressorMixin(RegressorMixin, _BaseGraphEstimator):
    """Base of the skgraph regressors (not for direct use): numeric targets,
    one or several outputs, predictions from the graph's ``prediction`` node.

    Subclasses say which output link their loss uses in ``_output``.
    """

    def _validate_training_data(self, X, y, sample_weight, *, reset=True):
        return super()._validate_training_data(
            X, y, sample_weight, reset=reset, multi_output=True, y_numeric=True
        )

    def _encode_targets(self, y, dtype):
        """``y`` as the loss node's (n_samples, n_outputs) targets."""
        Y = np.asarray(y, dtype=dtype)
        Y = Y[:, None] if Y.ndim == 1 else Y
        output = self._output()
        if output == "exp" and (Y < 0).any():
            raise ValueError(
                f"loss={self.loss!r} needs non-negative targets y; the smallest "
                f"is {Y.min()}."
            )
        return _Targets(Y, None, output)

    def _effective_weights(self, targets, sample_weight):
        return sample_weight

    @dask_aware
    def predict(self, X):
        """Predict the targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output; 1-D where the model has one output.
        """
        X = self._validate_X(X)
        node = self._network.prediction
        Y = self.graph_.forward(node, {self._network.X: X}).value(node)
        return Y[:, 0] if Y.shape[1] == 1 else Y
