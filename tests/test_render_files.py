"""Graphs as pictures and files: notebook display, .dot/.svg/.png, the
matplotlib drawing that needs no Graphviz."""

import os
import shutil
import stat

import numpy as np
import pytest

from skgraph import Graph, LogisticRegressionGraph, _render, mlp_graph, ops

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def no_graphviz(monkeypatch):
    """Pretend the Graphviz `dot` program is not installed."""
    real_which = shutil.which

    def which(name, *args, **kwargs):
        return None if name == "dot" else real_which(name, *args, **kwargs)

    monkeypatch.setattr(_render.shutil, "which", which)


@pytest.fixture
def fake_graphviz(tmp_path, monkeypatch):
    """A stand-in `dot` on the PATH that writes a fixed SVG."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text(
        "#!/bin/sh\n"
        "out=''\n"
        'while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\n'
        "cat > /dev/null\n"
        'if [ -n "$out" ]; then echo "<svg>fake</svg>" > "$out"; '
        'else echo "<svg>fake</svg>"; fi\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return script


def fan_out_graph():
    """The lecture's fan-out example: y feeds u and v, L = u * v."""
    g = Graph()
    x = g.parameter("x", 0.8)
    y = ops.Square(x, name="y")
    u = ops.Sigmoid(y, name="u")
    v = ops.Tanh(y, name="v")
    L = ops.Multiply(u, v, name="L")
    return g, L


def texts_of(figure):
    return [t.get_text() for ax in figure.axes for t in ax.texts]


# -- files ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".dot", ".gv"])
def test_save_dot_is_to_dot(tmp_path, suffix):
    g, L = fan_out_graph()
    trace = g.backward(L, {})
    path = g.save(tmp_path / f"graph{suffix}", trace)
    assert path.read_text() == g.to_dot(trace)
    plain = g.save(tmp_path / f"plain{suffix}")
    assert plain.read_text() == g.to_dot()


def test_save_svg_with_matplotlib_keeps_text(tmp_path):
    g, L = fan_out_graph()
    path = g.save(tmp_path / "graph.svg", g.backward(L, {}), engine="matplotlib")
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("compute: Sigmoid ()", "value: 0.64", "grad: 1."):
        assert text in svg  # text stays text (svg.fonttype="none")


def test_save_png_with_matplotlib(tmp_path):
    g, L = fan_out_graph()
    path = g.save(tmp_path / "graph.png", g.backward(L, {}), engine="matplotlib")
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > image.shape[0]


def test_save_pdf_with_matplotlib(tmp_path):
    g, _ = fan_out_graph()
    path = g.save(tmp_path / "graph.pdf", engine="matplotlib")
    assert path.read_bytes()[:5] == b"%PDF-"


@pytest.mark.usefixtures("no_graphviz")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_auto_engine_without_graphviz_falls_back_to_matplotlib(tmp_path, suffix):
    g, L = fan_out_graph()
    path = g.save(tmp_path / f"graph{suffix}", g.backward(L, {}))
    assert path.stat().st_size > 0
    if suffix == ".png":
        assert path.read_bytes()[:8] == PNG_MAGIC
    else:
        assert "compute: Multiply ()" in path.read_text()


@pytest.mark.usefixtures("no_graphviz")
def test_graphviz_engine_without_graphviz_says_what_is_missing(tmp_path):
    g, _ = fan_out_graph()
    with pytest.raises(RuntimeError, match="Graphviz"):
        g.save(tmp_path / "graph.svg", engine="graphviz")
    assert not (tmp_path / "graph.svg").exists()


def test_auto_engine_uses_graphviz_when_present(tmp_path, fake_graphviz):
    g, _ = fan_out_graph()
    path = g.save(tmp_path / "graph.svg")
    assert path.read_text().strip() == "<svg>fake</svg>"
    forced = g.save(tmp_path / "forced.svg", engine="matplotlib")
    assert "fake" not in forced.read_text()


def test_save_rejects_unknown_suffix_and_engine(tmp_path):
    g, _ = fan_out_graph()
    with pytest.raises(ValueError, match=r"\.svg"):
        g.save(tmp_path / "graph.jpeg")
    with pytest.raises(ValueError, match="engine"):
        g.save(tmp_path / "graph.svg", engine="cairo")


def test_graphviz_never_sees_the_file_name(tmp_path, monkeypatch, fake_graphviz):
    """A name like "-x.svg" must not reach `dot`, which would read an option."""
    commands = []
    real_run = _render.subprocess.run

    def run(command, *args, **kwargs):
        commands.append(list(command))
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(_render.subprocess, "run", run)
    monkeypatch.chdir(tmp_path)
    g, _ = fan_out_graph()
    path = g.save("-x.svg")
    assert (tmp_path / "-x.svg").read_text().strip() == "<svg>fake</svg>"
    assert path.name == "-x.svg"
    assert commands == [[str(fake_graphviz), "-Tsvg"]]  # DOT in, picture out


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_real_graphviz_writes_names_starting_with_a_dash(tmp_path, monkeypatch, suffix):
    monkeypatch.chdir(tmp_path)
    g, L = fan_out_graph()
    path = g.save(f"-x{suffix}", g.backward(L, {}), engine="graphviz")
    data = (tmp_path / f"-x{suffix}").read_bytes()
    assert path.name == f"-x{suffix}"
    assert data[:8] == PNG_MAGIC if suffix == ".png" else b"<svg" in data


def test_save_accepts_str_paths(tmp_path):
    g, _ = fan_out_graph()
    path = g.save(str(tmp_path / "graph.dot"))
    assert path == tmp_path / "graph.dot"


def test_fitted_estimator_graph_saves_in_every_format(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=40) > 0).astype(int)
    graph = LogisticRegressionGraph().fit(X, y).graph_
    for suffix in (".dot", ".svg", ".png"):
        path = graph.save(tmp_path / f"lr{suffix}", engine="matplotlib")
        assert path.stat().st_size > 0
    assert "compute: SigmoidCrossEntropy" in (tmp_path / "lr.svg").read_text()


# -- notebooks -----------------------------------------------------------------------


@pytest.mark.usefixtures("no_graphviz")
def test_notebook_without_graphviz_shows_the_matplotlib_picture():
    g, _ = fan_out_graph()
    svg = g._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for node in g.nodes:
        assert node.name in svg
    assert "compute: Sigmoid ()" in svg  # text stays text
    assert g._repr_html_() is None  # the picture, not the DOT text
    assert plt.get_fignums() == []  # no pyplot figure left behind


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Pretend matplotlib is not installed."""
    monkeypatch.setattr(_render, "matplotlib_available", lambda: False)


@pytest.mark.usefixtures("no_graphviz", "no_matplotlib")
def test_notebook_without_graphviz_or_matplotlib_shows_dot_text_and_a_hint():
    g, _ = fan_out_graph()
    assert g._repr_svg_() is None
    html = g._repr_html_()
    assert "Graphviz" in html and "matplotlib" in html
    assert "digraph skgraph" in html
    assert "compute: Sigmoid" in html
    assert '"' not in html.split("<pre>", 1)[1].split("</pre>")[0]  # escaped


@pytest.mark.usefixtures("no_matplotlib")
def test_notebook_prefers_graphviz_without_matplotlib_too(fake_graphviz):
    g, _ = fan_out_graph()
    assert g._repr_svg_().strip() == "<svg>fake</svg>"
    assert g._repr_html_() is None


def test_notebook_with_graphviz_shows_svg_only(fake_graphviz):
    g, _ = fan_out_graph()
    assert g._repr_svg_().strip() == "<svg>fake</svg>"
    assert g._repr_html_() is None


def test_notebook_repr_escapes_html_in_names():
    g = Graph()
    x = g.parameter("<b>&x", 1.0)
    ops.Square(x, name="y")
    html = _render.dot_fallback_html(g.to_dot())
    assert "<b>&x" not in html and "&lt;b&gt;&amp;x" in html


# -- the matplotlib drawing ------------------------------------------------------------


def test_draw_labels_every_node_with_values_and_gradients():
    g, L = fan_out_graph()
    figure = g.draw(g.backward(L, {}), title="fan-out")
    try:
        texts = texts_of(figure)
        for node in g.nodes:
            assert node.name in texts
        assert "value: 0.64" in texts  # y = x^2 = 0.64
        assert sum(t.startswith("grad: ") for t in texts) == len(g.nodes)
        assert "fan-out" in texts
        assert figure in [plt.figure(n) for n in plt.get_fignums()]
    finally:
        plt.close(figure)


def test_draw_without_trace_and_on_given_axes():
    net = mlp_graph(4, (5,), 3, activation="tanh")
    figure, ax = plt.subplots()
    try:
        assert net.graph.draw(ax=ax, legend=False) is figure
        texts = texts_of(figure)
        assert not any(t.startswith(("value:", "grad:")) for t in texts)
        assert "compute: Tanh (n, 5)" in texts
        assert ax.get_legend() is None
    finally:
        plt.close(figure)


def test_draw_can_hide_values_or_gradients():
    g, L = fan_out_graph()
    trace = g.backward(L, {})
    figure = g.draw(trace, grads=False)
    try:
        texts = texts_of(figure)
        assert any(t.startswith("value:") for t in texts)
        assert not any(t.startswith("grad:") for t in texts)
    finally:
        plt.close(figure)


def test_draw_shows_sparse_inputs_without_densifying():
    sparse = pytest.importorskip("scipy.sparse")
    net = mlp_graph(6, (), 1, output="logistic")
    X = sparse.random(8, 6, density=0.3, format="csr", random_state=0)
    trace = net.graph.forward(net.logits, {net.X: X})
    figure = net.graph.draw(trace)
    try:
        assert any("sparse 8x6" in t for t in texts_of(figure))
    finally:
        plt.close(figure)


def test_layers_point_every_edge_right_and_place_every_node_once():
    net = mlp_graph(4, (8, 6), 3, activation="relu")
    graph = net.graph
    columns = _render.layer_positions(graph)
    column_of = {}
    for k, column in enumerate(columns):
        for index in column:
            assert index not in column_of
            column_of[index] = k
    assert sorted(column_of) == list(range(len(graph.nodes)))
    for node in graph.nodes:
        for parent in getattr(node, "parents", ()):
            assert column_of[parent.index] < column_of[node.index]
    # parameters sit next to the layer that uses them, the objective last
    assert column_of[net.weights[0].index] == column_of[graph["z1"].index] - 1
    assert columns[-1] == [net.objective.index]
    assert _render.layer_positions(graph) == columns  # deterministic


@pytest.mark.usefixtures("no_graphviz")
def test_dollar_signs_in_names_are_drawn_literally(tmp_path):
    g = Graph()
    x = g.parameter("cost $x$", 2.0)
    broken = ops.Square(x, name=r"$\frac{")  # not valid mathtext
    ops.Sum(broken, name="$")
    figure = g.draw()
    try:
        texts = [t for ax in figure.axes for t in ax.texts]
        names = {t.get_text() for t in texts}
        assert {"cost $x$", r"$\frac{", "$"} <= names
        assert not any(t.get_parse_math() for t in texts if t.get_text() in names)
        figure.canvas.draw()  # mathtext would raise here on "$\frac{"
    finally:
        plt.close(figure)
    assert g.save(tmp_path / "dollars.png").read_bytes()[:8] == PNG_MAGIC
    assert "cost $x$" in g.save(tmp_path / "dollars.svg").read_text()


def test_layers_of_a_single_node_and_of_an_empty_graph():
    g = Graph()
    assert _render.layer_positions(g) == [[]]
    g.parameter("w", 1.0)
    assert _render.layer_positions(g) == [[0]]
    figure = g.draw()
    plt.close(figure)
