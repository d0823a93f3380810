"""The one fit of every skgraph estimator, and the classifier layer on top.

:class:`_BaseGraphEstimator` runs the pipeline of ``fit``, one straight line:
validate -> encode targets and weights -> build the network -> initial
parameters (fresh, or a warm start) -> solve -> store the fitted attributes.
An estimator supplies hooks: a network builder, a target encoder, initial
values, a solver and the attributes it stores. :class:`_BaseGraphClassifier`
adds labels, class weights and prediction from the graph's logits.
"""

from __future__ import annotations

import copy
import functools
import inspect

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skgraph._callbacks import CallbackSupportMixin, FitCallbacks, network_snapshot
from skgraph._dask import dask_training_data, is_dask_collection
from skgraph._dask import predict_blockwise as _predict_blockwise
from skgraph._objectives import FullBatchObjective, full_batch_objective
from skgraph._training_data import TrainingData, _Targets
from skgraph._weights import (
    class_totals,
    encode_codes,
    output_link,
    per_class_weights,
    weight_total,
    weighted_by_class,
)

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


_PREDICTION_DOC = """{summary}

Parameters
----------
X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
    A Dask array gives a Dask array, computed lazily chunk by chunk.

Returns
-------
{returns}
"""


def prediction(summary, returns):
    """Make ``method(self, X)`` a prediction method: Dask-aware and documented
    (``summary`` and the numpydoc ``returns`` section around the one ``X``)."""

    def decorate(method):
        method.__doc__ = _PREDICTION_DOC.format(summary=summary, returns=returns)
        return dask_aware(method)

    return decorate


def fill_docstring(parts):
    """A class decorator: replace each key of ``parts`` in the class's
    docstring by its value (text that several docstrings share)."""

    def decorate(cls):
        doc = cls.__doc__
        for marker, text in parts.items():
            doc = doc.replace(marker, text)
        cls.__doc__ = doc
        return cls

    return decorate


def parameters_init(positional, keyword):
    """An ``__init__`` that stores its arguments, with an explicit signature.

    scikit-learn reads an estimator's parameters from the signature of its
    ``__init__`` (``get_params``, ``clone``, ``repr``), and an ``__init__``
    must only store them. Estimators that share most of their parameters
    (the MLP-style ones) list each once, in a dict of defaults, and get
    their ``__init__`` from here.

    Parameters
    ----------
    positional : dict of {str: object}
        Parameters that may be passed by position, in order, with defaults.
    keyword : dict of {str: object}
        Keyword-only parameters, with defaults.
    """
    kinds = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature(
        [inspect.Parameter("self", kinds[0])]
        + [
            inspect.Parameter(name, kind, default=default)
            for kind, defaults in zip(kinds, (positional, keyword), strict=True)
            for name, default in defaults.items()
        ]
    )

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)  # scikit-learn's TypeErrors
        bound.apply_defaults()
        arguments = bound.arguments
        del arguments["self"]
        for name, value in arguments.items():
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


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


class _BaseGraphEstimator(CallbackSupportMixin, BaseEstimator):
    """Base of the skgraph estimators: one ``fit`` pipeline and its hooks.

    ``_fit`` runs validate -> encode targets -> build the network -> initial
    parameters (fresh, or warm start) -> solve -> store. Subclasses define:

    - ``_build_network(n_features, n_outputs, dtype)``: a new
      :class:`~skgraph.networks.Network` (parameters zero);
    - ``_encode_targets(y, dtype)``: a :class:`_Targets` (and
      ``_fit_targets`` to learn what encoding needs, e.g. ``classes_``);
    - ``_initialize_parameters(network, random_state)``: fresh values
      (default: the zeros the builder allocated);
    - ``_solve(network, data, callback, *, continues, incremental,
      random_state)``: train ``network`` (``callback(iteration, theta,
      loss)`` after each iteration; ``continues``: a warm start or
      ``partial_fit`` of the fitted network; ``incremental``: one epoch of
      ``partial_fit``), returning what ``_store_fit`` needs;
    - ``_store_fit(network, data, result)``: set the fitted attributes;
    - ``_l2_alpha()``: the L2 strength against the summed loss
      (scikit-learn's ``alpha`` of the MLPs, ``(1 - l1_ratio) / C`` of the
      logistic regression); the graph's ``l2_strength`` input is fed
      ``_l2_alpha() / S``.

    ``_loss_weights``, ``_check_fit_parameters``, ``_solver_dtype`` and
    ``_warm_start_mismatch`` have defaults.
    """

    _supports_multi_output = False
    _fit_mutable_state = ()
    # The name of the step of solver="gd", for the solvers' messages.
    _step_parameter = "learning_rate"
    # Whether warm_start continues the fitted network (same features and
    # targets, as an MLP) or only starts a new fit from its values (as a
    # linear model, which takes new data as scikit-learn's do).
    _warm_start_continues = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- the pipeline -----------------------------------------------------------------
    @restore_on_error
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """Fit on ``(X, y)``; ``incremental``: one epoch of ``partial_fit``."""
        distributed = is_dask_collection(X)
        self._check_fit_parameters(incremental, distributed)
        previous = self._previous_network(incremental)
        # Dask data are always validated and encoded anew.
        continues = (
            previous is not None
            and not distributed
            and (incremental or self._warm_start_continues)
        )
        if distributed:
            data = self._distributed_data(X, y, sample_weight)
        else:
            data = self._training_data(
                X, y, sample_weight, continues, incremental, classes
            )
        # One stream for the initial values and the solver (shuffling, splits).
        random_state = check_random_state(getattr(self, "random_state", None))
        if continues and self._continues_network(previous):
            network = previous  # trained on in place, as scikit-learn's MLP
        else:
            network = self._fit_network(data, previous, random_state)
        max_iter = 1 if incremental else self.max_iter
        callbacks = self._fit_callbacks(
            network, data.X, data.y, data.sample_weight, max_iter
        )
        callbacks.start(network.graph.theta)
        result = self._solve(
            network,
            data,
            callbacks.hook(),
            continues=continues,
            incremental=incremental,
            random_state=random_state,
        )
        self._store_fit(network, data, result)
        callbacks.close()
        return self

    def _check_fit_parameters(self, incremental, distributed):
        """Refuse parameter combinations that this fit cannot honour."""

    def _previous_network(self, incremental):
        """The fitted network to start from (warm start, partial_fit), or None."""
        if not (self.warm_start or incremental):
            return None
        return self.__dict__.get("_network")

    def _training_data(self, X, y, sample_weight, continues, incremental, classes):
        """Validate and encode in-memory data: a :class:`TrainingData`."""
        unweighted = sample_weight is None and self._class_weight() is None
        X, y, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=not continues
        )
        model_dtype = X.dtype
        weight_dtype = self._solver_dtype(model_dtype, False)
        sample_weight = sample_weight.astype(weight_dtype, copy=False)
        dtype = self._solver_dtype(model_dtype, continues)
        X = X.astype(dtype, copy=False)
        self._fit_targets(y, continues, incremental, classes)
        targets = self._encode_targets(y, self._target_dtype(dtype))
        loss_weights = self._loss_weights(targets, sample_weight)
        total = weight_total(loss_weights)
        if unweighted:  # all ones: the objectives need no array for that
            loss_weights = sample_weight = None
        return TrainingData(
            X, y, targets, loss_weights, sample_weight, total, model_dtype
        )

    def _distributed_data(self, X, y, sample_weight):
        """Validate and encode Dask data, on the cluster: a :class:`TrainingData`."""
        model_dtype = getattr(X, "dtype", None)
        if model_dtype in _FLOATS:
            X = X.astype(self._solver_dtype(model_dtype, False), copy=False)
        data = dask_training_data(self, X, y, sample_weight)
        if model_dtype in _FLOATS:
            data.model_dtype = model_dtype
        return data

    def _solver_dtype(self, dtype, continues):
        """The dtype the solver works in, for data of ``dtype``."""
        if continues:
            return self.graph_.dtype
        return dtype

    def _target_dtype(self, dtype):
        """The dtype targets are encoded in (each objective casts its rows)."""
        return dtype

    def _fit_targets(self, y, continues, incremental, classes):
        """Learn from ``y`` what encoding it needs (e.g. ``classes_``).

        ``continues``: the fit continues the fitted network (warm start or
        ``partial_fit``), whose encoding ``y`` must fit; ``classes``: what
        ``partial_fit`` was given.
        """

    def _class_weight(self):
        return getattr(self, "class_weight", None)

    def _loss_weights(self, targets, sample_weight):
        """``s_i``: the weight of each sample's loss term (its sample weight)."""
        return sample_weight

    def _fit_network(self, data, previous, random_state):
        """The network to train, with its initial parameters.

        Fresh values from ``_initialize_parameters``, or a warm start: the
        parameters of ``previous``, layer by layer (a bias that ``previous``
        lacks stays zero; one it had that the new network lacks is dropped).
        """
        network = self._build_network(
            data.X.shape[1], data.targets.Y.shape[1], self._network_dtype(data.X.dtype)
        )
        if previous is None:
            self._initialize_parameters(network, random_state)
            return network
        shapes = [W.shape for W in network.weights]
        if [W.shape for W in previous.weights] != shapes:
            raise ValueError(self._warm_start_mismatch(previous, network))
        for new, old in zip(network.weights, previous.weights, strict=True):
            new.value = old.value
        for new, old in zip(network.biases, previous.biases, strict=False):
            new.value = old.value
        return network

    def _network_dtype(self, dtype):
        """The dtype of a new network trained on data of ``dtype`` (the same).

        A float64 network for float32 data (a solve that needs float64) is
        never fed a float64 copy of ``X``: the objective widens dense rows a
        block at a time (:class:`~skgraph._objectives.FullBatchObjective`),
        the first layer the rest (:class:`~skgraph.ops.Affine`), and
        :meth:`_recast` makes the fitted model float32.
        """
        return dtype

    def _recast(self, network, dtype):
        """A copy of the fitted ``network`` whose parameters are of ``dtype``."""
        n_features = network.weights[0].shape[0]
        recast = self._build_network(n_features, network.weights[-1].shape[1], dtype)
        recast.graph.set_flat(network.graph.theta)
        return recast

    def _continues_network(self, previous):
        """Whether a continued fit trains ``previous`` itself (no new graph)."""
        return False

    def _initialize_parameters(self, network, random_state):
        """Fresh initial parameters (default: the builder's zeros)."""

    def _warm_start_mismatch(self, previous, network):
        """The error message when the fitted network cannot start this fit."""
        return (
            "warm_start=True: the fitted network does not match this data. "
            "Set warm_start=False."
        )

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

    # -- validation -----------------------------------------------------------------
    def _validate_training_data(self, X, y, sample_weight, *, reset=True):
        """Checked ``X`` (float64/float32, CSR/CSC), ``y`` and ``sample_weight``."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=_SPARSE_FORMATS,
            dtype=_FLOATS,
            multi_output=self._supports_multi_output,
            reset=reset,
        )
        self._check_targets(y)
        if sample_weight is None:  # what _check_sample_weight makes, less its cost
            return X, y, np.ones(X.shape[0], dtype=X.dtype)
        # Negative weights are accepted, as scikit-learn's estimators do.
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        return X, y, sample_weight

    def _check_targets(self, y):
        """Raise if ``y`` is not a target this estimator can learn."""

    def _validate_X(self, X):
        check_is_fitted(self)
        return validate_data(
            self, X, accept_sparse=_SPARSE_FORMATS, dtype=_FLOATS, reset=False
        )

    # -- the objective ------------------------------------------------------------
    def _full_batch_objective(self, network, data, block_size=None):
        """The objective of the full-batch solvers on ``data`` (see
        :func:`skgraph._objectives.full_batch_objective`)."""
        return full_batch_objective(
            network, data, self._l2_alpha(), self._l1_alpha(), block_size
        )

    def _l1_alpha(self):
        """The L1 strength against the summed loss (none by default)."""
        return 0.0

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
        loss_weights = self._loss_weights(targets, sample_weight)
        objective = FullBatchObjective(  # one block: the whole batch
            self._network,
            X,
            targets.Y,
            loss_weights,
            self._l2_alpha(),
            total=weight_total(loss_weights),
            l1_alpha=self._l1_alpha(),
        )
        (feed,) = objective.block_feeds()
        return self.graph_, objective.node, feed


class _BaseGraphClassifier(ClassifierMixin, _BaseGraphEstimator):
    """The classifier layer: labels, class weights, prediction from the logits.

    Sets ``classes_`` in ``fit``; encodes labels as one 0/1 column (two
    classes, sigmoid output), one-hot rows (softmax) or an indicator matrix
    (multilabel, ``_supports_multi_output``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self._supports_multi_output
        return tags

    def _check_targets(self, y):
        _check_classification_targets(y)

    def _fit_targets(self, y, continues, incremental, classes):
        if continues:
            self._check_same_classes(y, incremental)
            return
        if incremental and classes is None and y.ndim == 1:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self._fit_classes(y, classes)

    def _check_same_classes(self, y, incremental):
        """A fit that continues the network must see the classes it knows.

        Multilabel: the same number of labels. Otherwise a warm start needs
        the same set of classes; ``partial_fit`` may see some of them only.
        """
        if self._is_multilabel:
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y must be an indicator matrix of {len(self.classes_)} labels, "
                    "as in the previous call to fit."
                )
            return
        labels = unique_labels(y)
        if not incremental and set(labels) != set(self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, `y` "
                f"has {labels}"
            )

    def _fit_classes(self, y, classes=None):
        """Set ``classes_`` from ``y`` (or from ``classes``, for partial_fit)."""
        if self._supports_multi_output and type_of_target(y) == "multilabel-indicator":
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

    def _output_link(self):
        """The output link the fitted classes need: sigmoid or softmax."""
        if self._is_multilabel:
            return "logistic"
        return output_link(len(self.classes_))

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
        Y = encode_codes(codes, n_classes, dtype)
        return _Targets(Y, codes, output_link(n_classes))

    def _loss_weights(self, targets, sample_weight):
        """``s_i = sample_weight_i * class_weight[y_i]`` (as scikit-learn 1.9)."""
        class_weight = self._class_weight()
        if class_weight is None:
            return sample_weight
        if targets.codes is None:
            raise ValueError("class_weight is not supported for multilabel targets.")
        totals = None
        if isinstance(class_weight, str):  # "balanced" needs each class's total
            totals = class_totals(targets.codes, sample_weight, len(self.classes_))
        per_class = per_class_weights(class_weight, self.classes_, totals)
        return weighted_by_class(sample_weight, targets.codes, per_class)

    # -- prediction ----------------------------------------------------------------
    def _logits(self, X):
        X = self._validate_X(X)
        network = self._network
        trace = self.graph_.forward(network.logits, {network.X: X})
        return trace.value(network.logits)

    def _from_logits(self, X, of_softmax, of_sigmoid):
        """Probabilities (or their logs) of ``X``'s logits: ``of_softmax`` of
        the rows, ``of_sigmoid`` of each label, or of both classes' logits."""
        Z = self._logits(X)
        if self._network.output == "softmax":
            return of_softmax(Z, axis=1)
        if self._is_multilabel:
            return of_sigmoid(Z)
        return np.hstack([of_sigmoid(-Z), of_sigmoid(Z)])

    @prediction(
        "The logits: the output layer before its sigmoid or softmax.",
        "scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)\n"
        "    For two classes, the logit of ``classes_[1]``; otherwise one column\n"
        "    per class (or label).",
    )
    def decision_function(self, X):
        Z = self._logits(X)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    @prediction(
        "Probability estimates.",
        "proba : ndarray of shape (n_samples, n_classes)\n"
        "    Column ``k`` is the probability of ``classes_[k]``; rows sum to one\n"
        "    (multilabel: each column is that label's own probability).",
    )
    def predict_proba(self, X):
        return self._from_logits(X, softmax, expit)

    @prediction(
        "Log of probability estimates, computed from the logits.\n\n"
        "Finite for any finite input (``log_softmax`` and ``log_expit`` of the\n"
        "logits, never ``log(predict_proba(X))``).",
        "log_proba : ndarray of shape (n_samples, n_classes)",
    )
    def predict_log_proba(self, X):
        return self._from_logits(X, log_softmax, log_expit)

    @prediction(
        "Predict class labels (an indicator matrix for multilabel targets).",
        "y_pred : ndarray of shape (n_samples,) or (n_samples, n_classes)",
    )
    def predict(self, X):
        Z = self._logits(X)
        if self._is_multilabel:
            return self._label_binarizer.inverse_transform((Z > 0).astype(int))
        if Z.shape[1] == 1:
            return self.classes_[(Z[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(Z, axis=1)]


class _BaseGraphRegressor(RegressorMixin, _BaseGraphEstimator):
    """Base of the skgraph regressors (not for direct use): numeric targets,
    one or several outputs, predictions from the network's ``prediction``
    node. Subclasses name their output link in ``_output_link``.
    """

    _supports_multi_output = True

    def _fit_targets(self, y, continues, incremental, classes):
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if continues and n_outputs != self.n_outputs_:
            raise ValueError(
                "warm_start and partial_fit continue the fitted network, which "
                f"has {self.n_outputs_} outputs; y has {n_outputs}. "
                "Set warm_start=False to fit a new network."
            )

    def _target_dtype(self, dtype):
        return np.float64  # each step casts its own rows

    def _encode_targets(self, y, dtype):
        """``y`` as the loss node's (n_samples, n_outputs) targets."""
        Y = np.asarray(y, dtype=dtype)
        Y = Y[:, None] if Y.ndim == 1 else Y
        output = self._output_link()
        if output == "exp" and (Y < 0).any():
            raise ValueError(
                f"loss={self.loss!r} needs non-negative targets y; the smallest "
                f"is {Y.min()}."
            )
        return _Targets(Y, None, output)

    @prediction(
        "Predict the targets.",
        "y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)\n"
        "    One column per output; 1-D where the model has one output.",
    )
    def predict(self, X):
        X = self._validate_X(X)
        node = self._network.prediction
        Y = self.graph_.forward(node, {self._network.X: X}).value(node)
        return Y[:, 0] if Y.shape[1] == 1 else Y
