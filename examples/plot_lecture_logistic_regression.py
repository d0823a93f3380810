r"""
The lecture's 1-D logistic regression, node by node
====================================================

The lecture fits :math:`f_{\mathbf w}(x) = \sigma(w_0 + w_1 x)` to a 1-D
dataset of positive (:math:`y_i = 1`) and negative (:math:`y_i = 0`) samples by
minimising the binary cross-entropy, written as a computation graph

.. math::

    (1)\; u = w_0 + w_1 x, \qquad
    (2)\; \hat y = \sigma(u), \qquad
    (3)\; \mathcal{L} = -y \log \hat y - (1 - y) \log(1 - \hat y),

and trained by its recipe: forward pass, backward pass, update
:math:`\mathbf w \leftarrow \mathbf w - \eta \mathbf v`, until the gradient
norm :math:`\|\mathbf v\|` is under :math:`\epsilon`.

Here the same graph is built node by node with skgraph's engine and trained
with exactly that loop. One change from the lecture: steps (2) and (3) are
one *fused* node, :class:`skgraph.ops.SigmoidCrossEntropy`, which computes
:math:`\log(1 + e^{u}) - y u` from the logit :math:`u`: the same function,
but finite for any :math:`u` (the lecture clips :math:`u` to
:math:`[-10, 10]` inside its sigmoid instead, which makes the gradient
disagree with the function).
"""

# %%
# A small 1-D dataset
# -------------------
# Negatives around -1, positives around +1.5; the classes overlap, so the
# maximum-likelihood estimate exists (on separable data it would run off to
# infinity).

import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression

from skgraph import Graph, Trace, ops

rng = np.random.default_rng(3)
n_per_class = 25
x_data = np.concatenate(
    [rng.normal(-1.0, 1.0, n_per_class), rng.normal(1.5, 1.0, n_per_class)]
)
y_data = np.repeat([0.0, 1.0], n_per_class)
X = x_data[:, None]  # rows are samples: shape (n, 1)
Y = y_data[:, None]

# %%
# The graph, node by node
# -----------------------
# Two input nodes (the data), two parameter nodes (the weights), an affine
# compute node for :math:`u = w_0 + w_1 x` and the fused loss. The loss is
# the mean over the samples (the lecture's ``Backward`` seeds the loss
# gradient with ``1 / N`` for the same reason). A separate sigmoid node gives
# the predicted probability :math:`\hat y`; it does not lie on the path to
# the loss, so the backward pass never visits it.

graph = Graph()
x = graph.input("x", shape=(None, 1))
y = graph.input("y", shape=(None, 1))
w1 = graph.parameter("w1", np.zeros((1, 1)))
w0 = graph.parameter("w0", np.zeros(1))
u = ops.Affine(x, w1, w0, name="u")
loss = ops.SigmoidCrossEntropy(u, y, name="L")
y_hat = ops.Sigmoid(u, name="y_hat")
print(graph)
for node in graph.nodes:
    parents = [p.name for p in getattr(node, "parents", ())]
    print(f"  {node.name:6s} {node.kind:10s} {type(node).__name__:20s} {parents}")

# %%
# Training by the lecture's recipe
# --------------------------------
# The step size: the mean cross-entropy's curvature is at most a quarter of
# the largest eigenvalue of :math:`\frac1N \sum_i (1, x_i)^\top (1, x_i)`, so
# :math:`\eta` = 1 / that bound decreases the loss at every step.
#
# One :class:`~skgraph.Trace` is reused for every pass, so the ops reuse
# their buffers; each pass runs forward then backward, and every parameter
# is updated with its own gradient, as in the lecture's
# ``UpdateParameters``.

design = np.column_stack([np.ones_like(x_data), x_data])
learning_rate = 4.0 / np.linalg.eigvalsh(design.T @ design / len(x_data)).max()
epsilon = 1e-7
max_iter = 100_000

feed = {x: X, y: Y}
program = graph.program([loss, y_hat], loss=loss)
trace = Trace(program)
losses = []
for iteration in range(max_iter):
    program.forward(feed, trace)  # Forward()
    program.backward(trace)  # Backward(L)
    losses.append(float(trace.value(loss)))
    grad_norm = np.sqrt(sum(np.sum(trace.grad(p) ** 2) for p in graph.parameters))
    if iteration & (iteration - 1) == 0 or grad_norm < epsilon:  # 0, 1, 2, 4, 8...
        print(f"iteration {iteration:5d}  L = {losses[-1]:.8f}  |v| = {grad_norm:.2e}")
    if grad_norm < epsilon:
        break
    for p in graph.parameters:  # UpdateParameters()
        p.value -= learning_rate * trace.grad(p)
else:
    raise RuntimeError(f"no convergence in {max_iter} iterations")

w0_fit, w1_fit = float(w0.value[0]), float(w1.value[0, 0])
print(f"step size {learning_rate:.3f}; converged after {iteration} updates")
print(f"fitted: w0 = {w0_fit:.6f}, w1 = {w1_fit:.6f}")

# %%
# Checking the result
# -------------------
# Two independent checks. At the optimum the gradient
# :math:`\frac1N \sum_i (\hat y_i - y_i)(1, x_i)` vanishes; computed here with
# plain numpy, not with the engine. And scikit-learn's unpenalised
# ``LogisticRegression`` (``C=np.inf``) finds the same weights.

probability = 1.0 / (1.0 + np.exp(-(w0_fit + w1_fit * x_data)))
residual = probability - y_data
score_equations = [residual.mean(), (residual * x_data).mean()]
print("numpy gradient at the fit:", np.array(score_equations))
assert np.abs(score_equations).max() < 10 * epsilon

reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(X, y_data)
print(
    f"scikit-learn: w0 = {reference.intercept_[0]:.6f}, "
    f"w1 = {reference.coef_[0, 0]:.6f}"
)
np.testing.assert_allclose(
    [w0_fit, w1_fit], [reference.intercept_[0], reference.coef_[0, 0]], rtol=1e-5
)

# %%
# The per-sample negative log-probabilities
# -----------------------------------------
# The lecture's last picture of the 1-D example: forget the x axis and look
# at :math:`-\log p_{model}(y_i \mid x_i, \mathbf w)`, the loss of every
# sample. Their mean is the value of the loss node.

logits = trace.value(u)[:, 0]
neg_log_prob = np.logaddexp(0.0, logits) - y_data * logits
np.testing.assert_allclose(neg_log_prob.mean(), trace.value(loss))

# %%
# Prediction needs no labels: a forward pass of ``y_hat`` alone evaluates
# only its ancestors, so only ``x`` is fed.

grid = np.linspace(x_data.min() - 1, x_data.max() + 1, 300)
curve = graph.forward(y_hat, {x: grid[:, None]}).value(y_hat)[:, 0]

fig, (ax_fit, ax_nll) = plt.subplots(1, 2, figsize=(11, 4))
negative, positive = y_data == 0, y_data == 1
ax_fit.plot(grid, curve, "k", label=rf"$\sigma({w0_fit:.2f} + {w1_fit:.2f}\,x)$")
ax_fit.scatter(x_data[negative], y_data[negative], c="tab:red", label="y = 0")
ax_fit.scatter(x_data[positive], y_data[positive], c="tab:blue", label="y = 1")
ax_fit.axhline(0.5, color="0.7", lw=0.8, ls=":")
ax_fit.set_xlabel("x")
ax_fit.set_ylabel(r"$f_{\mathbf{w}}(x) = p(y = 1 \mid x)$")
ax_fit.set_title("fitted by gradient descent on the graph")
ax_fit.legend(loc="center left")

order = np.argsort(x_data)
colors = np.where(y_data[order] == 1, "tab:blue", "tab:red")
ax_nll.bar(np.arange(len(order)), neg_log_prob[order], color=colors)
ax_nll.set_xticks([])
ax_nll.set_xlabel("samples, sorted by x")
ax_nll.set_ylabel(r"$-\log p(y_i \mid x_i, \mathbf{w})$")
ax_nll.set_title(f"per-sample loss; mean = {trace.value(loss):.4f}")
fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples in their folder, without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "lecture_logistic_regression.png", dpi=100)
print("saved", output / "lecture_logistic_regression.png")

# %%
# The same graph, drawn
# ---------------------
# ``to_dot(trace)`` renders the graph in Graphviz's DOT language, every node
# annotated with its value from the last forward pass and its gradient from
# the last backward pass. ``y_hat`` shows no gradient: it does not lead to
# the loss.

dot = graph.to_dot(trace)
print(dot)
(output / "lecture_logreg.dot").write_text(dot)
print("saved", output / "lecture_logreg.dot")
if shutil.which("dot"):
    subprocess.run(
        ["dot", "-Tsvg", "-o", str(output / "lecture_logreg.svg")],
        input=dot.encode(),
        check=True,
    )
    print("saved", output / "lecture_logreg.svg")
