"""The graph engine: passes, fan-out, pruning, threads, pickling, errors."""

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from skgraph import ops
from skgraph.graph import Context, Graph, Input, Op, Parameter, Program, Trace
from skgraph.networks import mlp_graph


class Counted(ops.Identity):
    """Identity that counts its forward and backward calls."""

    def __init__(self, x, *, name=None):
        super().__init__(x, name=name)
        self.n_forward = 0
        self.n_backward = 0

    def forward(self, ctx, x):
        self.n_forward += 1
        return super().forward(ctx, x)

    def backward(self, ctx, g, x):
        self.n_backward += 1
        return super().backward(ctx, g, x)


def _random_mlp(seed, n_features=4, n_outputs=3, output="softmax", dtype=np.float64):
    net = mlp_graph(
        n_features, (5, 4), n_outputs, activation="tanh", output=output, dtype=dtype
    )
    rng = np.random.default_rng(seed)
    net.graph.set_flat(rng.normal(scale=0.5, size=net.graph.n_parameters))
    return net


def _feed(net, seed, n_samples=7):
    rng = np.random.default_rng(seed)
    n_features = net.weights[0].shape[0]
    n_outputs = net.weights[-1].shape[1]
    X = rng.normal(size=(n_samples, n_features))
    Y = np.eye(n_outputs)[rng.integers(n_outputs, size=n_samples)]
    weights = rng.uniform(0.5, 2.0, n_samples)
    return {
        net.X: X,
        net.y: Y,
        net.sample_weight: weights / weights.sum(),
        net.l2_strength: 0.1,
    }


# -- the lecture's examples -------------------------------------------------------


def test_lecture_square_then_double():
    """y = x**2, L = 2y: dL/dy = 2, dL/dx = 4x (the lecture's first example)."""
    g = Graph()
    x = g.parameter("x", np.array([3.0]))
    two = g.input("two")
    y = ops.Square(x, name="y")
    L = ops.Sum(ops.Multiply(two, y), name="L")
    trace = g.backward(L, {two: np.array(2.0)})
    assert trace.value(y) == pytest.approx([9.0])
    assert trace.value(L) == pytest.approx(18.0)
    assert trace.grad(y) == pytest.approx([2.0])
    assert trace.grad(x) == pytest.approx([12.0])


def test_lecture_fan_out_sums_gradients():
    """y = y(x), u = u(y), v = v(y), L = L(u, v): dL/dy sums both paths.

    With y = x**2, u = 3y, v = y**2, L = u * v and x = 2: y = 4, u = 12,
    v = 16, L = 192; dL/du = v = 16, dL/dv = u = 12, dL/dy = 16 * 3 + 12 * 2y
    = 48 + 96 = 144 and dL/dx = 144 * 2x = 576. An engine that overwrote
    instead of summing would give 48 or 96 for dL/dy.
    """
    g = Graph()
    x = g.parameter("x", np.array([2.0]))
    three = g.input("three")
    y = ops.Square(x, name="y")
    u = ops.Multiply(y, three, name="u")
    v = ops.Square(y, name="v")
    L = ops.Sum(ops.Multiply(u, v), name="L")
    trace = g.backward(L, {three: np.array(3.0)}, outputs=(y, u, v))
    assert [trace.value(n)[0] for n in (y, u, v)] == [4.0, 12.0, 16.0]
    assert trace.value(L) == 192.0
    assert trace.grad(u)[0] == 16.0
    assert trace.grad(v)[0] == 12.0
    assert trace.grad(y)[0] == 144.0
    assert trace.grad(x)[0] == 576.0
    assert trace.grad(three) is None


def test_same_parent_twice_sums_both_edges():
    g = Graph()
    w = g.parameter("w", np.array([1.5, -2.0]))
    loss = ops.Sum(ops.Multiply(w, w))  # sum(w**2): gradient 2w
    _, grad = g.value_and_grad(loss, {})
    np.testing.assert_array_equal(grad, [3.0, -4.0])


def test_value_and_grad_matches_trace():
    net = _random_mlp(0)
    feed = _feed(net, 1)
    value, grad = net.graph.value_and_grad(net.objective, feed)
    trace = net.graph.backward(net.objective, feed)
    assert value == trace.value(net.objective)
    for param in net.graph.parameters:
        np.testing.assert_array_equal(
            grad[param.offset : param.offset + param.size],
            trace.grad(param).ravel(),
        )


# -- only what is needed is computed ----------------------------------------------


def test_unreachable_nodes_do_no_work():
    g = Graph()
    x = g.input("x")
    t = g.input("t")  # labels
    w = g.parameter("w", np.array([2.0, -1.0]))
    prediction = Counted(ops.Multiply(x, w), name="prediction")
    labels = Counted(t, name="labels")
    loss = ops.Sum(ops.Square(ops.Add(prediction, labels)))
    dangling = Counted(ops.Exp(w), name="dangling")

    # Prediction needs no labels, and evaluates neither the loss nor `dangling`.
    trace = g.forward(prediction, {x: np.array([1.0, 2.0])})
    np.testing.assert_array_equal(trace.value(prediction), [2.0, -2.0])
    assert trace.value(loss) is None
    assert (prediction.n_forward, labels.n_forward, dangling.n_forward) == (1, 0, 0)

    # Training: `labels` is computed but gets no gradient (it leads to no
    # parameter); `dangling` is never touched.
    trace = g.backward(loss, {x: np.array([1.0, 2.0]), t: np.array([0.5, 0.5])})
    assert (prediction.n_forward, labels.n_forward, dangling.n_forward) == (2, 1, 0)
    assert (prediction.n_backward, labels.n_backward, dangling.n_backward) == (1, 0, 0)
    assert trace.grad(labels) is None
    assert trace.grad(t) is None
    assert trace.grad(x) is None
    np.testing.assert_allclose(
        trace.grad(w), 2 * (np.array([2.0, -2.0]) + 0.5) * [1, 2]
    )


def test_program_prunes_to_ancestors_and_trainable_paths():
    g = Graph()
    x = g.input("x")
    w = g.parameter("w", np.ones((3, 2)))
    unused = g.parameter("unused", np.ones(2))
    h = ops.Affine(x, w)
    loss = ops.Sum(ops.Tanh(h))
    ops.Exp(unused)
    program = g.program(loss, loss=loss)
    assert [n.name for n in program.forward_nodes] == [
        "x",
        "w",
        "affine",
        "tanh",
        "sum",
    ]
    assert program.inputs == [x]
    assert program.parameters == [w]
    # Affine wants a gradient for W only, never for the input x.
    assert program.needs[h.index] == (False, True)
    # Parameters the loss does not use get a zero gradient in the flat vector.
    _, grad = g.value_and_grad(loss, {x: np.ones((4, 3))})
    np.testing.assert_array_equal(grad[unused.offset :], 0.0)


def test_affine_of_input_does_not_compute_input_gradient():
    """A first layer must not compute ``g @ W.T``: spy on every matrix product."""
    calls = []

    class Spy(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
            calls.append((ufunc.__name__, method, [np.shape(a) for a in inputs]))
            inputs = [np.asarray(a) for a in inputs]
            if out is not None:
                kwargs["out"] = tuple(np.asarray(o) for o in out)
            return getattr(ufunc, method)(*inputs, **kwargs)

        def __array_function__(self, func, types, args, kwargs):
            # np.dot is no ufunc: record it under the ufunc's name.
            if func is np.dot:
                calls.append(("matmul", "__call__", [np.shape(a) for a in args[:2]]))
            args = [a.view(np.ndarray) if isinstance(a, Spy) else a for a in args]
            return func(*args, **kwargs)

    class SpyLoss(Op):
        """Sum whose gradient is a spied array of ones."""

        def forward(self, ctx, z):
            return z.sum()

        def backward(self, ctx, g, z):
            return (np.ones_like(z).view(Spy),)

    n, d, k = 6, 4, 3
    rng = np.random.default_rng(0)
    for first_is_data in (True, False):
        g = Graph()
        x = g.input("x") if first_is_data else g.parameter("x", rng.normal(size=(n, d)))
        W = g.parameter("W", rng.normal(size=(d, k)))
        b = g.parameter("b", np.zeros(k))
        z = ops.Affine(x, W, b)
        loss = SpyLoss(z)
        feed = {x: rng.normal(size=(n, d))} if first_is_data else {}
        calls.clear()
        trace = g.backward(loss, feed)
        matmuls = [shapes for name, _, shapes in calls if name == "matmul"]
        if first_is_data:
            assert matmuls == [[(d, n), (n, k)]]  # x.T @ g only
            assert trace.contexts[z.index].needs == (False, True, True)
            assert trace.grad(x) is None
        else:
            assert sorted(matmuls) == sorted([[(d, n), (n, k)], [(n, k), (k, d)]])
            np.testing.assert_allclose(trace.grad(x), np.ones((n, k)) @ W.value.T)
        np.testing.assert_allclose(trace.grad(W), trace.value(x).T @ np.ones((n, k)))
        np.testing.assert_allclose(trace.grad(b), np.full(k, n))


def test_trace_reuse_keeps_buffers_and_results():
    net = _random_mlp(3)
    feed = _feed(net, 4)
    program = net.graph.program((net.objective,), loss=net.objective)
    trace = Trace(program)
    program.backward(program.forward(feed, trace))
    logits_buffer = trace.value(net.logits)
    first = program.gradient_into(trace, np.empty(net.graph.n_parameters))
    value = float(trace.value(net.objective))
    program.backward(program.forward(feed, trace))
    assert trace.value(net.logits) is logits_buffer  # reused, not reallocated
    assert float(trace.value(net.objective)) == value
    np.testing.assert_array_equal(
        program.gradient_into(trace, np.empty(net.graph.n_parameters)), first
    )


def test_backward_with_explicit_output_gradient():
    g = Graph()
    w = g.parameter("w", np.array([1.0, 2.0, 3.0]))
    y = ops.Square(w)
    program = g.program((y,), loss=y)
    trace = program.backward(program.forward({}), grad_out=np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(trace.grad(w), [2.0, 0.0, -6.0])


# -- graphs side by side -----------------------------------------------------------


def test_two_graphs_in_threads_match_serial():
    nets = [_random_mlp(seed) for seed in (10, 11)]
    feeds = [_feed(net, seed) for net, seed in zip(nets, (20, 21), strict=True)]
    serial = [
        net.graph.value_and_grad(net.objective, feed)
        for net, feed in zip(nets, feeds, strict=True)
    ]
    barrier = threading.Barrier(2)

    def work(i):
        barrier.wait()
        return [
            nets[i].graph.value_and_grad(nets[i].objective, feeds[i]) for _ in range(50)
        ]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(work, range(2)))
    for i, runs in enumerate(results):
        for value, grad in runs:
            assert value == serial[i][0]
            np.testing.assert_array_equal(grad, serial[i][1])


def test_one_graph_many_threads_with_separate_traces():
    net = _random_mlp(5)
    feeds = [_feed(net, seed, n_samples=5 + seed) for seed in range(4)]
    serial = [net.graph.value_and_grad(net.objective, feed) for feed in feeds]
    predictions = [net.graph.forward(net.logits, {net.X: f[net.X]}) for f in feeds]
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        out = []
        for _ in range(30):
            value, grad = net.graph.value_and_grad(net.objective, feeds[i])
            logits = net.graph.forward(net.logits, {net.X: feeds[i][net.X]})
            out.append((value, grad, logits.value(net.logits)))
        return out

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    for i, runs in enumerate(results):
        for value, grad, logits in runs:
            assert value == serial[i][0]
            np.testing.assert_array_equal(grad, serial[i][1])
            np.testing.assert_array_equal(logits, predictions[i].value(net.logits))


def test_graph_pickles_to_identical_outputs():
    net = _random_mlp(7, output="logistic", n_outputs=2)
    feed = _feed(net, 8)
    value, grad = net.graph.value_and_grad(net.objective, feed)
    clone = pickle.loads(pickle.dumps(net))
    assert clone.graph is not net.graph
    clone_feed = {clone.graph[node.name]: v for node, v in feed.items()}
    clone_value, clone_grad = clone.graph.value_and_grad(clone.objective, clone_feed)
    assert clone_value == value
    np.testing.assert_array_equal(clone_grad, grad)
    # The unpickled parameters are views into the unpickled flat vector again.
    clone.graph.set_flat(np.zeros(clone.graph.n_parameters))
    assert not clone.weights[0].value.any()
    assert net.weights[0].value.any()


def test_graphs_are_independent():
    a, b = _random_mlp(0), _random_mlp(0)
    a.graph.set_flat(np.zeros(a.graph.n_parameters))
    assert b.graph.theta.any()
    assert a.graph.nodes[0] is not b.graph.nodes[0]


# -- flat parameters ---------------------------------------------------------------


def test_get_flat_and_set_flat():
    g = Graph()
    W = g.parameter("W", np.arange(6.0).reshape(2, 3))
    b = g.parameter("b", [10.0, 20.0])
    theta = g.get_flat()
    np.testing.assert_array_equal(theta, [0, 1, 2, 3, 4, 5, 10, 20])
    theta[0] = 99.0  # a copy
    assert W.value[0, 0] == 0.0
    g.set_flat(np.arange(8.0) + 1)
    np.testing.assert_array_equal(W.value, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(b.value, [7, 8])
    assert np.shares_memory(W.value, g.theta)
    b.value = [0.5, 0.25]
    np.testing.assert_array_equal(g.theta[-2:], [0.5, 0.25])
    assert (W.offset, W.size, b.offset, b.size) == (0, 6, 6, 2)
    assert g.n_parameters == 8
    with pytest.raises(ValueError, match="shape"):
        g.set_flat(np.zeros(7))


def test_float32_graph_keeps_float32_parameters():
    g = Graph(dtype=np.float32)
    W = g.parameter("W", np.ones((2, 2)))
    assert W.value.dtype == np.float32
    g.set_flat(np.full(4, 0.1))  # float64 in, cast
    assert g.theta.dtype == np.float32
    assert g.get_flat().dtype == np.float32


# -- errors ------------------------------------------------------------------------


def test_missing_input_gives_clear_key_error():
    g = Graph()
    x = g.input("features")
    w = g.parameter("w", np.ones(2))
    out = ops.Multiply(x, w)
    with pytest.raises(KeyError, match="features"):
        g.forward(out, {})


def test_mixing_graphs_raises_value_error():
    g1, g2 = Graph(), Graph()
    a = g1.input("a")
    b = g2.parameter("b", np.ones(2))
    with pytest.raises(ValueError, match="another graph"):
        ops.Add(a, b)


def test_bad_construction_errors():
    g = Graph()
    with pytest.raises(TypeError, match="nodes"):
        ops.Exp(np.ones(3))
    with pytest.raises(ValueError, match="at least one parent"):
        ops.Identity()
    with pytest.raises(ValueError, match="float32 or float64"):
        Graph(dtype=np.int64)
    with pytest.raises(KeyError, match="nope"):
        g["nope"]


def test_names_kinds_and_repr():
    g = Graph()
    x = g.input("x", shape=(None, 3))
    x2 = g.input("x")
    w = g.parameter("w", np.ones((3, 1)))
    z = ops.MatMul(x, w)
    assert (x.name, x2.name) == ("x", "x_1")
    assert (x.kind, w.kind, z.kind) == ("input", "parameter", "compute")
    assert isinstance(x, Input) and isinstance(w, Parameter) and isinstance(z, Op)
    assert g["matmul"] is z
    assert len(g) == 4
    assert [n.index for n in g.nodes] == [0, 1, 2, 3]
    assert "2 input" in repr(g) and "3 parameter values" in repr(g)
    assert "matmul" in repr(z)
    assert isinstance(g.program(z), Program)
    assert g.program(z) is g.program([z])  # cached


def test_context_buffers_are_reused_until_their_spec_changes():
    ctx = Context((True,))
    a = ctx.buffer("z", (4, 3), np.dtype(np.float64))
    assert ctx.buffer("z", (4, 3), np.dtype(np.float64)) is a
    b = ctx.buffer("z", (4, 3), np.dtype(np.float64), "F")
    assert b is not a and b.flags.f_contiguous and not b.flags.c_contiguous
    c = ctx.buffer("z", (5, 3), np.dtype(np.float32), "F")
    assert c.shape == (5, 3) and c.dtype == np.float32
    assert ctx.buffer("other", (4, 3), np.dtype(np.float64)) is not a


def test_the_loss_seed_cannot_be_corrupted_by_an_op():
    """Ops must not write into their incoming gradient; the shared seed is
    read-only, so an op that tries fails loudly instead of poisoning later
    passes."""

    class Doubling(ops.Identity):
        def backward(self, ctx, g, x):
            g *= 2.0
            return (g,)

    g = Graph()
    w = g.parameter("w", np.arange(3.0))
    with pytest.raises(ValueError, match="read-only"):
        g.backward(Doubling(ops.Sum(w)), {})
    _, grad = g.value_and_grad(ops.Sum(w), {})
    np.testing.assert_array_equal(grad, [1.0, 1.0, 1.0])
    loss = ops.Sum(w)
    assert g.backward(loss, {}).grad(loss) == 1.0


def test_a_used_objective_pickles_to_one_that_evaluates_right():
    # Pickle keeps no view relations: a trace's buffers and its views into the
    # flat gradient must not come back as detached, stale copies.
    import pickle

    from skgraph import mlp_graph
    from skgraph._objectives import GraphObjective

    rng = np.random.default_rng(0)
    net = mlp_graph(4, (3,), 3, activation="relu")
    X = rng.normal(size=(20, 4))
    Y = np.eye(3)[rng.integers(0, 3, 20)]
    feed = {
        net.X: X,
        net.y: Y,
        net.sample_weight: np.full(20, 0.05),
        net.l2_strength: 0.1,
    }
    used = GraphObjective(net.graph, net.objective, feed)
    used(rng.normal(size=net.graph.n_parameters))
    copied = pickle.loads(pickle.dumps(used))
    theta = rng.normal(size=net.graph.n_parameters)
    loss, grad = copied(theta)
    expected_loss, expected_grad = GraphObjective(net.graph, net.objective, feed)(theta)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13)
