"""Graphviz DOT text of graphs, with and without a pass's values and gradients."""

import re

import numpy as np
import pytest
import scipy.sparse as sp

from skgraph import ops
from skgraph.graph import Graph
from skgraph.networks import linear_graph


def _labels(dot):
    """``{node id: label lines}`` parsed back from DOT text."""
    out = {}
    for node_id, label in re.findall(
        r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M
    ):
        out[node_id] = label.split("\\n")
    return out


def _edges(dot):
    return re.findall(r"^\s*(n\d+) -> (n\d+);", dot, re.M)


def test_every_node_named_with_kind_and_shape():
    net = linear_graph(4, 3, output="softmax")
    dot = net.graph.to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    labels = _labels(dot)
    assert len(labels) == len(net.graph.nodes)
    for node in net.graph.nodes:
        lines = labels[f"n{node.index}"]
        assert lines[0] == node.name
        assert lines[1].startswith(node.kind)
    assert labels[f"n{net.X.index}"][1] == "input (n, 4)"
    assert labels[f"n{net.weights[0].index}"][1] == "parameter (4, 3)"
    assert labels[f"n{net.logits.index}"][1] == "compute: Affine (n, 3)"
    assert labels[f"n{net.objective.index}"][1] == "compute: Add ()"
    expected_edges = {
        (f"n{p.index}", f"n{node.index}")
        for node in net.graph.nodes
        for p in getattr(node, "parents", ())
    }
    assert set(_edges(dot)) == expected_edges
    assert "value" not in dot and "grad" not in dot


def test_lecture_figure_values_forward_gradients_backward():
    """y = x**2, L = 2y at x = 3: values 3, 9, 18; gradients 12, 2, 1."""
    g = Graph()
    x = g.parameter("x", np.array([3.0]))
    two = g.input("two")
    y = ops.Square(x, name="y")
    L = ops.Sum(ops.Multiply(two, y), name="L")
    trace = g.backward(L, {two: np.array(2.0)})
    labels = _labels(g.to_dot(trace))
    by_name = {lines[0]: lines for lines in labels.values()}
    assert "value: [3.]" in by_name["x"] and "grad: [12.]" in by_name["x"]
    assert "value: [9.]" in by_name["y"] and "grad: [2.]" in by_name["y"]
    assert "value: 18." in by_name["L"] and "grad: 1." in by_name["L"]
    assert not any(line.startswith("grad") for line in by_name["two"])  # an input

    only_values = _labels(g.to_dot(trace, grads=False))
    assert not any("grad" in line for lines in only_values.values() for line in lines)
    only_grads = _labels(g.to_dot(trace, values=False))
    assert not any("value" in line for lines in only_grads.values() for line in lines)


def test_shapes_come_from_the_trace_and_large_values_are_summarised():
    net = linear_graph(30, 2, output="softmax")
    rng = np.random.default_rng(0)
    X = sp.random(10, 30, density=0.2, format="csr", random_state=0)
    feed = {
        net.X: X,
        net.y: np.eye(2)[rng.integers(2, size=10)],
        net.sample_weight: np.full(10, 0.1),
        net.l2_strength: 0.01,
    }
    trace = net.graph.backward(net.objective, feed)
    labels = _labels(net.graph.to_dot(trace, precision=2))
    x_lines = labels[f"n{net.X.index}"]
    assert x_lines[1] == "input (10, 30)"
    assert any(line.startswith("value: sparse 10x30") for line in x_lines)
    logits = labels[f"n{net.logits.index}"]
    assert logits[1] == "compute: Affine (10, 2)"
    assert any("mean=" in line for line in logits)


def test_names_are_escaped():
    g = Graph()
    g.input('say "hi"')
    dot = g.to_dot()
    assert r"say \"hi\"" in dot


@pytest.mark.parametrize("bad", [3, 1.5, b"x", ("a",)])
def test_non_string_names_are_rejected_where_given(bad):
    g = Graph()
    w = g.parameter("w", 1.0)
    with pytest.raises(TypeError, match="input node .*non-empty string"):
        g.input(bad)
    with pytest.raises(TypeError, match="parameter node .*non-empty string"):
        g.parameter(bad, 1.0)
    with pytest.raises(TypeError, match=r"compute node \(Square\).*non-empty"):
        ops.Square(w, name=bad)
    assert [node.name for node in g.nodes] == ["w"]  # nothing half-added
    assert g.n_parameters == 1
    assert g.to_dot()


def test_empty_or_missing_names_are_rejected_and_op_names_default():
    g = Graph()
    with pytest.raises(ValueError, match="input node"):
        g.input("")
    with pytest.raises(TypeError, match="parameter node"):
        g.parameter(None, 1.0)
    w = g.parameter("w", 1.0)
    with pytest.raises(ValueError, match=r"compute node \(Square\)"):
        ops.Square(w, name="")
    assert ops.Square(w).name == "square"
    assert ops.Square(w, name=None).name == "square_1"
