"""Where an adam step of MLPClassifierGraph spends its time: GEMMs vs the rest.

The network of ``bench_mlp.py`` (one hidden layer of 100 ReLU units,
softmax output, ``alpha=1e-4``, batches of 200 rows) on the digits and on
the 20,000 x 100, 10-class problem. For each, the time per mini-batch step
(``MiniBatchObjective.batch_loss`` then ``Adam.update``, over an epoch of
shuffled batches), split into:

* **gemms**: the step's five matrix products alone (forward ``X @ W1`` and
  ``h @ W2``; backward ``h.T @ g``, ``g @ W2.T`` and ``X.T @ dz``), at the
  same shapes, dtypes and memory layouts as the engine's, with ``np.dot``
  into preallocated buffers: the floor of a step computed with NumPy;
* **adam**: the update of the flat parameter vector;
* **rest**: everything else (batch gather, elementwise passes, loss,
  penalty, bias gradients, Python dispatch): step - gemms - adam.

Medians over repeats of the process's CPU time (``time.process_time``),
BLAS on one thread.

Usage::

    python benchmarks/bench_step.py [--repeats R] [--dtype float64|float32|both]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skgraph import MLPClassifierGraph
from skgraph._objectives import MiniBatchObjective
from skgraph._stochastic import Adam

HIDDEN, BATCH, ALPHA = 100, 200, 1e-4


def load(name):
    """Features and labels of ``"digits"`` or ``"20,000 x 100"``."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    return make_classification(
        20_000, 100, n_informative=50, n_redundant=0, n_classes=10, random_state=0
    )


def step_parts(X, y):
    """The objective, optimiser, parameters and batches of an adam epoch."""
    estimator = MLPClassifierGraph(
        hidden_layer_sizes=(HIDDEN,),
        alpha=ALPHA,
        batch_size=BATCH,
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():  # one epoch: the weights of a real fit
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    network = estimator._network
    Y = np.zeros((len(y), len(estimator.classes_)), dtype=bool)
    Y[np.arange(len(y)), np.searchsorted(estimator.classes_, y)] = True
    objective = MiniBatchObjective(network, X, Y, None, ALPHA, BATCH)
    theta = network.graph.theta
    optimizer = Adam(theta.size, theta.dtype)
    order = np.random.RandomState(0).permutation(len(y))
    batches = [order[start : start + BATCH] for start in range(0, len(y), BATCH)]
    return objective, optimizer, theta, batches


def gemm_step(X, n_classes, n_batches):
    """The step's five products, at the engine's shapes and layouts."""
    rng = np.random.RandomState(0)
    dtype = X.dtype
    hidden_order = "F" if dtype == np.float64 else "C"
    Xb = np.ascontiguousarray(X[:BATCH])
    W1 = rng.normal(size=(X.shape[1], HIDDEN)).astype(dtype)
    W2 = rng.normal(size=(HIDDEN, n_classes)).astype(dtype)
    h = np.empty((BATCH, HIDDEN), dtype, order=hidden_order)
    dz = rng.normal(size=(BATCH, HIDDEN)).astype(dtype, order=hidden_order)
    logits = np.empty((BATCH, n_classes), dtype, order="F")
    g = rng.normal(size=(BATCH, n_classes)).astype(dtype, order="F")
    # Weight gradients as the engine computes them (Affine._weight_grad):
    # the transposed product of a column-major gradient.
    dW1 = np.empty(W1.T.shape if hidden_order == "F" else W1.shape, dtype)
    dW2 = np.empty(W2.T.shape, dtype)

    def step():
        for _ in range(n_batches):
            if hidden_order == "F":
                np.dot(W1.T, Xb.T, out=h.T)
            else:
                np.dot(Xb, W1, out=h)
            np.dot(W2.T, h.T, out=logits.T)
            np.dot(g.T, h, out=dW2)
            np.matmul(g, W2.T, out=dz)
            if hidden_order == "F":
                np.dot(dz.T, Xb, out=dW1)
            else:
                np.dot(Xb.T, dz, out=dW1)

    return step


def per_step(name, dtype, repeats):
    """Median microseconds per step of each part, and the step."""
    X, y = load(name)
    X = X.astype(dtype)
    objective, optimizer, theta, batches = step_parts(X, y)

    clock = time.process_time

    def step():
        """An epoch of steps; returns the seconds its updates took."""
        updating = 0.0
        for rows in batches:
            objective.batch_loss(rows)
            start = clock()
            optimizer.update(theta, objective.grad)
            updating += clock() - start
        return updating

    gemms = gemm_step(X, len(np.unique(y)), len(batches))
    step(), gemms()  # warm up: every buffer allocated
    times = {"step": [], "adam": [], "gemms": []}
    for _ in range(repeats):  # interleaved
        start = clock()
        times["adam"].append(step() / len(batches))
        times["step"].append((clock() - start) / len(batches))
        start = clock()
        gemms()
        times["gemms"].append((clock() - start) / len(batches))
    us = {part: statistics.median(t) * 1e6 for part, t in times.items()}
    us["rest"] = us["step"] - us["gemms"] - us["adam"]
    return us


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args()
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    print("Microseconds per step; one BLAS thread; medians of interleaved repeats.")
    print("| problem | dtype | step | gemms | adam | rest |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    with threadpool_limits(1):
        for name in ("digits", "20,000 x 100"):
            for dtype in dtypes:
                us = per_step(name, np.dtype(dtype), args.repeats)
                cells = " | ".join(
                    f"{us[part]:.0f}" for part in ("step", "gemms", "adam", "rest")
                )
                print(f"| {name} | {dtype} | {cells} |")


if __name__ == "__main__":
    main()
