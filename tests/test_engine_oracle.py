"""The fast, planned engine against the lecture's reference passes, op by op.

Every op class in :mod:`skgraph.ops` is found by introspection and gets a
small graph that uses it, with fan-out (a node feeding two children) and
fan-in at a parameter (a weight used by a layer and by a penalty). The
planned :class:`~skgraph.graph.Program` (buffer reuse, in-place parameter
gradients, pruned backward steps), run under
:func:`~skgraph.graph.guarded_pass` so that a backward rule writing into a
buffer it did not declare fails, must give the values and gradients of
:func:`~skgraph.graph.reference_backward`.

A new op is covered without editing this file when it is an element-wise
op of one argument (a subclass of ``ops._Elementwise``, built as
``Op(node)``) or a fused loss (a subclass of ``ops._WeightedLoss``, built
as ``Loss(predictions, targets[, sample_weight])``). Any other op needs an
entry in ``GRAPH_BUILDERS``; without one the test fails and says so.
"""

import inspect

import numpy as np
import pytest
from scipy.special import expit

from skgraph import ops
from skgraph.graph import Graph, Op, Trace, guarded_pass, reference_backward

N_SAMPLES, N_FEATURES, N_OUTPUTS = 6, 4, 3


def _layer(g, rng):
    """``(feed, x, W, h)``: an affine layer whose output ``h`` fans out."""
    x = g.input("x")
    W = g.parameter("W", rng.standard_normal((N_FEATURES, N_OUTPUTS)))
    b = g.parameter("b", rng.standard_normal(N_OUTPUTS))
    feed = {x: rng.standard_normal((N_SAMPLES, N_FEATURES))}
    return feed, x, W, ops.Affine(x, W, b)


def _readout(g, rng, feed, node, W, *extra):
    """A scalar loss of ``node``: a random projection, plus an L2 term on ``W``."""
    r = g.input("r")
    feed[r] = rng.standard_normal((N_SAMPLES, N_OUTPUTS))
    strength = g.input("strength")
    feed[strength] = np.array(0.3)
    total = ops.Add(ops.Sum(ops.Multiply(node, r)), ops.L2Penalty(strength, W))
    for term in extra:
        total = ops.Add(total, term)
    return total


def _elementwise(op_class, g, rng, positive=False):
    feed, _, W, h = _layer(g, rng)
    argument = ops.Sigmoid(h) if positive else h
    # ``h`` feeds the op and the sum: its gradient has two terms.
    return _readout(g, rng, feed, ops.Add(op_class(argument), h), W), feed


def _weighted_loss(op_class, g, rng, weighted=True):
    feed, _, W, h = _layer(g, rng)
    y = g.input("y")
    targets = np.zeros((N_SAMPLES, N_OUTPUTS))
    targets[np.arange(N_SAMPLES), rng.integers(0, N_OUTPUTS, N_SAMPLES)] = 1.0
    feed[y] = targets
    args = [ops.Tanh(h), y]
    if weighted:
        s = g.input("s")
        feed[s] = rng.uniform(0.5, 1.5, N_SAMPLES) / N_SAMPLES
        args.append(s)
    return _readout(g, rng, feed, h, W, op_class(*args)), feed


def _binary(op_class, g, rng):
    feed, x, W, h = _layer(g, rng)
    c = g.parameter("c", rng.standard_normal(N_OUTPUTS))
    # Both arguments trainable, one broadcast: both gradients are reduced.
    return _readout(g, rng, feed, op_class(h, op_class(c, h)), W), feed


def _matmul(g, rng):
    feed, x, W, h = _layer(g, rng)
    V = g.parameter("V", rng.standard_normal((N_OUTPUTS, N_OUTPUTS)))
    return _readout(g, rng, feed, ops.MatMul(ops.Tanh(h), V), W), feed


def _affine(g, rng):
    feed, x, W, h = _layer(g, rng)
    V = g.parameter("V", rng.standard_normal((N_OUTPUTS, N_OUTPUTS)))
    hidden = ops.Affine(ops.Sigmoid(h), V, order="F")
    return _readout(g, rng, feed, ops.Add(hidden, ops.Affine(h, V)), W), feed


def _reduction(op_class, g, rng):
    feed, x, W, h = _layer(g, rng)
    rows = op_class(h, axis=1)  # (n,), broadcast back against h
    by_column = op_class(ops.Square(h), axis=0)
    node = ops.Add(ops.Multiply(h, op_class(h)), by_column)
    return _readout(g, rng, feed, node, W, ops.Sum(ops.Square(rows))), feed


def _penalty(op_class, g, rng):
    feed, x, W, h = _layer(g, rng)
    strength = g.input("penalty")
    feed[strength] = np.array(0.7)
    b = g["b"]
    return _readout(g, rng, feed, h, W, op_class(strength, W, b)), feed


#: How to build a small graph using each op that the generic builders do
#: not cover: ``builder(graph, rng) -> (loss node, feed)``.
GRAPH_BUILDERS = {
    ops.Add: lambda g, rng: _binary(ops.Add, g, rng),
    ops.Multiply: lambda g, rng: _binary(ops.Multiply, g, rng),
    ops.MatMul: _matmul,
    ops.Affine: _affine,
    ops.Sum: lambda g, rng: _reduction(ops.Sum, g, rng),
    ops.Mean: lambda g, rng: _reduction(ops.Mean, g, rng),
    ops.L1Penalty: lambda g, rng: _penalty(ops.L1Penalty, g, rng),
    ops.L2Penalty: lambda g, rng: _penalty(ops.L2Penalty, g, rng),
    ops.Log: lambda g, rng: _elementwise(ops.Log, g, rng, positive=True),
    # Without a trainer's generator on its context, dropout is the identity.
    ops.Dropout: lambda g, rng: _elementwise(lambda x: ops.Dropout(x, 0.5), g, rng),
}


def _op_classes():
    """Every public op class defined in :mod:`skgraph.ops`."""
    return sorted(
        (
            cls
            for name, cls in inspect.getmembers(ops, inspect.isclass)
            if issubclass(cls, Op)
            and cls.__module__ == ops.__name__
            and not name.startswith("_")
        ),
        key=lambda cls: cls.__name__,
    )


def _builders(op_class):
    """The graph builders that exercise ``op_class``, by test id."""
    if op_class in GRAPH_BUILDERS:
        return {"": GRAPH_BUILDERS[op_class]}
    if issubclass(op_class, ops._WeightedLoss):
        return {
            "weighted": lambda g, rng: _weighted_loss(op_class, g, rng),
            "mean": lambda g, rng: _weighted_loss(op_class, g, rng, weighted=False),
        }
    if issubclass(op_class, ops._Elementwise):
        return {"": lambda g, rng: _elementwise(op_class, g, rng)}
    raise AssertionError(
        f"ops.{op_class.__name__} has no graph builder: add one to GRAPH_BUILDERS "
        "in tests/test_engine_oracle.py (a small graph that uses the op)."
    )


def _case_keys(op_class):
    """The builders' test ids; one case that fails for an op with none."""
    try:
        return list(_builders(op_class))
    except AssertionError:
        return [""]


CASES = [
    pytest.param(op_class, key, id=f"{op_class.__name__}-{key}".rstrip("-"))
    for op_class in _op_classes()
    for key in _case_keys(op_class)
]


def _assert_close(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(
        actual, expected, rtol=1e-9, atol=1e-9 * scale, err_msg=what
    )


def _assert_matches_reference(graph, loss, feed, trace):
    values, grads = reference_backward(graph, loss, feed)
    for node in trace.program.forward_nodes:
        _assert_close(trace.value(node), values[node], f"value of {node.name}")
    for node in graph.nodes:
        if trace.grad(node) is not None:
            _assert_close(trace.grad(node), grads[node], f"gradient of {node.name}")
    for param in graph.parameters:  # the flat vector the solvers read
        expected = grads.get(param)
        expected = np.zeros(param.shape) if expected is None else expected
        _assert_close(trace.grad(param), expected, f"flat gradient of {param.name}")


@pytest.mark.parametrize("op_class, key", CASES)
def test_fast_program_matches_reference(op_class, key):
    rng = np.random.default_rng(0)
    graph = Graph()
    loss, feed = _builders(op_class)[key](graph, rng)
    assert any(type(node) is op_class for node in graph.nodes)
    program = graph.program((loss,), loss=loss)
    trace = guarded_pass(program, feed)
    _assert_matches_reference(graph, loss, feed, trace)
    # A second pass on the same trace reuses its buffers: still the reference.
    graph.set_flat(rng.standard_normal(graph.n_parameters))
    trace = guarded_pass(program, feed, trace)
    _assert_matches_reference(graph, loss, feed, trace)


class _UndeclaredOverwrite(ops._Elementwise):
    """Sigmoid whose backward rule builds its gradient in the forward buffer,
    without declaring it: what guarded_pass must catch."""

    scratch = False

    def forward(self, ctx, x):
        allocate = ctx.scratch if self.scratch else ctx.buffer
        return expit(x, out=allocate("s", x.shape, x.dtype)).copy()

    def backward(self, ctx, g, x):
        s = ctx.buffer("s", x.shape, x.dtype)
        s *= 1.0 - s
        s *= g
        return (s,)


class _DeclaredOverwrite(_UndeclaredOverwrite):
    scratch = True


def _overwriting_graph(op_class):
    rng = np.random.default_rng(1)
    graph = Graph()
    feed, _, W, h = _layer(graph, rng)
    loss = _readout(graph, rng, feed, op_class(h), W)
    return graph, loss, feed


def test_guarded_pass_catches_an_undeclared_overwrite():
    graph, loss, feed = _overwriting_graph(_UndeclaredOverwrite)
    with pytest.raises(ValueError, match="read-only"):
        guarded_pass(graph.program((loss,), loss=loss), feed)


def test_declared_scratch_is_allowed_once_per_forward_pass():
    graph, loss, feed = _overwriting_graph(_DeclaredOverwrite)
    program = graph.program((loss,), loss=loss)
    trace = guarded_pass(program, feed)
    _assert_matches_reference(graph, loss, feed, trace)
    with pytest.raises(RuntimeError, match="run forward again"):
        program.backward(trace)
    program.backward(program.evaluate(trace))  # a new forward pass: allowed
    _assert_matches_reference(graph, loss, feed, trace)


def test_ops_without_scratch_allow_repeated_backward():
    rng = np.random.default_rng(2)
    graph = Graph()
    loss, feed = _elementwise(ops.Tanh, graph, rng)
    program = graph.program((loss,), loss=loss)
    trace = program.forward(feed, Trace(program))
    first = program.backward(trace).parameter_grad.copy()
    np.testing.assert_array_equal(program.backward(trace).parameter_grad, first)


def test_shipped_losses_declare_their_overwritten_buffers():
    for loss_class in (ops.SigmoidCrossEntropy, ops.SoftmaxCrossEntropy):
        graph = Graph()
        loss, feed = _weighted_loss(loss_class, graph, np.random.default_rng(3))
        program = graph.program((loss,), loss=loss)
        trace = program.backward(program.forward(feed))
        with pytest.raises(RuntimeError, match="run forward again"):
            program.backward(trace)
