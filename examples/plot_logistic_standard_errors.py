"""
Standard errors and confidence intervals from the graph's Hessian
=================================================================

For the linear model the Hessian of the objective is one weighted product,
``X1.T @ D @ X1`` with ``D`` the sample weights times ``p (1 - p)``, built
from the logits of the graph's forward pass: the same matrix that
``solver="newton-cholesky"`` factorises at every step. At the fitted
coefficients its inverse is their covariance (times ``S``, the sum of the
weights), which :meth:`skgraph.LogisticRegressionGraph.summary` turns into
the table statisticians expect: coefficient, standard error, z, p-value and
interval, in statsmodels' order and, for ``C=np.inf``, with statsmodels'
numbers (``Logit``; the test suite checks them to 1e-6).

With a finite ``C`` the intervals come from the penalised Hessian: the
curvature of the objective that was minimised (a Gaussian approximation of
the posterior under the prior ``W ~ N(0, C I)``). The penalty pulls the
coefficients towards zero and narrows their intervals.
"""

# %%
# Four features of the breast-cancer data, standardised
# ------------------------------------------------------

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer

from skgraph import LogisticRegressionGraph

data = load_breast_cancer()
columns = ["mean texture", "mean smoothness", "mean symmetry", "worst radius"]
X = data.data[:, [list(data.feature_names).index(name) for name in columns]]
X = (X - X.mean(axis=0)) / X.std(axis=0)
y = data.target

# %%
# The maximum-likelihood fit and its table
# ----------------------------------------
# A tight ``tol``: the standard errors are those of the optimum. Newton's
# method gets there in a few iterations.

mle = LogisticRegressionGraph(C=np.inf, solver="newton-cholesky", tol=1e-10)
table = mle.fit(X, y).summary(X, y)
print(f"{mle.n_iter_[0]} Newton iterations\n")
print(table)
assert table.names == ["const", "x1", "x2", "x3", "x4"]  # x1..x4: columns
assert np.all(table.conf_int[:, 0] < table.coef)
assert np.all(table.coef < table.conf_int[:, 1])

# %%
# With an L2 penalty
# ------------------
# (``summary(...).to_frame()`` gives the same table as a pandas DataFrame.)

ridge = LogisticRegressionGraph(C=0.05, solver="newton-cholesky", tol=1e-10)
penalised = ridge.fit(X, y).summary(X, y)
print(penalised)
assert np.all(penalised.stderr[1:] < table.stderr[1:])

# %%
# The intervals side by side
# --------------------------

fig, ax = plt.subplots(figsize=(7, 3.8))
positions = np.arange(len(table.names))
for shift, (label, summary) in zip(
    (-0.12, 0.12), (("C = inf", table), ("C = 0.05", penalised)), strict=True
):
    errors = np.abs(summary.conf_int.T - summary.coef)
    ax.errorbar(
        summary.coef, positions + shift, xerr=errors, fmt="o", capsize=3, label=label
    )
ax.axvline(0.0, color="grey", linewidth=0.8)
ax.set_yticks(positions, ["const", *columns])
ax.invert_yaxis()
ax.set_xlabel("coefficient (standardised features), 95% interval")
ax.set_title("LogisticRegressionGraph.summary on breast cancer")
ax.legend()
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples in their folder, without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "logistic_standard_errors.png", dpi=100)
print("saved", output / "logistic_standard_errors.png")
