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
* for information, fit times of the graph's ``"cg"`` and ``"gd"`` solvers;
* float32: fit time on float32 data of a 1,000,000 x 50 problem against the
  graph's own float64 fit and scikit-learn's float32 fit, and the peak
  memory of both estimators on it;
* JAX (optional, ``pip install jax``): scikit-learn's objective as a jitted
  loss and gradient under the same L-BFGS-B (see ``jax_contenders.py``),
  timed beside the other two in the main table;
* against scikit-learn's best solver: per case and ``tol``, scikit-learn's
  ``lbfgs`` and ``newton-cholesky`` beside the graph's ``lbfgs`` and
  ``newton-cholesky`` (and ``newton-cg`` where skgraph has it), all
  interleaved in a rotating order; the table shows each median, the fastest
  of each side ("best") and their ratio. ``newton-cholesky`` is left out
  (on both sides) where its Hessian would have more than
  ``NEWTON_MAX_PARAMETERS**2`` entries;
* L1 and elastic net: ``LogisticRegressionGraph(solver="lbfgs")`` beside
  scikit-learn's ``LogisticRegression(solver="saga")`` (the scikit-learn
  solver for these penalties), with the same ``C`` and ``l1_ratio`` and each
  at its default ``tol`` and ``max_iter``; the table adds the largest
  coefficient error of each to the converged optimum (the graph's lbfgs at
  ``tol=1e-10``: its gradient mapping, the optimality measure of the L1
  problem, is then at most 1e-10 in max norm) and the number of exact zeros.

BLAS and OpenMP run on one thread unless ``--threads`` says otherwise. On one
thread a fit's time is the CPU time of this process (``time.process_time``):
on a machine shared with other work, it leaves out the time the process
waited for a core, which wall-clock medians cannot. With more threads it is
wall-clock time.

Usage::

    python benchmarks/bench_logistic.py [--threads N] [--repeats R] [--quick]
                                        [--only-l1] [--only-float32] [--only-best]
                                        [--one-core]

``--one-core`` keeps every thread of the process, JAX's runtime thread
included, on one CPU (:func:`jax_contenders.confine_to_one_core`).
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

import jax_contenders
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
from skgraph._optimize import SOLVERS as GRAPH_SOLVERS

#: (label, n_samples, n_features, n_classes, sparse density or None)
SYNTHETIC = [
    ("dense 1,000 x 20", 1_000, 20, 2, None),
    ("dense 20,000 x 50", 20_000, 50, 2, None),
    ("dense 100,000 x 100", 100_000, 100, 2, None),
    ("dense 20,000 x 50, 10 classes", 20_000, 50, 10, None),
    ("sparse 5,000 x 20,000 (0.5%)", 5_000, 20_000, 2, 0.005),
]
#: (label, n_samples, n_features, n_classes, density, C, l1_ratio)
L1_CASES = [
    ("dense 5,000 x 100, L1", 5_000, 100, 2, None, 0.01, 1.0),
    ("dense 20,000 x 200, L1", 20_000, 200, 2, None, 0.01, 1.0),
    ("dense 100,000 x 50, L1", 100_000, 50, 2, None, 0.001, 1.0),
    ("dense 100,000 x 50, elastic net", 100_000, 50, 2, None, 0.01, 0.5),
    ("dense 20,000 x 50, 10 classes, L1", 20_000, 50, 10, None, 0.01, 1.0),
    ("sparse 5,000 x 20,000 (0.5%), L1", 5_000, 20_000, 2, 0.005, 1.0, 1.0),
    ("dense 20,000 x 50, elastic net, C=10", 20_000, 50, 2, None, 10.0, 0.5),
]
L1_TIGHT_TOL = 1e-6
#: The float32 section's problem: (n_samples, n_features, n_classes).
FLOAT32_CASE = (1_000_000, 50, 2)
#: Most parameters for newton-cholesky: its Hessian is dense, this squared.
NEWTON_MAX_PARAMETERS = 2_000
#: The solvers of the "best solver" comparison, per side.
SKLEARN_BEST = ("lbfgs", "newton-cholesky")
GRAPH_BEST = tuple(
    s for s in ("lbfgs", "newton-cholesky", "newton-cg") if s in GRAPH_SOLVERS
)
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
    """Median fit times of each contender, interleaved; the last fitted ones.

    JAX (when installed) is timed beside them, by ``CLOCK`` and by wall
    time; its first fit, which compiles, is the warm-up.
    """
    fitted = dict(zip(("sklearn", "graph"), estimators("lbfgs", tol), strict=True))
    if jax_contenders.jax is not None:
        fitted["jax"] = jax_contenders.JaxLogisticRegression(C, tol, MAX_ITER)
    first = sum(fit_time(estimator, X, y) for estimator in fitted.values())
    repeats = int(np.clip(budget / first, 3, repeats))
    times = {name: [] for name in fitted}
    wall = []
    names = list(fitted)
    for r in range(repeats):  # interleaved, in a rotating order
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            times[name].append(fit_time(fitted[name], X, y))
            if name == "jax":
                wall.append(time.perf_counter() - start)
    reference, graph = fitted["sklearn"], fitted["graph"]
    delta = max(
        np.abs(graph.coef_ - reference.coef_).max(),
        np.abs(graph.intercept_ - reference.intercept_).max(),
    )
    result = {name: float(np.median(values)) for name, values in times.items()}
    result.update(
        it_sklearn=int(reference.n_iter_[0]),
        it_graph=int(graph.n_iter_[0]),
        delta=float(delta),
        repeats=repeats,
    )
    if wall:
        result.update(
            jax_wall=float(np.median(wall)), it_jax=int(fitted["jax"].n_iter_[0])
        )
    return result


def compare_l1(X, y, C, l1_ratio, repeats, budget):
    """saga against the graph's lbfgs at their default tol (and the graph at
    1e-6); the errors of each to the converged optimum."""
    common = dict(C=C, l1_ratio=l1_ratio)
    fitted = {
        "saga": LogisticRegression(solver="saga", **common),
        "graph": LogisticRegressionGraph(**common),
        "graph_tight": LogisticRegressionGraph(tol=L1_TIGHT_TOL, **common),
    }
    first = sum(fit_time(estimator, X, y) for estimator in fitted.values())
    repeats = int(np.clip(budget / first, 3, repeats))
    times = {name: [] for name in fitted}
    names = list(fitted)
    for r in range(repeats):  # interleaved, in a rotating order
        for name in names[r % 3 :] + names[: r % 3]:
            times[name].append(fit_time(fitted[name], X, y))
    optimum = LogisticRegressionGraph(tol=1e-10, max_iter=100_000, **common)
    optimum.fit(X, y)

    def error(estimator):
        return float(
            max(
                np.abs(estimator.coef_ - optimum.coef_).max(),
                np.abs(estimator.intercept_ - optimum.intercept_).max(),
            )
        )

    result = {"repeats": repeats, "size": int(optimum.coef_.size)}
    for name, estimator in fitted.items():
        result[name] = float(np.median(times[name]))
        result[f"it_{name}"] = int(estimator.n_iter_[0])
        result[f"error_{name}"] = error(estimator)
        result[f"zeros_{name}"] = int((estimator.coef_ == 0).sum())
    result["zeros_optimum"] = int((optimum.coef_ == 0).sum())
    return result


def l1_table(args):
    """The L1 / elastic-net section: measured, then printed."""
    rows = []
    with threadpool_limits(limits=args.threads):
        for label, n, d, k, density, C, l1_ratio in L1_CASES:
            X, y = make_problem(n, d, k, density)
            result = compare_l1(X, y, C, l1_ratio, args.repeats, args.budget)
            rows.append((label, C, l1_ratio, result))
    print(
        "\n## L1 and elastic net: LogisticRegressionGraph(lbfgs) vs "
        "LogisticRegression(saga)\n\n"
        "saga and graph at their default tol (1e-4) and max_iter (100); "
        f"graph* at tol={L1_TIGHT_TOL:g}. error: max |Δcoef| (intercepts "
        "included) to the converged optimum; zeros: exact zeros in coef_ "
        "(saga / graph / graph* / optimum).\n\n"
        "| case | C | l1_ratio | saga | graph | ratio | graph* | ratio* "
        "| iterations (saga / graph / graph*) | error saga | error graph "
        "| error graph* | zeros | fits |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    ratios, tight_ratios = [], []
    for label, C, l1_ratio, r in rows:
        ratio, tight = r["graph"] / r["saga"], r["graph_tight"] / r["saga"]
        ratios.append(ratio)
        tight_ratios.append(tight)
        zeros = " / ".join(
            str(r[f"zeros_{name}"])
            for name in ("saga", "graph", "graph_tight", "optimum")
        )
        print(
            f"| {label} | {C:g} | {l1_ratio:g} | {fmt_time(r['saga'])} "
            f"| {fmt_time(r['graph'])} | {ratio:.2f} "
            f"| {fmt_time(r['graph_tight'])} | {tight:.2f} "
            f"| {r['it_saga']} / {r['it_graph']} / {r['it_graph_tight']} "
            f"| {r['error_saga']:.1e} | {r['error_graph']:.1e} "
            f"| {r['error_graph_tight']:.1e} | {zeros} of {r['size']} "
            f"| {r['repeats']} |"
        )
    closer = sum(r["error_graph"] <= r["error_saga"] for *_, r in rows)
    closer_tight = sum(r["error_graph_tight"] <= r["error_saga"] for *_, r in rows)
    print(
        f"\nMedian ratio {np.median(ratios):.2f} (target ≤ 0.40), worst "
        f"{max(ratios):.2f} (target ≤ 1.00); the graph's coefficients at least "
        f"as close to the optimum as saga's in {closer} of {len(rows)} cases "
        f"(target: all). At tol={L1_TIGHT_TOL:g}: median ratio "
        f"{np.median(tight_ratios):.2f}, worst {max(tight_ratios):.2f}, at "
        f"least as close as saga's in {closer_tight} of {len(rows)}."
    )


def compare_best(X, y, tol, repeats, budget):
    """Median fit times of every solver of both sides, interleaved.

    Returns ``{(side, solver): median}``, the iterations of each and the
    largest coefficient difference between the two sides' fastest fits.
    """
    n_classes = len(np.unique(y))
    n_parameters = (X.shape[1] + 1) * (1 if n_classes == 2 else n_classes)
    fitted = {}
    for side, cls, solvers in (
        ("sklearn", LogisticRegression, SKLEARN_BEST),
        ("graph", LogisticRegressionGraph, GRAPH_BEST),
    ):
        for solver in solvers:
            if solver == "newton-cholesky" and n_parameters > NEWTON_MAX_PARAMETERS:
                continue
            fitted[side, solver] = cls(C=C, tol=tol, max_iter=MAX_ITER, solver=solver)
    first = sum(fit_time(estimator, X, y) for estimator in fitted.values())
    repeats = int(np.clip(budget / first, 3, repeats))
    times = {key: [] for key in fitted}
    keys = list(fitted)
    for r in range(repeats):  # interleaved, in a rotating order
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            times[key].append(fit_time(fitted[key], X, y))
    medians = {key: float(np.median(t)) for key, t in times.items()}
    best = {
        side: min((key for key in keys if key[0] == side), key=medians.get)
        for side in ("sklearn", "graph")
    }
    a, b = fitted[best["sklearn"]], fitted[best["graph"]]
    delta = max(
        np.abs(a.coef_ - b.coef_).max(), np.abs(a.intercept_ - b.intercept_).max()
    )
    iterations = {key: int(est.n_iter_[0]) for key, est in fitted.items()}
    return {
        "times": medians,
        "iterations": iterations,
        "best": best,
        "delta": float(delta),
        "repeats": repeats,
    }


def best_table(args):
    """The section against scikit-learn's best solver: measured, then printed."""
    rows = []
    with threadpool_limits(limits=args.threads):
        for label, X, y in problems():
            for tol in TOLS:
                rows.append(
                    (label, tol, compare_best(X, y, tol, args.repeats, args.budget))
                )
    columns = [("sklearn", s) for s in SKLEARN_BEST] + [
        ("graph", s) for s in GRAPH_BEST
    ]
    print(
        "\n## Against scikit-learn's best solver\n\n"
        f"C = {C}, max_iter = {MAX_ITER}; median fit times (iterations), all "
        "solvers interleaved; best: the fastest of each side; ratio: graph's "
        "best / scikit-learn's best; Δcoef: max |Δcoef| between the two "
        "best fits; '—': newton-cholesky left out (more than "
        f"{NEWTON_MAX_PARAMETERS:,} parameters).\n\n"
        "| case | tol | "
        + " | ".join(f"{side} {solver}" for side, solver in columns)
        + " | sklearn best | graph best | ratio | Δcoef | fits |\n"
        + "|---|---:|"
        + "---:|" * (len(columns) + 5)
    )
    ratios = []
    for label, tol, r in rows:
        cells = []
        for key in columns:
            if key in r["times"]:
                cells.append(f"{fmt_time(r['times'][key])} ({r['iterations'][key]})")
            else:
                cells.append("—")
        best_sk, best_graph = r["best"]["sklearn"], r["best"]["graph"]
        ratio = r["times"][best_graph] / r["times"][best_sk]
        ratios.append(ratio)
        print(
            f"| {label} | {tol:g} | "
            + " | ".join(cells)
            + f" | {best_sk[1]} | {best_graph[1]} | {ratio:.2f} "
            f"| {r['delta']:.1e} | {r['repeats']} |"
        )
    print(
        f"\nMedian ratio {np.median(ratios):.2f} (target ≤ 0.80), worst "
        f"{max(ratios):.2f} (target ≤ 1.00), over {len(ratios)} cases × tols."
    )


def other_solvers(X, y, tol, repeats):
    """Median fit time and iterations of the graph's cg and gd solvers."""
    out = {}
    for solver in ("cg", "gd"):
        graph = estimators(solver, tol)[1]
        times = [fit_time(graph, X, y) for _ in range(repeats)]
        out[solver] = (float(np.median(times)), int(graph.n_iter_[0]))
    return out


def peak_memory(which, case=None, dtype="float64"):
    """Peak bytes that one fit allocates (in a fresh process), data excluded.

    ``case``: ``(n_samples, n_features, n_classes, density)``, by default
    the largest problem; ``dtype``: the data's.
    """
    case = case or next(c for c in SYNTHETIC if c[0] == LARGEST)[1:]
    code = (
        "import json, sys, tracemalloc\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "import bench_logistic as b\n"
        "from threadpoolctl import threadpool_limits\n"
        f"X, y = b.make_problem(*{tuple(case)!r})\n"
        f"X = X.astype({dtype!r})\n"
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


def float32_table(repeats):
    """float32 against float64 on FLOAT32_CASE: fit time and peak memory."""
    n, d, k = FLOAT32_CASE
    X64, y = make_problem(n, d, k, None)
    X32 = X64.astype(np.float32)
    fits = {
        "graph float64": (LogisticRegressionGraph(), X64),
        "graph float32": (LogisticRegressionGraph(), X32),
        "sklearn float32": (LogisticRegression(), X32),
    }
    times = {name: [] for name in fits}
    names = list(fits)
    with threadpool_limits(limits=1):
        for r in range(repeats):
            for name in names[r % 3 :] + names[: r % 3]:
                estimator, X = fits[name]
                times[name].append(fit_time(estimator, X, y))
    print(
        f"\n## float32 data, dense {n:,} x {d}, {k} classes (tol=1e-4, CPU time, "
        f"medians of {repeats})\n\n| fit | time | vs graph float64 | iterations |"
        "\n|---|---:|---:|---:|"
    )
    base = np.median(times["graph float64"])
    for name, (estimator, _) in fits.items():
        t = np.median(times[name])
        print(f"| {name} | {fmt_time(t)} | {t / base:.2f} | {estimator.n_iter_[0]} |")
    print(
        "\nPeak memory allocated by one fit (fresh process, the data excluded):\n"
        "\n| estimator | dtype | peak | data (X) | peak + data |\n"
        "|---|---|---:|---:|---:|"
    )
    for which, dtype in (("sklearn", "float32"), ("graph", "float32")):
        mem = peak_memory(which, (n, d, k, None), dtype)
        peak, data = mem["peak"] / 2**20, mem["data"] / 2**20
        print(
            f"| {which} | {dtype} | {peak:.1f} MiB | {data:.1f} MiB "
            f"| {peak + data:.1f} MiB |"
        )


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
    parser.add_argument(
        "--only-l1", action="store_true", help="only the L1 / elastic-net section"
    )
    parser.add_argument(
        "--only-float32", action="store_true", help="only the float32 section"
    )
    parser.add_argument(
        "--only-best",
        action="store_true",
        help="only the section against scikit-learn's best solver",
    )
    parser.add_argument(
        "--one-core",
        action="store_true",
        help="keep every thread (JAX's runtime thread too) on one CPU",
    )
    args = parser.parse_args(argv)
    if args.one_core:
        print(f"Every thread confined to CPU {jax_contenders.confine_to_one_core()}.")
    global CLOCK
    CLOCK = time.process_time if args.threads == 1 else time.perf_counter
    clock = "CPU" if args.threads == 1 else "wall-clock"
    if args.only_l1:
        l1_table(args)
        return
    if args.only_float32:
        float32_table(min(args.repeats, 5))
        return
    if args.only_best:
        print(f"{clock} times; BLAS: {blas_description()}")
        best_table(args)
        return

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
        f"{jax_contenders.version()}: its {clock} time, wall time in brackets "
        "(JAX keeps a runtime thread beside its one compute thread).\n\n"
        "| case | tol | sklearn | graph | ratio | jax | graph/jax | "
        "iterations (sk / graph / jax) | max abs Δcoef | fits |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    ratios, jax_ratios = [], []
    for label, tol, r in rows:
        ratio = r["graph"] / r["sklearn"]
        ratios.append(ratio)
        jax, vs_jax = "n/a", "n/a"
        if "jax" in r:
            jax = f"{fmt_time(r['jax'])} ({fmt_time(r['jax_wall'])})"
            vs_jax = f"{r['graph'] / r['jax']:.2f}"
            jax_ratios.append(r["graph"] / r["jax"])
        print(
            f"| {label} | {tol:g} | {fmt_time(r['sklearn'])} | {fmt_time(r['graph'])} "
            f"| {ratio:.2f} | {jax} | {vs_jax} "
            f"| {r['it_sklearn']} / {r['it_graph']} / {r.get('it_jax', 'n/a')} "
            f"| {r['delta']:.1e} | {r['repeats']} |"
        )
    if jax_ratios:
        print(
            f"\ngraph/jax ({clock} time): median {np.median(jax_ratios):.2f}, "
            f"worst {max(jax_ratios):.2f}."
        )
    tight = [r for _, tol, r in rows if tol == min(TOLS)]
    print(
        f"\nMedian ratio {np.median(ratios):.2f} (target ≤ 0.80), worst "
        f"{max(ratios):.2f} (target ≤ 1.00). At tol={min(TOLS):g}: largest "
        f"iteration difference "
        f"{max(abs(r['it_sklearn'] - r['it_graph']) for r in tight)} (target ≤ 2), "
        f"max |Δcoef| {max(r['delta'] for r in tight):.1e} (target ≤ 1e-5)."
    )
    l1_table(args)
    best_table(args)
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
    float32_table(min(args.repeats, 5))


if __name__ == "__main__":
    main()
