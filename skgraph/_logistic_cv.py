"""LogisticRegressionGraphCV: the regularisation strength chosen by cross-validation.

scikit-learn 1.9's :class:`~sklearn.linear_model.LogisticRegressionCV` over
:class:`~skgraph.LogisticRegressionGraph`. For every fold and every
``l1_ratio`` of the grid, one :class:`LogisticRegressionGraph` walks the
regularisation path ``Cs`` with ``warm_start=True`` (each ``C`` starts from
the coefficients of the one before), fitted by that class's own ``fit``
machinery and scored on the held-out part; the folds run in parallel with
joblib. The best ``(C, l1_ratio)`` is refitted on all the data, starting from
the folds' average coefficients, or (``refit=False``) the folds' best
coefficients are averaged, exactly as scikit-learn does.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import warnings
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils import compute_class_weight
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    UNUSED,
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import (
    _check_method_params,
    _check_sample_weight,
    _deprecate_positional_args,
    check_is_fitted,
    validate_data,
)

from skgraph._base import _check_classification_targets
from skgraph._dask import is_dask_collection
from skgraph._logistic import LogisticRegressionGraph

__all__ = ["LogisticRegressionGraphCV"]

# The parameters that pass through to each LogisticRegressionGraph: their
# validation (the solver names included) is that class's own.
_SHARED_PARAMETERS = (
    "fit_intercept",
    "solver",
    "tol",
    "max_iter",
    "learning_rate",
    "class_weight",
    "positive",
    "random_state",
    "verbose",
)


class LogisticRegressionGraphCV(ClassifierMixin, BaseEstimator):
    """Logistic regression whose ``C`` (and ``l1_ratio``) is chosen by cross-validation.

    A drop-in for :class:`sklearn.linear_model.LogisticRegressionCV`
    (scikit-learn 1.9): same parameters (less ``dual`` and
    ``intercept_scaling``, plus :class:`LogisticRegressionGraph`'s
    ``learning_rate`` and ``positive``), same folds, scores, choice of ``C``
    and fitted attributes. Each fold's regularisation path is fitted by a
    :class:`LogisticRegressionGraph` with ``warm_start=True``: the
    coefficients at one ``C`` start the fit at the next. The final model is a
    :class:`LogisticRegressionGraph` too; ``graph_`` is its graph.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        The values of ``C`` to try, in this order (the path's warm starts
        follow it). An int ``n`` is ``np.logspace(-4, 4, n)``.
    l1_ratios : array-like of float in [0, 1], default=None
        The values of ``l1_ratio`` to try (each fold fits one path per
        value). Left unset, it is ``None`` with scikit-learn 1.9's
        ``FutureWarning`` (its default becomes ``(0.0,)`` in 1.10); ``None``
        is the L2 penalty, and the fitted attributes then have no
        ``l1_ratio`` axis (legacy layout), as in scikit-learn. Unlike
        scikit-learn's ``"lbfgs"``, skgraph's ``"lbfgs"`` and ``"gd"``
        minimise L1 and elastic-net penalties exactly.
    fit_intercept : bool, default=True
        Whether the model has an intercept.
    cv : int, cross-validation generator or iterable, default=None
        The folds, as in scikit-learn: ``None`` is 5-fold
        :class:`~sklearn.model_selection.StratifiedKFold`.
    penalty : {"l1", "l2", "elasticnet"}, default="deprecated"
        Deprecated, as in scikit-learn 1.9 (a ``FutureWarning``): use
        ``l1_ratios`` (``(0,)`` for L2, ``(1,)`` for L1). ``"l1"`` and
        ``"l2"`` fix the penalty whatever ``l1_ratios`` holds.
    scoring : str, callable or None, default=None
        The score that chooses ``C`` on the held-out folds, and that
        :meth:`score` computes: a scorer name, a callable
        ``scorer(estimator, X, y)``, or ``None`` for accuracy. Left unset,
        accuracy with scikit-learn 1.9's ``FutureWarning`` (its default
        becomes ``"neg_log_loss"`` in 1.11).
    solver : str, default="lbfgs"
        Any solver :class:`LogisticRegressionGraph` accepts.
    tol : float, default=1e-4
        Tolerance of each fit.
    max_iter : int, default=100
        Most iterations of each fit.
    learning_rate : "auto" or float, default="auto"
        The step of ``solver="gd"`` (see :class:`LogisticRegressionGraph`).
    class_weight : dict or "balanced", default=None
        Weights of the classes; ``"balanced"`` is computed once, from all
        the (sample-weighted) data, and used in every fold, as scikit-learn.
    positive : bool, default=False
        Constrain the coefficients to be non-negative (see
        :class:`LogisticRegressionGraph`).
    n_jobs : int, default=None
        Number of joblib workers that fit the folds (and ``l1_ratios``).
    verbose : int, default=0
        Verbosity of joblib and of each fit (the refit gets ``verbose - 1``).
    refit : bool, default=True
        Refit on all the data at the best ``C`` (and ``l1_ratio``) of the
        scores summed over the folds, starting from the folds' average
        coefficients there; otherwise average the coefficients (and ``C``,
        ``l1_ratio``) at each fold's own best score.
    random_state : int, RandomState instance or None, default=None
        Passed to each fit (the full-batch solvers are deterministic); the
        folds come from ``cv``.
    use_legacy_attributes : bool, default=True
        scikit-learn 1.9's switch between the legacy fitted attributes
        (dicts keyed by class, ``C_`` an array) and the new ones (arrays
        with an ``l1_ratio`` axis, ``C_`` a float). Left unset, ``True`` with
        scikit-learn's ``FutureWarning``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights of the final model (a view into ``graph_``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Its intercept (zeros without ``fit_intercept``).
    Cs_ : ndarray of shape (n_cs,)
        The values of ``C`` tried.
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The values of ``l1_ratio`` tried (``[None]`` when ``l1_ratios`` is
        ``None``).
    coefs_paths_ : dict or ndarray
        Coefficients (intercept last) of every fold, ``C`` and ``l1_ratio``.
        Legacy: ``{label: array of shape (n_folds, n_cs, n_dof)}``, or
        ``(n_folds, n_cs, n_l1_ratios, n_dof)`` with ``l1_ratios``, keyed by
        ``classes_[1]`` alone for two classes. New: an array of shape
        ``(n_folds, n_l1_ratios, n_cs, n_classes or 1, n_dof)``.
    scores_ : dict or ndarray
        The held-out scores: legacy, the same ``(n_folds, n_cs[,
        n_l1_ratios])`` array under each key of ``coefs_paths_``; new, an
        array of shape ``(n_folds, n_l1_ratios, n_cs)``.
    C_ : ndarray of shape (1,) or (n_classes,), or float
        The chosen ``C`` (legacy: repeated per class, one entry for two
        classes; new: a float). With ``refit=False``, the mean of the folds'.
    l1_ratio_ : ndarray of shape (1,) or (n_classes,), or float
        The chosen ``l1_ratio``, laid out as ``C_``.
    n_iter_ : ndarray
        Iterations of each path fit: legacy ``(1, n_folds, n_cs[,
        n_l1_ratios])``; new ``(n_folds, n_l1_ratios, n_cs)``.
    graph_ : Graph
        The final model's computation graph.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when ``X`` had string column
        names.

    See Also
    --------
    sklearn.linear_model.LogisticRegressionCV : The estimator this one mirrors.
    LogisticRegressionGraph : The model fitted in every fold.

    Notes
    -----
    Differences from scikit-learn 1.9: no ``dual`` or ``intercept_scaling``
    (no ``liblinear``); ``"lbfgs"`` accepts ``l1_ratios`` other than 0;
    float32 data keep a float32 model (and paths); an empty ``l1_ratios``
    and values of ``Cs`` that are not positive raise a ``ValueError``.
    Fitting on Dask arrays raises a ``TypeError`` (fit
    :class:`LogisticRegressionGraph` on them); the fitted model predicts
    on Dask arrays lazily.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import scale
    >>> from skgraph import LogisticRegressionGraphCV
    >>> X, y = load_iris(return_X_y=True)
    >>> X = scale(X)
    >>> clf = LogisticRegressionGraphCV(
    ...     Cs=[0.1, 1.0, 10.0], cv=3, l1_ratios=(0,), scoring="neg_log_loss",
    ...     use_legacy_attributes=False,
    ... ).fit(X, y)
    >>> clf.C_, clf.scores_.shape, clf.coefs_paths_.shape
    (10.0, (3, 1, 3), (3, 1, 3, 3, 5))
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> clf.graph_
    <Graph: 4 input, 2 parameter, 4 compute; 15 parameter values>
    """

    __metadata_request__score = {"sample_weight": UNUSED}

    _parameter_constraints: dict = {
        **{
            name: LogisticRegressionGraph._parameter_constraints[name]
            for name in _SHARED_PARAMETERS
        },
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "cv": ["cv_object"],
        "penalty": [
            StrOptions({"l1", "l2", "elasticnet"}),
            Hidden(StrOptions({"deprecated"})),
        ],
        "scoring": [
            StrOptions(set(get_scorer_names())),
            callable,
            None,
            Hidden(StrOptions({"warn"})),
        ],
        "n_jobs": [Integral, None],
        "refit": ["boolean"],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    }

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios="warn",
        fit_intercept=True,
        cv=None,
        penalty="deprecated",
        scoring="warn",
        solver="lbfgs",
        tol=1e-4,
        max_iter=100,
        learning_rate="auto",
        class_weight=None,
        positive=False,
        n_jobs=None,
        verbose=0,
        refit=True,
        random_state=None,
        use_legacy_attributes="warn",
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.class_weight = class_weight
        self.positive = positive
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- scikit-learn 1.9's deprecations and the grid ---------------------------------
    def _settings(self):
        """``(penalty, l1_ratios grid, l1_ratios given, scoring, legacy)``.

        scikit-learn 1.9's ``FutureWarning``s, in its order, for the defaults
        that change (``l1_ratios``, ``scoring``, ``use_legacy_attributes``)
        and for ``penalty``; then its checks of ``l1_ratios``.
        """
        l1_ratios = _warned_default(
            self.l1_ratios,
            None,
            "The default value for l1_ratios will change from None to (0.0,) "
            "in version 1.10. From version 1.10 onwards, only array-like "
            "with values in [0, 1] will be allowed, None will be forbidden. "
            "To avoid this warning, explicitly set a value, e.g. l1_ratios=(0,).",
        )
        penalty = self._penalty(l1_ratios)
        scoring = _warned_default(
            self.scoring,
            None,
            "The default value of the parameter 'scoring' will change from None, "
            "i.e. accuracy, to 'neg_log_loss' in version 1.11. To silence this "
            "warning, explicitly set the scoring parameter: "
            "scoring='neg_log_loss' for the new, scoring='accuracy' or "
            "scoring=None for the old default.",
        )
        legacy = _warned_default(
            self.use_legacy_attributes,
            True,
            f"The fitted attributes of {type(self).__name__} will be simplified "
            "in scikit-learn 1.10 to remove redundancy. Set "
            "`use_legacy_attributes=False` to enable the new behavior now, or "
            "set it to `True` to silence this warning during the transition "
            "period while keeping the deprecated behavior for the time being. "
            "The default value of use_legacy_attributes will change from True "
            f"to False in scikit-learn 1.10. See the docstring of "
            f"{type(self).__name__} for more details.",
        )
        return (
            penalty,
            _l1_grid(penalty, l1_ratios, self.penalty != "deprecated"),
            l1_ratios,
            scoring,
            legacy,
        )

    def _penalty(self, l1_ratios):
        """The penalty that ``penalty`` or ``l1_ratios`` names (scikit-learn's rule)."""
        if self.penalty != "deprecated":
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in"
                " 1.10. To avoid this warning, leave 'penalty' set to its default"
                " value and use 'l1_ratios' and 'Cs' instead."
                " Use l1_ratios=(0,) instead of penalty='l2',"
                " l1_ratios=(1,) instead of penalty='l1',"
                " l1_ratios set to floats between 0 and 1 instead of"
                " penalty='elasticnet', and Cs=(np.inf,) instead of penalty=None.",
                FutureWarning,
                stacklevel=4,
            )
            return self.penalty
        if self.l1_ratios is None:
            warnings.warn(
                "'l1_ratios=None' was deprecated in version 1.8 and will trigger "
                "an error in 1.10. Use an array-like with values in [0, 1] instead.",
                FutureWarning,
                stacklevel=4,
            )
        if l1_ratios is None or np.all(np.asarray(l1_ratios) == 0):
            return "l2"
        return "l1" if np.all(np.asarray(l1_ratios) == 1) else "elasticnet"

    def _Cs_grid(self):
        """``Cs_``: the values of ``C``, checked to be positive."""
        if isinstance(self.Cs, Integral):
            return np.logspace(-4, 4, self.Cs)
        Cs = np.asarray(self.Cs, dtype=np.float64).ravel()
        if Cs.size == 0 or not np.all(Cs > 0):
            raise ValueError(
                f"Cs must be positive numbers (np.inf for no penalty); got {self.Cs!r}."
            )
        return Cs

    def _path_estimator(self, penalty, l1_ratio, class_weight, verbose):
        """The :class:`LogisticRegressionGraph` that fits one regularisation path."""
        params = {name: getattr(self, name) for name in _SHARED_PARAMETERS}
        params.update(class_weight=class_weight, verbose=verbose)
        estimator = LogisticRegressionGraph(
            **params, l1_ratio=_mix(penalty, l1_ratio), warm_start=True
        )
        estimator._validate_params()
        estimator._check_solver_handles_penalty()  # before any fold is fitted
        return estimator

    # -- fit --------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **params):
        """Fit the regularisation paths of the folds, then the final model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 data give a float32 model).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; also passed to the scorer on the
            held-out folds (unless metadata routing is enabled).
        **params : dict
            With metadata routing enabled, metadata for the splitter
            (e.g. ``groups``) and the scorer.

        Returns
        -------
        self : LogisticRegressionGraphCV
            The fitted estimator.
        """
        _raise_for_params(params, self, "fit")
        if is_dask_collection(X) or is_dask_collection(y):
            raise TypeError(
                f"{type(self).__name__} cannot fit Dask collections; fit "
                "LogisticRegressionGraph on them, or pass in-memory arrays."
            )
        penalty, l1_grid, l1_ratios, scoring, legacy = self._settings()
        Cs = self._Cs_grid()
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=(np.float64, np.float32)
        )
        _check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y contains 1 class ({self.classes_[0]!r}); a classifier needs "
                "samples of at least 2 classes."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        class_weight = _fold_class_weight(
            self.class_weight, self.classes_, y, sample_weight
        )
        routed = self._routed_params(sample_weight, params)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y, **routed[0]))
        estimators = [
            self._path_estimator(penalty, r, class_weight, self.verbose)
            for r in l1_grid
        ]
        scorer = _fold_scorer(scoring, self.classes_)
        tasks = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fold_path)(
                copy.deepcopy(estimator),
                X,
                y,
                sample_weight,
                train,
                test,
                Cs=Cs,
                classes=self.classes_,
                scorer=scorer,
                score_params=_check_method_params(X, params=routed[1], indices=test),
            )
            for train, test in folds
            for estimator in estimators
        )
        self._store_paths(tasks, Cs, l1_grid, len(folds))
        self._choose(X, y, sample_weight, penalty, l1_grid, tasks[0][3])
        _lay_out(self, l1_ratios is None, legacy, penalty)
        return self

    def _routed_params(self, sample_weight, params):
        """``(splitter's split params, scorer's score params)`` of ``fit``."""
        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight, **params)
            return routed.splitter.split, routed.scorer.score
        score_params = dict(params)
        if sample_weight is not None:
            score_params["sample_weight"] = sample_weight
        return {}, score_params

    def _store_paths(self, tasks, Cs, l1_grid, n_folds):
        """The paths in the new layout, ``(n_folds, n_l1_ratios, n_cs, ...)``."""
        shape = (n_folds, len(l1_grid), len(Cs))
        coefs, scores, n_iter, _ = zip(*tasks, strict=True)
        self.Cs_ = Cs
        self.l1_ratios_ = np.asarray(l1_grid)
        self.coefs_paths_ = np.reshape(coefs, shape + coefs[0].shape[1:])
        self.scores_ = np.reshape(scores, shape)
        self.n_iter_ = np.reshape(n_iter, shape)

    def _choose(self, X, y, sample_weight, penalty, l1_grid, estimator):
        """The final model: refitted at the best ``(C, l1_ratio)``, or averaged.

        Ties go to the first ``C``, then the first ``l1_ratio``, as
        scikit-learn's ``argmax`` over its ``(n_cs, n_l1_ratios)`` layout.
        """
        by_C = np.swapaxes(self.scores_, 1, 2)  # (n_folds, n_cs, n_l1_ratios)
        n_folds, n_cs, n_l1 = by_C.shape
        if self.refit:
            best = np.unravel_index(np.argmax(by_C.sum(axis=0)), (n_cs, n_l1))
            best = np.tile(best, (n_folds, 1))
        else:
            best = np.argmax(by_C.reshape(n_folds, -1), axis=1)
            best = np.column_stack(np.unravel_index(best, (n_cs, n_l1)))
        folds = np.arange(n_folds)
        coef = self.coefs_paths_[folds, best[:, 1], best[:, 0]].mean(axis=0)
        self.C_ = self.Cs_[best[0, 0]] if self.refit else self.Cs_[best[:, 0]].mean()
        if self.refit:
            self.l1_ratio_ = l1_grid[best[0, 1]]
        elif penalty == "elasticnet":
            self.l1_ratio_ = self.l1_ratios_[best[:, 1]].mean()
        else:
            self.l1_ratio_ = 0.0
        model = copy.deepcopy(estimator)  # a fitted network of the right shape
        _set_coefficients(model, coef)
        model.set_params(
            C=self.C_,
            l1_ratio=_mix(penalty, self.l1_ratio_),
            verbose=max(0, self.verbose - 1),
        )
        if self.refit:  # warm-started from the folds' average, as scikit-learn
            model._fit(X, y, sample_weight, classes=self.classes_)
        self._model = model

    # -- the final model ------------------------------------------------------------
    def _final_model(self):
        check_is_fitted(self)
        return self._model

    @property
    def coef_(self):
        return self._final_model().coef_

    @property
    def intercept_(self):
        return self._final_model().intercept_

    @property
    def graph_(self):
        return self._final_model().graph_

    def _delegate(self, method, X):
        model = self._final_model()
        if not is_dask_collection(X):
            X = validate_data(
                self,
                X,
                accept_sparse=("csr", "csc"),
                dtype=(np.float64, np.float32),
                reset=False,
            )
        return getattr(model, method)(X)

    def decision_function(self, X):
        """The logits of the final model (see :class:`LogisticRegressionGraph`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        return self._delegate("decision_function", X)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._delegate("predict", X)

    def predict_proba(self, X):
        """Probability estimates; column ``k`` is that of ``classes_[k]``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._delegate("predict_proba", X)

    def predict_log_proba(self, X):
        """Log of the probability estimates, computed from the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return self._delegate("predict_log_proba", X)

    @_deprecate_positional_args(version="1.11")
    def score(self, X, y, *, sample_weight=None, **score_params):
        """The ``scoring`` score of the final model on ``(X, y)`` (accuracy by default).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples (keyword only, as in scikit-learn 1.9).
        **score_params : dict
            With metadata routing enabled, parameters of the scorer.

        Returns
        -------
        score : float
        """
        _raise_for_params(score_params, self, "score")
        if sample_weight is not None:
            score_params["sample_weight"] = sample_weight
        if _routing_enabled():
            score_params = process_routing(self, "score", **score_params).scorer.score
        else:
            sample_weight = score_params.get("sample_weight")
            score_params = (
                {} if sample_weight is None else {"sample_weight": sample_weight}
            )
        return self._get_scorer()(self, X, y, **score_params)

    def _get_scorer(self):
        scoring = None if self.scoring == "warn" else self.scoring
        return get_scorer(scoring or "accuracy")

    def get_metadata_routing(self):
        """Get the metadata routing of this object (the splitter and the scorer).

        Returns
        -------
        routing : MetadataRouter
            ``fit`` routes to the splitter's ``split`` and the scorer's
            ``score``; ``score`` to the scorer's ``score``.
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                splitter=self.cv,
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
            .add(
                scorer=self._get_scorer(),
                method_mapping=MethodMapping()
                .add(caller="score", callee="score")
                .add(caller="fit", callee="score"),
            )
        )


def _l1_grid(penalty, l1_ratios, penalty_given):
    """The ``l1_ratios_`` grid, checked as scikit-learn checks it."""
    if penalty == "elasticnet":
        if (
            l1_ratios is None
            or len(l1_ratios) == 0
            or any(
                not isinstance(r, numbers.Number) or not 0 <= r <= 1 for r in l1_ratios
            )
        ):
            raise ValueError(
                "l1_ratios must be an array-like of numbers between 0 and 1; "
                f"got (l1_ratios={l1_ratios!r})"
            )
        return list(l1_ratios)
    if l1_ratios is not None and penalty_given:
        warnings.warn(
            "l1_ratios parameter is only used when penalty is 'elasticnet'. "
            f"Got (penalty={penalty})",
            UserWarning,
            stacklevel=4,
        )
    if l1_ratios is None:
        return [None]
    if len(l1_ratios) == 0:
        raise ValueError("l1_ratios must hold at least one value; got none.")
    return list(l1_ratios)


def _fold_class_weight(class_weight, classes, y, sample_weight):
    """``class_weight`` for every fold: ``"balanced"`` from all the data."""
    if isinstance(class_weight, dict):
        if not set(class_weight) <= set(classes):
            raise ValueError(
                "The given class_weight dict must have the class labels as "
                f"keys; classes={classes} but key={class_weight.keys()}"
            )
    elif class_weight == "balanced":
        balanced = compute_class_weight(
            "balanced", classes=classes, y=y, sample_weight=sample_weight
        )
        class_weight = dict(zip(classes, balanced, strict=True))
    return class_weight


def _lay_out(estimator, no_l1_axis, legacy, penalty):
    """The fitted attributes in scikit-learn 1.9's legacy or new layout."""
    C, l1_ratio = estimator.C_, estimator.l1_ratio_
    if not legacy:
        estimator.C_ = float(C)
        if no_l1_axis:
            estimator.l1_ratio_ = 1.0 if penalty == "l1" else 0.0
        else:
            estimator.l1_ratio_ = float(l1_ratio)
        return
    binary = len(estimator.classes_) == 2
    keys = estimator.classes_[1:] if binary else estimator.classes_
    # (n_folds, n_l1, n_cs, K, n_dof) -> per class (n_folds, n_cs, n_l1, n_dof)
    paths = np.moveaxis(estimator.coefs_paths_, (3, 1), (0, 3))
    scores = np.swapaxes(estimator.scores_, 1, 2)
    n_iter = np.swapaxes(estimator.n_iter_, 1, 2)[None]
    if no_l1_axis:
        paths, scores, n_iter = paths[..., 0, :], scores[..., 0], n_iter[..., 0]
    estimator.coefs_paths_ = dict(zip(keys, paths, strict=True))
    estimator.scores_ = {key: scores.copy() for key in keys}
    estimator.n_iter_ = n_iter
    estimator.C_ = np.full(len(keys), C)
    estimator.l1_ratio_ = np.asarray([l1_ratio] * len(keys))


def _mix(penalty, l1_ratio):
    """The ``l1_ratio`` of the fits: ``"l1"``/``"l2"`` fix it, as in scikit-learn."""
    if penalty != "elasticnet":
        return 1.0 if penalty == "l1" else 0.0
    return float(l1_ratio)


def _warned_default(value, default, message):
    """``default`` with a ``FutureWarning`` where ``value`` is the "warn" marker."""
    if isinstance(value, str) and value == "warn":
        warnings.warn(message, FutureWarning, stacklevel=4)
        return default
    return value


def _fold_scorer(scoring, classes):
    """The scorer of the held-out folds, told every class.

    A held-out fold may miss a class; a metric with a ``labels`` argument
    (e.g. ``neg_log_loss``) gets all of ``classes`` (and the positive class,
    ``classes[-1]``, for two), as scikit-learn's ``LogisticRegressionCV``.
    """
    scorer = get_scorer(scoring or "accuracy")
    score_func = getattr(scorer, "_score_func", None)
    if score_func is None:
        return scorer
    signature = inspect.signature(score_func).parameters
    if "labels" not in signature:
        return scorer
    pos_label = {}
    if len(classes) <= 2 and "pos_label" in signature:
        pos_label["pos_label"] = classes[-1]
    return make_scorer(
        score_func,
        greater_is_better=scorer._sign == 1,
        response_method=scorer._response_method,
        labels=classes,
        **pos_label,
        **getattr(scorer, "_kwargs", {}),
    )


def _coefficients(model):
    """``coef_`` with ``intercept_`` as a last column, when the model has one."""
    if model.fit_intercept:
        return np.hstack([model.coef_, model.intercept_[:, None]])
    return model.coef_.copy()


def _set_coefficients(model, coefficients):
    """Write ``coefficients`` (intercept last, if any) into ``model``'s graph."""
    n_features = model.coef_.shape[1]
    model.coef_ = coefficients[:, :n_features]
    if model.fit_intercept:
        model.intercept_ = coefficients[:, n_features]


def _fold_path(
    estimator, X, y, sample_weight, train, test, *, Cs, classes, scorer, score_params
):
    """One fold's regularisation path: ``(coefs, scores, n_iter, estimator)``.

    ``estimator`` (with ``warm_start=True``) is fitted at each ``C`` in turn,
    on the training part, each fit starting from the last one's
    coefficients, and scored on the held-out part. ``classes`` are all the
    classes, so a fold that misses one still has its coefficients.
    """
    X_train, y_train = X[train], y[train]
    train_weight = None if sample_weight is None else sample_weight[train]
    X_test, y_test = X[test], y[test]
    coefs, scores, n_iter = [], [], []
    for C in Cs:
        estimator.set_params(C=C)
        estimator._fit(X_train, y_train, train_weight, classes=classes)
        coefs.append(_coefficients(estimator))
        scores.append(scorer(estimator, X_test, y_test, **score_params))
        n_iter.append(estimator.n_iter_[0])
    return np.stack(coefs), np.asarray(scores), np.asarray(n_iter), estimator
