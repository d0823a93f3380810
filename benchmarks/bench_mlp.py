"""MLPClassifierGraph and MLPRegressorGraph beside scikit-learn (and PyTorch).

One hidden layer of 100 ReLU units, softmax output, ``alpha=1e-4``, on three
10-class problems (digits, a 20,000 x 100 and a 60,000 x 784 synthetic one),
in float64 and float32:

* **adam**: seconds per epoch (batch 200, shuffled, scikit-learn's Adam
  settings) of ``MLPClassifierGraph``, ``MLPClassifier`` and the same model
  in PyTorch (``nn.Linear`` -> ``nn.ReLU`` -> ``nn.Linear``,
  ``CrossEntropyLoss``, ``torch.optim.Adam`` with the weight decay that
  equals ``alpha / batch_size``, on the weights only);
* **lbfgs**: seconds per L-BFGS iteration of ``MLPClassifierGraph`` and
  ``MLPClassifier`` (which computes in float64 whatever the input);
* **layers**: seconds per adam epoch of ``GraphClassifier(layers=[Dense(100,
  activation="relu")])`` beside ``MLPClassifierGraph`` (the same network:
  what the layer API costs), in the same run;
* **regressor**: the same two measures of ``MLPRegressorGraph`` and
  ``MLPRegressor`` (squared error, one output, 100 ReLU units), and adam in
  JAX, on two synthetic regression problems, in the same run;
* **float32 fits** (``--float32-fits MAX_ITER`` only): whole ``lbfgs``
  fits to the default ``tol`` of float32 against float64 data, per fit
  and per iteration (a float32 fit solves in float32, then polishes in
  float64: a fixed number of iterations at ``tol=0`` times float32 ones
  only).

Each time is the difference of a longer and a shorter fit divided by the
extra epochs (iterations), so validation and set-up are not counted for
anyone. Repeats of the contenders are interleaved, so drifts in machine load
hit all alike; the tables show medians and their ratios from this one run.
Everything runs on one thread (``threadpoolctl`` for BLAS and OpenMP,
``torch.set_num_threads(1)``), and a time is the CPU time of the process
(``time.process_time``), which a loaded machine does not inflate. The last
table is the peak of memory allocated during a fit on the largest problem
(``tracemalloc``, which sees NumPy's allocations; PyTorch's allocator is not
traced).

PyTorch is optional (``pip install torch``); without it its columns say so.
So is JAX (``pip install jax``, see ``jax_contenders.py``): the same network
and Adam with the epoch as one jitted ``lax.scan``, XLA on one thread. The
adam table gives CPU time with wall time in brackets for every contender
(JAX keeps a runtime thread beside its compute thread), and the wall time of
JAX's first fit, which compiles, apart from the medians.

Usage::

    python benchmarks/bench_mlp.py [--repeats R] [--quick] [--regressor-only]
                                   [--layers-only] [--float32-fits MAX_ITER]
                                   [--one-core]

``--one-core`` keeps the whole process on one CPU (every thread, JAX's
runtime thread included: :func:`jax_contenders.confine_to_one_core`), so
each contender has the same single core and CPU time equals wall time.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time
import tracemalloc
import warnings

import jax_contenders
import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits

from skgraph import GraphClassifier, MLPClassifierGraph, MLPRegressorGraph
from skgraph.layers import Dense

try:
    import torch
except ImportError:  # an optional contender
    torch = None

HIDDEN, BATCH, ALPHA = 100, 200, 1e-4

#: (label, loader, (short, long) epochs of adam, (short, long) lbfgs iterations)
PROBLEMS = [
    ("digits 1,797 x 64", "digits", (2, 12), (2, 12)),
    ("20,000 x 100", (20_000, 100), (1, 4), (2, 8)),
    ("60,000 x 784", (60_000, 784), (1, 3), (1, 4)),
]

#: The regression problems, as PROBLEMS (targets of unit scale).
REGRESSION_PROBLEMS = [
    ("regression 5,000 x 50", (5_000, 50), (2, 8), (2, 8)),
    ("regression 20,000 x 100", (20_000, 100), (1, 4), (2, 8)),
]


#: (label, loader, estimator) of the whole-fit float32 comparison.
FIT_PROBLEMS = [
    ("digits 1,797 x 64", "digits", MLPClassifierGraph),
    ("regression 5,000 x 50", (5_000, 50), MLPRegressorGraph),
]


def load(spec):
    """Features (float64) and labels of one problem."""
    if spec == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    n_samples, n_features = spec
    X, y = make_classification(
        n_samples,
        n_features,
        n_informative=min(n_features, 50),
        n_redundant=0,
        n_classes=10,
        random_state=0,
    )
    return X, y


def load_regression(spec):
    """Standardised features and unit-scale targets of one regression problem."""
    n_samples, n_features = spec
    X, y = make_regression(
        n_samples, n_features, n_informative=n_features // 2, noise=1.0, random_state=0
    )
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y / y.std()


# -- the contenders: each returns how many epochs / iterations it ran ------------


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return estimator.n_iter_


def sklearn_like(cls, solver, n_iter):
    """A fit of ``cls`` for exactly ``n_iter`` epochs (iterations)."""
    params = dict(hidden_layer_sizes=(HIDDEN,), alpha=ALPHA, random_state=0)
    if solver == "adam":
        params.update(batch_size=BATCH, tol=0.0, n_iter_no_change=np.inf)
    else:
        params.update(tol=0.0)
    estimator = cls(solver=solver, max_iter=n_iter, **params)
    return lambda X, y: _fit(estimator, X, y)


def layers_adam(n_epochs):
    """``GraphClassifier`` with one ``Dense(HIDDEN)`` layer, as ``sklearn_like``."""
    estimator = GraphClassifier(
        [Dense(HIDDEN, activation="relu")],
        alpha=ALPHA,
        random_state=0,
        batch_size=BATCH,
        tol=0.0,
        n_iter_no_change=np.inf,
        max_iter=n_epochs,
    )
    return lambda X, y: _fit(estimator, X, y)


def torch_adam(n_epochs):
    """The same network and Adam in PyTorch, for ``n_epochs`` epochs."""

    def fit(X, y):
        torch.manual_seed(0)
        dtype = torch.float32 if X.dtype == np.float32 else torch.float64
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
        model = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], HIDDEN),
            torch.nn.ReLU(),
            torch.nn.Linear(HIDDEN, int(y.max()) + 1),
        ).to(dtype)
        weights = [model[0].weight, model[2].weight]
        biases = [model[0].bias, model[2].bias]
        optimizer = torch.optim.Adam(
            [
                {"params": weights, "weight_decay": ALPHA / BATCH},
                {"params": biases, "weight_decay": 0.0},
            ],
            lr=1e-3,
            betas=(0.9, 0.999),
            eps=1e-8,
        )
        loss_fn = torch.nn.CrossEntropyLoss()
        n = X.shape[0]
        for _ in range(n_epochs):
            order = torch.randperm(n)
            for start in range(0, n, BATCH):
                rows = order[start : start + BATCH]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(X_t[rows]), y_t[rows])
                loss.backward()
                optimizer.step()
        return n_epochs

    return fit


def jax_adam(n_epochs, regression=False):
    """The same network and Adam in JAX: a jitted ``lax.scan`` per epoch."""
    model = jax_contenders.JaxMLPAdam(
        HIDDEN, BATCH, ALPHA, n_epochs, regression=regression
    )
    return model.fit


def contenders(solver, n_iter, regression=False):
    if regression == "layers":
        return {
            "mlp": sklearn_like(MLPClassifierGraph, solver, n_iter),
            "layers": layers_adam(n_iter),
        }
    if regression:
        found = {
            "graph": sklearn_like(MLPRegressorGraph, solver, n_iter),
            "sklearn": sklearn_like(MLPRegressor, solver, n_iter),
        }
        if solver == "adam" and jax_contenders.jax is not None:
            found["jax"] = jax_adam(n_iter, regression=True)
        return found
    found = {
        "graph": sklearn_like(MLPClassifierGraph, solver, n_iter),
        "sklearn": sklearn_like(MLPClassifier, solver, n_iter),
    }
    if solver == "adam" and torch is not None:
        found["torch"] = torch_adam(n_iter)
    if solver == "adam" and jax_contenders.jax is not None:
        found["jax"] = jax_adam(n_iter)
    return found


# -- measuring -------------------------------------------------------------------


def per_step(solver, X, y, short, long, repeats, regression=False):
    """Median seconds per epoch (iteration) of each contender, interleaved.

    Each median is a pair: ``cpu`` (this process's CPU time, which leaves
    out waits for a core on a shared machine but counts every thread,
    JAX's runtime thread included) and ``wall`` (elapsed time). A first fit
    of each contender warms it up (JAX compiles its jitted functions then):
    its wall time is reported as ``first``, outside the medians.
    """
    times, first = {}, {}
    for name, fit in contenders(solver, short, regression).items():
        start = time.perf_counter()
        fit(X, y)
        first[name] = time.perf_counter() - start
    for repeat in range(repeats):
        shorts = contenders(solver, short, regression)
        longs = contenders(solver, long, regression)
        names = list(shorts)
        names = names[repeat % len(names) :] + names[: repeat % len(names)]
        for name in names:
            gc.collect()
            clocks = [(time.perf_counter(), time.process_time())]
            n_short = shorts[name](X, y)
            clocks.append((time.perf_counter(), time.process_time()))
            n_long = longs[name](X, y)
            clocks.append((time.perf_counter(), time.process_time()))
            extra = max(n_long - n_short, 1)
            for i, clock in enumerate(("wall", "cpu")):
                a, b, c = (t[i] for t in clocks)
                step = ((c - b) - (b - a)) / extra
                times.setdefault(name, {}).setdefault(clock, []).append(step)
    return {
        name: {
            "wall": statistics.median(values["wall"]),
            "cpu": statistics.median(values["cpu"]),
            "first": first[name],
        }
        for name, values in times.items()
    }


def peak_memory(fit, X, y):
    """Peak bytes allocated (tracemalloc) while ``fit`` runs."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


# -- reporting -------------------------------------------------------------------


def _ms(seconds):
    return f"{1e3 * seconds:.2f}"


def _ratio(a, b):
    return "n/a" if b is None else f"{a / b:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="digits only")
    parser.add_argument(
        "--regressor-only", action="store_true", help="only the regressor's table"
    )
    parser.add_argument(
        "--layers-only", action="store_true", help="only the layer API's table"
    )
    parser.add_argument(
        "--float32-fits",
        type=int,
        metavar="MAX_ITER",
        help="only whole lbfgs fits, float32 against float64, up to MAX_ITER",
    )
    parser.add_argument(
        "--one-core",
        action="store_true",
        help="keep every thread (JAX's runtime thread too) on one CPU",
    )
    args = parser.parse_args()
    if args.one_core:
        print(f"Every thread confined to CPU {jax_contenders.confine_to_one_core()}.")
    if args.float32_fits:
        with threadpool_limits(limits=1):
            float32_fit_table(args.repeats, args.float32_fits)
        return
    if args.layers_only:
        with threadpool_limits(limits=1):
            layers_table(args.repeats, args.quick)
        return
    if args.regressor_only:
        with threadpool_limits(limits=1):
            regression_tables(args.repeats, args.quick)
        return
    if torch is not None:
        torch.set_num_threads(1)
    problems = PROBLEMS[:1] if args.quick else PROBLEMS
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, ", end="")
    print(
        "PyTorch " + (torch.__version__ if torch else "not installed (skipped)"), end=""
    )
    print(f", {jax_contenders.version()}")
    print(f"One thread; medians of {args.repeats} interleaved repeats.\n")

    adam_rows, lbfgs_rows, ratios = [], [], {}
    with threadpool_limits(limits=1):
        for label, spec, epochs, iterations in problems:
            X64, y = load(spec)
            for dtype in (np.float64, np.float32):
                X = X64.astype(dtype)
                adam = per_step("adam", X, y, *epochs, args.repeats)
                lbfgs = per_step("lbfgs", X, y, *iterations, args.repeats)
                adam_rows.append(_adam_row(label, dtype, adam, ratios))
                lbfgs_rows.append(_lbfgs_row(label, dtype, lbfgs))
        _print_tables(adam_rows, lbfgs_rows, ratios)

        regression_tables(args.repeats, args.quick)
        layers_table(args.repeats, args.quick)

        label, spec, _, _ = problems[-1]
        X, y = load(spec)
        print(f"\nPeak memory allocated during fit, {label} float64 (MB)\n")
        print("| solver | graph | sklearn | graph/sklearn |")
        print("|---|---:|---:|---:|")
        for solver, n_iter in (("adam", 1), ("lbfgs", 2)):
            graph = peak_memory(sklearn_like(MLPClassifierGraph, solver, n_iter), X, y)
            sk = peak_memory(sklearn_like(MLPClassifier, solver, n_iter), X, y)
            row = [solver, f"{graph / 2**20:.1f}", f"{sk / 2**20:.1f}"]
            print("| " + " | ".join(row) + f" | {graph / sk:.2f} |")


def _print_tables(adam_rows, lbfgs_rows, ratios):
    """The adam table with its median ratios, then the lbfgs table."""
    print(
        "Adam, milliseconds per epoch (batch 200, 100 ReLU units): CPU "
        "time (wall time in brackets); `first`: the wall time of the first "
        "fit (JAX compiles then), outside the medians\n"
    )
    print(
        "| problem | dtype | graph | sklearn | torch | jax | jax first "
        "| graph/sklearn | graph/torch | graph/jax CPU | graph/jax wall |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(adam_rows))
    print(
        "\n"
        + "; ".join(
            f"{name}: median {statistics.median(values):.2f}, worst {max(values):.2f}"
            for name, values in ratios.items()
        )
    )
    print("\nL-BFGS, milliseconds per iteration (CPU time)\n")
    print("| problem | dtype | graph | sklearn | graph/sklearn |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(lbfgs_rows))


def _lbfgs_row(label, dtype, lbfgs):
    """One row of the lbfgs table."""
    graph, sklearn = lbfgs["graph"]["cpu"], lbfgs["sklearn"]["cpu"]
    return (
        f"| {label} | {np.dtype(dtype).name} | {_ms(graph)} | {_ms(sklearn)} "
        f"| {_ratio(graph, sklearn)} |"
    )


def _adam_row(label, dtype, adam, ratios):
    """One row of the adam table; the ratios go into ``ratios`` too."""
    graph = adam["graph"]

    def cell(name):
        if name not in adam:
            return "n/a"
        return f"{_ms(adam[name]['cpu'])} ({_ms(adam[name]['wall'])})"

    cells = [cell(name) for name in ("graph", "sklearn", "torch", "jax")]
    jax = adam.get("jax")
    cells.append("n/a" if jax is None else f"{jax['first']:.1f} s")
    for key, name, clock in (
        ("graph/sklearn", "sklearn", "cpu"),
        ("graph/torch", "torch", "cpu"),
        ("graph/jax CPU", "jax", "cpu"),
        ("graph/jax wall", "jax", "wall"),
    ):
        other = adam.get(name)
        cells.append(_ratio(graph[clock], other and other[clock]))
        if other is not None:
            ratios.setdefault(key, []).append(graph[clock] / other[clock])
    return f"| {label} | {np.dtype(dtype).name} | " + " | ".join(cells) + " |"


def regression_tables(repeats, quick):
    """MLPRegressorGraph beside MLPRegressor (and JAX): the classifier's tables."""
    problems = REGRESSION_PROBLEMS[:1] if quick else REGRESSION_PROBLEMS
    adam_rows, lbfgs_rows, ratios = [], [], {}
    for label, spec, epochs, iterations in problems:
        X64, y = load_regression(spec)
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype)
            adam = per_step("adam", X, y, *epochs, repeats, regression=True)
            lbfgs = per_step("lbfgs", X, y, *iterations, repeats, regression=True)
            adam_rows.append(_adam_row(label, dtype, adam, ratios))
            lbfgs_rows.append(_lbfgs_row(label, dtype, lbfgs))
    print("\nRegressor (squared error, one output, 100 ReLU units)")
    _print_tables(adam_rows, lbfgs_rows, ratios)


def float32_fit_table(repeats, max_iter):
    """Whole ``lbfgs`` fits of float32 data against float64 data (the same
    values), to scikit-learn's default ``tol``: CPU seconds per fit,
    iterations and milliseconds per iteration, medians of alternating
    repeats. A float32 fit solves in float32, then polishes in float64."""
    rows = []
    for label, spec, cls in FIT_PROBLEMS:
        X, y = load(spec) if cls is MLPClassifierGraph else load_regression(spec)
        X32 = X.astype(np.float32)
        data = {"float64": X32.astype(np.float64), "float32": X32}
        seconds, n_iter = {name: [] for name in data}, {}
        for repeat in range(repeats):
            for name in sorted(data, reverse=repeat % 2 == 1):
                estimator = cls(
                    hidden_layer_sizes=(HIDDEN,),
                    alpha=ALPHA,
                    solver="lbfgs",
                    max_iter=max_iter,
                    random_state=0,
                )
                gc.collect()
                start = time.process_time()
                n_iter[name] = _fit(estimator, data[name], y)
                seconds[name].append(time.process_time() - start)
        cells = []
        for name in ("float64", "float32"):
            fit = statistics.median(seconds[name])
            cells += [str(n_iter[name]), f"{fit:.2f}", _ms(fit / n_iter[name])]
        ratio = statistics.median(seconds["float32"]) / statistics.median(
            seconds["float64"]
        )
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    print(
        f"\nWhole lbfgs fits (tol=1e-4, max_iter={max_iter}), float32 against "
        "float64 data: iterations, CPU seconds per fit, ms per iteration\n"
    )
    print(
        "| problem | f64 n_iter | f64 s | f64 ms/iter | f32 n_iter | f32 s "
        "| f32 ms/iter | f32/f64 per fit |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


def layers_table(repeats, quick):
    """GraphClassifier([Dense(100)]) beside MLPClassifierGraph: adam per epoch."""
    problems = PROBLEMS[:1] if quick else PROBLEMS[:2]
    rows = []
    for label, spec, epochs, _ in problems:
        X64, y = load(spec)
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype)
            times = per_step("adam", X, y, *epochs, repeats, regression="layers")
            times = {name: clocks["cpu"] for name, clocks in times.items()}
            rows.append(
                f"| {label} | {np.dtype(dtype).name} | {_ms(times['layers'])} | "
                f"{_ms(times['mlp'])} | {times['layers'] / times['mlp']:.3f} |"
            )
    print("\nGraphClassifier([Dense(100)]) vs MLPClassifierGraph((100,)),")
    print("milliseconds per adam epoch (batch 200)\n")
    print("| problem | dtype | GraphClassifier | MLPClassifierGraph | ratio |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
