"""A/B timing of two source trees of skgraph on the benchmarks' cases.

Each case (an objective evaluation of ``bench_engine``, a fit of
``bench_logistic``, an adam epoch or an L-BFGS iteration of ``bench_mlp``) is
timed in a fresh subprocess per tree, the trees alternating, on one thread
(``OMP_NUM_THREADS=1`` and friends). A subprocess reports the median CPU time
(``time.process_time``) of its repeats, which leaves out the time it waited
for a core on a loaded machine; the table shows, per case, the median over
the rounds of each tree and their ratio B / A.

Usage::

    python benchmarks/ab.py TREE_A TREE_B [--rounds R] [--repeats N] [--only SUBSTR]

``TREE_A`` and ``TREE_B`` are checkouts of the repository (e.g. git worktrees);
each subprocess imports ``skgraph`` from its tree (``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

_LOGISTIC = "LogisticRegressionGraph(tol=1e-6, max_iter=1000)"
_NEWTON = 'LogisticRegressionGraph(solver="newton-cholesky", tol=1e-6)'
#: (name, the data, the estimator fitted) of the fit cases.
_FITS = [
    ("logistic lbfgs 20,000 x 50", "classification(20_000, 50, 2)", _LOGISTIC),
    (
        "logistic lbfgs 20,000 x 50, 10 classes",
        "classification(20_000, 50, 10)",
        _LOGISTIC,
    ),
    ("logistic lbfgs breast cancer", 'bundled("breast_cancer")', _LOGISTIC),
    ("logistic newton-cholesky breast cancer", 'bundled("breast_cancer")', _NEWTON),
    (
        "logistic newton-cholesky 20,000 x 50",
        "classification(20_000, 50, 2)",
        _NEWTON,
    ),
    ("logistic lbfgs digits", 'bundled("digits")', _LOGISTIC),
    ("mlp adam 2 epochs digits", 'bundled("digits")', 'mlp("adam", 2)'),
    (
        "mlp adam 1 epoch 20,000 x 100",
        "classification(20_000, 100, 10)",
        'mlp("adam", 1)',
    ),
    ("mlp lbfgs 5 iterations digits", 'bundled("digits")', 'mlp("lbfgs", 5)'),
    (
        "mlp lbfgs 3 iterations 20,000 x 100",
        "classification(20_000, 100, 10)",
        'mlp("lbfgs", 3)',
    ),
]
#: name -> the code of one case; it defines ``step()``, the work timed.
CASES = {
    f"engine {label} 20,000 x 100": f"""
X, y = classification(20_000, 100, {k})
objective, theta = engine(X, y, {k})
step = lambda: objective(theta)
"""
    for label, k in (("binary", 2), ("10 classes", 10))
}
CASES.update(
    (name, f"X, y = {data}\nstep = lambda: quiet_fit({estimator}, X, y)\n")
    for name, data, estimator in _FITS
)

_PRELUDE = """
import statistics, sys, time, warnings
import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
import skgraph
from skgraph import LogisticRegressionGraph, MLPClassifierGraph, linear_graph
from skgraph._optimize import GraphObjective

def classification(n, d, k):
    X, y = datasets.make_classification(
        n, d, n_informative=min(d, 20), n_classes=k, random_state=0)
    return StandardScaler().fit_transform(X), y

def bundled(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y

def engine(X, y, k):
    net = linear_graph(X.shape[1], 1 if k == 2 else k,
                       output="logistic" if k == 2 else "softmax")
    if k == 2:
        Y = y[:, None].astype(float)
    else:
        Y = np.zeros((len(y), k), order="F")
        Y[np.arange(len(y)), y] = 1.0
    s = np.full(len(y), 1.0 / len(y))
    feed = {net.X: X, net.y: Y, net.sample_weight: s, net.l2_strength: 1.0 / len(y)}
    theta = np.zeros(net.graph.n_parameters)
    return GraphObjective(net.graph, net.objective, feed), theta

def mlp(solver, n_iter):
    params = dict(hidden_layer_sizes=(100,), alpha=1e-4, random_state=0, tol=0.0)
    if solver == "adam":
        params.update(batch_size=200, n_iter_no_change=np.inf)
    return MLPClassifierGraph(solver=solver, max_iter=n_iter, **params)

def quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
"""

_TIMER = """
step()  # warm up
times = []
for _ in range(REPEATS):
    start = time.process_time()
    step()
    times.append(time.process_time() - start)
print(statistics.median(times))
"""

_ONE_THREAD = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "BLIS_NUM_THREADS",
    )
}


def time_case(tree, code, repeats):
    """Median CPU seconds of ``code``'s ``step()`` in a fresh process of ``tree``."""
    env = {**os.environ, **_ONE_THREAD, "PYTHONPATH": tree}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    script = _PRELUDE + code + _TIMER.replace("REPEATS", str(repeats))
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    return float(out.stdout.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree_a")
    parser.add_argument("tree_b")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    results = {}
    for name, code in CASES.items():
        if args.only not in name:
            continue
        times = {"A": [], "B": []}
        try:
            for r in range(args.rounds):
                order = ("A", "B") if r % 2 == 0 else ("B", "A")
                for which in order:
                    tree = args.tree_a if which == "A" else args.tree_b
                    times[which].append(time_case(tree, code, args.repeats))
        except subprocess.CalledProcessError as error:
            # e.g. a solver the older tree does not have yet
            last_line = (error.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{name:42s} not run in one of the trees: {last_line}")
            continue
        a, b = statistics.median(times["A"]), statistics.median(times["B"])
        results[name] = (a, b)
        print(f"{name:42s} A {a * 1e3:9.2f} ms  B {b * 1e3:9.2f} ms  B/A {b / a:.3f}")
        sys.stdout.flush()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
