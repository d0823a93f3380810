"""Data-parallel training on Dask: in memory vs a LocalCluster of 1 and 2 workers.

For the L2 logistic regression on 1,000,000 x 50 (and a smaller MLP), this
times one evaluation of the full-batch objective (loss and gradient: what
L-BFGS does once per iteration) and a whole ``fit``, in memory and on
LocalClusters of 1 and 2 single-threaded worker processes, over the same data
generated on the workers. Medians of repeats; ratios from one run.

    python benchmarks/bench_dask.py [--rows 1000000] [--repeats 7]

Communication overhead per iteration is the 1-worker evaluation time minus
the in-memory one: scattering the parameters, scheduling one task per chunk,
and gathering one gradient per chunk.
"""

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skgraph import LogisticRegressionGraph, MLPClassifierGraph  # noqa: E402
from skgraph._objectives import GraphObjective, full_batch_objective  # noqa: E402


def make_data(n_rows, n_features, chunk_rows, seed=0):
    """Features and binary labels generated chunk by chunk (on the workers)."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), chunks=(chunk_rows, n_features))
    noise = rng.standard_normal(n_rows, chunks=chunk_rows)
    y = (X[:, 0] - 0.5 * X[:, 1] + noise > 0).astype(np.int64)
    return X, y


def median_time(function, repeats):
    function()  # warm-up: first-call buffers, task-graph caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def objective_for(fitted, X, y):
    """The full-batch objective of ``fitted``'s model on (X, y): in memory or Dask.

    Returns the objective and the fitted parameters to evaluate it at.
    """
    theta = fitted.graph_.get_flat().astype(float)
    if isinstance(X, da.Array):
        data = fitted._distributed_data(X, y, None)
        network = fitted._build_network(
            data.X.shape[1], data.targets.Y.shape[1], data.X.dtype
        )
        return full_batch_objective(network, data, fitted._l2_strength()), theta
    graph, loss, feed = fitted._training_objective(X, y)
    return GraphObjective(graph, loss, feed), theta


def time_fit(make_estimator, X, y, repeats):
    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return make_estimator().fit(X, y)

    seconds = median_time(fit, repeats)
    return seconds, int(np.ravel(fit().n_iter_)[0])


def run_case(name, make_estimator, X_dask, y_dask, repeats, evaluations):
    X_mem, y_mem = X_dask.compute(), y_dask.compute()
    rows = {}
    with threadpool_limits(1):
        fitted = make_estimator().fit(X_mem[:1000], y_mem[:1000])
        objective, theta = objective_for(fitted, X_mem, y_mem)
        rows["in memory"] = (
            median_time(lambda: objective(theta), evaluations),
            *time_fit(make_estimator, X_mem, y_mem, repeats),
        )
    del X_mem, y_mem
    for n_workers in (1, 2):
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=50,
            ) as cluster,
            Client(cluster),
        ):
            X, y = X_dask.persist(), y_dask.persist()
            objective, theta = objective_for(fitted, X, y)
            rows[f"{n_workers} worker{'s' * (n_workers > 1)}"] = (
                median_time(lambda: objective(theta), evaluations),  # noqa: B023
                *time_fit(make_estimator, X, y, repeats),
            )
            objective.close()
    memory, one, two = rows["in memory"][0], rows["1 worker"][0], rows["2 workers"][0]
    print(f"\n### {name}\n")
    print("| where | objective eval (ms) | fit (s) | iterations | fit s/iteration |")
    print("|---|---:|---:|---:|---:|")
    for where, (evaluation, fit_seconds, n_iter) in rows.items():
        print(
            f"| {where} | {evaluation * 1e3:.1f} | {fit_seconds:.2f} | {n_iter} | "
            f"{fit_seconds / max(n_iter, 1):.3f} |"
        )
    print(
        f"\n2 workers / 1 worker (per iteration): {two / one:.2f} (target <= 0.65)  "
        f"\n1 worker / in memory (per iteration): {one / memory:.2f} (target <= 1.5)  "
        f"\ncommunication overhead per iteration: {(one - memory) * 1e3:.1f} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="fits per setting")
    parser.add_argument("--evaluations", type=int, default=9)
    args = parser.parse_args()
    chunk_rows = args.rows // 8
    X, y = make_data(args.rows, args.features, chunk_rows)
    run_case(
        f"LogisticRegressionGraph(lbfgs), {args.rows:,} x {args.features}",
        lambda: LogisticRegressionGraph(max_iter=15, tol=1e-12),
        X,
        y,
        args.repeats,
        args.evaluations,
    )
    n_mlp = args.rows // 5
    run_case(
        f"MLPClassifierGraph(lbfgs, 32 tanh units), {n_mlp:,} x {args.features}",
        lambda: MLPClassifierGraph(
            (32,), activation="tanh", solver="lbfgs", max_iter=10, random_state=0
        ),
        X[:n_mlp],
        y[:n_mlp],
        args.repeats,
        args.evaluations,
    )


if __name__ == "__main__":
    main()
