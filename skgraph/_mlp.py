"""MLPClassifierGraph: scikit-learn's MLPClassifier, as a computation graph.

:class:`_BaseMLPGraph` is what every multilayer perceptron shares (the
parameters as views, Glorot initialisation, the full-batch and mini-batch
solvers, early stopping); an estimator adds its targets, its output and its
validation score.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from skgraph._base import (
    _BaseGraphClassifier,
    _BaseGraphEstimator,
    fill_docstring,
    parameters_init,
)
from skgraph._objectives import MiniBatchObjective
from skgraph._optimize import check_in_memory_solver
from skgraph._solvers import FullBatchSolver, MiniBatchSolver
from skgraph._stochastic import SGD, Adam, TrainingState
from skgraph.layers import glorot_uniform
from skgraph.networks import mlp_graph

__all__ = ["MLPClassifierGraph"]

_STOCHASTIC = ("sgd", "adam")
# scipy's own L-BFGS-B defaults, which scikit-learn's MLP keeps.
_LBFGS_OPTIONS = {"ftol": 2.2204460492503131e-09, "maxls": 20}
# The float64 polish of a float32 fit (see _fit_full_batch) applies ftol
# only once its L-BFGS memory (scipy's default of 10 pairs) has filled again.
_LBFGS_MEMORY = 10
# "cg" stops on the Euclidean norm of the gradient, as "gd" does.
_CG_OPTIONS = {"norm": 2}
# A network's objective is not convex: a trust region handles the directions
# of negative curvature that a line search along a Newton step cannot.
_NEWTON_OPTIONS = {"method": "trust-region"}
#: The training parameters of every MLP-style estimator and their defaults
#: (scikit-learn's MLP's), in the order of its signature.
MLP_TRAINING_PARAMETERS = {
    "solver": "adam",
    "alpha": 1e-4,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
    "power_t": 0.5,
    "max_iter": 200,
    "shuffle": True,
    "random_state": None,
    "tol": 1e-4,
    "verbose": False,
    "warm_start": False,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "n_iter_no_change": 10,
    "max_fun": 15000,
}
#: Their descriptions, which the MLP estimators' docstrings share (early
#: stopping, which scores each its own way, goes between the two parts).
MLP_TRAINING_PARAMETERS_DOC = {
    "    <training parameters>\n": """\
    alpha : float, default=1e-4
        Strength of the L2 penalty, divided by ``S`` in the objective.

    batch_size : int or "auto", default="auto"
        Mini-batch size of ``"sgd"``/``"adam"``; ``"auto"`` is
        ``min(200, n_samples)``.

    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of ``"sgd"``: constant; ``learning_rate_init / (t + 1) **
        power_t`` with ``t`` the samples seen; or divided by 5 each time the
        stopping test fires.

    learning_rate_init : float, default=1e-3
        Step size of ``"sgd"``, ``"adam"`` and ``"gd"``.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    max_iter : int, default=200
        Most iterations (full batch) or epochs (mini-batch).

    shuffle : bool, default=True
        Whether ``"sgd"``/``"adam"`` shuffle the samples at each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the mini-batch shuffling and the
        early-stopping split; an int makes fits bit-identical.

    tol : float, default=1e-4
        ``"sgd"``/``"adam"`` stop when the loss (or validation score) has
        not improved by ``tol`` for ``n_iter_no_change`` epochs; the
        full-batch solvers stop when the gradient is below ``tol``.

    verbose : bool, default=False
        Print the loss after each iteration or epoch.

    warm_start : bool, default=False
        Continue from the current ``coefs_``/``intercepts_`` (fitted or
        assigned) instead of initialising anew.

    momentum : float, default=0.9
        Momentum of ``"sgd"``.

    nesterovs_momentum : bool, default=True
        Whether ``"sgd"`` uses Nesterov's momentum.

""",
    "    <more fitted attributes>\n": """\
    loss_curve_ : list of float
        ``loss_`` after each iteration or epoch, for every solver.

    best_loss_ : float or None
        The smallest value of ``loss_curve_``; ``None`` with early stopping.

    best_validation_score_ : float or None
        The best of ``validation_scores_`` (early stopping only).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are strings.

""",
    "    <more training parameters>\n": """\
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.

    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates.

    epsilon : float, default=1e-8
        Adam's numerical-stability term.

    n_iter_no_change : int, default=10
        Epochs without improvement before ``"sgd"``/``"adam"`` stop.

    max_fun : int, default=15000
        Most objective evaluations of ``"lbfgs"``.

""",
}
# The full-batch solvers evaluate the objective over blocks of rows whose
# widest layer holds at most this many values (4 MB in float64: the blocks
# of X stay in cache from the forward to the backward product).
_BLOCK_ELEMENTS = 2**19


def _is_stochastic(estimator):
    if estimator.solver not in _STOCHASTIC:
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers. "
            f"{estimator.solver} is not stochastic."
        )
    return True


class _BaseMLPGraph(_BaseGraphEstimator):
    """What the multilayer perceptrons share (not for direct use).

    A subclass defines its parameters (those of scikit-learn's MLP), its
    targets (``_encode_targets``, ``_output_link``) and
    ``_validation_score``; this class builds the network from
    ``hidden_layer_sizes`` and ``activation``, initialises it as
    scikit-learn does and trains it with the full-batch or the mini-batch
    solvers.
    """

    _step_parameter = "learning_rate_init"
    _fit_mutable_state = ("_state", "_optimizer")

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_network")

    # -- the parameters, as views into the graph ----------------------------------
    @property
    def coefs_(self):
        check_is_fitted(self)
        return [W.value for W in self._network.weights]

    @coefs_.setter
    def coefs_(self, coefs):
        self._assign(self._network_for("coefs_").weights, coefs, "coefs_")

    @property
    def intercepts_(self):
        check_is_fitted(self)
        return [b.value for b in self._network.biases]

    @intercepts_.setter
    def intercepts_(self, intercepts):
        self._assign(self._network_for("intercepts_").biases, intercepts, "intercepts_")

    def _network_for(self, name):
        if not hasattr(self, "_network"):
            raise AttributeError(
                f"{name} can only be assigned on a fitted {type(self).__name__}: "
                "fit it first (e.g. with max_iter=1) to build its graph."
            )
        return self._network

    @staticmethod
    def _assign(params, arrays, name):
        arrays = list(arrays)
        shapes = [p.shape for p in params]
        new_shapes = [np.shape(a) for a in arrays]
        if new_shapes != shapes:
            raise ValueError(
                f"{name} must be {len(shapes)} arrays of shapes {shapes}, got "
                f"shapes {new_shapes}."
            )
        for param, array in zip(params, arrays, strict=True):
            param.value = array

    def _l2_alpha(self):
        return self.alpha

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if np.iterable(sizes) else [sizes]
        if not all(isinstance(s, Integral) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {sizes}."
            )
        return [int(s) for s in sizes]

    # -- the hooks of the fit pipeline ---------------------------------------------
    def _check_fit_parameters(self, incremental, distributed):
        check_in_memory_solver(self.solver, distributed)
        if distributed and (incremental or self.solver in _STOCHASTIC):
            raise ValueError(
                f"solver={self.solver!r} cannot fit Dask arrays directly: use a "
                "full-batch solver ('lbfgs', 'cg', 'gd'), or train with "
                "partial_fit over the chunks, e.g. with "
                "dask_ml.wrappers.Incremental."
            )
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")

    def _build_network(self, n_features, n_outputs, dtype):
        return mlp_graph(
            n_features,
            self._hidden_sizes(),
            n_outputs,
            activation=self.activation,
            output=self._output_link(),
            dtype=dtype,
        )

    def _initialize_parameters(self, network, random_state):
        """Glorot uniform, as scikit-learn's MLP (the same draws, in order)."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        glorot_uniform(network.weights, network.biases, random_state, factor=factor)

    def _architecture(self):
        """What defines the hidden network: equal values build equal graphs."""
        return tuple(self._hidden_sizes()), self.activation

    def _continues_network(self, previous):
        # The same layers and activation: partial_fit builds no new graph.
        return self._architecture() == self._fitted_architecture

    def _warm_start_mismatch(self, previous, network):
        hidden, fitted = self._architecture()[0], self._fitted_architecture[0]
        if hidden != fitted:
            return (
                "warm_start and partial_fit continue the fitted network, whose "
                f"hidden_layer_sizes are {fitted}; got {hidden}. "
                "Set warm_start=False to fit a new network."
            )
        return super()._warm_start_mismatch(previous, network)

    def _solve(self, network, data, callback, *, continues, incremental, random_state):
        if not continues:
            self._state = TrainingState()
            self.t_ = 0
            self._optimizer = None
        elif self._architecture() != self._fitted_architecture:  # new moments
            self._optimizer = None
        if self.solver in _STOCHASTIC:
            return self._fit_stochastic(
                network, data, random_state, incremental, callback
            )
        self._fit_full_batch(network, data, callback)
        return None

    def _store_fit(self, network, data, result):
        if network.graph.dtype != data.model_dtype:
            network = self._recast(network, data.model_dtype)
        self._network = network
        self.graph_ = network.graph
        self._fitted_architecture = self._architecture()
        self.n_layers_ = len(network.weights) + 1
        self.n_outputs_ = network.weights[-1].shape[1]
        self.out_activation_ = network.output
        state = self._state
        self.loss_curve_ = state.loss_curve
        self.best_loss_ = state.best_loss
        self.validation_scores_ = state.validation_scores
        self.best_validation_score_ = state.best_validation_score
        if not np.isfinite(self.graph_.theta).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed."
            )

    # -- the solvers ----------------------------------------------------------------
    def _fit_full_batch(self, network, data, callback):
        """Train ``network`` on the whole of ``data`` with a full-batch solver.

        A float32 network (float32 data) is trained to scikit-learn's
        optimum, which it computes in float64: the solver runs on the
        float32 objective first (float32 products, half the memory traffic),
        then polishes on the float64 objective of a float64 copy of the
        network over the same float32 ``X`` (widened a block at a time, see
        :class:`~skgraph._objectives.FullBatchObjective`; never copied
        whole), which decides
        convergence; see :meth:`FullBatchSolver.solve_polished`. On Dask
        data, on the float64 objective only. The result is stored in
        ``network``, in its own dtype.
        """
        solver = self._full_batch_solver()
        fine = network
        if network.graph.dtype != np.float64:
            fine = self._recast(network, np.float64)
        objective = self._blocked_objective(fine, data)
        theta0 = fine.graph.theta.copy()
        if fine is network or data.distributed:
            result = solver.solve(objective, theta0, callback)
        else:
            coarse = self._blocked_objective(network, data)
            warm_up = _LBFGS_MEMORY if self.solver == "lbfgs" else 0
            result = solver.solve_polished(coarse, objective, theta0, callback, warm_up)
        if data.distributed:
            objective.close()
        network.graph.set_flat(result.theta)
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.t_ += result.n_iter * data.X.shape[0]
        state = self._state
        state.loss_curve.extend(result.loss_curve)
        if state.best_loss is None or state.validation_scores is not None:
            state.best_loss = np.inf  # a full-batch fit after early stopping
        state.best_loss = min([state.best_loss, *result.loss_curve])

    def _full_batch_solver(self):
        return FullBatchSolver(
            self.solver,
            step_name=self._step_parameter,
            tol=self.tol,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            learning_rate=self.learning_rate_init,
            options={
                "lbfgs": _LBFGS_OPTIONS,
                "cg": _CG_OPTIONS,
                "newton-cg": _NEWTON_OPTIONS,
            }.get(self.solver),
            verbose=self.verbose,
        )

    def _blocked_objective(self, network, data):
        """The full-batch objective of ``network``, over blocks of rows whose
        widest layer holds at most ``_BLOCK_ELEMENTS`` values."""
        widest = max(W.shape[1] for W in network.weights)
        block_size = max(1, _BLOCK_ELEMENTS // widest)
        return self._full_batch_objective(network, data, block_size)

    def _new_optimizer(self, graph):
        n, dtype = graph.n_parameters, graph.dtype
        if self.solver == "sgd":
            return SGD(
                n,
                dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return Adam(
            n, dtype, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is "
                "going to be clipped",
                stacklevel=5,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _fit_stochastic(self, network, data, random_state, incremental, callback):
        optimizer = getattr(self, "_optimizer", None)
        kind = SGD if self.solver == "sgd" else Adam
        if not incremental or not isinstance(optimizer, kind):
            optimizer = self._optimizer = self._new_optimizer(network.graph)
        order, validation, n_samples = None, None, data.X.shape[0]
        if self.early_stopping:
            order, validation = self._validation_split(network, data, random_state)
            n_samples = len(order)
        batch_size = self._batch_size(n_samples)
        objective = self._minibatch_objective(network, data, batch_size, random_state)
        solver = MiniBatchSolver(
            optimizer,
            batch_size=batch_size,
            max_iter=self.max_iter,
            shuffle=self.shuffle,
            random_state=random_state,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            state=self._state,
            order=order,
            validation=validation,
            incremental=incremental,
            verbose=self.verbose,
        )
        result = solver.solve(objective, network.graph.theta, callback)
        self.n_iter_, self.loss_ = result.n_iter, result.loss
        self.t_ = self._state.n_seen

    def _minibatch_objective(self, network, data, batch_size, random_state):
        """The objective of the mini-batch solvers (a hook for subclasses)."""
        return MiniBatchObjective(
            network,
            data.X,
            data.targets.Y,
            data.loss_weights,
            self._l2_alpha(),
            batch_size,
        )

    def _validate_training_data(self, X, y, sample_weight, *, reset=True):
        """As scikit-learn's MLPs: a column vector ``y`` becomes 1-D, warning."""
        X, y, sample_weight = super()._validate_training_data(
            X, y, sample_weight, reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, sample_weight

    def _stratify(self, targets):
        """The labels a validation split is stratified by (``None``: none)."""
        return None

    def _validation_split(self, network, data, random_state):
        """Training rows, and the validation score on the held-out rows (a callable)."""
        X, targets = data.X, data.targets
        train, val = train_test_split(
            np.arange(X.shape[0]),
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=self._stratify(targets),
        )
        if len(val) < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        X_val, Y_val = X[val], targets.Y[val]
        sample_weight = data.sample_weight
        w_val = None if sample_weight is None else sample_weight[val]
        codes_val = None if targets.codes is None else targets.codes[val]
        program = network.graph.program((network.logits,))

        def score():
            Z = program.forward({network.X: X_val}).values[network.logits.index]
            if not np.isfinite(Z).all():
                return np.nan
            return self._validation_score(Z, Y_val, codes_val, w_val)

        return train, score


@fill_docstring(MLP_TRAINING_PARAMETERS_DOC)
class MLPClassifierGraph(_BaseGraphClassifier, _BaseMLPGraph):
    """Multi-layer perceptron classifier whose model is a computation graph.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, objective and fitted attributes, plus
    ``class_weight`` and the full-batch solvers ``"cg"`` and ``"gd"``. The
    network is a graph of affine, activation and loss nodes (``graph_``);
    gradients come from the engine's backpropagation, so any activation
    works with any output.

    The objective, as scikit-learn 1.9's (``s_i`` = sample weight times class
    weight, ``S`` their sum over the samples a step sees: all of them for
    the full-batch solvers, the mini-batch for ``"sgd"``/``"adam"``)::

        1/S sum_i s_i loss_i + alpha/(2 S) sum_l ||W_l||_F^2

    with ``loss_i`` the binary cross-entropy of a sigmoid output (binary and
    multilabel targets, summed over labels) or the cross-entropy of a
    softmax output (multiclass), both computed from the logits.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        The number of units of each hidden layer.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.

    solver : {"lbfgs", "cg", "gd", "newton-cg", "sgd", "adam"}, default="adam"
        ``"lbfgs"``: scipy's L-BFGS-B (``maxiter=max_iter``,
        ``maxfun=max_fun``, ``gtol=tol``, as scikit-learn). ``"cg"``: scipy's
        nonlinear conjugate gradients (``gtol=tol``). ``"gd"``: full-batch
        gradient descent with step ``learning_rate_init``, until the
        gradient norm is at most ``tol``. ``"newton-cg"``: scipy's truncated
        Newton with a trust region (trust-ncg) on the graph's
        Hessian-vector products, until
        the largest gradient component is at most ``tol`` (in memory; not
        with Dropout). ``"sgd"`` and ``"adam"``: mini-batch stochastic
        gradient descent and Adam.

    <training parameters>
    early_stopping : bool, default=False
        Hold out a ``validation_fraction`` of the training data
        (``"sgd"``/``"adam"``; stratified for binary targets only, the same
        split as scikit-learn's for the same ``random_state``), stop when its
        accuracy has not improved by ``tol`` for ``n_iter_no_change`` epochs,
        and keep the parameters that scored best.

    <more training parameters>
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplying the sample weights (as in
        :class:`~sklearn.linear_model.LogisticRegression`); ``"balanced"``
        uses ``n_samples / (n_classes * bincount(y))`` of the
        sample-weighted counts. Not for multilabel targets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (multilabel: the label indices).

    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix of layer ``i + 1``, shape
        (fan_in, fan_out): a view into ``graph_``. Writing into it, or
        assigning a list of arrays, changes the graph's parameters.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i + 1``, a view
        into ``graph_`` like ``coefs_``.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : {"logistic", "softmax"}
        The output's link function.

    n_iter_ : int
        Iterations (full batch) or epochs (mini-batch) of the last fit.

    t_ : int
        Training samples seen by the solver (each iteration of a full-batch
        solver sees all of them once).

    loss_ : float
        The objective at the end of the last iteration (for
        ``"sgd"``/``"adam"``: the mean batch objective of the last epoch).

    validation_scores_ : list of float or None
        Validation accuracy after each epoch (early stopping only).

    <more fitted attributes>
    graph_ : Graph
        The computation graph the model was trained with; prediction runs
        its forward pass. ``graph_.to_dot()`` draws it.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The estimator this one mirrors.
    LogisticRegressionGraph : The same engine without hidden layers.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> from skgraph import MLPClassifierGraph
    >>> X, y = make_classification(n_samples=200, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, stratify=y, random_state=1
    ... )
    >>> clf = MLPClassifierGraph(random_state=1, max_iter=500).fit(X_train, y_train)
    >>> clf.n_iter_
    440
    >>> clf.predict_proba(X_test[:1]).round(3)
    array([[0.986, 0.014]])
    >>> clf.predict(X_test[:5])
    array([0, 0, 1, 0, 1])
    >>> clf.score(X_test, y_test)
    0.82
    >>> [W.shape for W in clf.coefs_]
    [(20, 100), (100, 1)]
    >>> clf.graph_
    <Graph: ...>
    """

    _supports_multi_output = True

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "cg", "gd", "newton-cg", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    __init__ = parameters_init(
        {"hidden_layer_sizes": (100,), "activation": "relu"},
        {**MLP_TRAINING_PARAMETERS, "class_weight": None},
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Float32 data gives a float32 model: ``"sgd"`` and
            ``"adam"`` train it in float32; the full-batch solvers solve in
            float32, then polish in float64 over the same ``X`` (never
            copied to float64), reaching the optimum of scikit-learn's
            float64 computation.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix (multilabel).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of ``"sgd"``/``"adam"`` over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data; needed on the first call (except
            for multilabel ``y``), may be omitted later.

        Returns
        -------
        self : object
        """
        if (
            classes is not None
            and hasattr(self, "classes_")
            and not np.array_equal(self.classes_, unique_labels(classes))
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to "
                f"partial_fit, was: {self.classes_!r}"
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _check_fit_parameters(self, incremental, distributed):
        super()._check_fit_parameters(incremental, distributed)
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: pass "
                "weights computed on the whole data, e.g. with "
                "sklearn.utils.class_weight.compute_class_weight."
            )

    def _target_dtype(self, dtype):
        return np.bool_  # compact; each step casts its own rows

    def _stratify(self, targets):
        # As scikit-learn: only a single-output target (binary) is stratified,
        # by its encoded column, so the same seed holds out the same rows (and
        # a class too small to split raises scikit-learn's own error).
        return targets.Y if targets.Y.shape[1] == 1 else None

    def _validation_score(self, Z, Y, codes, sample_weight):
        """Accuracy of the logits ``Z`` on held-out rows (multilabel: whole rows)."""
        if codes is None:
            correct = ((Z > 0) == Y).all(axis=1)
        elif Z.shape[1] == 1:
            correct = (Z[:, 0] > 0) == codes
        else:
            correct = Z.argmax(axis=1) == codes
        return float(np.average(correct, weights=sample_weight))
