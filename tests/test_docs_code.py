"""The Python code shown in the documentation runs, and its asserts hold.

Above all the "Extending" page: its Softplus op, gradient check and training
loop are meant to be copied, so they must keep working. Every page is read
the way Sphinx reads it: ``.. code-block:: python`` blocks run in order in
one namespace per page (the page's narrative), ``.. plot::`` blocks as the
plot directive runs them (``:context:`` shares a namespace, ``:context:
reset`` starts a new one, no ``:context:`` runs alone). No Sphinx needed.
"""

import re
import textwrap
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(
    path
    for pattern in ("*.rst", "user_guide/*.rst")
    for path in DOCS.glob(pattern)
    if path.name != "sg_execution_times.rst"
)
#: What conf.py's plot_pre_code gives every plot.
PLOT_PRE_CODE = "import numpy as np\nimport matplotlib.pyplot as plt\n"
#: Pages whose code fits many models; still run by `make test`.
SLOW = {"solvers.rst"}

DIRECTIVE = re.compile(r"^\.\. (code-block|plot)::\s*(\S*)\s*$")
OPTION = re.compile(r"^\s+:([\w-]+):\s*(.*)$")


def code_blocks(path):
    """``(kind, options, code)`` for each Python block of an rst page."""
    lines = path.read_text().splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = DIRECTIVE.match(lines[i])
        i += 1
        if not match or (match[1] == "code-block" and match[2] != "python"):
            continue
        options = {}
        while i < len(lines) and OPTION.match(lines[i]):
            name, value = OPTION.match(lines[i]).groups()
            options[name] = value
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n")
        if code:
            blocks.append((match[1], options, code))
    return blocks


def run_page(path):
    page_namespace = {"__name__": "__docs__"}
    plot_namespace = None
    for kind, options, code in code_blocks(path):
        if kind == "code-block":
            namespace = page_namespace
        else:
            context = options.get("context")
            if context is None or context == "reset" or plot_namespace is None:
                plot_namespace = {"__name__": "__docs__"}
                exec(PLOT_PRE_CODE, plot_namespace)
            if context is None or "close-figs" in context or context == "reset":
                plt.close("all")
            namespace = plot_namespace
        try:
            exec(compile(code, f"{path.name}:{kind}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(
                f"a {kind} block of {path.relative_to(DOCS)} failed:\n{code}"
            ) from error
    plt.close("all")


def test_pages_found():
    names = {path.name for path in PAGES}
    assert {"extending.rst", "how_it_works.rst", "getting_started.rst"} <= names


def test_extending_page_defines_checks_and_trains_an_op(tmp_path, monkeypatch):
    page = DOCS / "user_guide" / "extending.rst"
    blocks = code_blocks(page)
    assert any("class Softplus(Op)" in code for _, _, code in blocks)
    assert any("check_gradients(" in code for _, _, code in blocks)
    monkeypatch.chdir(tmp_path)
    run_page(page)


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            path,
            id=str(path.relative_to(DOCS)),
            marks=pytest.mark.slow if path.name in SLOW else (),
        )
        for path in PAGES
        if path.name != "extending.rst"
    ],
)
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # code that writes files writes them here
    run_page(page)


def test_readme_code_runs(tmp_path, monkeypatch):
    readme = DOCS.parent / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"__name__": "__docs__"})
    assert (tmp_path / "model.svg").stat().st_size > 0
