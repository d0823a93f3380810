"""The fast, planned engine against the lecture's reference passes, op by op.

Every op class in :mod:`skgraph.ops` is found by introspection and gets a
small graph that uses it, with fan-out (a node feeding two children) and
fan-in at a parameter (a weight used by a layer and by a penalty). The
planned :class:`~skgraph.graph.Program` (buffer reuse, in-place parameter
gradients, pruned backward steps), run under
:func:`~skgraph.graph.guarded_pass` so that a backward rule writing into a
buffer it did not declare fails, must give the values and gradients of
:func:`~skgraph.graph.reference_backward`.

The same graphs check each op's second-order rules (``jvp`` and ``hvp``):
the engine's Hessian-vector products against central differences of the
backpropagated gradient, in float64, to 1e-6 relative, over directions and
points drawn by hypothesis. An op without second-order rules fails there.

A new op is covered without editing this file when it is an element-wise
op of one argument (a subclass of ``ops._Elementwise``, built as
``Op(node)``) or a fused loss (a subclass of ``ops._WeightedLoss``, built
as ``Loss(predictions, targets[, sample_weight])``). Any other op needs an
entry in ``GRAPH_BUILDERS``; without one the test fails and says so.
"""

import inspect

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from skgraph import ops
from skgraph._second_order import HessianVectorProduct
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


# -- second order ----------------------------------------------------------------

#: Ops with no second derivative where it matters: their rules must refuse.
NO_SECOND_ORDER = {ops.L1Penalty}

HVP_SETTINGS = settings(max_examples=4, deadline=None, derandomize=True, database=None)


def _hvp_by_differences(graph, loss, feed, theta, v):
    """Central difference of the backpropagated gradient along ``v``."""
    step = np.finfo(np.float64).eps ** (1.0 / 3.0) * max(1.0, np.abs(theta).max())
    graph.set_flat(theta + step * v)
    up = graph.value_and_grad(loss, feed)[1]
    graph.set_flat(theta - step * v)
    down = graph.value_and_grad(loss, feed)[1]
    graph.set_flat(theta)
    return (up - down) / (2.0 * step)


@pytest.mark.parametrize(
    "op_class, key",
    [case for case in CASES if case.values[0] not in NO_SECOND_ORDER],
)
@HVP_SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_hessian_vector_products_match_differences_of_gradients(op_class, key, seed):
    rng = np.random.default_rng(seed)
    graph = Graph()
    loss, feed = _builders(op_class)[key](graph, rng)
    graph.set_flat(rng.standard_normal(graph.n_parameters))
    theta = graph.get_flat()
    product = HessianVectorProduct(graph.program((loss,), loss=loss))
    product.linearize(feed)
    for _ in range(2):  # the second product reuses the point's curvature
        v = rng.standard_normal(graph.n_parameters)
        exact = product(v)
        numeric = _hvp_by_differences(graph, loss, feed, theta, v)
        scale = np.abs(numeric).max()
        np.testing.assert_allclose(exact, numeric, rtol=0, atol=1e-6 * scale)
    # The point's gradient is the first-order engine's.
    np.testing.assert_allclose(
        product.gradient, graph.value_and_grad(loss, feed)[1], rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("op_class", sorted(NO_SECOND_ORDER, key=str))
def test_ops_without_second_derivative_refuse_by_name(op_class):
    graph = Graph()
    loss, feed = _builders(op_class)[""](graph, np.random.default_rng(0))
    product = HessianVectorProduct(graph.program((loss,), loss=loss))
    product.linearize(feed)
    with pytest.raises(ValueError, match=op_class.__name__):
        product(np.ones(graph.n_parameters))


def test_an_op_without_second_order_rules_is_named():
    class Cube(ops._Elementwise):
        def forward(self, ctx, x):
            return x**3

        def backward(self, ctx, g, x):
            return (3.0 * g * x * x,)

    graph = Graph()
    loss, feed = _elementwise(Cube, graph, np.random.default_rng(0))
    product = HessianVectorProduct(graph.program((loss,), loss=loss))
    product.linearize(feed)
    with pytest.raises(NotImplementedError, match="Cube"):
        product(np.ones(graph.n_parameters))


def test_dropout_with_a_fixed_mask_and_sparse_first_layer():
    """Training-mode dropout (a mask drawn once per point) and CSR input."""
    rng = np.random.default_rng(4)
    graph = Graph()
    x = graph.input("x")
    W = graph.parameter("W", rng.standard_normal((N_FEATURES, N_OUTPUTS)))
    b = graph.parameter("b", rng.standard_normal(N_OUTPUTS))
    dropped = ops.Dropout(ops.Tanh(ops.Affine(x, W, b)), 0.5)
    feed = {x: sp.random(N_SAMPLES, N_FEATURES, density=0.5, random_state=0).tocsr()}
    loss = _readout(graph, rng, feed, dropped, W)
    program = graph.program((loss,), loss=loss)
    product = HessianVectorProduct(program)
    product.trace.contexts[dropped.index].dropout_rng = np.random.default_rng(5)
    product.linearize(feed)
    assert product.trace.contexts[dropped.index].mask is not None
    v = rng.standard_normal(graph.n_parameters)
    exact = product(v)
    # Differences of the gradient with the same mask: the dropout context's
    # generator is reset to the same state for every pass.
    theta = graph.get_flat()
    step = 1e-5
    grads = []
    for sign in (1.0, -1.0):
        graph.set_flat(theta + sign * step * v)
        trace = Trace(program)
        trace.contexts[dropped.index].dropout_rng = np.random.default_rng(5)
        trace = program.backward(program.forward(feed, trace))
        grads.append(trace.parameter_grad.copy())
    numeric = (grads[0] - grads[1]) / (2.0 * step)
    scale = np.abs(numeric).max()
    np.testing.assert_allclose(exact, numeric, rtol=0, atol=1e-6 * scale)
