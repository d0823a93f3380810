"""Every op against central finite differences; sparse input; dtypes; extremes."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit, log_softmax, logsumexp, softmax, xlogy

from skgraph import ops
from skgraph.graph import Graph, Trace

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, database=None)
RTOL = 1e-6


# -- helpers -----------------------------------------------------------------------


def numeric_gradient(f, theta):
    """Central differences of the scalar ``f`` at ``theta``."""
    eps = np.finfo(np.float64).eps ** (1.0 / 3.0)
    grad = np.empty_like(theta)
    for i in range(theta.size):
        h = eps * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (up[i] - down[i])
    return grad


def relative_error(a, b):
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    diff = np.abs(a - b).max(initial=0.0)
    return diff if scale < 1e-8 else diff / scale


def check_op(build, params, constants=(), seed=0):
    """Backprop through ``build(*params, *constants)`` against differences.

    The op's output is contracted with a random array ``R`` so that the
    incoming gradient is not all ones. Returns the evaluated trace.
    """
    g = Graph()
    param_nodes = [g.parameter(f"p{i}", v) for i, v in enumerate(params)]
    const_nodes = [g.input(f"c{i}") for i in range(len(constants))]
    out = build(*param_nodes, *const_nodes)
    feed = dict(zip(const_nodes, constants, strict=True))
    out_value = g.forward(out, feed).value(out)
    R = g.input("R")
    loss = ops.Sum(ops.Multiply(out, R))
    feed[R] = np.random.default_rng(seed).normal(size=np.shape(out_value))

    theta0 = g.get_flat()
    _, grad = g.value_and_grad(loss, feed)
    trace = g.backward(loss, feed)
    for node in param_nodes:  # every gradient has its parameter's shape
        assert np.shape(trace.grad(node)) == node.shape, node.name

    def f(theta):
        g.set_flat(theta)
        return float(g.forward(loss, feed).value(loss))

    numeric = numeric_gradient(f, theta0)
    g.set_flat(theta0)
    assert relative_error(grad, numeric) <= RTOL, (grad, numeric)
    return trace, out


finite = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
away_from_zero = st.floats(0.05, 2.0) | st.floats(-2.0, -0.05)
positive = st.floats(0.2, 3.0)
weights = st.floats(0.1, 2.0)
side = st.integers(1, 4)


def arrays(shape, elements=finite):
    return hnp.arrays(np.float64, shape, elements=elements)


@SETTINGS
@given(
    ws=st.lists(
        arrays(
            hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
            st.floats(0.05, 3.0),
        ),
        min_size=1,
        max_size=3,
    ),
    signs=st.integers(0, 2**16),
    strength=st.floats(0.0, 3.0),
)
def test_l1_penalty(ws, signs, strength):
    # Away from zero, where |w| is differentiable, backward is its gradient.
    rng = np.random.default_rng(signs)
    ws = [w * rng.choice([-1.0, 1.0], size=w.shape) for w in ws]
    trace, out = check_op(
        lambda *nodes: ops.L1Penalty(nodes[-1], *nodes[:-1]), ws, [strength]
    )
    expected = strength * sum(float(np.abs(w).sum()) for w in ws)
    assert trace.value(out) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_l1_penalty_backward_at_zero_is_zero():
    g = Graph()
    W = g.parameter("W", np.array([[0.0, -2.0], [3.0, 0.0]]))
    strength = g.input("s")
    trace = g.backward(ops.L1Penalty(strength, W), {strength: 0.5})
    np.testing.assert_array_equal(trace.grad(W), [[0.0, -0.5], [0.5, 0.0]])


@pytest.mark.parametrize("nonnegative", [False, True])
def test_l1_prox_is_the_minimiser_of_its_problem(nonnegative):
    # prox(w, t) = argmin_v t * |v| + (v - w)^2 / 2 (over v >= 0 when
    # nonnegative), found here by brute force on a fine grid.
    w = np.array([-2.0, -0.3, -0.1, 0.0, 0.05, 0.2, 0.7, 3.0])
    grid = np.linspace(0.0 if nonnegative else -4.0, 4.0, 80001)
    for threshold in (0.0, 0.25, 1.0):
        objective = threshold * np.abs(grid)[:, None] + 0.5 * (grid[:, None] - w) ** 2
        expected = grid[np.argmin(objective, axis=0)]
        got = ops.L1Penalty.prox(w, threshold, nonnegative=nonnegative)
        np.testing.assert_allclose(got, expected, atol=1e-4)
        assert np.all(got[np.abs(expected) < 1e-4] == 0.0)  # exact zeros


@st.composite
def matrix(draw, elements=finite, rows=side, cols=side):
    return draw(arrays((draw(rows), draw(cols)), elements))


@st.composite
def any_array(draw, elements=finite):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    return draw(arrays(shape, elements))


# -- element-wise ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "elements", "reference"),
    [
        (ops.Identity, finite, lambda x: x),
        (ops.Sigmoid, finite, expit),
        (ops.Tanh, finite, np.tanh),
        (ops.ReLU, away_from_zero, lambda x: np.maximum(x, 0)),
        (ops.Exp, finite, np.exp),
        (ops.Log, positive, np.log),
        (ops.Square, finite, np.square),
    ],
    ids=lambda p: getattr(p, "__name__", ""),
)
@SETTINGS
@given(data=st.data())
def test_elementwise_ops(op, elements, reference, data):
    x = data.draw(any_array(elements))
    trace, out = check_op(op, [x])
    np.testing.assert_allclose(trace.value(out), reference(x), rtol=1e-12)


@pytest.mark.parametrize(
    ("op", "reference"),
    [(ops.Softmax, softmax), (ops.LogSoftmax, log_softmax)],
    ids=["Softmax", "LogSoftmax"],
)
@SETTINGS
@given(x=matrix(st.floats(-5.0, 5.0)))
def test_row_softmax_ops(op, reference, x):
    trace, out = check_op(op, [x])
    np.testing.assert_allclose(trace.value(out), reference(x, axis=1), atol=1e-12)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("op", [ops.Sum, ops.Mean], ids=["Sum", "Mean"])
@SETTINGS
@given(x=matrix())
def test_reductions(op, axis, x):
    trace, out = check_op(lambda p: op(p, axis=axis), [x])
    reduce = np.sum if op is ops.Sum else np.mean
    np.testing.assert_allclose(trace.value(out), reduce(x, axis=axis), rtol=1e-12)


# -- binary ops with broadcasting --------------------------------------------------


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3))
    a_shape, b_shape = shapes.input_shapes
    return draw(arrays(a_shape)), draw(arrays(b_shape))


@pytest.mark.parametrize(
    ("op", "reference"),
    [(ops.Add, np.add), (ops.Multiply, np.multiply)],
    ids=["Add", "Multiply"],
)
@SETTINGS
@given(pair=broadcastable_pair())
def test_broadcasting_binary_ops(op, reference, pair):
    a, b = pair
    trace, out = check_op(op, [a, b])
    np.testing.assert_allclose(trace.value(out), reference(a, b), rtol=1e-12)


#: Operand shape -> how a (3, 4) gradient reduces to it.
REDUCTIONS = {
    (4,): lambda G: G.sum(axis=0),
    (1, 4): lambda G: G.sum(axis=0, keepdims=True),
    (3, 1): lambda G: G.sum(axis=1, keepdims=True),
    (1, 1): lambda G: G.sum(keepdims=True),
    (): lambda G: G.sum(),
}


@pytest.mark.parametrize("b_shape", list(REDUCTIONS), ids=str)
@pytest.mark.parametrize("op", [ops.Add, ops.Multiply], ids=["Add", "Multiply"])
def test_add_multiply_reduce_gradient_to_operand_shape(op, b_shape):
    rng = np.random.default_rng(0)
    a_value, b_value = rng.normal(size=(3, 4)), rng.normal(size=b_shape)
    G = rng.normal(size=(3, 4))
    g = Graph()
    a = g.parameter("a", a_value)
    b = g.parameter("b", b_value)
    R = g.input("R")
    trace = g.backward(ops.Sum(ops.Multiply(op(a, b), R)), {R: G})
    local_b = G if op is ops.Add else G * a_value
    local_a = G if op is ops.Add else G * b_value
    assert trace.grad(b).shape == b_shape
    np.testing.assert_allclose(trace.grad(b), REDUCTIONS[b_shape](local_b))
    np.testing.assert_allclose(trace.grad(a), local_a)


# -- linear algebra ----------------------------------------------------------------


@st.composite
def affine_args(draw, bias=True):
    n, d, k = draw(side), draw(side), draw(side)
    args = [draw(arrays((n, d))), draw(arrays((d, k)))]
    if bias:
        args.append(draw(arrays((k,))))
    return args


@pytest.mark.parametrize("order", ["C", "F"])
@SETTINGS
@given(args=affine_args(bias=True))
def test_affine(order, args):
    trace, out = check_op(lambda *p: ops.Affine(*p, order=order), args)
    x, W, b = args
    np.testing.assert_allclose(trace.value(out), x @ W + b, atol=1e-12)
    assert trace.value(out).flags[f"{order}_CONTIGUOUS"]


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_affine_input_gradient_with_one_output_column(order, dtype):
    """One output column: ``dh`` is the outer product ``g W.T``, in h's layout."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3)).astype(dtype)
    W1_value, W2_value = (rng.normal(size=s).astype(dtype) for s in ((3, 5), (5, 1)))
    G = rng.normal(size=(7, 1)).astype(dtype)
    g = Graph(dtype=dtype)
    x, R = g.input("x"), g.input("R")
    h = ops.Affine(x, g.parameter("W1", W1_value), order=order)
    W2 = g.parameter("W2", W2_value)
    trace = g.backward(ops.Sum(ops.Multiply(ops.Affine(h, W2), R)), {x: X, R: G})
    assert trace.value(h).flags[f"{order}_CONTIGUOUS"]
    np.testing.assert_allclose(trace.grad(h), G * W2_value.T, rtol=1e-6)
    np.testing.assert_allclose(trace.grad(W2), trace.value(h).T @ G, rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
@SETTINGS
@given(data=st.data())
def test_column_major_logits_into_softmax_cross_entropy(weighted, data):
    """``Affine(order="F")`` feeding the fused softmax loss, as networks do."""
    x, W, b = data.draw(affine_args(bias=True))
    n, k = x.shape[0], W.shape[1]
    Y = np.eye(k)[np.arange(n) % k]
    constants = [Y, np.linspace(0.5, 1.5, n)] if weighted else [Y]

    def build(xp, Wp, bp, *inputs):
        return ops.SoftmaxCrossEntropy(ops.Affine(xp, Wp, bp, order="F"), *inputs)

    trace, out = check_op(build, [x, W, b], constants)
    expected = _naive_softmax_loss(x @ W + b, Y)
    expected = constants[1] @ expected if weighted else expected.mean()
    assert trace.value(out) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_affine_rejects_unknown_order():
    g = Graph()
    with pytest.raises(ValueError, match="order"):
        ops.Affine(g.input("x"), g.parameter("W", np.ones((2, 2))), order="K")


@SETTINGS
@given(args=affine_args(bias=False))
def test_affine_without_bias_and_matmul(args):
    for op in (ops.Affine, ops.MatMul):
        trace, out = check_op(op, args)
        np.testing.assert_allclose(trace.value(out), args[0] @ args[1], atol=1e-12)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", [ops.Affine, ops.MatMul], ids=["Affine", "MatMul"])
def test_sparse_input_matches_dense(fmt, dtype, op):
    rng = np.random.default_rng(0)
    X_sparse = sp.random(30, 12, density=0.2, format=fmt, random_state=0, dtype=dtype)
    X_dense = X_sparse.toarray()
    G = rng.normal(size=(30, 3)).astype(dtype)
    W_value = rng.normal(size=(12, 3))
    results = []
    for X in (X_sparse, X_dense):
        g = Graph(dtype=dtype)
        x = g.input("x")
        W = g.parameter("W", W_value)
        R = g.input("R")
        z = op(x, W)
        trace = g.backward(ops.Sum(ops.Multiply(z, R)), {x: X, R: G})
        assert isinstance(trace.value(z), np.ndarray)
        assert trace.value(z).dtype == dtype and trace.grad(W).dtype == dtype
        assert trace.grad(x) is None
        results.append((trace.value(z), trace.grad(W)))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=tol, atol=tol)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=tol, atol=tol)


def test_sparse_input_is_not_densified_or_copied():
    X = sp.random(50, 40, density=0.1, format="csr", random_state=1)
    g = Graph()
    x = g.input("x")
    W = g.parameter("W", np.ones((40, 2)))
    trace = g.backward(ops.Sum(ops.Affine(x, W)), {x: X})
    assert trace.value(x) is X
    np.testing.assert_allclose(trace.grad(W), np.repeat(X.sum(axis=0).T, 2, axis=1))


# -- penalty and fused losses ------------------------------------------------------


@SETTINGS
@given(
    ws=st.lists(any_array(), min_size=1, max_size=3),
    strength=st.floats(0.0, 3.0),
)
def test_l2_penalty(ws, strength):
    trace, out = check_op(
        lambda *nodes: ops.L2Penalty(nodes[-1], *nodes[:-1]), ws, [strength]
    )
    expected = 0.5 * strength * sum(float(np.sum(w**2)) for w in ws)
    assert trace.value(out) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@st.composite
def binary_targets(draw):
    n, k = draw(side), draw(side)
    z = draw(arrays((n, k), st.floats(-6.0, 6.0)))
    y = draw(arrays((n, k), st.floats(0.0, 1.0)))
    w = draw(arrays((n,), weights))
    return z, y, w


@st.composite
def probability_targets(draw):
    n, k = draw(side), draw(st.integers(2, 5))
    z = draw(arrays((n, k), st.floats(-6.0, 6.0)))
    y = draw(arrays((n, k), st.floats(0.01, 1.0)))
    w = draw(arrays((n,), weights))
    return z, y / y.sum(axis=1, keepdims=True), w


@st.composite
def regression_targets(draw, nonnegative=False):
    n, k = draw(side), draw(side)
    z = draw(arrays((n, k), st.floats(-3.0, 3.0)))
    y = draw(arrays((n, k), st.floats(0.0, 5.0) if nonnegative else finite))
    w = draw(arrays((n,), weights))
    return z, y, w


def _naive_squared_error(z, y):
    return 0.5 * ((z - y) ** 2).sum(axis=1)


def _naive_poisson(z, y):
    prediction = np.exp(z)
    return (xlogy(y, y / prediction) - y + prediction).sum(axis=1)


def _naive_sigmoid_loss(z, y):
    p = expit(z)
    return (-(y * np.log(p)) - (1 - y) * np.log(1 - p)).sum(axis=1)


def _naive_softmax_loss(z, y):
    return -(y * np.log(softmax(z, axis=1))).sum(axis=1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("loss", "targets", "naive"),
    [
        (ops.SigmoidCrossEntropy, binary_targets(), _naive_sigmoid_loss),
        (ops.SoftmaxCrossEntropy, probability_targets(), _naive_softmax_loss),
        (ops.SquaredError, regression_targets(), _naive_squared_error),
        (ops.PoissonLoss, regression_targets(nonnegative=True), _naive_poisson),
    ],
    ids=["sigmoid", "softmax", "squared_error", "poisson"],
)
@SETTINGS
@given(data=st.data())
def test_fused_losses(loss, targets, naive, weighted, data):
    z, y, w = data.draw(targets)
    if weighted:
        trace, out = check_op(lambda p, t, s: loss(p, t, s), [z], [y, w])
        expected = w @ naive(z, y)
    else:
        trace, out = check_op(lambda p, t: loss(p, t), [z], [y])
        expected = naive(z, y).mean()
    assert trace.value(out) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_fused_loss_gradients_in_closed_form(weighted):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 3))
    w = rng.uniform(size=6) if weighted else np.full(6, 1 / 6)
    Y = np.eye(3)[rng.integers(3, size=6)]
    for loss, link in (
        (ops.SigmoidCrossEntropy, expit(z)),
        (ops.SoftmaxCrossEntropy, softmax(z, axis=1)),
    ):
        g = Graph()
        logits = g.parameter("z", z)
        y = g.input("y")
        args = [logits, y]
        feed = {y: Y}
        if weighted:
            s = g.input("s")
            args.append(s)
            feed[s] = w
        trace = g.backward(loss(*args), feed)
        np.testing.assert_allclose(trace.grad(logits), w[:, None] * (link - Y))


EXTREME = np.array([[1e4], [-1e4], [1e4], [-1e4], [0.0]])
EXTREME_Y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])


def _evaluate_strictly(build, z, y):
    g = Graph()
    logits = g.parameter("z", z)
    target = g.input("y")
    out = build(logits, target)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        trace = g.backward(out, {target: y})
    return trace.value(out), trace.grad(logits)


def test_sigmoid_cross_entropy_extreme_logits():
    value, grad = _evaluate_strictly(ops.SigmoidCrossEntropy, EXTREME, EXTREME_Y)
    per_sample = np.array([1e4, 1e4, 0.0, 0.0, np.log(2.0)])
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(per_sample.mean(), rel=1e-12)
    residual = np.array([[1.0], [-1.0], [0.0], [0.0], [-0.5]])
    np.testing.assert_allclose(grad, residual / 5, atol=1e-300)


def test_sigmoid_cross_entropy_keeps_two_buffers_and_one_exponential(monkeypatch):
    # A fit holds the logits, the targets and these two buffers (the peak
    # memory of the benchmark); the backward pass builds the sigmoid from
    # the forward pass's exp(-|z|), with no exponential of its own.
    z = np.random.default_rng(0).normal(size=(7, 1)) * 30
    y = (z > 0).astype(float)
    y[:2] = 1.0 - y[:2]
    g = Graph()
    logits, target = g.parameter("z", z), g.input("y")
    loss = ops.SigmoidCrossEntropy(logits, target)
    program = g.program((loss,), loss=loss)
    trace = program.forward({target: y})
    exponentials = []
    exp = np.exp
    monkeypatch.setattr(
        ops.np, "exp", lambda *a, **k: exponentials.append(1) or exp(*a, **k)
    )
    program.backward(trace)
    assert exponentials == []
    buffers = trace.contexts[loss.index]._buffers.values()
    assert sorted(array.shape for _, array in buffers) == [(7, 1), (7, 1)]
    np.testing.assert_allclose(trace.grad(logits), (expit(z) - y) / 7, rtol=1e-12)


def test_softmax_cross_entropy_extreme_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]])
    Y = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    value, grad = _evaluate_strictly(ops.SoftmaxCrossEntropy, z, Y)
    per_sample = np.array([2e4, np.log(2.0), np.log(2.0)])
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(per_sample.mean(), rel=1e-12)
    expected = (softmax(z, axis=1) - Y) / 3
    np.testing.assert_allclose(grad, expected, atol=1e-15)


@pytest.mark.parametrize(
    ("op", "reference"),
    [
        (ops.Sigmoid, expit),
        (ops.Softmax, lambda z: softmax(z, axis=1)),
        (ops.LogSoftmax, lambda z: z - logsumexp(z, axis=1, keepdims=True)),
        (ops.Tanh, np.tanh),
    ],
    ids=["Sigmoid", "Softmax", "LogSoftmax", "Tanh"],
)
def test_activations_extreme_inputs(op, reference):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 5.0]])
    value, grad = _evaluate_strictly(lambda p, _: ops.Sum(op(p)), z, np.zeros_like(z))
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(reference(z).sum())


def test_weighted_loss_with_unit_weights_equals_mean():
    rng = np.random.default_rng(0)
    z, Y = rng.normal(size=(5, 2)), rng.uniform(size=(5, 2))
    for loss in (ops.SigmoidCrossEntropy, ops.SoftmaxCrossEntropy):
        g = Graph()
        logits, y, s = g.parameter("z", z), g.input("y"), g.input("s")
        plain = g.value_and_grad(loss(logits, y), {y: Y})
        weighted = g.value_and_grad(loss(logits, y, s), {y: Y, s: np.full(5, 0.2)})
        assert plain[0] == pytest.approx(weighted[0], rel=1e-14)
        np.testing.assert_allclose(plain[1], weighted[1], rtol=1e-14)


# -- dtypes --------------------------------------------------------------------------

_rng = np.random.default_rng(0)
_X = _rng.normal(size=(4, 3))
_P = _rng.uniform(0.5, 2.0, size=(4, 3))
_Y = np.eye(3)[[0, 1, 2, 1]]
_S = np.full(4, 0.25)

#: (name, builder(params..., inputs...), parameter values, input values)
DTYPE_CASES = [
    ("Affine", lambda x, W, b: ops.Affine(x, W, b), [_X, _P.T, _P[:, 0]], []),
    ("AffineInput", lambda W, x: ops.Affine(x, W), [_P.T], [_X]),
    ("MatMul", lambda a, b: ops.MatMul(a, b), [_X, _P.T], []),
    ("Add", lambda a, b: ops.Add(a, b), [_X, _P[0]], []),
    ("Multiply", lambda a, b: ops.Multiply(a, b), [_X, _P[:1]], []),
    ("Sum", lambda a: ops.Sum(a, axis=0), [_X], []),
    ("Mean", lambda a: ops.Mean(a), [_X], []),
    *[(op.__name__, op, [_X], []) for op in (ops.Identity, ops.Sigmoid, ops.Tanh)],
    *[(op.__name__, op, [_X], []) for op in (ops.ReLU, ops.Exp, ops.Square)],
    *[(op.__name__, op, [_X], []) for op in (ops.Softmax, ops.LogSoftmax)],
    ("Log", ops.Log, [_P], []),
    ("L2Penalty", lambda a, b, s: ops.L2Penalty(s, a, b), [_X, _P], [0.5]),
    ("L1Penalty", lambda a, b, s: ops.L1Penalty(s, a, b), [_X, _P], [0.5]),
    ("SigmoidCE", lambda z, y: ops.SigmoidCrossEntropy(z, y), [_X], [_Y]),
    ("SigmoidCEw", lambda z, y, s: ops.SigmoidCrossEntropy(z, y, s), [_X], [_Y, _S]),
    ("SoftmaxCE", lambda z, y: ops.SoftmaxCrossEntropy(z, y), [_X], [_Y]),
    ("SoftmaxCEw", lambda z, y, s: ops.SoftmaxCrossEntropy(z, y, s), [_X], [_Y, _S]),
    ("SquaredError", lambda z, y: ops.SquaredError(z, y), [_X], [_Y]),
    ("SquaredErrorw", lambda z, y, s: ops.SquaredError(z, y, s), [_X], [_Y, _S]),
    ("Poisson", lambda z, y: ops.PoissonLoss(z, y), [_X], [_Y]),
    ("Poissonw", lambda z, y, s: ops.PoissonLoss(z, y, s), [_X], [_Y, _S]),
]


def _dtype_pass(dtype, builder, params, inputs, input_dtype):
    g = Graph(dtype=dtype)
    nodes = [g.parameter(f"p{i}", v) for i, v in enumerate(params)]
    in_nodes = [g.input(f"c{i}") for i in range(len(inputs))]
    out = builder(*nodes, *in_nodes)
    loss = ops.Sum(out)
    feed = {
        node: np.asarray(v, dtype=input_dtype)
        for node, v in zip(in_nodes, inputs, strict=True)
    }
    return g.backward(loss, feed), [out, loss], nodes


@pytest.mark.parametrize(
    ("name", "builder", "params", "inputs"),
    DTYPE_CASES,
    ids=[c[0] for c in DTYPE_CASES],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_by_every_op(name, builder, params, inputs, dtype):
    trace, outputs, nodes = _dtype_pass(dtype, builder, params, inputs, dtype)
    for node in outputs:
        assert np.result_type(trace.value(node)) == dtype, node.name
    for node in nodes:
        assert trace.grad(node).dtype == dtype, node.name


@pytest.mark.parametrize(
    ("name", "builder", "params", "inputs"),
    [
        c
        for c in DTYPE_CASES
        if "CE" in c[0]
        or c[0].rstrip("w") in ("L2Penalty", "L1Penalty", "SquaredError", "Poisson")
    ],
    ids=lambda c: c if isinstance(c, str) else "",
)
def test_float64_targets_and_weights_keep_float32_losses(name, builder, params, inputs):
    trace, outputs, nodes = _dtype_pass(np.float32, builder, params, inputs, np.float64)
    assert np.result_type(trace.value(outputs[0])) == np.float32
    for node in nodes:
        assert trace.grad(node).dtype == np.float32


def test_float32_gradients_agree_with_float64():
    for name, builder, params, inputs in DTYPE_CASES:
        t32, _, n32 = _dtype_pass(np.float32, builder, params, inputs, np.float32)
        t64, _, n64 = _dtype_pass(np.float64, builder, params, inputs, np.float64)
        for a, b in zip(n32, n64, strict=True):
            np.testing.assert_allclose(
                t32.grad(a), t64.grad(b), rtol=1e-4, atol=1e-5, err_msg=name
            )


def test_activations_registry():
    assert set(ops.ACTIVATIONS) == {"identity", "logistic", "tanh", "relu"}
    assert ops.ACTIVATIONS["logistic"] is ops.Sigmoid


def test_output_shapes_for_drawing():
    g = Graph()
    x = g.input("x", shape=(None, 3))
    W = g.parameter("W", np.ones((3, 2)))
    b = g.parameter("b", np.ones(2))
    z = ops.Affine(x, W, b)
    assert z.output_shape(x.shape, W.shape, b.shape) == (None, 2)
    assert ops.MatMul(x, W).output_shape((None, 3), (3, 2)) == (None, 2)
    assert ops.Tanh(z).output_shape((None, 2)) == (None, 2)
    assert ops.Add(z, b).output_shape((None, 2), (2,)) == (None, 2)
    assert ops.Add(z, b).output_shape(None, (2,)) is None
    assert ops.Sum(z).output_shape((None, 2)) == ()
    assert ops.Sum(z, axis=0).output_shape((None, 2)) == (2,)
    assert ops.Sum(z, axis=1).output_shape(None) is None
    assert ops.L2Penalty(x, W).output_shape((), (3, 2)) == ()


# -- the activations of user-built networks, dropout, Huber ------------------------


def _gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


@pytest.mark.parametrize(
    ("op", "elements", "reference"),
    [
        (ops.GELU, st.floats(-4.0, 4.0), _gelu),
        (ops.LeakyReLU, away_from_zero, lambda x: np.where(x > 0, x, 0.01 * x)),
        (ops.Softplus, st.floats(-4.0, 4.0), lambda x: np.log1p(np.exp(x))),
        (ops.SiLU, st.floats(-4.0, 4.0), lambda x: x * expit(x)),
    ],
    ids=lambda p: getattr(p, "__name__", ""),
)
@SETTINGS
@given(data=st.data())
def test_layer_activation_ops(op, elements, reference, data):
    x = data.draw(any_array(elements))
    trace, out = check_op(op, [x])
    np.testing.assert_allclose(trace.value(out), reference(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("op", [ops.GELU, ops.LeakyReLU, ops.Softplus, ops.SiLU])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_activations_are_finite_and_keep_dtype_at_extremes(op, dtype):
    g = Graph(dtype=dtype)
    x = g.parameter("x", np.array([-1e30, -50.0, -1.0, 0.0, 1.0, 50.0, 1e30]))
    trace = g.backward(ops.Sum(op(x)), {})
    value, grad = trace.value(trace.program.outputs[0].parents[0]), trace.grad(x)
    assert value.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    # far out each is the identity (x > 0) or flat (x < 0; leaky_relu's slope)
    np.testing.assert_allclose(value[-1], 1e30, rtol=1e-6)
    np.testing.assert_allclose(grad[[0, -1]], [0.01 if op is ops.LeakyReLU else 0, 1])


def test_layer_activations_registry_extends_scikit_learns():
    assert set(ops.LAYER_ACTIVATIONS) == set(ops.ACTIVATIONS) | {
        "gelu",
        "leaky_relu",
        "softplus",
        "silu",
    }
    assert ops.LeakyReLU(Graph().input("x")).negative_slope == 0.01


def _dropout_trace(rate, x_value, seed):
    """A dropout pass in training: the trace's context holds a generator."""
    g = Graph()
    x = g.parameter("x", x_value)
    R = g.input("R")
    out = ops.Dropout(x, rate)
    loss = ops.Sum(ops.Multiply(out, R))
    program = g.program((out,), loss=loss)
    trace = Trace(program)
    trace.contexts[out.index].dropout_rng = np.random.default_rng(seed)
    feed = {R: np.arange(x_value.size, dtype=float).reshape(x_value.shape) + 1}
    program.forward(feed, trace)
    program.backward(trace)
    return trace, out, x


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.9])
def test_dropout_in_training_is_inverted_and_backprops_through_its_mask(rate):
    x_value = np.random.default_rng(1).uniform(0.5, 2.0, size=(400, 5))
    trace, out, x = _dropout_trace(rate, x_value, seed=3)
    kept = trace.value(out) != 0
    np.testing.assert_allclose(trace.value(out)[kept], x_value[kept] / (1 - rate))
    # d(sum(out * R))/dx = R * mask / (1 - rate): a finite-difference check
    # with the mask fixed is this closed form, the op being linear in x
    R = np.arange(x_value.size, dtype=float).reshape(x_value.shape) + 1
    np.testing.assert_allclose(trace.grad(x), R * kept / (1 - rate))
    assert abs(kept.mean() - (1 - rate)) < 0.05
    again, _, _ = _dropout_trace(rate, x_value, seed=3)
    np.testing.assert_array_equal(again.value(out), trace.value(out))


def test_dropout_is_the_identity_without_a_generator():
    # a plain pass (prediction, a gradient check): no mask, gradient g
    trace, out = check_op(lambda p: ops.Dropout(p, 0.5), [np.array([[1.0, -2.0]])])
    np.testing.assert_array_equal(trace.value(out), [[1.0, -2.0]])
    with pytest.raises(ValueError, match="rate"):
        ops.Dropout(Graph().input("x"), 1.0)


def _huber(z, y, delta):
    r = np.abs(z - y)
    return np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).sum(axis=1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("delta", [0.3, 1.0])
@SETTINGS
@given(data=st.data())
def test_huber_loss(weighted, delta, data):
    n, k = data.draw(side), data.draw(side)
    z = data.draw(arrays((n, k), st.floats(-3.0, 3.0)))
    y = data.draw(arrays((n, k), st.floats(-3.0, 3.0)))
    # away from the kinks |z - y| = delta, where h has no second derivative
    z = np.where(np.abs(np.abs(z - y) - delta) < 1e-3, z + 0.01, z)
    w = data.draw(arrays((n,), weights))
    if weighted:
        trace, out = check_op(
            lambda p, t, s: ops.Huber(p, t, s, delta=delta), [z], [y, w]
        )
        expected = w @ _huber(z, y, delta)
    else:
        trace, out = check_op(lambda p, t: ops.Huber(p, t, delta=delta), [z], [y])
        expected = _huber(z, y, delta).mean()
    assert trace.value(out) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_huber_is_half_the_squared_error_inside_delta_and_rejects_bad_delta():
    g = Graph()
    z = g.parameter("z", np.array([[0.1, -0.2], [0.3, 0.0]]))
    y = g.input("y")
    trace = g.backward(ops.Huber(z, y, delta=1.0), {y: np.zeros((2, 2))})
    assert trace.value(trace.program.loss) == pytest.approx(0.14 / 2 / 2)
    np.testing.assert_allclose(trace.grad(z), z.value / 2)
    squared = g.backward(ops.SquaredError(z, y), {y: np.zeros((2, 2))})
    assert trace.value(trace.program.loss) == squared.value(squared.program.loss)
    with pytest.raises(ValueError, match="delta"):
        ops.Huber(z, y, delta=0.0)


# -- regression losses --------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("loss", "targets", "naive"),
    [
        (ops.SquaredError, regression_targets(), _naive_squared_error),
        (ops.PoissonLoss, regression_targets(nonnegative=True), _naive_poisson),
    ],
    ids=["squared_error", "poisson"],
)
@SETTINGS
@given(data=st.data())
def test_regression_losses(loss, targets, naive, weighted, data):
    z, y, w = data.draw(targets)
    if weighted:
        trace, out = check_op(lambda p, t, s: loss(p, t, s), [z], [y, w])
        expected = w @ naive(z, y)
    else:
        trace, out = check_op(lambda p, t: loss(p, t), [z], [y])
        expected = naive(z, y).mean()
    assert trace.value(out) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_loss_gradients_in_closed_form(weighted):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 3))
    w = rng.uniform(size=6) if weighted else np.full(6, 1 / 6)
    Y = rng.poisson(2.0, size=(6, 3)).astype(float)
    for loss, prediction in ((ops.SquaredError, z), (ops.PoissonLoss, np.exp(z))):
        g = Graph()
        raw = g.parameter("z", z)
        y = g.input("y")
        args, feed = [raw, y], {y: Y}
        if weighted:
            s = g.input("s")
            args.append(s)
            feed[s] = w
        trace = g.backward(loss(*args), feed)
        np.testing.assert_allclose(trace.grad(raw), w[:, None] * (prediction - Y))
