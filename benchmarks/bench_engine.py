"""Engine overhead: the graph's forward+backward against fused numpy.

One evaluation of the L2-regularised logistic-regression objective and its
gradient, ``theta -> (loss, grad)``, three ways:

* **graph**: built from the engine's nodes (:func:`skgraph.linear_graph`) and
  evaluated by :class:`skgraph._objectives.GraphObjective`, exactly what the
  estimators hand to scipy;
* **fused numpy**: the same math written by hand as one function, in the
  best form we know (the reference of the ratio);
* **textbook numpy**: the same again, written the usual way
  (``np.logaddexp``, ``scipy.special.expit``, row-major logits).

All compute, with ``s_i`` weights summing to one and ``alpha = 1 / (C S)``::

    binary:      z = X w + b
                 L = sum_i s_i [log(1 + exp(z_i)) - y_i z_i] + alpha/2 ||w||^2
                 dL/dw = X^T r + alpha w,  dL/db = sum_i r_i,
                 r_i = s_i (sigmoid(z_i) - y_i)
    multiclass:  Z = X W + b
                 L = sum_i s_i [logsumexp(Z_i) - Z_{i, y_i}] + alpha/2 ||W||_F^2
                 dL/dW = X^T R + alpha W,  dL/db = sum_i R_i,
                 R_i = s_i (softmax(Z_i) - onehot(y_i))

and the script checks that they agree before timing them. Repeats are
interleaved (so drifts in the machine's load hit all alike); the table shows
medians and their ratio from this one run. BLAS runs on one thread unless
``--threads`` says otherwise; the BLAS in use is printed (threadpoolctl).

Usage::

    python benchmarks/bench_engine.py [--threads N] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from threadpoolctl import threadpool_info, threadpool_limits

from skgraph._objectives import GraphObjective
from skgraph.networks import linear_graph

#: (label, n_samples, n_features, n_classes, sparse density or None, target)
PROBLEMS = [
    ("dense 1,000 x 20", 1_000, 20, 2, None, 2.0),
    ("dense 20,000 x 50", 20_000, 50, 2, None, 1.15),
    ("dense 100,000 x 100", 100_000, 100, 2, None, 1.15),
    ("dense 20,000 x 50, 10 classes", 20_000, 50, 10, None, 1.15),
    ("sparse 5,000 x 20,000 (0.5%)", 5_000, 20_000, 2, 0.005, None),
]


def make_problem(n_samples, n_features, n_classes, density, seed=0):
    """Features, integer labels and sample weights summing to one."""
    rng = np.random.default_rng(seed)
    if density is None:
        X = rng.standard_normal((n_samples, n_features))
    else:
        X = sp.random(
            n_samples, n_features, density=density, format="csr", random_state=seed
        )
        X.data = rng.standard_normal(X.nnz)
    coef = rng.standard_normal((n_features, n_classes))
    scores = np.asarray(X @ coef) + rng.standard_normal((n_samples, n_classes))
    labels = scores.argmax(axis=1)
    sample_weight = rng.uniform(0.5, 1.5, n_samples)
    return X, labels, sample_weight / sample_weight.sum()


def fused_binary(X, y, s, alpha):
    """Hand-written ``theta -> (loss, grad)``, ``theta = [w, b]``: the best form.

    One exponential serves the loss and the gradient: with ``e = exp(-|z|)``,
    ``log(1 + exp(z)) = max(z, 0) + log1p(e)`` and ``sigmoid(z)`` is
    ``1 / (1 + e)`` where ``z >= 0``, ``e / (1 + e)`` elsewhere, that is
    ``max(e, [z >= 0]) / (1 + e)`` (``np.where`` would branch, slowly).
    """
    n_features = X.shape[1]

    def fun(theta):
        w, b = theta[:n_features], theta[n_features]
        z = X @ w
        z += b
        e = np.exp(-np.abs(z))
        per_sample = np.log1p(e)
        per_sample += np.maximum(z, 0.0)
        per_sample -= y * z
        loss = s @ per_sample + 0.5 * alpha * (w @ w)
        r = np.maximum(e, z >= 0)
        r /= e + 1.0
        r -= y
        r *= s
        grad = np.empty_like(theta)
        grad[:n_features] = X.T @ r
        grad[:n_features] += alpha * w
        grad[n_features] = r.sum()
        return float(loss), grad

    return fun


def textbook_binary(X, y, s, alpha):
    """The same with ``np.logaddexp`` and ``scipy.special.expit``."""
    n_features = X.shape[1]

    def fun(theta):
        w, b = theta[:n_features], theta[n_features]
        z = X @ w
        z += b
        per_sample = np.logaddexp(0.0, z)
        per_sample -= y * z
        loss = s @ per_sample + 0.5 * alpha * (w @ w)
        r = expit(z)
        r -= y
        r *= s
        grad = np.empty_like(theta)
        grad[:n_features] = X.T @ r
        grad[:n_features] += alpha * w
        grad[n_features] = r.sum()
        return float(loss), grad

    return fun


def fused_multinomial(X, labels, s, alpha, n_classes, column_major=True):
    """Hand-written ``theta -> (loss, grad)``, ``theta = [W.ravel(), b]``.

    The logits are stored column-major (``(W.T @ X.T).T``) so that the
    row-wise max, sum and log-sum-exp over a few classes run as long
    vectorised passes; ``column_major=False`` is the textbook ``X @ W``.
    """
    n_samples, n_features = X.shape
    rows = np.arange(n_samples)
    size = n_features * n_classes

    def fun(theta):
        W = theta[:size].reshape(n_features, n_classes)
        b = theta[size:]
        Z = (W.T @ X.T).T if column_major else X @ W
        Z += b
        shift = Z.max(axis=1)
        E = np.exp(Z - shift[:, None])
        total = E.sum(axis=1)
        log_sum_exp = shift + np.log(total)  # logsumexp(Z, axis=1)
        penalty = 0.5 * alpha * (W.ravel() @ W.ravel())
        loss = s @ (log_sum_exp - Z[rows, labels]) + penalty
        R = E
        R /= total[:, None]
        R[rows, labels] -= 1.0
        R *= s[:, None]
        grad = np.empty_like(theta)
        gW = grad[:size].reshape(n_features, n_classes)
        gW[...] = X.T @ R
        gW += alpha * W
        grad[size:] = R.sum(axis=0)
        return float(loss), grad

    return fun


def graph_objective(X, labels, s, alpha, n_classes):
    """The same objective from the engine's nodes."""
    binary = n_classes == 2
    n_outputs = 1 if binary else n_classes
    net = linear_graph(
        X.shape[1], n_outputs, output="logistic" if binary else "softmax"
    )
    if binary:
        Y = labels[:, None].astype(np.float64)
    else:
        Y = np.zeros((X.shape[0], n_classes), order="F")  # as the estimators feed
        Y[np.arange(X.shape[0]), labels] = 1.0
    feed = {net.X: X, net.y: Y, net.sample_weight: s, net.l2_strength: alpha}
    return GraphObjective(net.graph, net.objective, feed), net.graph.n_parameters


def _time_one(fun, theta, inner):
    start = time.perf_counter()
    for _ in range(inner):
        fun(theta)
    return (time.perf_counter() - start) / inner


def bench(funs, theta, budget=1.5, min_repeats=15, max_repeats=400):
    """Median and best seconds per call of each function, repeats interleaved.

    Each repeat times every function once (a few calls when one call is
    short), in an order rotated from repeat to repeat, so that drifts in the
    machine's load hit all of them alike.
    """
    for _ in range(3):  # warm up: first-call allocations, caches
        for fun in funs:
            fun(theta)
    once = max(_time_one(fun, theta, 1) for fun in funs)
    inner = max(1, int(2e-3 / once))  # each sample at least ~2 ms
    repeats = int(
        np.clip(budget / (len(funs) * inner * once), min_repeats, max_repeats)
    )
    times = [[] for _ in funs]
    for r in range(repeats):
        for j in range(len(funs)):
            i = (j + r) % len(funs)
            times[i].append(_time_one(funs[i], theta, inner))
    medians = [float(np.median(t)) for t in times]
    return medians, [float(np.min(t)) for t in times], repeats * inner


def _format_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms"


def _blas_description():
    parts = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        parts.append(
            f"{lib.get('internal_api')} {lib.get('version')} "
            f"({lib.get('architecture', '?')}, {lib.get('num_threads')} threads)"
        )
    for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(variable):  # set on some machines; slows OpenBLAS
            parts.append(f"{variable}={os.environ[variable]}")
    return "; ".join(parts) or "unknown"


def run(threads, budget, C=1.0):
    rows = []
    for label, n, d, k, density, target in PROBLEMS:
        X, labels, s = make_problem(n, d, k, density)
        alpha = 1.0 / (C * n)  # scikit-learn's 1 / (C S), S = n for unit weights
        graph_fun, n_params = graph_objective(X, labels, s, alpha, k)
        if k == 2:
            y = labels.astype(np.float64)
            fused = fused_binary(X, y, s, alpha)
            textbook = textbook_binary(X, y, s, alpha)
        else:
            fused = fused_multinomial(X, labels, s, alpha, k)
            textbook = fused_multinomial(X, labels, s, alpha, k, column_major=False)
        theta = np.random.default_rng(1).normal(scale=0.1, size=n_params)
        loss_g, grad_g = graph_fun(theta)  # the same math: check before timing
        for fun in (fused, textbook):
            loss_n, grad_n = fun(theta)
            np.testing.assert_allclose(loss_g, loss_n, rtol=1e-10)
            np.testing.assert_allclose(grad_g, grad_n, rtol=1e-8, atol=1e-14)
        with threadpool_limits(limits=threads, user_api="blas"):
            (t_graph, t_fused, t_textbook), best, calls = bench(
                [graph_fun, fused, textbook], theta, budget
            )
        best_ratio = best[0] / best[1]
        rows.append((label, t_graph, t_fused, t_textbook, best_ratio, target, calls))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument(
        "--budget", type=float, default=2.0, help="seconds of timing per problem"
    )
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = _blas_description()
    print(
        "# skgraph engine: one forward+backward of the L2 logistic loss\n\n"
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"BLAS: {blas}\n"
    )
    rows = run(args.threads, args.budget)
    print(
        "| problem | graph | fused numpy | graph / fused | target "
        "| textbook numpy | calls |"
    )
    print("|---|---:|---:|---:|---|---:|---:|")
    missed = 0
    for label, t_graph, t_fused, t_textbook, best_ratio, target, calls in rows:
        ratio = t_graph / t_fused
        if target is None:
            verdict = "-"
        else:
            verdict = f"≤ {target:.2f}× " + ("ok" if ratio <= target else "MISSED")
            missed += ratio > target
        print(
            f"| {label} | {_format_time(t_graph)} | {_format_time(t_fused)} "
            f"| {ratio:.2f}× ({best_ratio:.2f}×) | {verdict} "
            f"| {_format_time(t_textbook)} | {calls} |"
        )
    print(
        "\nMedians of interleaved repeats, and in brackets the ratio of the best "
        "repeats; 'calls'\nper column. 'fused numpy': the best hand-written loss "
        "and gradient (one exp(-|z|) serves\nboth; column-major logits for the "
        "softmax). 'textbook numpy': the same math with\nnp.logaddexp, "
        "scipy.special.expit and row-major logits."
    )
    if missed:
        print(f"\n{missed} target(s) missed.")


if __name__ == "__main__":
    main()
