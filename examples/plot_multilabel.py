"""
Multilabel classification
=========================

In a multilabel problem every sample can carry any number of labels at once
(a document about both sport and money, an image with a cat *and* a dog).
The targets are a 0/1 indicator matrix with one column per label.

:class:`~skgraph.MLPClassifierGraph` handles such targets as scikit-learn's
``MLPClassifier`` does: the output layer has one logit per label and the
loss is the binary cross-entropy of each label's sigmoid, summed over the
labels and averaged over the samples. In the graph that is one fused
:class:`~skgraph.ops.SigmoidCrossEntropy` node over all the columns.
Logistic regression, which is binary or multiclass, joins in through
scikit-learn's one-vs-rest wrapper.
"""

# %%
# The data
# --------
# :func:`~sklearn.datasets.make_multilabel_classification` generates
# documents as word counts, each with a random set of the five labels.

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score, hamming_loss
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skgraph import LogisticRegressionGraph, MLPClassifierGraph

X, Y = make_multilabel_classification(
    n_samples=600, n_features=20, n_classes=5, n_labels=2, random_state=0
)
X = StandardScaler().fit_transform(X)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)
print("targets:", Y.shape, "labels per sample:", np.bincount(Y.sum(axis=1)))

# %%
# An MLP on the indicator matrix
# ------------------------------
# ``fit`` recognises the 2-D 0/1 target. ``predict`` returns an indicator
# matrix of the same shape, and ``predict_proba`` one probability per label:
# the columns are separate yes/no questions, so a row does not sum to one.

mlp = MLPClassifierGraph(
    hidden_layer_sizes=(32,), alpha=1e-2, max_iter=300, random_state=0
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # adam, 300 epochs
    mlp.fit(X_train, Y_train)
Y_pred = mlp.predict(X_test)
proba = mlp.predict_proba(X_test)
print("output:", mlp.out_activation_, "| n_outputs_:", mlp.n_outputs_)
print("predict:", Y_pred.shape, "| predict_proba row sums:", proba.sum(axis=1)[:4])
assert Y_pred.shape == Y_test.shape and mlp.out_activation_ == "logistic"
assert np.array_equal(Y_pred, (proba > 0.5).astype(int))

# A sample with no true and no predicted label counts as right (zero_division).
mlp_f1 = f1_score(Y_test, Y_pred, average="samples", zero_division=1.0)
print(f"MLP: sample-averaged F1 {mlp_f1:.3f}, hamming loss ", end="")
print(f"{hamming_loss(Y_test, Y_pred):.3f}, exact-set accuracy ", end="")
print(f"{mlp.score(X_test, Y_test):.3f}")
assert mlp_f1 > 0.65

# %%
# The same fit as scikit-learn's
# ------------------------------
# With the same settings and ``random_state``, scikit-learn's
# ``MLPClassifier`` starts from the same weights and minimises the same
# objective with the same Adam steps; the two networks end up the same.

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    reference = MLPClassifier(
        hidden_layer_sizes=(32,), alpha=1e-2, max_iter=300, random_state=0
    ).fit(X_train, Y_train)
gap = max(
    np.abs(ours - theirs).max()
    for ours, theirs in zip(mlp.coefs_, reference.coefs_, strict=True)
)
print(f"largest difference of coefs_ from scikit-learn's: {gap:.1e}")
print(f"final loss: {mlp.loss_:.6f} (skgraph), {reference.loss_:.6f} (scikit-learn)")
assert np.isclose(mlp.loss_, reference.loss_, rtol=1e-6)
assert np.array_equal(mlp.predict(X_test), reference.predict(X_test))

# %%
# Logistic regression, one label at a time
# ----------------------------------------
# :class:`~sklearn.multiclass.OneVsRestClassifier` fits one binary
# :class:`~skgraph.LogisticRegressionGraph` per column of the indicator
# matrix; each is an ordinary estimator with its own ``graph_``.

ovr = OneVsRestClassifier(LogisticRegressionGraph(C=1.0)).fit(X_train, Y_train)
ovr_pred = ovr.predict(X_test)
ovr_f1 = f1_score(Y_test, ovr_pred, average="samples", zero_division=1.0)
print(f"one-vs-rest logistic regression: sample-averaged F1 {ovr_f1:.3f}")
print("one graph per label:", [str(e.graph_) for e in ovr.estimators_][:2], "...")
assert len(ovr.estimators_) == Y.shape[1]

# %%
# Per-label results
# -----------------
# Left, the F1 score of each label for both models; right, the MLP's
# predicted probabilities for the first test samples, with the true labels
# marked.

per_label = {
    "MLPClassifierGraph": f1_score(Y_test, Y_pred, average=None, zero_division=1.0),
    "OneVsRest(LogisticRegressionGraph)": f1_score(
        Y_test, ovr_pred, average=None, zero_division=1.0
    ),
}
fig, (ax_f1, ax_proba) = plt.subplots(1, 2, figsize=(11, 4))
positions = np.arange(Y.shape[1])
for k, (name, scores) in enumerate(per_label.items()):
    ax_f1.bar(positions + 0.4 * k - 0.2, scores, width=0.4, label=name)
ax_f1.set_xticks(positions, [f"label {j}" for j in positions])
ax_f1.set_ylim(0, 1)
ax_f1.set_ylabel("F1 on held-out samples")
ax_f1.legend(loc="lower right")

shown = 12
image = ax_proba.imshow(proba[:shown].T, cmap="Blues", vmin=0, vmax=1, aspect="auto")
rows, cols = np.nonzero(Y_test[:shown].T)
ax_proba.scatter(cols, rows, marker="o", facecolors="none", edgecolors="tab:red")
ax_proba.set_yticks(positions, [f"label {j}" for j in positions])
ax_proba.set_xlabel("test sample")
ax_proba.set_title("MLP probabilities (red circles: true labels)")
fig.colorbar(image, ax=ax_proba)
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery may run examples without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "multilabel.png", dpi=100)
print("saved", output / "multilabel.png")

# %%
# The multilabel graph
# --------------------
# The output layer has five logits, the target input ``y`` five 0/1
# columns, and a single fused loss node covers them all.

print(mlp.graph_)
graph_figure = mlp.graph_.draw(title="graph_ of the multilabel MLPClassifierGraph")
