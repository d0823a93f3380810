"""Layers of user-built networks: small scikit-learn-style objects.

A layer is a specification, not a part of a graph: its parameters are its
hyper-parameters (``get_params``/``set_params``, cloneable, picklable), and
:meth:`Layer.build` adds the nodes that compute it to a graph when an
estimator such as :class:`~skgraph.GraphClassifier` builds its network at
``fit``. A user's own layer subclasses :class:`Layer` and writes ``build``
with the ops of :mod:`skgraph.ops`.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator

from skgraph import ops
from skgraph.networks import affine_layer

__all__ = ["Layer", "LayerNodes", "Dense", "Dropout"]


class LayerNodes(NamedTuple):
    """What :meth:`Layer.build` added to a graph.

    Attributes
    ----------
    output : Node
        The node whose value is the layer's output, of shape (n_samples,
        n_outputs).
    n_outputs : int
        The width of ``output``: the input width of the next layer.
    weights : tuple of Parameter
        The parameters that the L2 penalty (``alpha``) applies to, listed in
        the estimator's ``coefs_``.
    biases : tuple of Parameter
        The parameters without penalty, listed in ``intercepts_``.
    """

    output: object
    n_outputs: int
    weights: tuple = ()
    biases: tuple = ()


class Layer(BaseEstimator):
    """Base class of the layers of :mod:`skgraph.layers` (and of a user's own).

    A subclass is a scikit-learn-style object: its ``__init__`` stores its
    keyword arguments as attributes of the same names (and does nothing
    else), so ``get_params``, ``set_params``, ``clone`` and pickling work.
    It implements :meth:`build`, and may override :meth:`initialize` and
    :meth:`check`.
    """

    def build(self, graph, x, n_inputs, *, name):
        """Add this layer's nodes to ``graph``, after the node ``x``.

        Parameters
        ----------
        graph : Graph
            The graph of the network being built.
        x : Node
            The layer's input, of shape (n_samples, n_inputs).
        n_inputs : int
            The width of ``x``.
        name : str
            A suffix that makes the names of this layer's nodes unique in
            the network (its position, counted from 1).

        Returns
        -------
        nodes : LayerNodes
            The output node, its width and the layer's parameters (created
            with ``graph.parameter``, zeros: :meth:`initialize` sets them).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement build().")

    def check(self):
        """Raise a ``ValueError`` naming the layer if its parameters are invalid.

        Called by the estimators at ``fit``, before :meth:`build`.
        """

    def initialize(self, nodes, random_state):
        """Draw the initial values of the parameters :meth:`build` made.

        The default is scikit-learn's MLP initialisation (Glorot uniform):
        each weight matrix of shape (fan_in, fan_out), then the bias after
        it, uniform in ``±sqrt(6 / (fan_in + fan_out))``.

        Parameters
        ----------
        nodes : LayerNodes
            What :meth:`build` returned.
        random_state : numpy.random.RandomState
            The estimator's random state; draw from it only.
        """
        glorot_uniform(nodes.weights, nodes.biases, random_state, factor=6.0)


def glorot_uniform(weights, biases, random_state, *, factor):
    """Set each ``W``, then its bias, uniform in ``±sqrt(factor / (fan_in + fan_out))``.

    The same draws in the same order as scikit-learn's MLP (``factor`` 2 for
    a logistic activation, 6 otherwise). ``biases`` may be shorter than
    ``weights`` (layers without bias).
    """
    biases = list(biases)
    for i, W in enumerate(weights):
        fan_in, fan_out = W.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        W.value = random_state.uniform(-bound, bound, (fan_in, fan_out))
        if i < len(biases):
            biases[i].value = random_state.uniform(-bound, bound, fan_out)


class Dense(Layer):
    """A fully connected layer and its activation: ``act(x @ W + b)``.

    Parameters
    ----------
    units : int
        The number of units (the layer's output width).
    activation : {"identity", "logistic", "tanh", "relu", "gelu", \
"leaky_relu", "softplus", "silu"}, default="relu"
        The activation (see :data:`skgraph.ops.LAYER_ACTIVATIONS`):
        ``"gelu"`` is the exact ``x * Phi(x)``, ``"leaky_relu"`` has slope
        0.01 below zero.

    Examples
    --------
    >>> from skgraph.layers import Dense
    >>> Dense(32, activation="gelu")
    Dense(activation='gelu', units=32)
    """

    def __init__(self, units, activation="relu"):
        self.units = units
        self.activation = activation

    def check(self):
        """Raise a ``ValueError`` for a bad ``units`` or ``activation``."""
        units = self.units
        if isinstance(units, bool) or not isinstance(units, Integral) or units < 1:
            raise ValueError(
                f"{self!r}: units must be a positive integer, got {units!r}."
            )
        if self.activation not in ops.LAYER_ACTIVATIONS:
            raise ValueError(
                f"{self!r}: unknown activation {self.activation!r}; use one of "
                f"{sorted(ops.LAYER_ACTIVATIONS)}."
            )

    def build(self, graph, x, n_inputs, *, name):
        """``z = x @ W + b`` then the activation; see :meth:`Layer.build`."""
        z, W, b = affine_layer(graph, x, n_inputs, int(self.units), name)
        h = ops.LAYER_ACTIVATIONS[self.activation](z, name=f"h{name}")
        return LayerNodes(h, int(self.units), (W,), (b,))

    def initialize(self, nodes, random_state):
        """Glorot uniform, as scikit-learn's MLP with this activation."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        glorot_uniform(nodes.weights, nodes.biases, random_state, factor=factor)


class Dropout(Layer):
    """Inverted dropout: each input zeroed with probability ``rate`` in training.

    The kept inputs are scaled by ``1 / (1 - rate)`` while training, so
    prediction is a plain forward pass (see :class:`skgraph.ops.Dropout`).
    Only the mini-batch solvers (``"sgd"``, ``"adam"``) train with it; the
    masks are drawn from the estimator's ``random_state``.

    Parameters
    ----------
    rate : float
        The probability of dropping each input, in [0, 1).

    Examples
    --------
    >>> from skgraph.layers import Dense, Dropout
    >>> [Dense(64), Dropout(0.2)]
    [Dense(units=64), Dropout(rate=0.2)]
    """

    def __init__(self, rate):
        self.rate = rate

    def check(self):
        """Raise a ``ValueError`` for a ``rate`` outside [0, 1)."""
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, Real) or not 0 <= rate < 1:
            raise ValueError(
                f"{self!r}: rate must be a number in [0, 1), got {rate!r}."
            )

    def build(self, graph, x, n_inputs, *, name):
        """One :class:`skgraph.ops.Dropout` node; no parameters."""
        return LayerNodes(ops.Dropout(x, self.rate, name=f"dropout{name}"), n_inputs)

    def initialize(self, nodes, random_state):
        """Nothing to draw."""
