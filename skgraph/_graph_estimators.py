"""GraphClassifier and GraphRegressor: estimators whose hidden network is a list
of layers (:mod:`skgraph.layers`)."""

from __future__ import annotations

import functools
from numbers import Real

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions

from skgraph import ops
from skgraph._base import fill_docstring, parameters_init
from skgraph._mlp import _STOCHASTIC, MLP_TRAINING_PARAMETERS, MLPClassifierGraph
from skgraph._mlp_regressor import MLPRegressorGraph
from skgraph.layers import Dense, Dropout, Layer, glorot_uniform
from skgraph.networks import layers_graph

__all__ = ["GraphClassifier", "GraphRegressor"]

_LAYERS_PREFIX = "layers__"


#: The MLP training parameters, as the layer estimators' docstrings list them.
_TRAINING_PARAMETERS_DOC = {
    "    <training parameters>\n": """\
    solver : {"lbfgs", "cg", "gd", "sgd", "adam"}, default="adam"
    alpha : float, default=1e-4
    batch_size : int or "auto", default="auto"
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    max_iter : int, default=200
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
        Also seeds the dropout masks.
    tol : float, default=1e-4
    verbose : bool, default=False
    warm_start : bool, default=False
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
    validation_fraction : float, default=0.1
    beta_1 : float, default=0.9
    beta_2 : float, default=0.999
    epsilon : float, default=1e-8
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
""",
    "    <fitted attributes>\n": """\
    n_iter_ : int
    t_ : int
    loss_ : float
    loss_curve_ : list of float
    best_loss_ : float or None
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
""",
}


def _default_layers():
    return [Dense(100, activation="relu")]


class _LayersNetwork:
    """What the estimators over a list of layers add to the MLP estimators.

    The network comes from ``layers`` instead of ``hidden_layer_sizes`` and
    ``activation`` (through the hooks of the MLPs' fit: ``_architecture``,
    ``_build_network``, ``_initialize_parameters`` and
    ``_minibatch_objective``); each layer's
    parameters are reachable as ``layers__<index>__<name>``. A subclass may
    give its loss node in ``_loss_node`` (``None``: the output's own).
    """

    def _loss_node(self):
        return None

    # -- one layer's parameters in searches ----------------------------------------
    def get_params(self, deep=True):
        """Parameters of this estimator, and with ``deep`` of each layer.

        Parameters
        ----------
        deep : bool, default=True
            Also list each layer's parameters as ``layers__<index>__<name>``.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        layers = _default_layers() if self.layers is None else self.layers
        if deep and isinstance(layers, list | tuple):  # else fit will say so
            for index, layer in enumerate(layers):
                if isinstance(layer, Layer):
                    for name, value in layer.get_params(deep=False).items():
                        params[f"{_LAYERS_PREFIX}{index}__{name}"] = value
        return params

    def set_params(self, **params):
        """Set parameters; ``layers__<index>__<name>`` sets one layer's.

        The layers list is copied (cloned) before a layer is changed, so a
        list shared with other estimators is never modified.

        Parameters
        ----------
        **params : dict

        Returns
        -------
        self : object
        """
        own = {k: v for k, v in params.items() if not k.startswith(_LAYERS_PREFIX)}
        super().set_params(**own)
        per_layer = {k: v for k, v in params.items() if k not in own}
        if per_layer:
            layers = _default_layers() if self.layers is None else self.layers
            layers = [clone(layer) for layer in layers]
            for key, value in per_layer.items():
                index, _, name = key[len(_LAYERS_PREFIX) :].partition("__")
                if not index.isdigit() or int(index) >= len(layers) or not name:
                    raise ValueError(
                        f"Invalid parameter {key!r} for {type(self).__name__}: "
                        f"use layers__<index>__<name> with an index below "
                        f"{len(layers)}."
                    )
                layers[int(index)].set_params(**{name: value})
            self.layers = layers
        return self

    # -- the network -----------------------------------------------------------------
    def _layers(self):
        """The checked layers (copies: fitting never changes the user's list)."""
        layers = _default_layers() if self.layers is None else list(self.layers)
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layers[{index}] must be a skgraph.layers.Layer, got {layer!r}."
                )
            try:
                layer.check()
            except ValueError as error:
                raise ValueError(f"layers[{index}] {error}") from None
        return [clone(layer) for layer in layers]

    def _architecture(self):
        return tuple(_signature(self._layers()))

    def _check_fit_parameters(self, incremental, distributed):
        layers = self._layers()
        if self.solver not in _STOCHASTIC and any(map(_has_dropout, layers)):
            raise ValueError(
                f"Dropout layers train only with solver='sgd' or 'adam', got "
                f"solver={self.solver!r}: remove the Dropout layers or change "
                "the solver."
            )
        super()._check_fit_parameters(incremental, distributed)

    def _build_network(self, n_features, n_outputs, dtype):
        return layers_graph(
            n_features,
            self._layers(),
            n_outputs,
            output=self._output_link(),
            dtype=dtype,
            loss=self._loss_node(),
        )

    def _initialize_parameters(self, network, random_state):
        """Each layer's own rule, then the output layer's as scikit-learn's MLP."""
        for layer, nodes in zip(network.layers, network.layer_nodes, strict=True):
            layer.initialize(nodes, random_state)
        dense = [layer for layer in network.layers if isinstance(layer, Dense)]
        logistic = bool(dense) and dense[-1].activation == "logistic"
        glorot_uniform(
            network.weights[-1:],
            network.biases[-1:],
            random_state,
            factor=2.0 if logistic else 6.0,
        )

    def _warm_start_mismatch(self, previous, network):
        return (
            "warm_start and partial_fit continue the fitted network, whose "
            "layers have other parameter shapes than the given layers. Set "
            "warm_start=False to fit a new network."
        )

    def _minibatch_objective(self, network, data, batch_size, random_state):
        """The mini-batch objective, with the dropout masks drawn in training."""
        objective = super()._minibatch_objective(
            network, data, batch_size, random_state
        )
        dropouts = [
            node
            for node in objective.program.forward_nodes
            if isinstance(node, ops.Dropout)
        ]
        if dropouts:  # a draw only then: networks without dropout fit as the MLP
            rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
            for node in dropouts:
                objective.trace.contexts[node.index].dropout_rng = rng
        return objective


@fill_docstring(_TRAINING_PARAMETERS_DOC)
class GraphClassifier(_LayersNetwork, MLPClassifierGraph):
    """A classifier whose hidden network is given as a list of layers.

    The training of :class:`MLPClassifierGraph` (its solvers, objective,
    parameters and defaults), with the hidden layers in the user's hands:
    ``layers`` is a list of :mod:`skgraph.layers` objects (``Dense`` with
    any activation of :data:`skgraph.ops.LAYER_ACTIVATIONS`, ``Dropout``, or
    a user's own :class:`~skgraph.layers.Layer`). The output layer and loss
    follow the target as in :class:`MLPClassifierGraph`; ``layers=[Dense(100,
    activation="relu")]`` (the default) is ``MLPClassifierGraph()``, and fits
    the same parameters bit for bit for the same ``random_state``.

    Parameters
    ----------
    layers : list of Layer, default=None
        The hidden layers, in order; ``None`` means ``[Dense(100,
        activation="relu")]``. ``Dropout`` layers need ``solver="sgd"`` or
        ``"adam"``. A search sets one layer's parameter as
        ``layers__<index>__<name>`` (e.g. ``layers__0__units``).

    loss : {"cross_entropy"}, default="cross_entropy"
        Binary cross-entropy of a sigmoid output (binary and multilabel
        targets) or cross-entropy of a softmax output (multiclass).

    label_smoothing : float in [0, 1), default=0.0
        Targets become ``(1 - label_smoothing) * onehot + label_smoothing /
        K``, with ``K`` the number of classes (2 per label for sigmoid
        outputs). In memory only: a fit on Dask arrays needs 0.

    <training parameters>
    class_weight : dict, "balanced" or None, default=None
        The training parameters of :class:`MLPClassifierGraph`, with the
        same meaning and defaults.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of ndarray
        The weights of every layer that has some (each ``Dense``, then the
        output layer), in order: views into ``graph_``.
    intercepts_ : list of ndarray
        Their biases, in the same order.
    n_layers_ : int
        ``len(coefs_) + 1``.
    n_outputs_ : int
    out_activation_ : {"logistic", "softmax"}
    <fitted attributes>
    graph_ : Graph
        As in :class:`MLPClassifierGraph`.

    See Also
    --------
    MLPClassifierGraph : The same estimator with ``hidden_layer_sizes``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgraph import GraphClassifier
    >>> from skgraph.layers import Dense, Dropout
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = GraphClassifier(
    ...     [Dense(64, activation="gelu"), Dropout(0.2)],
    ...     max_iter=20,
    ...     random_state=0,
    ... ).fit(X / 16, y)
    >>> [W.shape for W in clf.coefs_]
    [(64, 64), (64, 10)]
    >>> clf.score(X / 16, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **{
            name: constraint
            for name, constraint in MLPClassifierGraph._parameter_constraints.items()
            if name not in ("hidden_layer_sizes", "activation")
        },
        "layers": [list, tuple, None],
        "loss": [StrOptions({"cross_entropy"})],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    __init__ = parameters_init(
        {"layers": None},
        {
            "loss": "cross_entropy",
            "label_smoothing": 0.0,
            **MLP_TRAINING_PARAMETERS,
            "class_weight": None,
        },
    )

    def _check_fit_parameters(self, incremental, distributed):
        if distributed and self.label_smoothing:
            # Dask chunks are encoded by the shared one-hot encoder alone.
            raise ValueError(
                "label_smoothing > 0 is not supported on Dask arrays: fit in "
                "memory, or set label_smoothing=0."
            )
        super()._check_fit_parameters(incremental, distributed)

    def _encode_targets(self, y, dtype):
        """The targets, smoothed by ``label_smoothing``."""
        targets = super()._encode_targets(y, dtype)
        smoothing = self.label_smoothing
        if smoothing:
            n_classes = targets.Y.shape[1] if targets.output == "softmax" else 2
            float_dtype = dtype if np.dtype(dtype).kind == "f" else np.float64
            Y = targets.Y.astype(float_dtype)
            Y *= 1.0 - smoothing
            Y += smoothing / n_classes
            targets.Y = Y
        return targets


_REGRESSION_OUTPUTS = {
    "squared_error": "identity",
    "huber": "identity",
    "poisson": "exp",
}


@fill_docstring(_TRAINING_PARAMETERS_DOC)
class GraphRegressor(_LayersNetwork, MLPRegressorGraph):
    """A regressor whose hidden network is given as a list of layers.

    The training of :class:`MLPRegressorGraph` (its solvers, objective,
    parameters and defaults) with the hidden layers in the user's hands, as
    :class:`GraphClassifier` does for the classifier, and one more loss:
    the Huber loss, robust to outliers. ``layers=[Dense(100,
    activation="relu")]`` (the default) fits the same parameters as
    ``MLPRegressorGraph()`` bit for bit, for each loss they share.

    Parameters
    ----------
    layers : list of Layer, default=None
        The hidden layers, in order; ``None`` means ``[Dense(100,
        activation="relu")]``. As in :class:`GraphClassifier`.

    loss : {"squared_error", "huber", "poisson"}, default="squared_error"
        ``"squared_error"`` and ``"poisson"`` as in :class:`MLPRegressorGraph`
        (identity and exponential outputs); ``"huber"``: per output, ``r**2
        / 2`` for residuals ``|r| <= huber_delta`` and ``huber_delta * (|r| -
        huber_delta / 2)`` beyond (identity output), combined over outputs
        and samples as ``"squared_error"`` (see :class:`skgraph.ops.Huber`).

    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear.

    <training parameters>
        The training parameters of :class:`MLPRegressorGraph`, with the same
        meaning and defaults.

    Attributes
    ----------
    coefs_ : list of ndarray
        The weights of every layer that has some, then the output layer's.
    intercepts_ : list of ndarray
        Their biases, in the same order.
    n_layers_ : int
        ``len(coefs_) + 1``.
    n_outputs_ : int
    out_activation_ : {"identity", "exp"}
    <fitted attributes>
    graph_ : Graph
        As in :class:`MLPRegressorGraph`.

    See Also
    --------
    MLPRegressorGraph : The same estimator with ``hidden_layer_sizes``.
    GraphClassifier : The classifier over a list of layers.

    Examples
    --------
    >>> import numpy as np
    >>> from skgraph import GraphRegressor
    >>> from skgraph.layers import Dense
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-2, 2, (200, 1))
    >>> y = np.sin(X[:, 0])
    >>> reg = GraphRegressor(
    ...     [Dense(16, activation="silu")], loss="huber", solver="lbfgs",
    ...     max_iter=500, random_state=0,
    ... ).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    _parameter_constraints: dict = {
        **{
            name: constraint
            for name, constraint in MLPRegressorGraph._parameter_constraints.items()
            if name not in ("hidden_layer_sizes", "activation", "loss")
        },
        "layers": [list, tuple, None],
        "loss": [StrOptions(set(_REGRESSION_OUTPUTS))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    __init__ = parameters_init(
        {"layers": None},
        {"loss": "squared_error", "huber_delta": 1.0, **MLP_TRAINING_PARAMETERS},
    )

    def _output_link(self):
        return _REGRESSION_OUTPUTS[self.loss]

    def _loss_node(self):
        if self.loss == "huber":
            return functools.partial(ops.Huber, delta=self.huber_delta)
        return None


def _has_dropout(layer):
    return isinstance(layer, Dropout)


def _signature(layers):
    return [(type(layer), layer.get_params(deep=False)) for layer in layers]
