"""Every script in examples/ runs headless to completion.

The examples check their own results (against hand-derived values,
finite differences or scikit-learn), so a zero exit status means they are
right, not only that they run.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))

TIMEOUT = 120  # seconds, per script


def test_examples_found():
    assert SCRIPTS, f"no example scripts in {EXAMPLES}"


def run_script(script, cwd, *args):
    # The repository root on the path: skgraph imports even when not installed.
    root = str(EXAMPLES.parent)
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n"
        f"--- stdout (tail) ---\n{result.stdout[-3000:]}\n"
        f"--- stderr (tail) ---\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.mark.parametrize(
    "script",
    [path for path in SCRIPTS if path.name != "demo.py"],  # test_demo_output
    ids=lambda path: path.name,
)
def test_example_runs(script, tmp_path):
    run_script(script, tmp_path)


@pytest.mark.slow
def test_demo_output(tmp_path):
    """`make demo`: a few self-explanatory lines and a saved picture, no DOT."""
    stdout = run_script(EXAMPLES / "demo.py", tmp_path)
    lines = stdout.strip().splitlines()
    assert len(lines) <= 15, stdout
    assert "digraph" not in stdout and "->" not in stdout
    assert "computation graphs" in lines[0]  # what skgraph is, first
    assert stdout.count("test accuracy: skgraph") == 2
    assert "scikit-learn" in stdout
    assert "gradient check" in stdout and "(correct:" in stdout
    picture = tmp_path / "skgraph_demo_graph.png"
    assert str(picture) in stdout  # says where the picture is
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(picture).shape[1] > 600  # a readable size


def test_demo_needs_only_the_examples_extra():
    """`make demo` installs the package and the `examples` extra, nothing else
    (not the test extra: Dask, pandas, ruff, ... past 1 GB)."""
    tree = ast.parse((EXAMPLES / "demo.py").read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
        )
    }
    third_party = imported - set(sys.stdlib_module_names)
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    allowed = {"skgraph", "numpy", "scipy", "sklearn"} | {
        re.split(r"[<>=\[ ]", requirement)[0]
        for requirement in extra["optional-dependencies"]["examples"]
    }
    assert third_party <= allowed, third_party - allowed
    assert "matplotlib" in allowed  # graph.save draws with it


def test_make_demo_installs_only_the_examples_extra(tmp_path):
    """What `make demo` and `make test` would run, from a fresh clone."""
    make = shutil.which("make")
    assert make, "the Makefile is how the project is built: install make"

    def dry_run(target):
        return subprocess.run(
            [make, "-n", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    demo = dry_run("demo")
    installs = [line for line in demo.splitlines() if "pip install" in line]
    assert any('-e ".[examples]"' in line for line in installs), demo
    assert not any("[test]" in line or "[docs]" in line for line in installs), demo
    assert "examples/demo.py" in demo
    assert '-e ".[test]"' in dry_run("test")


def test_license_is_an_spdx_string_and_setuptools_supports_it():
    """A TOML-table license makes setuptools warn on every install; the
    string form needs setuptools 77 (PEP 639)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "BSD-3-Clause"
    (setuptools,) = [
        r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")
    ]
    floor = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert floor and int(floor[1]) >= 77, setuptools
