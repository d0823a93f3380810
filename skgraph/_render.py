"""Drawing graphs: Graphviz DOT text, and SVG when the ``dot`` program exists."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

_STYLE = {
    "input": 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
    "parameter": 'shape=box, style="filled", fillcolor="#fde68a"',
    "compute": 'shape=ellipse, style="filled", fillcolor="#e5e7eb"',
}


def _shape_text(shape):
    if shape is None:
        return "?"
    dims = ["n" if s is None else str(s) for s in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _array_text(value, precision):
    """A short text for an array: the numbers when few, else a summary."""
    if value is None:
        return "-"
    if hasattr(value, "toarray"):  # scipy.sparse
        return f"sparse {value.shape[0]}x{value.shape[1]}, nnz={value.nnz}"
    array = np.asarray(value)
    if array.size <= 6:
        text = np.array2string(
            array, precision=precision, separator=", ", suppress_small=False
        )
        return " ".join(text.split())
    return (
        f"{'x'.join(map(str, array.shape))} "
        f"mean={array.mean():.{precision}g} |max|={np.abs(array).max():.{precision}g}"
    )


def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def node_shapes(graph, trace=None):
    """The shape of every node: from a trace where one is given, else inferred."""
    shapes = []
    for node in graph.nodes:
        value = None if trace is None else trace.values[node.index]
        if value is not None:
            shapes.append(tuple(np.shape(value)))
        elif node.kind in ("input", "parameter"):
            shapes.append(node.shape)
        else:
            shapes.append(node.output_shape(*(shapes[p.index] for p in node.parents)))
    return shapes


def graph_to_dot(graph, trace=None, *, values=True, grads=True, precision=3):
    """See :meth:`skgraph.graph.Graph.to_dot`."""
    shapes = node_shapes(graph, trace)
    lines = [
        "digraph skgraph {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        label = [node.name]
        kind = node.kind
        if kind == "compute":
            kind = f"compute: {type(node).__name__}"
        label.append(f"{kind} {_shape_text(shapes[node.index])}")
        if trace is not None and values:
            label.append("value: " + _array_text(trace.values[node.index], precision))
        if trace is not None and grads and node.kind != "input":
            grad = trace.grads[node.index]
            if grad is not None:
                label.append("grad: " + _array_text(grad, precision))
        text = "\\n".join(_escape(part) for part in label)
        lines.append(f'  n{node.index} [label="{text}", {_STYLE[node.kind]}];')
    for node in graph.nodes:
        for parent in getattr(node, "parents", ()):
            lines.append(f"  n{parent.index} -> n{node.index};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_to_svg(dot_text):
    """Render DOT text to SVG with Graphviz, or ``None`` when it is missing."""
    executable = shutil.which("dot")
    if executable is None:
        return None
    result = subprocess.run(
        [executable, "-Tsvg"],
        input=dot_text.encode(),
        capture_output=True,
        check=False,
    )
    return result.stdout.decode() if result.returncode == 0 else None
