"""
A network of your own: dropout and GELU on digits
=================================================

:class:`sklearn.neural_network.MLPClassifier` has one activation for every
layer, four to choose from, and no dropout. :class:`~skgraph.GraphClassifier`
takes the hidden network as a list of layers (:mod:`skgraph.layers`): here a
wide GELU layer followed by dropout, trained with the same Adam, the same
penalty and the same mini-batches as the MLP.

We record the training and validation accuracy after every epoch (for
skgraph through a scikit-learn callback, for scikit-learn with
``partial_fit``) and draw both curves for each model. Dropout trains a
different thinned network at each step, which keeps the network from
fitting the training digits as closely: the figure shows how much of the
gap between training and validation accuracy that closes on this small
problem, next to a GELU network without dropout and scikit-learn's ReLU
MLP.
"""

# %%
# The data
# --------

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skgraph import GraphClassifier
from skgraph.layers import Dense, Dropout

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(
    X, y, train_size=0.5, stratify=y, random_state=0
)
EPOCHS = 25

# %%
# Accuracy after every epoch
# --------------------------
# A callback sees a snapshot of the model at the end of each epoch
# (``fitted_estimator``); it never changes the fit.


class AccuracyCurves:
    """Training and validation accuracy of each epoch's snapshot."""

    def __init__(self):
        self.train, self.val = [], []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.parent is not None and fitted_estimator is not None:
            self.train.append(fitted_estimator.score(X_train, y_train))
            self.val.append(fitted_estimator.score(X_val, y_val))
        return False


params = dict(alpha=1e-4, learning_rate_init=1e-3, max_iter=EPOCHS, random_state=0)
curves = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, layers in {
        "skgraph: GELU(128) + Dropout(0.5)": [
            Dense(128, activation="gelu"),
            Dropout(0.5),
        ],
        "skgraph: GELU(128)": [Dense(128, activation="gelu")],
    }.items():
        monitor = AccuracyCurves()
        GraphClassifier(layers, **params).set_callbacks(monitor).fit(X_train, y_train)
        curves[name] = (monitor.train, monitor.val)

    # scikit-learn's MLP, one epoch per partial_fit call
    mlp = MLPClassifier((128,), **{**params, "max_iter": 1})
    train, val = [], []
    for _ in range(EPOCHS):
        mlp.partial_fit(X_train, y_train, classes=np.unique(y))
        train.append(mlp.score(X_train, y_train))
        val.append(mlp.score(X_val, y_val))
    curves["scikit-learn MLPClassifier: ReLU(128)"] = (train, val)

for name, (train, val) in curves.items():
    print(f"{name:38s} train {train[-1]:.3f}  validation {val[-1]:.3f}")
    assert len(train) == len(val) == EPOCHS
dropout_val = curves["skgraph: GELU(128) + Dropout(0.5)"][1]
assert dropout_val[-1] > 0.9  # a network that learned the digits

# %%
# The curves
# ----------

fig, ax = plt.subplots(figsize=(8, 4.5))
epochs = np.arange(1, EPOCHS + 1)
for (name, (train, val)), color in zip(curves.items(), ["C0", "C1", "C2"], strict=True):
    ax.plot(epochs, train, color=color, linestyle="--", label=f"{name} (train)")
    ax.plot(epochs, val, color=color, label=f"{name} (validation)")
ax.set_xlabel("epoch")
ax.set_ylabel("accuracy")
ax.set_ylim(0.8, 1.005)
ax.set_title("Digits: training (dashed) and validation accuracy per epoch")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples in their folder, without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "graph_classifier_dropout.png", dpi=100)
print("saved", output / "graph_classifier_dropout.png")
