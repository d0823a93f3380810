"""MLPClassifierGraph: scikit-learn's MLPClassifier, as a computation graph."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from skgraph._base import GraphClassifierMixin, _Targets, restore_on_error
from skgraph._dask import is_dask_collection
from skgraph._optimize import minimize
from skgraph._stochastic import (
    SGD,
    Adam,
    FullBatchObjective,
    MiniBatchObjective,
    TrainingState,
    run_epochs,
)
from skgraph.networks import mlp_graph

__all__ = ["MLPClassifierGraph"]

_STOCHASTIC = ("sgd", "adam")
# scipy's own L-BFGS-B defaults, which scikit-learn's MLP keeps.
_LBFGS_OPTIONS = {"ftol": 2.2204460492503131e-09, "maxls": 20}
# "cg" stops on the Euclidean norm of the gradient, as "gd" does.
_CG_OPTIONS = {"norm": 2}
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


class _BaseMLPGraph:
    """The multilayer perceptrons' training (not for direct use).

    Everything between validated data and fitted attributes: the graph and
    its scikit-learn initialisation, warm starts, the five solvers, early
    stopping and the parameter views. A subclass (with a classifier's or a
    regressor's base after this one) supplies ``_training_targets``,
    ``_stratify`` and ``_validation_score``.
    """

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

    _step_parameter = "learning_rate_init"
    _fit_mutable_state = ("_state", "_optimizer")

    def _penalty_coefficient(self):
        return self.alpha

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if np.iterable(sizes) else [sizes]
        if not all(isinstance(s, Integral) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {sizes}."
            )
        return [int(s) for s in sizes]

    # -- fitting --------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 stays float32).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or a 0/1 indicator matrix (multilabel) for a
            classifier; the target values for a regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @restore_on_error
    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        if is_dask_collection(X):
            return self._fit_dask(X, y, sample_weight, incremental)
        hidden = self._hidden_sizes()
        unweighted = (
            sample_weight is None and getattr(self, "class_weight", None) is None
        )
        first_pass = not hasattr(self, "graph_") or not (self.warm_start or incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=first_pass
        )
        targets = self._training_targets(y, first_pass, incremental, classes)
        if not first_pass:
            X = X.astype(self.graph_.dtype, copy=False)
        weights = self._checked_weights(targets, sample_weight)
        if unweighted:  # all ones: the objectives need no array for that
            weights = sample_weight = None
        if not (self.early_stopping and self.solver in _STOCHASTIC):
            targets.codes = None  # only the validation split needs them
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._build(X.shape[1], hidden, targets, X.dtype, random_state)
            self._state = TrainingState()
            self.t_ = 0
        else:
            self._check_architecture(hidden, targets)

        callbacks = self._fit_callbacks(
            self._network, X, y, sample_weight, 1 if incremental else self.max_iter
        )
        callbacks.start(self.graph_.theta)
        if self.solver in _STOCHASTIC:
            self._fit_stochastic(
                X,
                targets,
                weights,
                sample_weight,
                random_state,
                incremental,
                callbacks.hook(),
            )
        else:
            objective = self._full_batch_objective(X, targets, weights)
            self._fit_full_batch(objective, X.shape[0], callbacks.hook())
        self._finish_fit(callbacks)
        return self

    def _full_batch_objective(self, X, targets, weights):
        widest = max(W.shape[1] for W in self._network.weights)
        return FullBatchObjective(
            self._network,
            X,
            targets.Y,
            weights,
            self.alpha,
            block_size=max(1, _BLOCK_ELEMENTS // widest),
        )

    def _checked_weights(self, targets, sample_weight):
        """``s_i``, checked to have a positive sum."""
        weights = self._effective_weights(targets, sample_weight)
        total = float(weights.sum(dtype=np.float64))
        if not total > 0.0:
            raise ValueError(
                f"The sample weights (times class weights) sum to {total}; they "
                "must have a positive sum."
            )
        return weights

    def _fit_dask(self, X, y, sample_weight, incremental):
        """A full-batch fit on Dask arrays, each chunk's pass on its worker."""
        if incremental or self.solver in _STOCHASTIC:
            raise ValueError(
                f"solver={self.solver!r} cannot fit Dask arrays directly: use a "
                "full-batch solver ('lbfgs', 'cg', 'gd'), or train with "
                "partial_fit over the chunks, e.g. with "
                "dask_ml.wrappers.Incremental."
            )
        hidden = self._hidden_sizes()
        random_state = check_random_state(self.random_state)
        warm = self.warm_start and hasattr(self, "graph_")
        previous = self.graph_.theta.copy() if warm else None

        def build(n_features, n_outputs, output, dtype):
            targets = _Targets(np.empty((0, n_outputs)), None, output)
            self._build(n_features, hidden, targets, dtype, random_state)
            if previous is not None:
                if previous.shape != self.graph_.theta.shape:
                    raise ValueError(
                        "warm_start=True: the fitted network does not match this "
                        "data and hidden_layer_sizes. Set warm_start=False."
                    )
                self.graph_.set_flat(previous)
            return self._network

        _, objective, problem = self._distributed_problem(X, y, sample_weight, build)
        self._state = TrainingState()
        self.t_ = 0
        callbacks = self._fit_callbacks(
            self._network, problem.X, y, sample_weight, self.max_iter
        )
        callbacks.start(self.graph_.theta)
        self._fit_full_batch(objective, problem.X.shape[0], callbacks.hook())
        objective.close()
        self._finish_fit(callbacks)
        return self

    def _finish_fit(self, callbacks):
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
        callbacks.close()

    def _build(self, n_features, hidden, targets, dtype, random_state):
        """The graph, initialised as scikit-learn's MLP (Glorot uniform)."""
        n_outputs = targets.Y.shape[1]
        network = mlp_graph(
            n_features,
            hidden,
            n_outputs,
            activation=self.activation,
            output=targets.output,
            dtype=dtype,
        )
        factor = 2.0 if self.activation == "logistic" else 6.0
        for W, b in zip(network.weights, network.biases, strict=True):
            fan_in, fan_out = W.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            # The same draws, in the same order, as scikit-learn's _init_coef.
            W.value = random_state.uniform(-bound, bound, (fan_in, fan_out))
            b.value = random_state.uniform(-bound, bound, fan_out)
        self._network = network
        self._hidden = tuple(hidden)
        self._activation = self.activation
        self.graph_ = network.graph
        self.n_layers_ = len(hidden) + 2
        self.n_outputs_ = n_outputs
        self.out_activation_ = targets.output
        self._optimizer = None

    def _check_architecture(self, hidden, targets):
        """A warm start continues the fitted network: same layer sizes."""
        if targets.Y.shape[1] != self.n_outputs_:
            raise ValueError(
                "warm_start and partial_fit continue the fitted network, which "
                f"has {self.n_outputs_} outputs; y has {targets.Y.shape[1]}. "
                "Set warm_start=False to fit a new network."
            )
        if tuple(hidden) != self._hidden:
            raise ValueError(
                "warm_start and partial_fit continue the fitted network, whose "
                f"hidden_layer_sizes are {self._hidden}; got {tuple(hidden)}. "
                "Set warm_start=False to fit a new network."
            )
        if self.activation != self._activation:  # same weights, new activation
            theta = self.graph_.theta
            rng = check_random_state(0)  # the draws are overwritten at once
            self._build(self.n_features_in_, hidden, targets, theta.dtype, rng)
            self.graph_.set_flat(theta)

    def _fit_full_batch(self, objective, n_samples, callback):
        result = minimize(
            objective,
            self.graph_.theta,
            self.solver,
            tol=self.tol,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            learning_rate=self.learning_rate_init,
            options={"lbfgs": _LBFGS_OPTIONS, "cg": _CG_OPTIONS}.get(self.solver),
            verbose=self.verbose,
            callback=callback,
        )
        self.graph_.set_flat(result.theta)
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.t_ += result.n_iter * n_samples
        state = self._state
        state.loss_curve.extend(result.loss_curve)
        if state.best_loss is None or state.validation_scores is not None:
            state.best_loss = np.inf  # a full-batch fit after early stopping
        state.best_loss = min([state.best_loss, *result.loss_curve])
        self._warn_if_not_converged(result, "")

    def _new_optimizer(self):
        n, dtype = self.graph_.n_parameters, self.graph_.dtype
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

    def _fit_stochastic(
        self, X, targets, weights, sample_weight, random_state, incremental, callback
    ):
        optimizer = getattr(self, "_optimizer", None)
        kind = SGD if self.solver == "sgd" else Adam
        if not incremental or not isinstance(optimizer, kind):
            optimizer = self._optimizer = self._new_optimizer()
        n_samples = X.shape[0]
        order, validation = None, None
        if self.early_stopping:
            order, validation = self._validation_split(
                X, targets, sample_weight, random_state
            )
            n_samples = len(order)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is "
                    "going to be clipped",
                    stacklevel=3,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        targets.Y = np.ascontiguousarray(targets.Y)  # rows are gathered from it
        objective = self._minibatch_objective(
            X, targets.Y, weights, batch_size, random_state
        )
        self.n_iter_, self.loss_ = run_epochs(
            objective,
            optimizer,
            self.graph_.theta,
            self._state,
            order=order,
            batch_size=batch_size,
            max_iter=self.max_iter,
            shuffle=self.shuffle,
            random_state=random_state,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            validation=validation,
            incremental=incremental,
            verbose=self.verbose,
            callback=callback,
        )
        self.t_ = self._state.n_seen

    def _minibatch_objective(self, X, Y, weights, batch_size, random_state):
        """The objective of the mini-batch solvers (a hook for subclasses)."""
        return MiniBatchObjective(self._network, X, Y, weights, self.alpha, batch_size)

    def _validate_training_data(self, X, y, sample_weight, *, reset=True):
        X, y, sample_weight = super()._validate_training_data(
            X, y, sample_weight, reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, sample_weight

    def _validation_split(self, X, targets, sample_weight, random_state):
        """Training rows, and the score of the held-out rows (a callable)."""
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
        w_val = None if sample_weight is None else sample_weight[val]
        return train, self._validation_score(X[val], targets, val, w_val)


class MLPClassifierGraph(_BaseMLPGraph, GraphClassifierMixin):
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

    solver : {"lbfgs", "cg", "gd", "sgd", "adam"}, default="adam"
        ``"lbfgs"``: scipy's L-BFGS-B (``maxiter=max_iter``,
        ``maxfun=max_fun``, ``gtol=tol``, as scikit-learn). ``"cg"``: scipy's
        nonlinear conjugate gradients (``gtol=tol``). ``"gd"``: full-batch
        gradient descent with step ``learning_rate_init``, until the
        gradient norm is at most ``tol``. ``"sgd"`` and ``"adam"``:
        mini-batch stochastic gradient descent and Adam.

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

    early_stopping : bool, default=False
        Hold out a ``validation_fraction`` of the training data
        (``"sgd"``/``"adam"``; stratified for binary targets only, the same
        split as scikit-learn's for the same ``random_state``), stop when its
        accuracy has not improved by ``tol`` for ``n_iter_no_change`` epochs,
        and keep the parameters that scored best.

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

    loss_curve_ : list of float
        ``loss_`` after each iteration or epoch, for every solver.

    best_loss_ : float or None
        The smallest value of ``loss_curve_``; ``None`` with early stopping.

    validation_scores_ : list of float or None
        Validation accuracy after each epoch (early stopping only).

    best_validation_score_ : float or None
        The best of ``validation_scores_`` (early stopping only).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are strings.

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

    _supports_multilabel = True

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "cg", "gd", "sgd", "adam"})],
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

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight

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

    def _training_targets(self, y, first_pass, incremental, classes):
        """Set or check ``classes_``; ``y`` encoded as the loss's targets."""
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: pass "
                "weights computed on the whole data, e.g. with "
                "sklearn.utils.class_weight.compute_class_weight."
            )
        if first_pass:
            if incremental and classes is None and y.ndim == 1:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            self._fit_classes(y, classes)
        else:
            self._check_same_classes(y, incremental)
        return self._encode_targets(y, np.bool_)  # each step casts its rows

    def _check_same_classes(self, y, incremental):
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

    def _stratify(self, targets):
        # As scikit-learn: only a single-output target (binary) is stratified,
        # by its encoded column, so the same seed holds out the same rows (and
        # a class too small to split raises scikit-learn's own error).
        return targets.Y if targets.Y.shape[1] == 1 else None

    def _validation_score(self, X_val, targets, val, w_val):
        """The accuracy on the held-out rows ``val``, a callable."""
        Y_val = targets.Y[val]
        codes_val = None if targets.codes is None else targets.codes[val]
        network = self._network
        program = self.graph_.program((network.logits,))

        def accuracy():
            Z = program.forward({network.X: X_val}).values[network.logits.index]
            if not np.isfinite(Z).all():
                return np.nan
            if codes_val is None:  # multilabel: every label of the row right
                correct = ((Z > 0) == Y_val).all(axis=1)
            elif Z.shape[1] == 1:
                correct = (Z[:, 0] > 0) == codes_val
            else:
                correct = Z.argmax(axis=1) == codes_val
            return float(np.average(correct, weights=w_val))

        return accuracy
