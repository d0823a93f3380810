"""Pure graph builders for the estimators (and for anyone building on them).

Each builder returns a :class:`Network`: the graph plus handles to the nodes a
caller feeds or reads. Builders allocate the parameters (zeros) and nothing
else; initial values are the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skgraph import ops
from skgraph.graph import Graph, Input, Node, Parameter


@dataclass
class Network:
    """A graph with named handles to its interface nodes.

    Attributes
    ----------
    graph : Graph
    X : Input
        The features, shape (n_samples, n_features).
    y : Input
        The targets, shape (n_samples, n_outputs) (one-hot for softmax).
    sample_weight : Input
        Per-sample weights of the loss, summing to one (``s_i / S``).
    l2_strength : Input
        Scalar strength of the L2 penalty (``1 / (C S)`` or ``alpha / S``).
    logits : Node
        The output layer before its link function.
    loss : Node
        The data term, a scalar.
    penalty : Node
        The L2 penalty, a scalar.
    objective : Node
        ``loss + penalty`` (``+ l1_penalty`` when there is one), the scalar
        that training minimises.
    weights, biases : list of Parameter
        The layers' weight matrices and bias vectors (``biases`` may be empty).
    output : {"logistic", "softmax", "identity", "exp"}
        The link of the output layer (the last two for regression).
    l1_strength : Input or None
        Scalar strength of the L1 penalty (``l1_ratio / (C S)``), when the
        graph has one.
    l1_penalty : Node or None
        The L1 penalty ``l1_strength * ||W||_1``, a scalar, or ``None``.
    smooth_objective : Node
        ``loss + penalty``: the differentiable part of ``objective``, which
        backpropagation gives the gradient of (``objective`` itself when
        there is no L1 penalty).
    layers : list of skgraph.layers.Layer
        The user-given layers (:func:`layers_graph` only).
    layer_nodes : list of skgraph.layers.LayerNodes
        What each of ``layers`` added, in order (:func:`layers_graph` only).
    prediction : Node
        What a regressor predicts: ``logits`` through the output's link
        (``logits`` itself for the identity; for a classifier, ``logits``).
    reported_loss_share : float
        The solvers report ``objective - (1 - share) * loss``: scikit-learn's
        multi-output squared error reports the mean over the outputs of the
        loss whose gradient (the sum over outputs) it follows, a share of
        ``1 / n_outputs``. One everywhere else.
    """

    graph: Graph
    X: Input
    y: Input
    sample_weight: Input
    l2_strength: Input
    logits: Node
    loss: Node
    penalty: Node
    objective: Node
    weights: list = field(default_factory=list)
    biases: list = field(default_factory=list)
    output: str = "softmax"
    l1_strength: Input | None = None
    l1_penalty: Node | None = None
    smooth_objective: Node | None = None
    layers: list = field(default_factory=list)
    layer_nodes: list = field(default_factory=list)
    prediction: Node | None = None
    reported_loss_share: float = 1.0

    def __post_init__(self):
        if self.smooth_objective is None:
            self.smooth_objective = self.objective
        if self.prediction is None:
            self.prediction = self.logits

    def feed(self, X, y, sample_weight, l2_strength, l1_strength=0.0):
        """The inputs of a training pass, keyed by this network's nodes.

        ``sample_weight`` is the normalised ``s_i / S`` (``None``: the plain
        mean); the strengths are already divided by ``S``. ``l1_strength``
        is fed only to a network with an L1 penalty.
        """
        feed = {
            self.X: X,
            self.y: y,
            self.sample_weight: sample_weight,
            self.l2_strength: l2_strength,
        }
        if self.l1_strength is not None:
            feed[self.l1_strength] = l1_strength
        return feed


_LOSSES = {
    "logistic": ops.SigmoidCrossEntropy,
    "softmax": ops.SoftmaxCrossEntropy,
    "identity": ops.SquaredError,
    "exp": ops.PoissonLoss,
}


def _finish(
    graph, X, hidden, weights, biases, output, n_outputs, *, l1=False, loss=None
):
    y = graph.input("y", shape=(None, n_outputs))
    sample_weight = graph.input("sample_weight", shape=(None,))
    l2_strength = graph.input("l2_strength", shape=())
    loss = (loss or _LOSSES[output])(hidden, y, sample_weight, name="loss")
    penalty = ops.L2Penalty(l2_strength, *weights, name="penalty")
    l1_strength = l1_penalty = None
    if l1:
        smooth = ops.Add(loss, penalty, name="smooth_objective")
        l1_strength = graph.input("l1_strength", shape=())
        l1_penalty = ops.L1Penalty(l1_strength, *weights, name="l1_penalty")
        objective = ops.Add(smooth, l1_penalty, name="objective")
    else:
        objective = smooth = ops.Add(loss, penalty, name="objective")
    prediction = ops.Exp(hidden, name="prediction") if output == "exp" else None
    share = 1.0 / n_outputs if output == "identity" else 1.0
    return Network(
        graph=graph,
        X=X,
        y=y,
        sample_weight=sample_weight,
        l2_strength=l2_strength,
        logits=hidden,
        loss=loss,
        penalty=penalty,
        objective=objective,
        weights=weights,
        biases=biases,
        output=output,
        l1_strength=l1_strength,
        l1_penalty=l1_penalty,
        smooth_objective=smooth,
        prediction=prediction,
        reported_loss_share=share,
    )


def linear_graph(
    n_features,
    n_outputs,
    *,
    fit_intercept=True,
    output="softmax",
    dtype=np.float64,
    l1=False,
):
    """The logistic-regression graph: ``loss(X @ W + b, y) + penalty(W)``.

    Parameters
    ----------
    n_features, n_outputs : int
    fit_intercept : bool, default=True
        Whether the affine node has a bias ``b``.
    output : {"logistic", "softmax"}, default="softmax"
        Sigmoid + binary cross-entropy, or softmax + cross-entropy.
    dtype : {np.float64, np.float32}
    l1 : bool, default=False
        Whether the objective also has an L1 penalty node,
        ``l1_penalty = l1_strength * ||W||_1`` (elastic net): then
        ``objective = smooth_objective + l1_penalty``.

    Returns
    -------
    Network
    """
    return mlp_graph(
        n_features,
        (),
        n_outputs,
        fit_intercept=fit_intercept,
        output=output,
        dtype=dtype,
        l1=l1,
    )


def affine_layer(
    graph, x, n_inputs, n_units, suffix, *, fit_intercept=True, output=None
):
    """Add ``x @ W + b`` to ``graph``: a hidden layer's, or the logits.

    Parameters
    ----------
    graph : Graph
    x : Node
        The layer's input, of width ``n_inputs``.
    n_inputs, n_units : int
    suffix : str
        Appended to the names of the nodes (``W{suffix}``, ``z{suffix}``...).
    fit_intercept : bool, default=True
    output : {"logistic", "softmax", "identity"} or None, default=None
        ``None`` for a hidden layer (node ``z{suffix}``); else the link of
        the output layer whose logits (node ``logits``) this is.

    Returns
    -------
    z : Op
    W : Parameter
    b : Parameter or None
    """
    W = graph.parameter(f"W{suffix}", np.zeros((n_inputs, n_units)))
    b = graph.parameter(f"b{suffix}", np.zeros(n_units)) if fit_intercept else None
    if output is None:
        # Column-major hidden layers in double precision: OpenBLAS's dgemm
        # writes the product of a tall X that way about a third faster
        # (single precision gains nothing). The activations follow suit.
        order = "F" if graph.dtype == np.float64 else "C"
        return ops.Affine(x, W, b, order=order, name=f"z{suffix}"), W, b
    # Column-major logits: the softmax's row-wise reductions vectorise.
    order = "F" if output == "softmax" else "C"
    return ops.Affine(x, W, b, order=order, name="logits"), W, b


def layers_graph(
    n_features, layers, n_outputs, *, output="softmax", dtype=np.float64, loss=None
):
    """A network of user-given layers (:mod:`skgraph.layers`) and an output layer.

    ``h_0 = X``; ``h_l = layer_l(h_{l-1})``; ``logits = h_L @ W_out +
    b_out``; objective ``loss(logits, y) + penalty(every layer's weights,
    W_out)``. ``[Dense(n, activation=a) for n in sizes]`` gives the graph of
    :func:`mlp_graph` with those hidden sizes.

    Parameters
    ----------
    n_features : int
    layers : sequence of skgraph.layers.Layer
    n_outputs : int
    output : {"logistic", "softmax", "identity", "exp"}, default="softmax"
        The output's link, which also names its default loss.
    dtype : {np.float64, np.float32}
    loss : callable, optional
        Makes the loss node instead: ``loss(logits, y, sample_weight,
        name=...)`` (e.g. ``functools.partial(ops.Huber, delta=2.0)``).

    Returns
    -------
    network : Network
        Its ``layer_nodes`` lists what each layer added
        (:class:`skgraph.layers.LayerNodes`), in order.
    """
    if output not in _LOSSES:
        raise ValueError(f"output must be one of {sorted(_LOSSES)}, got {output!r}.")
    graph = Graph(dtype=dtype)
    X = graph.input("X", shape=(None, n_features))
    hidden, width = X, n_features
    weights, biases, built = [], [], []
    for position, layer in enumerate(layers, 1):
        nodes = layer.build(graph, hidden, width, name=str(position))
        built.append(nodes)
        hidden, width = nodes.output, nodes.n_outputs
        weights.extend(nodes.weights)
        biases.extend(nodes.biases)
    hidden, W, b = affine_layer(
        graph, hidden, width, n_outputs, str(len(layers) + 1), output=output
    )
    network = _finish(
        graph, X, hidden, [*weights, W], [*biases, b], output, n_outputs, loss=loss
    )
    network.layers, network.layer_nodes = list(layers), built
    return network


def mlp_graph(
    n_features,
    hidden_layer_sizes,
    n_outputs,
    *,
    activation="relu",
    output="softmax",
    fit_intercept=True,
    dtype=np.float64,
    l1=False,
):
    """A multilayer perceptron graph.

    ``h_0 = X``; ``h_l = act(h_{l-1} @ W_l + b_l)`` for each hidden layer;
    ``logits = h_L @ W_out + b_out``; objective ``loss(logits, y) +
    penalty(W_1, ..., W_out)`` (biases are not penalised).

    Parameters
    ----------
    n_features : int
    hidden_layer_sizes : sequence of int
    n_outputs : int
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
    output : {"logistic", "softmax", "identity", "exp"}, default="softmax"
        Sigmoid + binary cross-entropy, softmax + cross-entropy, identity +
        half squared error (:class:`~skgraph.ops.SquaredError`), or exp +
        half Poisson deviance (:class:`~skgraph.ops.PoissonLoss`).
    fit_intercept : bool, default=True
    dtype : {np.float64, np.float32}
    l1 : bool, default=False
        Whether the objective also has an L1 penalty node over all the
        weights (see :func:`linear_graph`).

    Returns
    -------
    Network
    """
    if output not in _LOSSES:
        raise ValueError(f"output must be one of {sorted(_LOSSES)}, got {output!r}.")
    if activation not in ops.ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ops.ACTIVATIONS)}, got {activation!r}."
        )
    graph = Graph(dtype=dtype)
    X = graph.input("X", shape=(None, n_features))
    sizes = [n_features, *hidden_layer_sizes, n_outputs]
    weights, biases = [], []
    hidden = X
    n_layers = len(sizes) - 1
    for layer in range(n_layers):
        suffix = "" if n_layers == 1 else str(layer + 1)
        is_last = layer == n_layers - 1
        hidden, W, b = affine_layer(
            graph,
            hidden,
            sizes[layer],
            sizes[layer + 1],
            suffix,
            fit_intercept=fit_intercept,
            output=output if is_last else None,
        )
        weights.append(W)
        biases.extend([b] if fit_intercept else [])
        if not is_last:
            hidden = ops.ACTIVATIONS[activation](hidden, name=f"h{suffix}")
    return _finish(graph, X, hidden, weights, biases, output, n_outputs, l1=l1)


__all__ = [
    "Network",
    "affine_layer",
    "layers_graph",
    "linear_graph",
    "mlp_graph",
    "Parameter",
]
