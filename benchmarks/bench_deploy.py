"""Serving a fitted model: onnxruntime beside the estimator's own predict_proba.

For a LogisticRegressionGraph and a 2-layer MLPClassifierGraph (100 and 50
ReLU units), both fitted on a 10-class, 100-feature problem in float32 and
float64, the time of

* **one row** (the latency a web service sees per request): median of many
  single-row calls of ``predict_proba`` and of ``session.run``;
* **10,000 rows** (batch throughput): median of repeated calls on one batch,

and the ratio estimator / onnxruntime (above 1: onnxruntime is faster).
Information only, there is no target. Everything runs on one thread
(``SessionOptions.intra_op_num_threads = 1``, ``threadpoolctl`` for BLAS);
the repeats of the two contenders are interleaved so that drifts in machine
load hit both alike.

Needs the deploy extra (``pip install skgraph[deploy]``).

Usage::

    python benchmarks/bench_deploy.py [--repeats R]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import onnxruntime as ort
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skgraph import LogisticRegressionGraph, MLPClassifierGraph, to_onnx

N_FEATURES, N_CLASSES, N_BATCH = 100, 10, 10_000


def _models():
    return {
        "LogisticRegressionGraph": LogisticRegressionGraph(max_iter=50),
        "MLP (100, 50) relu": MLPClassifierGraph(
            hidden_layer_sizes=(100, 50), solver="lbfgs", max_iter=30, random_state=0
        ),
    }


def _session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _median_seconds(call, repeats, inner):
    """Median over ``repeats`` of the mean time of ``inner`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            call()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def _interleaved(calls, repeats, inner):
    """Median seconds of each call, the repeats of all calls interleaved."""
    samples = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            samples[name].append(_median_seconds(call, 1, inner))
    return {name: statistics.median(values) for name, values in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(
        f"skgraph deploy benchmark; onnxruntime {ort.__version__}, {platform.machine()}"
    )
    print("one thread; times are medians; ratio = predict_proba / onnxruntime\n")
    header = (
        f"{'model':<26}{'dtype':<9}{'1 row: est':>12}{'onnx':>10}{'ratio':>8}"
        f"{'10k rows: est':>16}{'onnx':>10}{'ratio':>8}"
    )
    print(header)
    print("-" * len(header))
    X64, y = make_classification(
        n_samples=N_BATCH,
        n_features=N_FEATURES,
        n_informative=30,
        n_classes=N_CLASSES,
        random_state=0,
    )
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for dtype in (np.float32, np.float64):
            X = X64.astype(dtype)
            for name, est in _models().items():
                est.fit(X, y)
                session = _session(to_onnx(est, X[:1]))
                row = X[:1]
                one = _interleaved(
                    {
                        "est": lambda est=est, row=row: est.predict_proba(row),
                        "onnx": lambda s=session, row=row: s.run(None, {"X": row}),
                    },
                    args.repeats,
                    inner=200,
                )
                batch = _interleaved(
                    {
                        "est": lambda est=est, X=X: est.predict_proba(X),
                        "onnx": lambda s=session, X=X: s.run(None, {"X": X}),
                    },
                    args.repeats,
                    inner=3,
                )
                print(
                    f"{name:<26}{np.dtype(dtype).name:<9}"
                    f"{one['est'] * 1e6:>10.0f}us{one['onnx'] * 1e6:>8.0f}us"
                    f"{one['est'] / one['onnx']:>8.1f}"
                    f"{batch['est'] * 1e3:>14.1f}ms{batch['onnx'] * 1e3:>8.1f}ms"
                    f"{batch['est'] / batch['onnx']:>8.1f}"
                )


if __name__ == "__main__":
    main()
