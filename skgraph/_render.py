"""Drawing graphs: Graphviz DOT text, pictures and files.

Three ways to look at a :class:`~skgraph.graph.Graph`:

- :func:`graph_to_dot`, Graphviz DOT text (no dependency);
- :func:`dot_to_svg`, that text rendered by the Graphviz ``dot`` program when
  it is installed;
- :func:`draw_graph`, a layered drawing with matplotlib alone (columns by
  topological depth, one box per node coloured by its kind), so that pictures
  never need the Graphviz binary.

:func:`save_graph` writes ``.dot``, ``.svg``, ``.png`` or ``.pdf`` files with
whichever of these is available, and :func:`graph_svg` is what a Jupyter
notebook shows: Graphviz's picture, else matplotlib's.
"""

from __future__ import annotations

import html
import importlib.util
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np

_STYLE = {
    "input": 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
    "parameter": 'shape=box, style="filled", fillcolor="#fde68a"',
    "compute": 'shape=ellipse, style="filled", fillcolor="#e5e7eb"',
}

#: Fill and border colours of the boxes drawn by :func:`draw_graph`.
_FILL = {"input": "#dbeafe", "parameter": "#fde68a", "compute": "#e5e7eb"}
_BORDER = {"input": "#1d4ed8", "parameter": "#b45309", "compute": "#4b5563"}
#: Text colours of the label lines: values forward (blue), gradients
#: backward (red), as in the lecture's figures.
_INK = {"name": "#111827", "kind": "#374151", "value": "#1d4ed8", "grad": "#b91c1c"}

GRAPHVIZ_HINT = (
    "Install Graphviz (the `dot` program: `apt install graphviz`, "
    "`brew install graphviz` or `conda install graphviz`) to see this graph "
    "as a picture here, or call `graph.draw()` for a matplotlib drawing."
)

#: What a notebook shows with neither Graphviz nor matplotlib.
PICTURE_HINT = (
    "Install matplotlib (`pip install matplotlib`) or Graphviz (the `dot` "
    "program: `apt install graphviz`, `brew install graphviz` or `conda "
    "install graphviz`) to see this graph as a picture here."
)

#: File types :func:`save_graph` writes.
FORMATS = (".dot", ".gv", ".svg", ".png", ".pdf")


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


def node_labels(graph, trace=None, *, values=True, grads=True, precision=3):
    """The label of every node, as a list of ``(role, text)`` lines.

    ``role`` is ``"name"``, ``"kind"`` (kind, op class and shape), ``"value"``
    or ``"grad"``; the last two only with a trace (and no gradient line for
    input nodes, or where no gradient flowed).
    """
    shapes = node_shapes(graph, trace)
    labels = []
    for node in graph.nodes:
        kind = node.kind
        if kind == "compute":
            kind = f"compute: {type(node).__name__}"
        lines = [
            ("name", node.name),
            ("kind", f"{kind} {_shape_text(shapes[node.index])}"),
        ]
        if trace is not None and values:
            text = _array_text(trace.values[node.index], precision)
            lines.append(("value", "value: " + text))
        if trace is not None and grads and node.kind != "input":
            grad = trace.grads[node.index]
            if grad is not None:
                lines.append(("grad", "grad: " + _array_text(grad, precision)))
        labels.append(lines)
    return labels


def graph_to_dot(graph, trace=None, *, values=True, grads=True, precision=3):
    """See :meth:`skgraph.graph.Graph.to_dot`."""
    labels = node_labels(graph, trace, values=values, grads=grads, precision=precision)
    lines = [
        "digraph skgraph {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        text = "\\n".join(_escape(part) for _, part in labels[node.index])
        lines.append(f'  n{node.index} [label="{text}", {_STYLE[node.kind]}];')
    for node in graph.nodes:
        for parent in getattr(node, "parents", ()):
            lines.append(f"  n{parent.index} -> n{node.index};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Graphviz ---------------------------------------------------------------------


def graphviz_available():
    """Whether the Graphviz ``dot`` program is on the ``PATH``."""
    return shutil.which("dot") is not None


def _run_dot(dot_text, fmt):
    """Run ``dot -T<fmt>``; returns its stdout, or ``None`` when it fails.

    The DOT text goes in and the picture comes out through pipes: no file
    name is ever on ``dot``'s command line, where one starting with ``-``
    would be read as an option.
    """
    executable = shutil.which("dot")
    if executable is None:
        return None
    command = [executable, f"-T{fmt}"]
    result = subprocess.run(
        command, input=dot_text.encode(), capture_output=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def dot_to_svg(dot_text):
    """Render DOT text to SVG with Graphviz, or ``None`` when it is missing."""
    svg = _run_dot(dot_text, "svg")
    return None if svg is None else svg.decode()


def graph_svg(graph):
    """The graph as SVG text: drawn by Graphviz when its ``dot`` program is
    installed, else by matplotlib when that is; ``None`` with neither."""
    svg = dot_to_svg(graph_to_dot(graph))
    if svg is not None or not matplotlib_available():
        return svg
    buffer = io.StringIO()
    _write_drawing(graph, buffer, "svg")
    return buffer.getvalue()


def dot_fallback_html(dot_text):
    """What a notebook shows with neither Graphviz nor matplotlib: the DOT
    text and a hint."""
    return (
        '<div class="skgraph-graph">'
        f"<p><em>{html.escape(PICTURE_HINT)}</em></p>"
        f"<pre>{html.escape(dot_text)}</pre>"
        "</div>"
    )


# -- matplotlib: a layered drawing --------------------------------------------------


def _layout(graph):
    """Columns of a layered drawing, with the waypoints of long edges.

    Returns ``(columns, edges)``: ``columns`` lists the items of each column
    top to bottom, an item being a node index (``< len(graph.nodes)``) or a
    waypoint (``>=``); ``edges`` lists ``(parent, waypoints, child)`` for
    every edge, ``waypoints`` being the items an edge that skips columns
    passes through, one per skipped column.
    """
    n = len(graph.nodes)
    children = [[] for _ in range(n)]
    for node in graph.nodes:
        for parent in getattr(node, "parents", ()):
            children[parent.index].append(node.index)
    height = [0] * n  # longest path to a sink
    for index in reversed(range(n)):
        if children[index]:
            height[index] = 1 + max(height[c] for c in children[index])
    last = max(height, default=0)
    column_of = [last - h for h in height]
    columns = [[] for _ in range(last + 1)]
    for index in range(n):
        columns[column_of[index]].append(index)
    neighbours = [[] for _ in range(n)]
    edges = []
    for node in graph.nodes:
        for parent in getattr(node, "parents", ()):
            chain = [parent.index]
            for column in range(column_of[parent.index] + 1, column_of[node.index]):
                waypoint = len(neighbours)
                neighbours.append([])
                columns[column].append(waypoint)
                chain.append(waypoint)
            chain.append(node.index)
            for a, b in zip(chain, chain[1:], strict=False):
                neighbours[a].append(b)
                neighbours[b].append(a)
            edges.append((parent.index, chain[1:-1], node.index))

    row = [0.0] * len(neighbours)

    def centre(column):
        middle = (len(column) - 1) / 2
        for k, item in enumerate(column):
            row[item] = k - middle

    for column in columns:
        centre(column)
    for sweep in range(6):
        for column in columns if sweep % 2 == 0 else columns[::-1]:
            keys = {}
            for item in column:
                near = neighbours[item]
                keys[item] = (
                    sum(row[j] for j in near) / len(near) if near else row[item]
                )
            column.sort(key=lambda i: (keys[i], row[i], i))
            centre(column)
    return columns, edges


def layer_positions(graph):
    """Column and row of every node of a layered left-to-right drawing.

    Every node sits as far right as its consumers allow: sinks (the loss)
    in the last column, any other node one column left of its leftmost
    consumer. So parameters and inputs sit next to the layer that uses them,
    and edges always point right. An edge that skips columns gets a waypoint
    in each, so it runs between the boxes, never through one. Rows within a
    column are ordered by a few sweeps of the barycentre heuristic (each
    item moves towards the mean row of its neighbours), which keeps edges
    short and mostly uncrossed. Deterministic.

    Returns
    -------
    columns : list of list of int
        The node indices of each column, top to bottom.
    """
    n = len(graph.nodes)
    columns, _ = _layout(graph)
    return [[item for item in column if item < n] for column in columns]


def _text_width(text, size, weight="normal"):
    """Width of ``text`` in points at font ``size``."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    if not text:
        return 0.0
    # "\$" keeps a dollar literal: names are not mathtext (see draw_graph).
    literal = text.replace("$", r"\$")
    path = TextPath((0, 0), literal, size=size, prop=FontProperties(weight=weight))
    return float(path.get_extents().width)


def _edge_path(points):
    """A smooth path through ``points``: curves with horizontal tangents
    between columns, straight runs across a column (the waypoint pairs)."""
    from matplotlib.path import Path as MplPath

    vertices, codes = [points[0]], [MplPath.MOVETO]
    for k, ((x0, y0), (x1, y1)) in enumerate(zip(points, points[1:], strict=False)):
        if k % 2 == 1:  # across a column, from its left side to its right
            vertices.append((x1, y1))
            codes.append(MplPath.LINETO)
        else:
            half = (x1 - x0) / 2
            vertices += [(x0 + half, y0), (x1 - half, y1), (x1, y1)]
            codes += [MplPath.CURVE4] * 3
    return MplPath(vertices, codes)


def _new_figure(size, use_pyplot):
    if use_pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=size)
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def matplotlib_available():
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def _require_matplotlib(what):
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{what} needs matplotlib (pip install matplotlib), or Graphviz's "
            "`dot` program for .svg/.png files."
        ) from None


def _box_sizes(labels, fontsize, line_height, pad):
    """``{node index: (width, height)}`` of each node's box, in points."""
    sizes = {}
    for index, lines in enumerate(labels):
        width = max(
            _text_width(text, fontsize, "bold" if role == "name" else "normal")
            for role, text in lines
        )
        sizes[index] = (width + 2 * pad, len(lines) * line_height + 2 * pad)
    return sizes


def _place(columns, sizes, fontsize):
    """Centres of the items and horizontal spans of the columns, in points.

    Returns ``(centres, spans, total_width, half_height)``: ``centres`` maps
    an item to ``(x, y)``, ``spans`` lists each column's ``(left, right)``.
    Columns are vertically centred on ``y = 0``.
    """
    point = (0.0, 0.0)  # a waypoint takes no room but a gap
    h_gap, v_gap, margin = 3.5 * fontsize, 1.2 * fontsize, fontsize
    centres, spans, heights = {}, [], []
    x = margin
    for column in columns:
        width = max((sizes.get(i, point)[0] for i in column), default=0.0)
        extent = [sizes.get(i, point)[1] for i in column]
        height = sum(extent) + v_gap * (len(column) - 1)
        heights.append(height)
        top = height / 2
        for item, item_height in zip(column, extent, strict=True):
            centres[item] = (x + width / 2, top - item_height / 2)
            top -= item_height + v_gap
        spans.append((x, x + width))
        x += width + h_gap
    return centres, spans, x - h_gap + margin, max(heights, default=0.0) / 2 + margin


def _prepare_axes(ax, width, bottom, top, use_pyplot):
    """The axes to draw in (a new figure of the drawing's size without one)."""
    if ax is None:
        figure = _new_figure((width / 72.0, (top - bottom) / 72.0), use_pyplot)
        ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, width)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def _draw_node(ax, node, lines, centre, size, fontsize, line_height, pad):
    """One node: a rounded box coloured by its kind, and its label lines."""
    from matplotlib.patches import FancyBboxPatch

    (cx, cy), (w, h) = centre, size
    ax.add_patch(
        FancyBboxPatch(
            (cx - w / 2, cy - h / 2),
            w,
            h,
            boxstyle=f"round,pad=0,rounding_size={0.5 * pad}",
            facecolor=_FILL[node.kind],
            edgecolor=_BORDER[node.kind],
            linewidth=1.0,
            zorder=2,
        )
    )
    y = cy + h / 2 - pad - line_height / 2
    for role, text in lines:
        ax.text(
            cx,
            y,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            color=_INK[role],
            fontweight="bold" if role == "name" else "normal",
            zorder=3,
            parse_math=False,  # a name like "cost $x$" is drawn as written
        )
        y -= line_height


def _draw_edges(ax, columns, edges, centres, spans, sizes, fontsize):
    """Every edge, from its parent's right side to its child's left side."""
    from matplotlib.patches import FancyArrowPatch

    column_of = {item: k for k, column in enumerate(columns) for item in column}
    for parent, waypoints, child in edges:
        px, py = centres[parent]
        cx, cy = centres[child]
        points = [(px + sizes[parent][0] / 2, py)]
        for waypoint in waypoints:
            left, right = spans[column_of[waypoint]]
            wy = centres[waypoint][1]
            points += [(left, wy), (right, wy)]
        points.append((cx - sizes[child][0] / 2, cy))
        ax.add_patch(
            FancyArrowPatch(
                path=_edge_path(points),
                arrowstyle="-|>",
                mutation_scale=1.1 * fontsize,
                color="#6b7280",
                linewidth=0.9,
                shrinkA=0.0,
                shrinkB=0.0,
                zorder=1,
            )
        )


def _draw_legend(ax, annotated, values, grads, fontsize):
    """The colours' meaning under the drawing."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=_FILL[k], edgecolor=_BORDER[k], label=k)
        for k in ("input", "parameter", "compute")
    ]
    if annotated:
        if values:
            handles.append(Patch(color=_INK["value"], label="value (forward)"))
        if grads:
            handles.append(Patch(color=_INK["grad"], label="grad (backward)"))
    ax.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        fontsize=0.9 * fontsize,
        frameon=False,
        handlelength=1.2,
        borderaxespad=0.2,
    )


def draw_graph(
    graph,
    trace=None,
    *,
    values=True,
    grads=True,
    precision=3,
    ax=None,
    title=None,
    fontsize=9.0,
    legend=True,
    _use_pyplot=True,
):
    """See :meth:`skgraph.graph.Graph.draw`."""
    _require_matplotlib("Graph.draw")
    labels = node_labels(graph, trace, values=values, grads=grads, precision=precision)
    columns, edges = _layout(graph)
    line_height, pad = 1.3 * fontsize, 0.6 * fontsize
    sizes = _box_sizes(labels, fontsize, line_height, pad)
    centres, spans, width, half = _place(columns, sizes, fontsize)
    bottom = -half - (2.2 * fontsize if legend else 0.0)
    top = half + (2.0 * fontsize if title else 0.0)
    ax = _prepare_axes(ax, width, bottom, top, _use_pyplot)
    for node in graph.nodes:
        i = node.index
        _draw_node(
            ax, node, labels[i], centres[i], sizes[i], fontsize, line_height, pad
        )
    _draw_edges(ax, columns, edges, centres, spans, sizes, fontsize)
    if title:
        ax.text(
            width / 2,
            top - fontsize,
            title,
            ha="center",
            va="center",
            fontsize=1.2 * fontsize,
            fontweight="bold",
        )
    if legend:
        _draw_legend(ax, trace is not None, values, grads, fontsize)
    return ax.figure


# -- files --------------------------------------------------------------------------


def save_graph(
    graph,
    path,
    trace=None,
    *,
    values=True,
    grads=True,
    precision=3,
    engine="auto",
    dpi=150,
):
    """See :meth:`skgraph.graph.Graph.save`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"Cannot save a graph as {path.name!r}: the file name must end in "
            f"one of {', '.join(FORMATS)}."
        )
    if engine not in ("auto", "graphviz", "matplotlib"):
        raise ValueError(
            f"engine must be 'auto', 'graphviz' or 'matplotlib', got {engine!r}."
        )
    options = {"values": values, "grads": grads, "precision": precision}
    if suffix in (".dot", ".gv"):
        path.write_text(graph_to_dot(graph, trace, **options))
        return path
    if engine != "matplotlib" and graphviz_available():
        picture = _run_dot(graph_to_dot(graph, trace, **options), suffix[1:])
        if picture is None:
            raise RuntimeError(f"Graphviz's `dot` failed to write {path}.")
        path.write_bytes(picture)
        return path
    if engine == "graphviz":
        raise RuntimeError(
            f"engine='graphviz' needs the Graphviz `dot` program, which is not "
            f"on the PATH. {GRAPHVIZ_HINT}"
        )
    _require_matplotlib(f"Saving {path.name} without Graphviz")
    _write_drawing(graph, path, suffix[1:], trace, dpi=dpi, **options)
    return path


def _write_drawing(graph, target, fmt, trace=None, *, dpi=150, **options):
    """Write :func:`draw_graph`'s picture to a file name or a file object."""
    import matplotlib

    figure = draw_graph(graph, trace, **options, _use_pyplot=False)
    # Text stays text in SVG; a fixed salt makes the same graph the same file.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "skgraph"}):
        figure.savefig(target, dpi=dpi, format=fmt, facecolor="white")
