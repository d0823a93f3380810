"""A short tour of skgraph: a graph, a backward pass, a gradient check, DOT.

Run with ``make demo`` (or ``python examples/demo.py``). It takes a few
seconds and needs no display. The last section fits the estimators beside
scikit-learn's, when this version of skgraph has them.
"""

import time
import warnings

import numpy as np
from scipy import optimize
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import skgraph
from skgraph import Graph, check_gradients, mlp_graph, ops


def section(title):
    print()
    print(title)
    print("=" * len(title))


def show(label, value):
    print(f"  {label:<36} {value}")


print(f"skgraph {skgraph.__version__}")

# -- 1. a graph ------------------------------------------------------------------
section("1. The lecture's logistic regression, node by node")
X = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
y = np.array([[0.0], [0.0], [1.0], [0.0], [1.0], [1.0]])

graph = Graph()
x_in = graph.input("x", shape=(None, 1))
y_in = graph.input("y", shape=(None, 1))
w1 = graph.parameter("w1", [[0.5]])
w0 = graph.parameter("w0", [0.1])
u = ops.Affine(x_in, w1, w0, name="u")  # u = w0 + w1 x
loss = ops.SigmoidCrossEntropy(u, y_in, name="L")  # mean BCE(sigmoid(u), y)
print(" ", graph)
for node in graph.nodes:
    if node.kind == "compute":
        parents = ", ".join(p.name for p in node.parents)
        show(f"{node.name} ({node.kind})", f"{type(node).__name__}({parents})")
    else:
        show(f"{node.name} ({node.kind})", f"shape {node.shape}")

# -- 2. forward and backward -------------------------------------------------------
section("2. Forward and backward pass")
feed = {x_in: X, y_in: y}
trace = graph.backward(loss, feed)
show("loss", f"{float(trace.value(loss)):.6f}")
show("dL/dw1 (backprop)", trace.grad(w1).ravel())
show("dL/dw0 (backprop)", trace.grad(w0).ravel())
y_hat = 1.0 / (1.0 + np.exp(-(0.1 + 0.5 * X)))
by_hand = [((y_hat - y) * X).mean(), (y_hat - y).mean()]
show("lecture's mean (y_hat - y) * (x, 1)", np.array(by_hand))
np.testing.assert_allclose(
    [trace.grad(w1).item(), trace.grad(w0).item()], by_hand, rtol=1e-12
)
show("the input x got a gradient?", trace.grad(x_in) is not None)

# -- 3. gradient check -------------------------------------------------------------
section("3. Gradient check: backprop against central differences")
result = check_gradients(graph, loss=loss, feed=feed)
for name, error in result.items():
    show(f"{name}: worst relative error", f"{error:.1e}")

X_iris, y_iris = load_iris(return_X_y=True)
X_iris = StandardScaler().fit_transform(X_iris)
n_samples = len(X_iris)
net = mlp_graph(4, (8, 6), 3, activation="tanh", output="softmax")
rng = np.random.default_rng(0)
net.graph.set_flat(rng.normal(scale=0.5, size=net.graph.n_parameters))
iris_feed = {
    net.X: X_iris,
    net.y: np.eye(3)[y_iris],
    net.sample_weight: np.full(n_samples, 1.0 / n_samples),
    net.l2_strength: np.float64(1e-2),
}
print(f"  a 4-8-6-3 tanh MLP on iris: {net.graph}")
result = check_gradients(net.graph, loss=net.objective, feed=iris_feed)
for name, error in result.items():
    show(f"{name}: worst relative error", f"{error:.1e}")
assert result.max_error < 1e-6


# -- training with scipy on the flat parameter vector ---------------------------------
def objective(theta):
    net.graph.set_flat(theta)
    return net.graph.value_and_grad(net.objective, iris_feed)


start = time.perf_counter()
fit = optimize.minimize(
    objective, net.graph.get_flat(), jac=True, method="L-BFGS-B", options={"gtol": 1e-6}
)
net.graph.set_flat(fit.x)
logits = net.graph.forward(net.logits, {net.X: X_iris}).value(net.logits)
show(
    "trained by scipy L-BFGS-B",
    f"{fit.nit} iterations, {time.perf_counter() - start:.2f} s",
)
show("objective", f"{fit.fun:.4f}")
show("training accuracy", f"{(logits.argmax(axis=1) == y_iris).mean():.3f}")

# -- 4. DOT ------------------------------------------------------------------------
section("4. The graph as Graphviz DOT, annotated with the last pass")
print(graph.to_dot(trace))

# -- 5. estimators -------------------------------------------------------------------
section("5. Estimators beside scikit-learn")


def timed_fit(estimator, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return estimator, time.perf_counter() - start


if hasattr(skgraph, "LogisticRegressionGraph"):
    X_bc, y_bc = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X_bc, y_bc, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ours, t_ours = timed_fit(
        skgraph.LogisticRegressionGraph(tol=1e-8, max_iter=1000), X_train, y_train
    )
    ref, t_ref = timed_fit(
        LogisticRegression(tol=1e-8, max_iter=1000), X_train, y_train
    )
    print("  breast cancer (standardised), C=1:")
    show(
        "test accuracy: skgraph / sklearn",
        f"{ours.score(X_test, y_test):.4f} / {ref.score(X_test, y_test):.4f}",
    )
    show("fit time: skgraph / sklearn", f"{t_ours:.3f} s / {t_ref:.3f} s")
    show("max |coef difference|", f"{np.abs(ours.coef_ - ref.coef_).max():.2e}")
    show(
        "max |intercept difference|",
        f"{np.abs(ours.intercept_ - ref.intercept_).max():.2e}",
    )
else:
    print("  LogisticRegressionGraph: not in this version of skgraph yet")

if hasattr(skgraph, "MLPClassifierGraph"):
    X_dg, y_dg = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X_dg / 16.0, y_dg, random_state=0
    )
    params = {"hidden_layer_sizes": (64,), "max_iter": 200, "random_state": 0}
    ours, t_ours = timed_fit(skgraph.MLPClassifierGraph(**params), X_train, y_train)
    ref, t_ref = timed_fit(MLPClassifier(**params), X_train, y_train)
    print("  digits, one hidden layer of 64 relu units, adam:")
    show(
        "test accuracy: skgraph / sklearn",
        f"{ours.score(X_test, y_test):.4f} / {ref.score(X_test, y_test):.4f}",
    )
    show("epochs: skgraph / sklearn", f"{ours.n_iter_} / {ref.n_iter_}")
    show("final loss: skgraph / sklearn", f"{ours.loss_:.4f} / {ref.loss_:.4f}")
    show("fit time: skgraph / sklearn", f"{t_ours:.3f} s / {t_ref:.3f} s")
else:
    print("  MLPClassifierGraph: not in this version of skgraph yet")
