"""Draw the graph picture of the README: ``python docs/readme_figure.py``.

A LogisticRegressionGraph fitted on two standardised features of the
breast-cancer data (bundled with scikit-learn), its ``graph_`` annotated with
the values and gradients of one pass of the training objective at the
solver's starting point (all parameters zero), drawn with matplotlib alone.
Writes ``docs/_static/readme_graph.png``.
"""

import copy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skgraph import LogisticRegressionGraph  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "_static" / "readme_graph.png"

data = load_breast_cancer()
X = StandardScaler().fit_transform(data.data[:, :2])
y = data.target
clf = LogisticRegressionGraph().fit(X, y)

graph = copy.deepcopy(clf.graph_)
graph.set_flat(np.zeros(graph.n_parameters))  # where the solver starts
n = len(y)
feed = {
    graph["X"]: X,
    graph["y"]: (y == clf.classes_[1]).astype(float)[:, None],
    graph["sample_weight"]: np.full(n, 1.0 / n),
    graph["l2_strength"]: 1.0 / (clf.C * n),
}
trace = graph.backward(graph["objective"], feed)
graph.save(OUTPUT, trace, engine="matplotlib", dpi=110)
print("saved", OUTPUT)
