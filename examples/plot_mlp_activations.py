"""
Activations and solvers of an MLP graph
=======================================

:class:`~skgraph.MLPClassifierGraph` is a graph of affine, activation and
loss nodes. Each activation is one op that knows its own derivative, so
swapping ``"relu"`` for ``"tanh"`` changes one node and nothing else; the
five solvers all minimise the same objective node.

This example draws the decision boundaries of the four activations on the
two-moons data, then compares how the solvers bring the training objective
down.
"""

# %%
# The data
# --------
# Two interleaving half circles with noise: no straight line separates them.

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skgraph import MLPClassifierGraph

X, y = make_moons(n_samples=300, noise=0.25, random_state=0)
X = StandardScaler().fit_transform(X)

# %%
# One network per activation
# --------------------------
# Two hidden layers of 16 units, fitted with L-BFGS and a penalty
# (``alpha=0.1``) strong enough to keep the boundaries smooth through the
# noise. ``"identity"`` makes
# the whole network an affine map, so its boundary is a straight line; the
# other three bend it around the moons.

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
fitted = {}
for activation in ACTIVATIONS:
    clf = MLPClassifierGraph(
        hidden_layer_sizes=(16, 16),
        activation=activation,
        solver="lbfgs",
        alpha=0.1,
        max_iter=2000,
        random_state=0,
    )
    fitted[activation] = clf.fit(X, y)
    print(
        f"{activation:>8}: training accuracy {clf.score(X, y):.3f} after "
        f"{clf.n_iter_} L-BFGS iterations; hidden node {clf.graph_['h1']!r}"
    )
assert fitted["identity"].score(X, y) < 0.9  # a line cannot follow the moons
assert all(fitted[a].score(X, y) > 0.9 for a in ACTIVATIONS[1:])

grid = np.linspace(-2.5, 2.5, 201)
xx, yy = np.meshgrid(grid, grid)
points = np.column_stack([xx.ravel(), yy.ravel()])

fig, axes = plt.subplots(1, 4, figsize=(15, 4), sharey=True)
for ax, activation in zip(axes, ACTIVATIONS, strict=True):
    clf = fitted[activation]
    proba = clf.predict_proba(points)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
    ax.contour(xx, yy, proba, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=14)
    ax.set_title(f'activation="{activation}"\naccuracy {clf.score(X, y):.3f}')
    ax.set_xlabel("$x_1$")
axes[0].set_ylabel("$x_2$")
fig.suptitle("Decision boundaries of MLPClassifierGraph((16, 16)) on two moons")
fig.tight_layout()

# %%
# The solvers on one objective
# ----------------------------
# The same tanh network from the same initial weights, trained by each
# solver. ``loss_curve_`` is recorded for all of them (scikit-learn's MLP
# has none for L-BFGS): the full objective after each iteration for
# ``"lbfgs"``, ``"cg"`` and ``"gd"``, and the mean mini-batch objective
# of each epoch for ``"sgd"`` and ``"adam"`` (two batches of at most 200
# samples per epoch here).

SOLVERS = {
    "lbfgs": {},
    "cg": {},
    "gd": {"learning_rate_init": 0.5},
    "sgd": {"learning_rate_init": 0.1, "momentum": 0.9},
    "adam": {"learning_rate_init": 0.01},
}
curves = {}
for solver, params in SOLVERS.items():
    clf = MLPClassifierGraph(
        hidden_layer_sizes=(16, 16),
        activation="tanh",
        solver=solver,
        alpha=1e-3,
        max_iter=300,
        random_state=0,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 300 steps at most
        clf.fit(X, y)
    curves[solver] = clf.loss_curve_
    print(
        f"{solver:>5}: {clf.n_iter_:3d} iterations, final objective "
        f"{clf.loss_:.4f}, training accuracy {clf.score(X, y):.3f}"
    )
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]

fig2, ax = plt.subplots(figsize=(7, 4.5))
for solver, curve in curves.items():
    ax.plot(np.arange(1, len(curve) + 1), curve, label=solver)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("iteration (full batch) or epoch (mini-batch)")
ax.set_ylabel("training objective")
ax.set_title("One objective, five solvers: loss_curve_ of a tanh MLP")
ax.legend()
fig2.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples in their folder, without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "mlp_activations.png", dpi=100)
fig2.savefig(output / "mlp_solver_loss_curves.png", dpi=100)
print(
    "saved",
    output / "mlp_activations.png",
    "and",
    output / "mlp_solver_loss_curves.png",
)
