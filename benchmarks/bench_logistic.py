"""LogisticRegressionGraph against scikit-learn's LogisticRegression.

Fit time of ``LogisticRegressionGraph(solver="lbfgs")`` beside
``sklearn.linear_model.LogisticRegression(solver="lbfgs")`` with the same ``C``
and ``tol`` (1e-4 and 1e-6), on the engine benchmark's problems plus the
datasets that ship with scikit-learn (standardised). Fits of the two are
interleaved, their order alternating, so drifts in machine load hit both
alike; the table shows medians, their ratio per case and the median ratio of
this one run, the iteration counts of both, and the largest difference of
their coefficients (intercepts included). Then:

* peak memory of fitting the largest problem, each estimator in a fresh
  process (``tracemalloc``: numpy arrays and Python objects allocated by
  ``fit``, the data excluded);
* for information, fit times of the graph's ``"cg"`` and ``"gd"`` solvers.

BLAS and OpenMP run on one thread unless ``--threads`` says otherwise. On one
thread a fit's time is the CPU time of this process (``time.process_time``):
on a machine shared with other work, it leaves out the time the process
waited for a core, which wall-clock medians cannot. With more threads it is
wall-clock time.

Usage::

    python benchmarks/bench_logistic.py [--threads N] [--repeats R] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy
import sklearn
from bench_engine import make_problem as engine_problem
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from skgraph import LogisticRegressionGraph

#: (label, n_samples, n_features, n_classes, sparse density or None)
SYNTHETIC = [
    ("dense 1,000 x 20", 1_000, 20, 2, None),
    ("dense 20,000 x 50", 20_000, 50, 2, None),
    ("dense 100,000 x 100", 100_000, 100, 2, None),
    ("dense 20,000 x 50, 10 classes", 20_000, 50, 10, None),
    ("sparse 5,000 x 20,000 (0.5%)", 5_000, 20_000, 2, 0.005),
]
BUNDLED = ["breast_cancer", "iris", "wine", "digits"]
LARGEST = "dense 100,000 x 100"
TOLS = (1e-4, 1e-6)
C = 1.0
MAX_ITER = 1000


def make_problem(n_samples, n_features, n_classes, density, seed=0):
    """Features and labels: the engine benchmark's problems."""
    X, labels, _ = engine_problem(n_samples, n_features, n_classes, density, seed)
    return X, labels


def bundled_problem(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def problems():
    for label, n, d, k, density in SYNTHETIC:
        yield label, *make_problem(n, d, k, density)
    for name in BUNDLED:
        yield name.replace("_", " "), *bundled_problem(name)


def estimators(solver, tol):
    """The scikit-learn estimator and ours, with the same settings."""
    common = dict(C=C, tol=tol, max_iter=MAX_ITER, solver=solver)
    return LogisticRegression(**common), LogisticRegressionGraph(**common)


#: The clock of fit times: CPU time on one thread (see the module docstring).
CLOCK = time.process_time


def fit_time(estimator, X, y):
    start = CLOCK()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return CLOCK() - start


def compare(X, y, tol, repeats, budget):
    """Median fit times of both, interleaved; the last fitted pair."""
    reference, graph = estimators("lbfgs", tol)
    first = fit_time(reference, X, y) + fit_time(graph, X, y)  # warm up
    repeats = int(np.clip(budget / first, 3, repeats))
    times_ref, times_graph = [], []
    for r in range(repeats):
        pair = [(reference, times_ref), (graph, times_graph)]
        for estimator, times in pair[:: 1 if r % 2 else -1]:
            times.append(fit_time(estimator, X, y))
    delta = max(
        np.abs(graph.coef_ - reference.coef_).max(),
        np.abs(graph.intercept_ - reference.intercept_).max(),
    )
    return {
        "sklearn": float(np.median(times_ref)),
        "graph": float(np.median(times_graph)),
        "it_sklearn": int(reference.n_iter_[0]),
        "it_graph": int(graph.n_iter_[0]),
        "delta": float(delta),
        "repeats": repeats,
    }


def other_solvers(X, y, tol, repeats):
    """Median fit time and iterations of the graph's cg and gd solvers."""
    out = {}
    for solver in ("cg", "gd"):
        graph = estimators(solver, tol)[1]
        times = [fit_time(graph, X, y) for _ in range(repeats)]
        out[solver] = (float(np.median(times)), int(graph.n_iter_[0]))
    return out


def peak_memory(which):
    """Peak bytes that fitting the largest problem allocates (in a fresh process)."""
    code = (
        "import json, sys, tracemalloc\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "import bench_logistic as b\n"
        "from threadpoolctl import threadpool_limits\n"
        "case = next(c for c in b.SYNTHETIC if c[0] == b.LARGEST)\n"
        "X, y = b.make_problem(*case[1:])\n"
        f"est = b.estimators('lbfgs', 1e-4)[{0 if which == 'sklearn' else 1}]\n"
        "with threadpool_limits(1):\n"
        "    tracemalloc.start()\n"
        "    b.fit_time(est, X, y)\n"
        "    peak = tracemalloc.get_traced_memory()[1]\n"
        "print(json.dumps({'peak': peak, 'data': X.nbytes}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def blas_description():
    parts = []
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            parts.append(
                f"{lib.get('internal_api')} {lib.get('version')} "
                f"({lib.get('architecture', '?')}, {lib.get('num_threads')} threads)"
            )
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            parts.append(f"{var}={os.environ[var]}")
    return "; ".join(parts) or "unknown"


def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads")
    parser.add_argument("--repeats", type=int, default=15, help="most fits per case")
    parser.add_argument(
        "--budget", type=float, default=4.0, help="seconds of timing per case and tol"
    )
    parser.add_argument(
        "--quick", action="store_true", help="skip the cg/gd and memory sections"
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.threads == 1 else time.perf_counter
    clock = "CPU" if args.threads == 1 else "wall-clock"

    with threadpool_limits(limits=args.threads):
        print(
            "# LogisticRegressionGraph(lbfgs) vs LogisticRegression(lbfgs)\n\n"
            f"python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}; "
            f"{args.threads} thread(s); BLAS: {blas_description()}\n"
        )
        rows, others = [], []
        for label, X, y in problems():
            for tol in TOLS:
                result = compare(X, y, tol, args.repeats, args.budget)
                rows.append((label, tol, result))
            if not args.quick:
                others.append((label, other_solvers(X, y, 1e-4, 3)))

    print(
        f"C = {C}, max_iter = {MAX_ITER}; {clock} times, medians of interleaved "
        "fits.\n\n"
        "| case | tol | sklearn | graph | ratio | iterations (sk / graph) "
        "| max abs Δcoef | fits |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    ratios = []
    for label, tol, r in rows:
        ratio = r["graph"] / r["sklearn"]
        ratios.append(ratio)
        print(
            f"| {label} | {tol:g} | {fmt_time(r['sklearn'])} | {fmt_time(r['graph'])} "
            f"| {ratio:.2f} | {r['it_sklearn']} / {r['it_graph']} "
            f"| {r['delta']:.1e} | {r['repeats']} |"
        )
    tight = [r for _, tol, r in rows if tol == min(TOLS)]
    print(
        f"\nMedian ratio {np.median(ratios):.2f} (target ≤ 0.80), worst "
        f"{max(ratios):.2f} (target ≤ 1.00). At tol={min(TOLS):g}: largest "
        f"iteration difference "
        f"{max(abs(r['it_sklearn'] - r['it_graph']) for r in tight)} (target ≤ 2), "
        f"max |Δcoef| {max(r['delta'] for r in tight):.1e} (target ≤ 1e-5)."
    )
    if args.quick:
        return

    print(
        "\n## Other solvers of LogisticRegressionGraph (tol=1e-4, for information)"
        "\n\n| case | lbfgs | cg (iterations) | gd (iterations) |\n|---|---:|---:|---:|"
    )
    lbfgs = {label: r["graph"] for label, tol, r in rows if tol == 1e-4}
    for label, solver_times in others:
        (t_cg, it_cg), (t_gd, it_gd) = solver_times["cg"], solver_times["gd"]
        print(
            f"| {label} | {fmt_time(lbfgs[label])} | {fmt_time(t_cg)} ({it_cg}) "
            f"| {fmt_time(t_gd)} ({it_gd}) |"
        )

    print(f"\n## Peak memory of one fit on {LARGEST} (tol=1e-4)\n")
    print("| estimator | peak allocated by fit | data (X) |\n|---|---:|---:|")
    for which in ("sklearn", "graph"):
        mem = peak_memory(which)
        peak, data = mem["peak"] / 2**20, mem["data"] / 2**20
        print(f"| {which} | {peak:.1f} MiB | {data:.1f} MiB |")


if __name__ == "__main__":
    main()
