"""
Three ways down the same hill: L-BFGS, conjugate gradients, gradient descent
============================================================================

:class:`skgraph.LogisticRegressionGraph` minimises scikit-learn's logistic
regression objective,

.. math:: f(W, b) = \\frac{1}{S} \\sum_i s_i\\, \\ell(x_i W + b,\\, y_i)
          + \\frac{1}{2 C S} \\lVert W \\rVert_F^2,

whose gradient comes from one backward pass through the model's graph. The
solver only decides where to step next:

* ``"gd"`` is the lecture's recipe, ``theta -= step * gradient``; with
  ``learning_rate="auto"`` the first step is ``1 / L`` for ``L`` a bound of the
  gradient's Lipschitz constant, and each later step backtracks until the loss
  decreases enough.
* ``"cg"`` (nonlinear conjugate gradients) and ``"lbfgs"`` (a quasi-Newton
  method, scikit-learn's default) remember past gradients to bend the
  direction towards the minimum.

All three reach the same optimum as scikit-learn's ``LogisticRegression``;
the figure shows how fast, iteration by iteration, on the breast-cancer data.
"""

# %%
# The data and the optimum
# ------------------------
# Standardised features, as any gradient method wants them. A very tight
# L-BFGS fit gives the optimal objective value ``f*``.

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skgraph import LogisticRegressionGraph

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)

best = LogisticRegressionGraph(tol=1e-12, max_iter=10_000).fit(X, y)
f_star = best.loss_curve_[-1]
print(f"optimal objective f* = {f_star:.12f}")

# %%
# The three solvers
# -----------------
# ``loss_curve_`` holds the objective after every iteration, for every solver.
# Gradient descent also runs with a fixed step, to show what the automatic
# one buys.

runs = {
    "lbfgs": LogisticRegressionGraph(solver="lbfgs", tol=1e-8, max_iter=1000),
    "cg": LogisticRegressionGraph(solver="cg", tol=1e-8, max_iter=1000),
    'gd, learning_rate="auto"': LogisticRegressionGraph(
        solver="gd", tol=1e-7, max_iter=50_000
    ),
    "gd, learning_rate=0.5": LogisticRegressionGraph(
        solver="gd", learning_rate=0.5, tol=1e-7, max_iter=50_000
    ),
}
for name, clf in runs.items():
    clf.fit(X, y)
    print(
        f"{name:26s} {clf.n_iter_[0]:6d} iterations, "
        f"f - f* = {clf.loss_curve_[-1] - f_star:.1e}"
    )

# %%
# They agree with scikit-learn
# ----------------------------
# Same objective, same optimum: the coefficients of every run match
# scikit-learn's to 1e-4 relative.

reference = LogisticRegression(tol=1e-10, max_iter=10_000).fit(X, y)
scale = np.abs(reference.coef_).max()
for name, clf in runs.items():
    error = np.abs(clf.coef_ - reference.coef_).max() / scale
    print(f"{name:26s} max relative coefficient difference {error:.1e}")
    assert error < 1e-4, name
    assert clf.loss_curve_[-1] - f_star < 1e-8, name

# %%
# The loss curves
# ---------------
# The distance to the optimum, ``f - f*``, after each iteration. L-BFGS gets
# to machine precision in a few dozen iterations, conjugate gradients take a
# little longer, and gradient descent crawls linearly (its rate is set by the
# conditioning of the data); the automatic step beats the fixed one.

styles = {
    "lbfgs": dict(color="C0"),
    "cg": dict(color="C1"),
    'gd, learning_rate="auto"': dict(color="C2"),
    "gd, learning_rate=0.5": dict(color="C2", linestyle="--"),
}
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, clf in runs.items():
    gap = np.asarray(clf.loss_curve_) - f_star
    iterations = np.arange(1, len(gap) + 1)
    keep = gap > 0  # the last iterates may hit f* to the last digit
    ax.loglog(iterations[keep], gap[keep], label=name, **styles[name])
ax.set_xlabel("iteration")
ax.set_ylabel("objective - optimum")
ax.set_title("LogisticRegressionGraph on breast cancer (standardised), C = 1")
ax.legend()
ax.grid(True, which="major", alpha=0.3)
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples in their folder, without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "logistic_solvers.png", dpi=100)
print("saved", output / "logistic_solvers.png")
