"""
Regression with outliers: the Huber loss against MLPRegressor
=============================================================

:class:`sklearn.neural_network.MLPRegressor` minimises the squared error, so
a few wild targets pull the whole curve towards them.
:class:`~skgraph.GraphRegressor` takes ``loss="huber"``: quadratic for
residuals up to ``huber_delta``, linear beyond, so an outlier's pull is
bounded. Same network (one hidden layer of 32 units), same L-BFGS, same
penalty; only the loss differs.
"""

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skgraph import GraphRegressor
from skgraph.layers import Dense

rng = np.random.RandomState(0)
X = np.sort(rng.uniform(-3, 3, 300))[:, None]
truth = np.sin(X[:, 0])
y = truth + 0.1 * rng.randn(300)
outliers = rng.choice(300, 30, replace=False)
y[outliers] += rng.uniform(4, 8, 30)  # 10 % of the targets, all far above

params = dict(solver="lbfgs", max_iter=300, alpha=1e-3, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    sk = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", **params)
    sk.fit(X, y)
    huber = GraphRegressor(
        [Dense(32, activation="tanh")], loss="huber", huber_delta=0.5, **params
    ).fit(X, y)

errors = {
    "MLPRegressor (squared error)": np.abs(sk.predict(X) - truth).mean(),
    "GraphRegressor (Huber, delta=0.5)": np.abs(huber.predict(X) - truth).mean(),
}
for name, error in errors.items():
    print(f"{name:34s} mean distance to sin(x): {error:.3f}")
assert (
    errors["GraphRegressor (Huber, delta=0.5)"] < errors["MLPRegressor (squared error)"]
)

fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(X[:, 0], y, s=8, color="0.6", label="training targets (10 % outliers)")
ax.plot(X[:, 0], truth, color="k", linestyle=":", label="sin(x)")
ax.plot(X[:, 0], sk.predict(X), color="C0", label="MLPRegressor (squared error)")
ax.plot(X[:, 0], huber.predict(X), color="C1", label="GraphRegressor (Huber)")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(fontsize=8)
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples in their folder, without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "graph_regressor_huber.png", dpi=100)
print("saved", output / "graph_regressor_huber.png")
