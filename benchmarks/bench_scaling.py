"""How fit time grows with n_samples: skgraph, scikit-learn, PyTorch and JAX.

Two log-log panels, from one run:

* **logistic regression**, ``lbfgs`` at ``tol=1e-4`` on a dense binary
  problem with 50 features (the engine benchmark's generator):
  ``LogisticRegressionGraph``, scikit-learn's ``LogisticRegression`` and the
  JAX contender of ``jax_contenders.py`` (a jitted loss and gradient under
  the same L-BFGS-B); PyTorch has no L-BFGS-B of scikit-learn's kind, so it
  has no line here;
* **MLP**, ``EPOCHS`` epochs of Adam (batch 200, 100 ReLU units, 10 classes,
  100 features): ``MLPClassifierGraph``, ``MLPClassifier``, and the
  PyTorch and JAX networks of ``bench_mlp.py``.

Each point is the median CPU time of this process over ``--repeats`` fits
(one thread everywhere: ``threadpoolctl``, ``torch.set_num_threads(1)``,
XLA pinned by ``jax_contenders``); a first fit per size warms each
contender up (JAX compiles for each new shape then) and is not counted.
``n_samples`` runs over 10^3 ... 10^6 in half decades for the logistic
regression, and up to ``--max-mlp`` (10^5 by default: an epoch of the MLP on
10^6 samples takes seconds per contender, and the growth is linear well
before) for the MLP. PyTorch and JAX are optional; a missing one is left out
of the figure and named in its title.

The figure of the Performance page was made by::

    python benchmarks/bench_scaling.py --out docs/_static/scaling.png

Usage::

    python benchmarks/bench_scaling.py [--repeats R] [--max-lr N] [--max-mlp N]
                                       [--out PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import bench_mlp
import jax_contenders
import numpy as np
from bench_logistic import make_problem
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skgraph import LogisticRegressionGraph

EPOCHS = 2
SIZES = [int(round(10**e)) for e in np.arange(3.0, 6.01, 0.5)]


def lr_contenders():
    found = {
        "skgraph": LogisticRegressionGraph().fit,
        "scikit-learn": LogisticRegression().fit,
    }
    if jax_contenders.jax is not None:
        found["JAX"] = jax_contenders.JaxLogisticRegression().fit
    return found


def mlp_contenders():
    found = {
        "skgraph": bench_mlp.sklearn_like(bench_mlp.MLPClassifierGraph, "adam", EPOCHS),
        "scikit-learn": bench_mlp.sklearn_like(bench_mlp.MLPClassifier, "adam", EPOCHS),
    }
    if bench_mlp.torch is not None:
        found["PyTorch"] = bench_mlp.torch_adam(EPOCHS)
    if jax_contenders.jax is not None:
        found["JAX"] = bench_mlp.jax_adam(EPOCHS)
    return found


def cpu_time(fit, X, y):
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit(X, y)
    return time.process_time() - start


def curve(contenders, problem, sizes, repeats):
    """``{name: [median seconds per size]}``, contenders interleaved."""
    out = {name: [] for name in contenders}
    for n in sizes:
        X, y = problem(n)
        for fit in contenders.values():  # warm-up (JAX compiles this shape)
            cpu_time(fit, X, y)
        times = {name: [] for name in contenders}
        names = list(contenders)
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name].append(cpu_time(contenders[name], X, y))
        for name, values in times.items():
            out[name].append(statistics.median(values))
        print(
            f"  n={n:>9,}: " + ", ".join(f"{k} {v[-1]:.3g} s" for k, v in out.items())
        )
    return out


def lr_problem(n):
    return make_problem(n, 50, 2, None)


def mlp_problem(n):
    return make_classification(
        n, 100, n_informative=50, n_redundant=0, n_classes=10, random_state=0
    )


def plot(panels, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"skgraph": "o-", "scikit-learn": "s--", "PyTorch": "^:", "JAX": "d-."}
    fig, axes = plt.subplots(1, len(panels), figsize=(10, 4), constrained_layout=True)
    for ax, (title, sizes, times) in zip(axes, panels, strict=True):
        for name, values in times.items():
            ax.loglog(sizes, values, styles[name], label=name)
        ax.set_title(title)
        ax.set_xlabel("n_samples")
        ax.set_ylabel("fit time, CPU seconds (one thread)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-lr", type=float, default=1e6)
    parser.add_argument("--max-mlp", type=float, default=1e5)
    parser.add_argument("--out", default="scaling.png")
    args = parser.parse_args()
    if bench_mlp.torch is not None:
        bench_mlp.torch.set_num_threads(1)
    torch_version = getattr(bench_mlp.torch, "__version__", "not installed")
    print(f"{jax_contenders.version()}; PyTorch {torch_version}")
    lr_sizes = [n for n in SIZES if n <= args.max_lr]
    mlp_sizes = [n for n in SIZES if n <= args.max_mlp]
    with threadpool_limits(limits=1):
        print("Logistic regression (lbfgs, tol=1e-4), 50 features, 2 classes")
        lr = curve(lr_contenders(), lr_problem, lr_sizes, args.repeats)
        print(f"MLP, {EPOCHS} adam epochs, 100 features, 10 classes")
        mlp = curve(mlp_contenders(), mlp_problem, mlp_sizes, args.repeats)
    plot(
        [
            ("LogisticRegression, lbfgs, 50 features", lr_sizes, lr),
            (f"MLP (100 ReLU), {EPOCHS} adam epochs, 100 features", mlp_sizes, mlp),
        ],
        args.out,
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
