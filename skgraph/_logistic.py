"""LogisticRegressionGraph: scikit-learn's logistic regression as a graph.

The model is the graph that :func:`~skgraph.networks.linear_graph` builds,

    logits = X @ W + b
    objective = 1/S * sum_i s_i * loss(logits_i, y_i)
                + (1 - rho)/(2 * C * S) * ||W||_F^2 + rho/(C * S) * ||W||_1

with ``s_i = sample_weight_i * class_weight[y_i]``, ``S = sum_i s_i`` and
``rho = l1_ratio``: scikit-learn 1.9's objective, so the same ``C`` and
``l1_ratio`` give the same optimum. The loss is the sigmoid cross-entropy on
one logit column for two classes, the softmax cross-entropy for more.
Backpropagation through that graph gives the gradient of the smooth part;
gradient descent, L-BFGS or conjugate gradients minimise it, and the L1 term
(a node of the graph too) is handled by the solvers exactly (see
:mod:`skgraph._optimize`).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.extmath import row_norms
from sklearn.utils.validation import check_is_fitted

from skgraph._base import _BaseGraphClassifier
from skgraph._dask import is_dask_collection
from skgraph._inference import LogisticSummary, coef_covariance
from skgraph._newton import LinearModelHessian
from skgraph._optimize import NONSMOOTH_SOLVERS, SOLVERS, check_in_memory_solver
from skgraph._solvers import FullBatchSolver
from skgraph.networks import linear_graph

__all__ = ["LogisticRegressionGraph"]

#: Logits per block of rows when float32 data are fitted (see ``_solve``):
#: 512 KB in float64, against the logits' n_samples * n_outputs.
_BLOCK_ELEMENTS = 1 << 16
#: A dense X larger than this (more than a last-level cache holds) is
#: evaluated in row blocks of about ``_STREAM_BLOCK_BYTES`` (see
#: ``_streamed_block_rows``).
_STREAM_BYTES = 32 * 2**20
_STREAM_BLOCK_BYTES = 4 * 2**20


class LogisticRegressionGraph(_BaseGraphClassifier):
    """Logistic regression (L2, L1 or elastic net) whose model is a computation graph.

    A drop-in for :class:`sklearn.linear_model.LogisticRegression`: same
    parameters (less ``dual``, ``intercept_scaling`` and ``n_jobs``),
    objective, optimum and fitted attributes. The model inside is ``graph_``,
    a graph of input, parameter and compute nodes; its gradient comes from
    backpropagation.

    For ``K = 2`` classes the graph has one logit column and a sigmoid
    cross-entropy loss (``classes_[1]`` is the positive class); for more, one
    column per class and a softmax cross-entropy (multinomial) loss. The
    objective minimised is exactly scikit-learn's::

        1/S * sum_i s_i * loss_i + (1 - rho)/(2 * C * S) * ||W||_F^2
                                 + rho/(C * S) * ||W||_1

    where ``s_i`` is the sample weight times the class weight of sample ``i``,
    ``S = sum_i s_i``, ``rho = l1_ratio`` and ``W`` excludes the intercept
    (``||W||_1`` sums ``|w|`` over all its entries). With ``rho > 0`` the
    graph has an ``l1_penalty`` node and ``coef_`` has exact zeros.

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet"} or None, default="deprecated"
        Deprecated, as in scikit-learn 1.9 (a ``FutureWarning``): leave it
        and use ``l1_ratio`` and ``C``. Mapped as scikit-learn maps it:
        ``"l2"`` is ``l1_ratio=0``, ``"l1"`` is ``l1_ratio=1``,
        ``"elasticnet"`` keeps ``l1_ratio``, ``None`` is ``C=np.inf``.
    C : float, default=1.0
        Inverse of the regularisation strength; ``np.inf`` means no penalty.
    l1_ratio : float in [0, 1], default=0.0
        The elastic-net mix ``rho``: 0 is the L2 penalty, 1 the L1 penalty
        (sparse ``coef_``). ``None`` is deprecated (as in scikit-learn) and
        means 0. Only ``"lbfgs"`` and ``"gd"`` handle ``l1_ratio > 0``.
    fit_intercept : bool, default=True
        Whether the model has an intercept (the affine node's bias, never
        penalised).
    solver : {"lbfgs", "cg", "gd", "newton-cg", "newton-cholesky"}, \
            default="lbfgs"
        ``"lbfgs"``: scipy's L-BFGS-B with scikit-learn's options
        (``gtol=tol``, ``ftol=64 * eps``, ``maxls=50``); with
        ``l1_ratio > 0`` or ``positive=True`` it solves the exact problem
        with ``W = U - V``, ``U, V >= 0`` under L-BFGS-B's bounds, restarted
        until the problem's own optimality test holds. ``"cg"``: scipy's
        nonlinear conjugate gradients (``gtol=tol``; L2 only, no
        ``positive``). ``"gd"``: full-batch gradient descent, as in the
        lecture: ``theta -= step * gradient`` until the gradient norm is at
        most ``tol`` or ``max_iter`` steps; with ``l1_ratio > 0`` or
        ``positive=True``, accelerated proximal gradient (soft-thresholding)
        steps. ``"newton-cg"``: scipy's truncated Newton (Newton-CG) with the
        Hessian-vector products of the graph (one extra forward-and-backward
        sweep each, see :func:`skgraph.check_hessian_vector_products`),
        stopped as scikit-learn's ``newton-cg`` (L2 only, no ``positive``,
        in-memory data).
        ``"newton-cholesky"``: Newton steps with the full Hessian
        (``X1.T @ D @ X1`` from the graph's logits) and a Cholesky solve,
        exactly as scikit-learn 1.9's solver of that name (its line search,
        stopping rule and fallback to lbfgs, its multinomial handling); for
        ``n_samples >> n_features`` and a tight ``tol``; L2 only, no
        ``positive``, no Dask arrays.
    max_iter : int, default=100
        Most iterations of the solver.
    tol : float, default=1e-4
        Stop when the largest gradient component (``"lbfgs"``, ``"cg"``,
        ``"newton-cg"``, ``"newton-cholesky"``, which also asks half the
        squared Newton decrement to be at most ``tol``) or the
        gradient's Euclidean norm (``"gd"``) is at most ``tol``. With an L1
        term or ``positive=True`` the gradient is replaced by the gradient
        mapping ``theta - prox(theta - gradient)`` (L-BFGS-B's projected
        gradient), which is the gradient where neither applies.
    learning_rate : "auto" or float, default="auto"
        The step of ``solver="gd"`` (ignored by the other solvers). A float is
        a fixed step. ``"auto"`` starts from ``1 / L``, with ``L`` an upper
        bound of the gradient's Lipschitz constant computed from the weighted
        data (a step that is sure to decrease the loss), then tries twice the
        last accepted step at each iteration and halves it until the loss
        decreases enough (Armijo backtracking): the loss decreases at every
        iteration.
    class_weight : dict or "balanced", default=None
        Weights of the classes, ``{label: weight}``; multiplied with
        ``sample_weight``. ``"balanced"`` uses ``S_all / (n_classes * S_k)``
        from the sample-weighted class totals ``S_k``, as scikit-learn 1.9.
    warm_start : bool, default=False
        Start from the current ``coef_`` and ``intercept_`` (those of the last
        fit, or values assigned to them since) instead of zeros: a
        regularisation path is a loop over ``C`` with ``warm_start=True``.
    positive : bool, default=False
        Constrain every coefficient (not the intercept) to be ``>= 0``, as
        ``positive`` in :class:`sklearn.linear_model.Lasso` (for scores that
        must grow with each feature): bounds for ``"lbfgs"``, projection for
        ``"gd"``; ``"cg"`` cannot.
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility; the solvers are deterministic.
    verbose : int, default=0
        Print the loss and the gradient norm after every iteration.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights, ``W.T``: a view into ``graph_``'s parameters, so assigning
        to it (or to its elements) changes the model.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercept (the bias ``b``, also a view into ``graph_``); zeros when
        ``fit_intercept=False``.
    n_iter_ : ndarray of shape (1,)
        Iterations the solver ran.
    loss_curve_ : list of float
        The objective (with its L1 term) after each iteration.
    graph_ : Graph
        The computation graph the model was trained as; ``graph_.to_dot()``
        draws it.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when ``X`` had string column
        names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The estimator this one mirrors.
    MLPClassifierGraph : A multilayer perceptron built the same way.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgraph import LogisticRegressionGraph
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), LogisticRegressionGraph()).fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> clf.predict_proba(X[:2]).round(3)
    array([[0.985, 0.015, 0.   ],
           [0.944, 0.056, 0.   ]])
    >>> round(clf.score(X, y), 3)
    0.973
    >>> clf[-1].coef_.shape, clf[-1].n_iter_
    ((3, 4), array([17], dtype=int32))
    >>> clf[-1].graph_
    <Graph: 4 input, 2 parameter, 4 compute; 15 parameter values>
    """

    _parameter_constraints: dict = {
        "penalty": [
            StrOptions({"l1", "l2", "elasticnet"}),
            None,
            Hidden(StrOptions({"deprecated"})),
        ],
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions(set(SOLVERS))],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        penalty="deprecated",
        *,
        C=1.0,
        l1_ratio=0.0,
        fit_intercept=True,
        solver="lbfgs",
        max_iter=100,
        tol=1e-4,
        learning_rate="auto",
        class_weight=None,
        warm_start=False,
        positive=False,
        random_state=None,
        verbose=0,
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.verbose = verbose

    def _effective_penalty(self):
        """``(C, l1_ratio)`` that the objective uses, as scikit-learn 1.9 maps them.

        ``penalty`` (deprecated) overrides ``l1_ratio``: ``"l2"`` is 0, ``"l1"``
        is 1, ``"elasticnet"`` keeps ``l1_ratio``, ``None`` means ``C = inf``;
        ``l1_ratio=None`` (deprecated too) is 0. ``C = inf`` is no penalty at
        all, whatever ``l1_ratio``.
        """
        C, l1_ratio = self.C, self.l1_ratio
        if self.penalty is None:
            return np.inf, 0.0
        if self.penalty == "l1":
            l1_ratio = 1.0
        elif self.penalty == "l2" or l1_ratio is None:
            l1_ratio = 0.0
        if np.inf == C:
            return np.inf, 0.0
        return float(C), float(l1_ratio)

    def _l2_alpha(self):
        C, l1_ratio = self._effective_penalty()
        return (1.0 - l1_ratio) / C  # 0 for C = inf: no penalty

    def _l1_alpha(self):
        C, l1_ratio = self._effective_penalty()
        return l1_ratio / C

    def _check_penalty(self):
        """scikit-learn 1.9's warnings and errors about ``penalty``/``l1_ratio``.

        The same categories and texts, in the same order, as
        :class:`sklearn.linear_model.LogisticRegression`'s ``fit``; then the
        solvers that cannot handle the penalty or ``positive`` are refused.
        """
        penalty = self._deprecated_penalty()
        self._warn_about_penalty(penalty)
        self._check_solver_handles_penalty()

    def _deprecated_penalty(self):
        """The penalty ``penalty`` or ``l1_ratio`` names, warning as scikit-learn."""
        if self.penalty == "deprecated":
            if self.l1_ratio is None:
                warnings.warn(
                    "'l1_ratio=None' was deprecated in version 1.8 and will "
                    "trigger an error in 1.10. Use 0<=l1_ratio<=1 instead.",
                    FutureWarning,
                    stacklevel=3,
                )
            if self.l1_ratio == 0 or self.l1_ratio is None:
                penalty = "l2"
            elif self.l1_ratio == 1:
                penalty = "l1"
            else:
                penalty = "elasticnet"
            if np.inf == self.C:
                penalty = None
        else:
            penalty = self.penalty
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in"
                " 1.10. To avoid this warning, leave 'penalty' set to its default"
                " value and use 'l1_ratio' or 'C' instead."
                " Use l1_ratio=0 instead of penalty='l2',"
                " l1_ratio=1 instead of penalty='l1',"
                " l1_ratio set to a float between 0 and 1 instead of"
                " penalty='elasticnet', and C=np.inf instead of penalty=None.",
                FutureWarning,
                stacklevel=3,
            )
        return penalty

    def _warn_about_penalty(self, penalty):
        """scikit-learn's warnings (and error) about ``l1_ratio`` and ``C``."""
        if penalty != "elasticnet" and (
            self.l1_ratio is not None and 0 < self.l1_ratio < 1
        ):
            warnings.warn(
                "l1_ratio parameter is only used when penalty is "
                f"'elasticnet'. Got (penalty={penalty})",
                UserWarning,
                stacklevel=3,
            )
        if (self.penalty == "l2" and self.l1_ratio != 0) or (
            self.penalty == "l1" and self.l1_ratio != 1
        ):
            warnings.warn(
                f"Inconsistent values: penalty={self.penalty} with "
                f"l1_ratio={self.l1_ratio}. penalty is deprecated. Please use "
                "l1_ratio only.",
                UserWarning,
                stacklevel=3,
            )
        if penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        if self.penalty is None and self.C != 1.0:
            warnings.warn(
                "Setting penalty=None will ignore the C and l1_ratio parameters",
                UserWarning,
                stacklevel=3,
            )

    def _check_solver_handles_penalty(self):
        """Refuse a solver that cannot minimise the L1 term or keep signs."""
        if self.solver not in NONSMOOTH_SOLVERS:
            if self._l1_alpha() > 0:
                raise ValueError(
                    f"solver={self.solver!r} cannot minimise an L1 penalty "
                    f"(l1_ratio={self._effective_penalty()[1]!r} > 0); use "
                    f"solver='lbfgs' or solver='gd', which can."
                )
            if self.positive:
                raise ValueError(
                    f"solver={self.solver!r} cannot keep the coefficients "
                    "non-negative (positive=True); use solver='lbfgs' or "
                    "solver='gd', which can."
                )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to the training data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Float32 data is never copied to float64: its
            products with the weights are float32, the loss and the gradient
            float64 (as scikit-learn's solve), and the model float32:
            ``coef_``, ``intercept_``, ``graph_`` and the predictions stay
            float32.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples (all one by default).

        Returns
        -------
        self : LogisticRegressionGraph
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    # -- the hooks of the fit pipeline ---------------------------------------------
    # A warm start only starts a new fit from the fitted coefficients.
    _warm_start_continues = False

    def _check_fit_parameters(self, incremental, distributed):
        self._check_penalty()
        check_in_memory_solver(self.solver, distributed)

    def _network_dtype(self, dtype):
        """Float64, whatever the data (the model is then stored in their dtype).

        Float32 data is fitted with float64 parameters, loss and gradient
        (scikit-learn's ``lbfgs`` solves in float64 too), never with a float64
        copy of ``X`` (see ``_solve``). A solve all in float32 would not do:
        float32 sums resolve the objective to about 1e-8 of itself, coarser
        than the change that line searches need to see near the optimum, and
        stop some 1e-4 to 1e-3 (relative) away from scikit-learn's optimum.
        """
        return np.float64

    def _build_network(self, n_features, n_outputs, dtype):
        return linear_graph(
            n_features,
            n_outputs,
            fit_intercept=self.fit_intercept,
            output=self._output_link(),
            dtype=dtype,
            l1=self._l1_alpha() > 0,
        )

    def _warm_start_mismatch(self, previous, network):
        coef = previous.weights[0].shape[::-1]
        return (
            f"warm_start=True: coef_ has shape {coef}, but this data needs "
            f"{network.weights[0].shape[::-1]} (n_classes or 1, n_features). "
            "Fit with warm_start=False."
        )

    def _solve(self, network, data, callback, *, continues, incremental, random_state):
        # Float32 data: L-BFGS solves in float32 first (float32 products and
        # buffers, half the memory traffic), polished on the float64
        # objective (see _network_dtype), which decides convergence. Both go
        # over blocks of rows: no buffer of the logits' size, let alone X's,
        # is float64. (Float32 steps of "cg" and "gd", which stop or crawl
        # where float32 cannot resolve the loss, would cost more than they
        # save: those solve on the float64 objective only.) A dense X larger
        # than the caches also goes over blocks of rows, of a few MB.
        narrow = not data.distributed and data.X.dtype != network.graph.dtype
        W = network.weights[0]
        block_size = max(1, _BLOCK_ELEMENTS // W.shape[1]) if narrow else None
        streamed = _streamed_block_rows(data.X)
        if streamed is not None and self.solver != "newton-cholesky":
            block_size = min(streamed, block_size or streamed)
        objective = self._full_batch_objective(network, data, block_size)
        step_data = (data.X, objective.sample_weight, objective.l2_strength)
        solver = self._full_batch_solver(network, data, step_data)
        if not narrow or self.solver != "lbfgs":
            return solver.solve(objective, network.graph.theta, callback)
        coarse = self._full_batch_objective(
            self._build_network(W.shape[0], W.shape[1], data.X.dtype), data, block_size
        )
        return solver.solve_polished(coarse, objective, network.graph.theta, callback)

    def _full_batch_solver(self, network, data, step_data):
        W = network.weights[0]
        return FullBatchSolver(
            self.solver,
            advice="For example with sklearn.preprocessing.StandardScaler."
            + (" Or try solver='lbfgs'." if self.solver != "lbfgs" else ""),
            stop_on_divergence=self._fixed_step,
            finite_loss=True,
            tol=self.tol,
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            initial_step=self._initial_step(network, *step_data),
            verbose=self.verbose,
            l1_strength=self._l1_alpha() / data.total,
            penalized=slice(W.offset, W.offset + W.size),
            nonnegative=self.positive,
            **_hessian_option(self.solver, network, *step_data),
        )

    def _store_fit(self, network, data, result):
        network.graph.set_flat(result.theta)
        if network.graph.dtype != data.model_dtype:
            network = self._recast(network, data.model_dtype)
        self._network = network
        self.__dict__.pop("_sparse_coef", None)  # a new coef_, dense
        self.graph_ = network.graph
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.loss_curve_ = result.loss_curve

    @property
    def _fixed_step(self):
        return self.solver == "gd" and self.learning_rate != "auto"

    def _initial_step(self, network, X, w, l2_strength):
        """``1 / L`` for the first step of ``solver="gd"``, learning_rate="auto".

        ``L`` bounds the Lipschitz constant of the objective's gradient: the
        loss's curvature in the logits (at most 1/4 for the sigmoid, 1/2 for
        the softmax) times the largest eigenvalue of ``X1.T @ diag(w) @ X1``
        (``X1`` = X with a column of ones when there is an intercept, ``w`` =
        ``s / S``), bounded by its trace ``sum_i w_i ||x1_i||^2``, plus the
        penalty strength. One pass over X (dense, or CSR: CSC is converted).
        """
        if self.solver != "gd" or self._fixed_step:
            return 1.0
        # |w|: negative sample weights make some terms concave; the bound
        # takes every term's curvature at its largest.
        if is_dask_collection(X):  # the same sum, on the cluster
            mean = (abs(w) * (X**2).sum(axis=1)).sum().compute()
        else:
            squared_norms = row_norms(X, squared=True)
            mean = squared_norms.mean() if w is None else abs(w) @ squared_norms
        trace = float(mean) + float(self.fit_intercept)
        curvature = 0.25 if network.output == "logistic" else 0.5
        lipschitz = curvature * trace + l2_strength
        return 1.0 / lipschitz if lipschitz > 0 else 1.0

    # -- inference: standard errors from the graph's Hessian ----------------------
    def coef_covariance(self, X, y, sample_weight=None):
        """Covariance of the fitted coefficients, from the Hessian on ``(X, y)``.

        The inverse of the observed information: the Hessian of the
        weighted negative log-likelihood, plus the L2 term ``1/C * ||W||^2 / 2``
        (its Hessian ``1/C`` on the weights), at the fitted coefficients,
        with ``X1 = [1, X]`` and ``s_i`` the sample weight times the class
        weight::

            cov = (X1.T @ diag(s_i p_i (1 - p_i)) @ X1 + 1/C * I_W)^-1

        For ``C=np.inf`` this is the maximum-likelihood covariance that
        statsmodels' ``Logit(y, add_constant(X))`` reports, and with
        ``sample_weight`` that of ``GLM(y, add_constant(X),
        family=Binomial(), freq_weights=sample_weight)``: weights count
        repeated observations. For a finite ``C`` it is the inverse of the
        penalised Hessian: the curvature of the objective ``fit`` minimises
        (the covariance of the Laplace approximation, i.e. of the Gaussian
        posterior under the prior ``W ~ N(0, C I)``), which statsmodels'
        ``fit_regularized`` does not give; the intercept is not penalised.
        For more than two classes (``C=np.inf`` only) the parameters are
        statsmodels' ``MNLogit``'s: the coefficients of classes ``1..K-1``
        minus those of class 0 (``coef_[1:] - coef_[0]``, intercept first),
        whose information is the Hessian restricted to them.

        The coefficients must be those of a converged fit: refit with a
        small ``tol`` (``solver="newton-cholesky"`` gets there in a few
        iterations) before comparing with statsmodels to many digits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training data (or any data: the information on them).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        covariance : ndarray of shape (n_params, n_params)
            In statsmodels' order: ``const`` (when ``fit_intercept``), then
            the features; class by class for more than two classes
            (``n_params = (K - 1) * (n_features + 1)``).

        Raises
        ------
        ValueError
            For ``l1_ratio > 0`` or ``positive=True`` (no smooth optimum to
            expand around), and for more than two classes with a finite
            ``C``.

        Warns
        -----
        InferenceWarning
            A ``UserWarning`` when the data are separable with ``C=np.inf``
            (the model classifies every sample correctly: the
            maximum-likelihood estimate does not exist), or when the
            information's condition number exceeds ``1e10``.
        """
        return coef_covariance(self, X, y, sample_weight)[1]

    def summary(self, X, y, sample_weight=None, alpha=0.05):
        """Coefficients with standard errors, z, p-values and intervals.

        The table statsmodels' ``Logit(...).fit().summary()`` prints, from the
        covariance of :meth:`coef_covariance` (see there for what it means
        with a finite ``C``, with sample weights and for more than two
        classes): ``z = coef / stderr``, two-sided p-values and
        ``1 - alpha`` intervals from the normal distribution.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        alpha : float in (0, 1), default=0.05
            The intervals cover ``1 - alpha``.

        Returns
        -------
        LogisticSummary
            Arrays ``coef``, ``stderr``, ``z``, ``p_value``, ``conf_int``
            (intercept first, statsmodels' order); ``str()`` is a text
            table, ``to_frame()`` a pandas DataFrame.

        Warns
        -----
        InferenceWarning
            As :meth:`coef_covariance`.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from skgraph import LogisticRegressionGraph
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = X[:, :3]
        >>> clf = LogisticRegressionGraph(C=np.inf, solver="newton-cholesky",
        ...                               tol=1e-10).fit(X, y)
        >>> table = clf.summary(X, y)
        >>> table.names
        ['const', 'x1', 'x2', 'x3']
        >>> table.stderr.round(3)
        array([1.961, 0.996, 0.045, 0.155])
        """
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
        params, covariance, names = coef_covariance(self, X, y, sample_weight)
        return LogisticSummary(params, covariance, names, self.classes_, alpha)

    # -- the model's parameters, read from (and written into) the graph ---------
    def _fitted_network(self):
        network = self.__dict__.get("_network")
        if network is None:
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet: its "
                "coef_ and intercept_ live in graph_, which fit creates."
            )
        return network

    @property
    def coef_(self):
        sparse = self.__dict__.get("_sparse_coef")
        if sparse is not None:
            return sparse
        return self._fitted_network().weights[0].value.T

    @coef_.setter
    def coef_(self, value):
        W = self._fitted_network().weights[0].value
        sparse = _sparse_interface(value) if sp.issparse(value) else None
        dense = value.toarray() if sparse is not None else np.asarray(value)
        if dense.shape != W.T.shape:
            raise ValueError(f"coef_ must have shape {W.T.shape}, got {dense.shape}.")
        W[...] = dense.T
        self.__dict__["_sparse_coef"] = sparse

    def sparsify(self):
        """Convert ``coef_`` to a sparse CSR matrix, as scikit-learn's models do.

        For models with many zero coefficients (after an L1 fit) a sparse
        ``coef_`` is cheaper to store and to use in code that works on it.
        The graph keeps its dense weights, so the predictions do not change;
        assigning to ``coef_`` (sparse or dense) updates the graph. ``fit``
        and :meth:`densify` make ``coef_`` dense again. The type follows
        scikit-learn's ``sparse_interface`` setting (``csr_matrix`` or
        ``csr_array``).

        Returns
        -------
        self : LogisticRegressionGraph
            The fitted estimator.
        """
        check_is_fitted(self, msg=_NOT_FITTED % "sparsifying")
        self.coef_ = sp.csr_matrix(self._fitted_network().weights[0].value.T)
        return self

    def densify(self):
        """Convert ``coef_`` back to a dense array (a no-op when it is dense).

        Returns
        -------
        self : LogisticRegressionGraph
            The fitted estimator.
        """
        check_is_fitted(self, msg=_NOT_FITTED % "densifying")
        self.__dict__.pop("_sparse_coef", None)
        return self

    @property
    def intercept_(self):
        network = self._fitted_network()
        if network.biases:
            return network.biases[0].value
        return np.zeros(network.weights[0].shape[1], dtype=network.graph.dtype)

    @intercept_.setter
    def intercept_(self, value):
        network = self._fitted_network()
        value = np.asarray(value)
        shape = (network.weights[0].shape[1],)
        if value.shape != shape:
            raise ValueError(f"intercept_ must have shape {shape}, got {value.shape}.")
        if network.biases:
            network.biases[0].value[...] = value
        elif np.any(value != 0):
            raise ValueError(
                "This model was fitted with fit_intercept=False: its graph has no "
                "intercept, so intercept_ can only be zero."
            )


_NOT_FITTED = "Estimator, %%(name)s, must be fitted before %s."


def _streamed_block_rows(X):
    """Rows per block for a dense ``X`` too large for the caches, else ``None``.

    Evaluated whole, the objective reads ``X`` from memory twice per
    evaluation: once for the logits, once for the gradient ``X.T @ r``. In
    blocks of a few MB, the second product finds its block still in the
    cache, so ``X`` comes from memory once. (Newton-Cholesky keeps the
    whole batch of float64 data: it reads the logits of the last
    evaluation.)
    """
    if not isinstance(X, np.ndarray) or X.nbytes <= _STREAM_BYTES:
        return None
    row_bytes = X.shape[1] * X.itemsize
    return max(256, _STREAM_BLOCK_BYTES // row_bytes)


def _hessian_option(solver, network, X, sample_weight, l2_strength):
    """``{"hessian": ...}`` for ``solver="newton-cholesky"``, else ``{}``."""
    if solver != "newton-cholesky":
        return {}
    hessian = LinearModelHessian(network, X, sample_weight, l2_strength)
    return {"hessian": hessian}


def _sparse_interface(matrix):
    """``matrix`` as CSR, of the kind scikit-learn's ``sparse_interface`` asks."""
    if get_config().get("sparse_interface") == "sparray":
        return sp.csr_array(matrix)
    return sp.csr_matrix(matrix)
