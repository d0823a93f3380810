"""
Poisson counts with MLPRegressorGraph
=====================================

:class:`~skgraph.MLPRegressorGraph` is scikit-learn's
:class:`~sklearn.neural_network.MLPRegressor` as a computation graph. With
``loss="poisson"`` its output node is ``exp`` and its loss the half Poisson
deviance of counts, computed from the raw output (no logarithm of a
prediction is ever taken). This example fits both estimators to the same
counts with the same seed, compares their times, and shows that their
loss curves coincide: the two follow the same steps.
"""

# %%
# Counts whose rate depends on the features
# -----------------------------------------
# The log of the rate is a smooth nonlinear function of four features;
# the targets are Poisson draws of that rate.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

from skgraph import MLPRegressorGraph

rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 4))
log_rate = 0.8 * np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] - 0.3 * X[:, 3] ** 2
y = rng.poisson(np.exp(log_rate))
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# The same model, twice
# ---------------------
# Same parameters, same ``random_state``: the same initial weights, the same
# mini-batches, the same Adam steps.

params = dict(
    loss="poisson",
    hidden_layer_sizes=(32,),
    learning_rate_init=0.01,
    max_iter=60,
    random_state=0,
)
fitted = {}
for Estimator in (MLPRegressorGraph, MLPRegressor):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Estimator(**params).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    deviance = mean_poisson_deviance(y_test, model.predict(X_test))
    fitted[Estimator.__name__] = model
    print(
        f"{Estimator.__name__:>18}: {seconds:.2f} s, {model.n_iter_} epochs, "
        f"test Poisson deviance {deviance:.4f}"
    )

ours, theirs = fitted["MLPRegressorGraph"], fitted["MLPRegressor"]
# The example checks itself: the same steps give the same losses, to rounding.
np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
print("largest difference of the loss curves:", end=" ")
print(f"{np.max(np.abs(np.subtract(ours.loss_curve_, theirs.loss_curve_))):.1e}")

# %%
# The loss curves, and the predicted rates
# ----------------------------------------
# Left: the training loss per epoch (scikit-learn's half Poisson deviance,
# constant term included); the two curves lie on each other. Right: the
# predicted rate of the test samples against the true one.

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
left.plot(ours.loss_curve_, lw=3, alpha=0.5, label="MLPRegressorGraph")
left.plot(theirs.loss_curve_, "k--", lw=1, label="MLPRegressor")
left.set(xlabel="epoch", ylabel="training loss", yscale="log")
left.legend()
_, test_rows = train_test_split(np.arange(len(X)), random_state=0)
right.scatter(np.exp(log_rate)[test_rows], ours.predict(X_test), s=6, alpha=0.5)
limit = np.exp(log_rate).max()
right.plot([0, limit], [0, limit], "k:", lw=1)
right.set(xlabel="true rate", ylabel="predicted rate (MLPRegressorGraph)")
fig.tight_layout()
plt.show()
