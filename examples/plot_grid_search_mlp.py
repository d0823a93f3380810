"""
Grid search over an MLP's architecture and penalty
==================================================

:class:`~skgraph.MLPClassifierGraph` is a scikit-learn estimator like any
other, so :class:`~sklearn.model_selection.GridSearchCV` tunes it: it clones
the estimator for every candidate, fits the clones in parallel worker
processes (the graphs are plain objects that pickle, with no global state to
share) and refits the best one on all the training data.

Here the grid crosses the size of the hidden layer with the strength of the
L2 penalty ``alpha``, on scikit-learn's handwritten digits (bundled with
scikit-learn, nothing is downloaded).
"""

# %%
# The data and the search
# -----------------------
# Pixel intensities run from 0 to 16; dividing by 16 puts them in [0, 1].
# ``lbfgs`` is the full-batch solver that suits a data set this small.

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from skgraph import MLPClassifierGraph

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

mlp = MLPClassifierGraph(solver="lbfgs", max_iter=100, random_state=0)
grid = {
    "hidden_layer_sizes": [(8,), (16,), (32,)],
    "alpha": [1e-3, 1.0, 10.0],
}
search = GridSearchCV(mlp, grid, cv=3, n_jobs=2)
with warnings.catch_warnings():
    # max_iter is kept small so the example runs in seconds; some of the
    # candidates stop there before meeting tol.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)

print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
test_accuracy = search.score(X_test, y_test)
print(f"accuracy of the refitted best model on held-out digits: {test_accuracy:.3f}")
assert test_accuracy > 0.9

# %%
# The scores across the grid
# --------------------------
# Too strong a penalty shrinks the weights until the network underfits;
# with almost none, the larger layers fit the training folds closely. The
# cross-validated accuracy of every candidate:

sizes = [h[0] for h in grid["hidden_layer_sizes"]]
scores = np.empty((len(sizes), len(grid["alpha"])))
for candidate, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
):
    i = grid["hidden_layer_sizes"].index(candidate["hidden_layer_sizes"])
    j = grid["alpha"].index(candidate["alpha"])
    scores[i, j] = score

fig, (ax_grid, ax_curve) = plt.subplots(1, 2, figsize=(11, 4))
image = ax_grid.imshow(scores, cmap="viridis", vmin=scores.min(), vmax=1.0)
for i in range(len(sizes)):
    for j in range(len(grid["alpha"])):
        ax_grid.text(
            j,
            i,
            f"{scores[i, j]:.3f}",
            ha="center",
            va="center",
            color="white" if scores[i, j] < scores.max() - 0.05 else "black",
        )
ax_grid.set_xticks(range(len(grid["alpha"])), [f"{a:g}" for a in grid["alpha"]])
ax_grid.set_yticks(range(len(sizes)), [str(s) for s in sizes])
ax_grid.set_xlabel("alpha")
ax_grid.set_ylabel("hidden units")
ax_grid.set_title("mean cross-validated accuracy")
fig.colorbar(image, ax=ax_grid)

# %%
# The winner's training
# ---------------------
# The refitted model keeps what every fitted ``MLPClassifierGraph`` keeps:
# ``loss_curve_`` (recorded for every solver, ``lbfgs`` included, unlike
# scikit-learn's), the weights in ``coefs_`` and the graph they live in,
# ``graph_``.

best = search.best_estimator_
print("weight shapes:", [W.shape for W in best.coefs_])
print("iterations:", best.n_iter_, " final objective:", f"{best.loss_:.4f}")
print(best.graph_)
ax_curve.semilogy(np.arange(1, len(best.loss_curve_) + 1), best.loss_curve_)
ax_curve.set_xlabel("L-BFGS iteration")
ax_curve.set_ylabel("objective")
ax_curve.set_title(f"best model: {search.best_params_}")
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery may run examples without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "grid_search_mlp.png", dpi=100)
print("saved", output / "grid_search_mlp.png")

# %%
# The best model is a graph
# -------------------------
# ``graph_.draw()`` lays the network out with matplotlib (no Graphviz
# needed): the input ``X``, one affine and one activation node per hidden
# layer, the output logits, and the loss, penalty and objective nodes that
# training minimised.

graph_figure = best.graph_.draw(title="best_estimator_.graph_")
best.graph_.save(output / "grid_search_mlp_graph.svg")
print("saved", output / "grid_search_mlp_graph.svg")
