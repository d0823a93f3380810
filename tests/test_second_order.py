"""The Hessian-vector product driver: the sweep as a trace, products at a
fixed point, objectives summed over row blocks."""

import pickle

import numpy as np
import pytest

from skgraph import Graph, ops
from skgraph._objectives import GraphObjective
from skgraph._second_order import HessianVectorProduct, ObjectiveHessian
from skgraph.networks import mlp_graph


def _fan_out():
    g = Graph()
    x = g.parameter("x", 0.8)
    y = ops.Square(x, name="y")
    u = ops.Sigmoid(y, name="u")
    v = ops.Tanh(y, name="v")
    return g, x, y, ops.Multiply(u, v, name="L")


def test_the_sweep_of_the_lecture_example():
    """The numbers of the "How it works" page."""
    g, x, y, L = _fan_out()
    sweep = g.hessian_vector_product(L, {}, np.array([1.0]))

    def f(t):
        return np.tanh(t * t) / (1.0 + np.exp(-t * t))

    h = 1e-4
    second = (f(0.8 + h) - 2.0 * f(0.8) + f(0.8 - h)) / h**2
    np.testing.assert_allclose(sweep.parameter_grad, [second], rtol=1e-6)
    np.testing.assert_allclose(sweep.grad(x), second, rtol=1e-6)
    assert sweep.value(y) == pytest.approx(1.6)  # the tangent of x**2
    assert sweep.grad(L) is None  # the seed's tangent is zero
    assert sweep.value(L) == pytest.approx(g.value_and_grad(L, {})[1][0])
    np.testing.assert_array_equal(g.theta, [0.8])


def _network_feed(seed=0, n=12):
    net = mlp_graph(3, (4,), 2, activation="tanh", output="softmax")
    rng = np.random.default_rng(seed)
    net.graph.set_flat(rng.normal(scale=0.5, size=net.graph.n_parameters))
    feed = {
        net.X: rng.normal(size=(n, 3)),
        net.y: np.eye(2)[rng.integers(2, size=n)],
        net.sample_weight: np.full(n, 1.0 / n),
        net.l2_strength: 0.1,
    }
    return net, feed


def test_products_at_a_point_ignore_later_parameter_changes():
    net, feed = _network_feed()
    graph = net.graph
    product = HessianVectorProduct(graph.program((net.objective,), loss=net.objective))
    product.linearize(feed)
    v = np.random.default_rng(1).normal(size=graph.n_parameters)
    first = product(v)
    theta = graph.get_flat()
    graph.set_flat(theta + 1.0)  # the point was frozen by linearize
    np.testing.assert_array_equal(product(v), first)
    # Linear in v, and symmetric: u.H v == v.H u.
    u = np.random.default_rng(2).normal(size=graph.n_parameters)
    np.testing.assert_allclose(product(2.0 * v - u), 2.0 * first - product(u))
    assert u @ first == pytest.approx(v @ product(u), rel=1e-10)
    graph.set_flat(theta)
    np.testing.assert_allclose(
        product.gradient, graph.value_and_grad(net.objective, feed)[1]
    )


def test_linearizing_without_the_gradient_gives_the_same_products():
    """gradient=False skips the parameters' gradients, which products do not read."""
    net, feed = _network_feed()
    graph = net.graph
    program = graph.program((net.objective,), loss=net.objective)
    full, lean = HessianVectorProduct(program), HessianVectorProduct(program)
    full.linearize(feed)
    lean.linearize(feed, gradient=False)
    assert np.isnan(lean.gradient).all()  # not computed
    for seed in range(3):
        v = np.random.default_rng(seed).normal(size=graph.n_parameters)
        np.testing.assert_allclose(lean(v), full(v), rtol=1e-12, atol=1e-14)
    # The products' rules see every parent's need again (a parameter's R{g}).
    lean.linearize(feed)
    np.testing.assert_allclose(lean.gradient, full.gradient, rtol=1e-12)
    # Elementwise ops next to a parameter compute its gradient regardless.
    g, *_, L = _fan_out()
    fan = HessianVectorProduct(g.program((L,), loss=L))
    fan.linearize({}, gradient=False)
    assert np.isnan(fan.gradient).all()
    expected = g.hessian_vector_product(L, {}, np.array([1.0])).parameter_grad
    np.testing.assert_allclose(fan(np.array([1.0])), expected, rtol=1e-12)


def test_objective_hessian_over_blocks_equals_the_whole():
    net, feed = _network_feed(n=12)
    graph = net.graph
    theta = graph.get_flat()
    whole = GraphObjective(graph, net.objective, feed)
    halves = []
    for rows in (slice(0, 5), slice(5, 12)):
        part = dict(feed)
        part[net.X], part[net.y] = feed[net.X][rows], feed[net.y][rows]
        part[net.sample_weight] = feed[net.sample_weight][rows]
        part[net.l2_strength] = 0.1 if rows.start == 0 else 0.0
        halves.append(part)
    blocks = ObjectiveHessian(graph, net.objective, lambda: iter(halves), n_feeds=2)
    v = np.random.default_rng(3).normal(size=graph.n_parameters)
    np.testing.assert_allclose(blocks(theta, v), whole.hessp(theta, v), rtol=1e-12)
    # Interleaved with evaluations, the objective's gradient is unchanged.
    _, grad = whole(theta)
    whole.hessp(theta + 0.1, v)
    np.testing.assert_array_equal(whole(theta)[1], grad)
    copy = pickle.loads(pickle.dumps(whole))
    np.testing.assert_allclose(copy.hessp(theta, v), whole.hessp(theta, v))


def test_a_program_without_loss_has_no_hessian():
    net, _ = _network_feed()
    with pytest.raises(ValueError, match="loss"):
        HessianVectorProduct(net.graph.program((net.logits,)))


def test_tangents_of_a_broadcast_parameter_alone_have_the_output_shape():
    """A bias that moves while the rest of its node is data: the tangent is
    the bias broadcast over the rows, not the bias."""
    rng = np.random.default_rng(5)
    g = Graph()
    x, W = g.input("x"), g.input("W")
    b = g.parameter("b", rng.normal(size=3))
    c = g.parameter("c", rng.normal(size=3))
    z = ops.Add(ops.Affine(x, W, b), c)
    loss = ops.Sum(ops.Tanh(ops.Sum(z, axis=1)))
    feed = {x: rng.normal(size=(5, 4)), W: rng.normal(size=(4, 3))}
    v = rng.normal(size=g.n_parameters)
    exact = g.hessian_vector_product(loss, feed, v).parameter_grad
    theta, step = g.get_flat(), 1e-5
    g.set_flat(theta + step * v)
    up = g.value_and_grad(loss, feed)[1]
    g.set_flat(theta - step * v)
    down = g.value_and_grad(loss, feed)[1]
    g.set_flat(theta)
    np.testing.assert_allclose(exact, (up - down) / (2 * step), rtol=1e-6)
