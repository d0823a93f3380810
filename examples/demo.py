"""A short tour of skgraph: two classifiers beside scikit-learn's, a gradient
check, and a picture of a model's computation graph.

Run with ``make demo`` (or ``python examples/demo.py [picture.png]``). It
takes a few seconds, needs no display, and saves the picture to
``skgraph_demo_graph.png`` in the current directory (or the path given).
"""

import sys
import time
import warnings
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import skgraph
from skgraph import LogisticRegressionGraph, MLPClassifierGraph, check_gradients

picture = Path(sys.argv[1] if len(sys.argv) > 1 else "skgraph_demo_graph.png")


def fit_timed(estimator, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return estimator, time.perf_counter() - start


def compare(title, ours, theirs, X_train, y_train, X_test, y_test):
    """Fit both, print their test accuracies, return the fitted pair."""
    ours, t_ours = fit_timed(ours, X_train, y_train)
    theirs, t_theirs = fit_timed(theirs, X_train, y_train)
    a_ours, a_theirs = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    print(f"  {title}")
    print(
        f"    test accuracy: skgraph {a_ours:.3f}, scikit-learn {a_theirs:.3f}"
        f"   (fit: {t_ours:.2f} s vs {t_theirs:.2f} s)"
    )
    return ours, theirs


print(
    f"skgraph {skgraph.__version__}: scikit-learn classifiers whose models are "
    "computation graphs\n(inputs, parameters, operations) trained by "
    "backpropagation. Drop-in replacements:"
)

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
logistic, reference = compare(
    "LogisticRegressionGraph vs LogisticRegression, breast cancer (569 samples):",
    LogisticRegressionGraph(tol=1e-8, max_iter=1000),
    LogisticRegression(tol=1e-8, max_iter=1000),
    X_train,
    y_train,
    X_test,
    y_test,
)
coef_gap = abs(logistic.coef_ - reference.coef_).max()
print(f"    same objective, same optimum: coefficients differ by {coef_gap:.0e}")
assert coef_gap < 1e-4

check = check_gradients(logistic, X_train, y_train)
verdict = "correct" if check.passed else "WRONG"
print(
    f"    gradient check, backprop vs finite differences: worst error "
    f"{check.max_error:.0e}\n    ({verdict}: a wrong gradient reads above "
    f"{check.threshold:.0e})"
)
assert check.passed

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
params = {"hidden_layer_sizes": (64,), "max_iter": 100, "random_state": 0}
compare(
    "MLPClassifierGraph vs MLPClassifier, digits, 64 hidden units, adam:",
    MLPClassifierGraph(**params),
    MLPClassifier(**params),
    X_train,
    y_train,
    X_test,
    y_test,
)

graph = logistic.graph_
graph.save(picture, engine="matplotlib")
print(
    f"The logistic model's computation graph ({len(graph)} nodes; inputs blue, "
    f"parameters yellow,\noperations grey) is drawn in {picture.resolve()}"
)
