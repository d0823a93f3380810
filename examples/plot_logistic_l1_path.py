"""
L1 regularisation path and feature selection, beside scikit-learn's saga
=========================================================================

With ``l1_ratio=1``, :class:`skgraph.LogisticRegressionGraph` minimises
scikit-learn's L1-penalised logistic regression objective,

.. math:: \\frac{1}{S} \\sum_i s_i\\, \\ell(x_i W + b,\\, y_i)
          + \\frac{1}{C S} \\lVert W \\rVert_1,

exactly, with L-BFGS on split variables (see the Solvers page of the user
guide): the coefficients it returns have exact zeros, the same ones as
scikit-learn's ``saga`` solver once that has converged. This example

* follows the regularisation path, coefficients against ``C``, as a loop
  over ``C`` with ``warm_start=True``, beside the same loop with
  scikit-learn's ``LogisticRegression(solver="saga")``;
* selects features with :class:`~sklearn.feature_selection.SelectFromModel`
  in a pipeline.
"""

# %%
# The data
# --------
# The breast-cancer data: 569 tumours, 30 features, standardised (L1
# penalties, like every gradient method, want comparable scales).

import time
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgraph import LogisticRegressionGraph

data = load_breast_cancer()
X = StandardScaler().fit_transform(data.data)
y = data.target
Cs = np.logspace(-2.3, -0.3, 12)

# %%
# The path, with warm starts
# --------------------------
# Each fit starts from the previous ``C``'s coefficients. Both estimators run
# at their default ``tol``; saga's ``max_iter`` is raised so that it reaches
# its ``tol`` at the weakest penalties.


def path(estimator):
    """Coefficients for each C (a warm-started loop) and the total time."""
    coefs = []
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for C in Cs:
            coefs.append(estimator.set_params(C=C).fit(X, y).coef_[0].copy())
    return np.array(coefs), time.perf_counter() - start


graph_path, graph_time = path(LogisticRegressionGraph(l1_ratio=1.0, warm_start=True))
saga_path, saga_time = path(
    LogisticRegression(solver="saga", l1_ratio=1.0, warm_start=True, max_iter=1000)
)
print(
    f"path of {len(Cs)} fits: skgraph lbfgs {graph_time:.2f} s, saga {saga_time:.2f} s"
)

# %%
# How close each path is to the exact one: the same loop with a very tight
# ``tol`` (at most 1e-10 for the largest entry of the gradient mapping, the
# optimality measure of the L1 problem).

exact_path, _ = path(
    LogisticRegressionGraph(l1_ratio=1.0, warm_start=True, tol=1e-10, max_iter=10_000)
)
for name, coefs in (("skgraph lbfgs", graph_path), ("saga", saga_path)):
    error = np.abs(coefs - exact_path).max()
    print(f"{name}: largest |coef error| along the path {error:.1e}")
nonzero = (graph_path != 0).sum(axis=1)
print(f"non-zero coefficients from C={Cs[0]:.4f} to C={Cs[-1]:.2f}: {nonzero.tolist()}")

fig, (left, right) = plt.subplots(
    1, 2, figsize=(10, 4), sharey=True, layout="constrained"
)
for ax, coefs, title in (
    (left, graph_path, f"LogisticRegressionGraph (lbfgs), {graph_time:.2f} s"),
    (right, saga_path, f"LogisticRegression (saga), {saga_time:.2f} s"),
):
    ax.semilogx(Cs, coefs, lw=1)
    ax.set(title=title, xlabel="C")
left.set_ylabel("coefficient")
fig.suptitle("L1 regularisation path, breast cancer (standardised)")

# %%
# Exact zeros
# -----------
# A coefficient leaves zero at the ``C`` where its feature starts to pay for
# its penalty; below that it is exactly 0.0, not a small number. For the
# fits at the same ``C`` both solvers agree on which coefficients are zero
# once they have converged; at its default ``tol`` saga may still hold a few
# not-quite-zero values near the point where a feature enters.

print(
    f"exact zeros along the path: skgraph {(graph_path == 0).sum()}, "
    f"saga {(saga_path == 0).sum()}, exact path {(exact_path == 0).sum()}"
)

# %%
# Feature selection in a pipeline
# -------------------------------
# :class:`~sklearn.feature_selection.SelectFromModel` keeps the features
# whose coefficient's magnitude reaches ``threshold``. Its *default*
# threshold is 1e-5 only for scikit-learn's own L1 models (``Lasso``, or an
# estimator whose ``penalty`` parameter is ``"l1"``); for any other
# estimator, including ``LogisticRegressionGraph(l1_ratio=1)`` and
# scikit-learn 1.9's ``LogisticRegression(l1_ratio=1)`` with ``penalty``
# left at its default, it is the *mean* of the magnitudes, which drops
# useful features. Pass ``threshold`` explicitly: the zeros here are exact,
# so any small positive number keeps exactly the features with a non-zero
# coefficient.

warnings.simplefilter("ignore", ConvergenceWarning)  # saga, on some folds
for name, selector in (
    ("skgraph lbfgs", LogisticRegressionGraph(C=0.05, l1_ratio=1.0)),
    (
        "sklearn saga",
        LogisticRegression(solver="saga", C=0.05, l1_ratio=1.0, max_iter=1000),
    ),
):
    pipeline = make_pipeline(
        StandardScaler(),
        SelectFromModel(selector, threshold=1e-10),
        LogisticRegressionGraph(),
    )
    start = time.perf_counter()
    scores = cross_val_score(pipeline, data.data, y, cv=3)
    elapsed = time.perf_counter() - start
    kept = pipeline.fit(data.data, y)[1].get_support().sum()
    print(
        f"{name}: keeps {kept} of {X.shape[1]} features, "
        f"accuracy {scores.mean():.3f} (3-fold), {elapsed:.2f} s"
    )
