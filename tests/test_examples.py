"""Every script in examples/ runs headless to completion.

The examples check their own results (against hand-derived values,
finite differences or scikit-learn), so a zero exit status means they are
right, not only that they run.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))

#: Scripts that fit real estimators or train for long; still run by `make test`.
SLOW = {"demo.py"}
TIMEOUT = 120  # seconds, per script


def test_examples_found():
    assert SCRIPTS, f"no example scripts in {EXAMPLES}"


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(
            path, id=path.name, marks=pytest.mark.slow if path.name in SLOW else ()
        )
        for path in SCRIPTS
    ],
)
def test_example_runs(script, tmp_path):
    # The repository root on the path: skgraph imports even when not installed.
    root = str(EXAMPLES.parent)
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
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
