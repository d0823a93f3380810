r"""
Backpropagation by hand, beside the engine's
=============================================

The lecture introduces backpropagation on the smallest graph there is,

.. math:: (1)\; y = x^2, \qquad (2)\; \mathcal{L} = 2y,

and then on a graph where one node feeds two others,

.. math::

    y = y(x),\quad u = u(y),\quad v = v(y),\quad \mathcal{L} = \mathcal{L}(u, v),

where the gradients arriving at :math:`y` along both paths must be **summed**
(the multivariate chain rule). This example computes both backward passes by
hand, step by step, builds the same graphs with :class:`skgraph.Graph`, and
checks that the engine finds the same numbers.

In the lecture "there is no distinction between node types yet". In skgraph
nothing flows back into an *input* node, so :math:`x` is a *parameter* here:
that is the node whose gradient we want.
"""

# %%
# The first graph: :math:`y = x^2`, :math:`\mathcal{L} = 2y`
# -------------------------------------------------------------
# The forward pass gives every node its value, in creation order.

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from skgraph import Graph, check_gradients, ops

x0 = 3.0

y_hand = x0**2  # (1)
L_hand = 2.0 * y_hand  # (2)
print("Forward pass, by hand")
print(f"  (1) y = x^2 = {x0}^2 = {y_hand}")
print(f"  (2) L = 2y  = 2 * {y_hand} = {L_hand}")

# %%
# The backward pass runs in reverse. Each step multiplies the gradient that
# arrives from above (back-propagated, red in the lecture) by the node's own
# local derivative (blue).

dL_dL = 1.0
dL_dy = dL_dL * 2.0  # (2) dL/dy = dL/dL * d(2y)/dy
dL_dx = dL_dy * (2.0 * x0)  # (1) dL/dx = dL/dy * d(x^2)/dx
print("Backward pass, by hand")
print(f"  (2) dL/dy = dL/dL * dL/dy = {dL_dL} * 2 = {dL_dy}")
print(f"  (1) dL/dx = dL/dy * dy/dx = {dL_dy} * 2x = {dL_dy} * {2 * x0} = {dL_dx}")

# %%
# The same graph in skgraph: ``x`` is a parameter, the constant 2 is an input,
# and ``y`` and ``L`` are compute nodes. ``backward`` runs the forward pass
# and then the backward pass; the returned trace holds every value and
# gradient.

g = Graph()
x = g.parameter("x", x0)
two = g.input("two", shape=())
y = ops.Square(x, name="y")
L = ops.Multiply(two, y, name="L")

trace = g.backward(L, {two: np.float64(2.0)})
print("The engine")
for node in (x, y, L):
    print(
        f"  {node.name}: value = {float(trace.value(node)):g}, "
        f"dL/d{node.name} = {float(trace.grad(node)):g}"
    )
print("  the input 'two' gets no gradient:", trace.grad(two))

np.testing.assert_allclose(trace.value(y), y_hand)
np.testing.assert_allclose(trace.value(L), L_hand)
np.testing.assert_allclose(trace.grad(y), dL_dy)
np.testing.assert_allclose(trace.grad(x), dL_dx)
assert dL_dx == 4.0 * x0  # L = 2x^2, so dL/dx = 4x

# %%
# Fan-out: gradients arriving along two paths are summed
# -------------------------------------------------------
# A concrete choice of the lecture's abstract functions:
# :math:`y = x^2`, :math:`u = \sigma(y)`, :math:`v = \tanh(y)` and
# :math:`\mathcal{L} = u \cdot v`. The node :math:`y` feeds both :math:`u`
# and :math:`v`.

x1 = 0.8


def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


y1 = x1**2  # (1)
u1 = sigmoid(y1)  # (2)
v1 = np.tanh(y1)  # (2)
L1 = u1 * v1  # (3)
print("Forward pass, by hand")
print(f"  (1) y = x^2       = {y1:.6f}")
print(f"  (2) u = sigmoid(y) = {u1:.6f}")
print(f"  (2) v = tanh(y)    = {v1:.6f}")
print(f"  (3) L = u * v      = {L1:.6f}")

dL_du = 1.0 * v1  # (3) dL/du = dL/dL * d(uv)/du
dL_dv = 1.0 * u1  # (3) dL/dv = dL/dL * d(uv)/dv
from_u = dL_du * u1 * (1.0 - u1)  # (2) along y -> u
from_v = dL_dv * (1.0 - v1**2)  # (2) along y -> v
dL_dy1 = from_u + from_v  # summed!
dL_dx1 = dL_dy1 * 2.0 * x1  # (1)
print("Backward pass, by hand")
print(f"  (3) dL/du = v = {dL_du:.6f}")
print(f"  (3) dL/dv = u = {dL_dv:.6f}")
print(
    f"  (2) dL/dy = dL/du * du/dy + dL/dv * dv/dy "
    f"= {from_u:.6f} + {from_v:.6f} = {dL_dy1:.6f}"
)
print(f"  (1) dL/dx = dL/dy * 2x = {dL_dx1:.6f}")

# %%
# The engine: each op knows only its own local derivative; the graph adds up
# what reaches ``y`` from ``u`` and from ``v``.

g2 = Graph()
xn = g2.parameter("x", x1)
yn = ops.Square(xn, name="y")
un = ops.Sigmoid(yn, name="u")
vn = ops.Tanh(yn, name="v")
Ln = ops.Multiply(un, vn, name="L")
trace2 = g2.backward(Ln, {})
print("The engine")
for node in (xn, yn, un, vn, Ln):
    print(
        f"  {node.name}: value = {float(trace2.value(node)):.6f}, "
        f"dL/d{node.name} = {float(trace2.grad(node)):.6f}"
    )
for node, hand in ((un, dL_du), (vn, dL_dv), (yn, dL_dy1), (xn, dL_dx1)):
    np.testing.assert_allclose(trace2.grad(node), hand, rtol=1e-12)

# %%
# Had the backward pass *overwritten* the gradient of ``y`` instead of adding
# to it, only the last path would count and ``dL/dx`` would be wrong. Central
# finite differences (:func:`skgraph.check_gradients`) side with the sum.

overwritten = from_v * 2.0 * x1
check = check_gradients(g2, loss=Ln, feed={})
numeric = float(check.numeric["x"][0])
print(f"dL/dx: summed {dL_dx1:.6f}, overwritten {overwritten:.6f}, ")
print(f"       finite differences {numeric:.6f}; relative error {check['x']:.1e}")
assert check.max_error < 1e-8
assert abs(overwritten - numeric) > 0.1 * abs(numeric)

# %%
# The figure
# ----------
# Top: the two graphs as the lecture draws them, each node with its value,
# each edge with its local derivative (blue) and the back-propagated
# gradient under every node (red). Bottom: the loss as a function of
# :math:`x` and the tangent whose slope is the engine's gradient.


def draw_graph(ax, positions, edges, trace, local):
    """Draw the nodes with their values, the edges with their local derivatives
    (blue) and, under every node, its back-propagated gradient (red)."""
    centre = np.mean([px for px, _ in positions.values()])
    for parent, child in edges:
        (x_a, y_a), (x_b, y_b) = positions[parent], positions[child]
        ax.annotate(
            "",
            xy=(x_b, y_b),
            xytext=(x_a, y_a),
            arrowprops={"arrowstyle": "->", "shrinkA": 22, "shrinkB": 22},
        )
        mid_x, mid_y = (x_a + x_b) / 2, (y_a + y_b) / 2
        if y_a == y_b:  # horizontal edge: label above it
            position, ha, va = (mid_x, mid_y + 0.1), "center", "bottom"
        else:  # diagonal edge: label on its outer side
            side = -1 if mid_x < centre else 1
            rise = 0.08 if mid_y > 0 else -0.25  # clear of the red labels
            position = (mid_x + 0.08 * side, mid_y + rise)
            ha, va = ("right" if side < 0 else "left"), "center"
        ax.text(*position, local[parent, child], color="tab:blue", ha=ha, va=va)
    for node, (px, py) in positions.items():
        ax.text(
            px,
            py,
            f"{node.name}\n{float(trace.value(node)):.3g}",
            ha="center",
            va="center",
            fontsize=10,
            bbox={"boxstyle": "circle", "fc": "#e5e7eb", "ec": "0.3"},
        )
        ax.text(
            px,
            py - 0.32,
            f"{float(trace.grad(node)):.3g}",
            color="tab:red",
            ha="center",
            va="top",
        )
    ax.set_xlim(-0.5, 4.4)
    ax.set_ylim(-1.4, 1.3)
    ax.axis("off")


plt.rcParams["font.size"] = 9
fig, axes = plt.subplots(2, 2, figsize=(11, 7), height_ratios=[1, 1.3])
fig.suptitle(
    "black: value (forward)    blue: local derivative    "
    "red: back-propagated gradient dL/d(node)"
)

draw_graph(
    axes[0, 0],
    {x: (0, 0), y: (1.9, 0), L: (3.8, 0)},
    [(x, y), (y, L)],
    trace,
    {(x, y): f"dy/dx = 2x = {2 * x0:g}", (y, L): "dL/dy = 2"},
)
axes[0, 0].set_title(r"$y = x^2,\ \mathcal{L} = 2y$")

draw_graph(
    axes[0, 1],
    {xn: (0, 0), yn: (1.3, 0), un: (2.6, 0.8), vn: (2.6, -0.8), Ln: (3.9, 0)},
    [(xn, yn), (yn, un), (yn, vn), (un, Ln), (vn, Ln)],
    trace2,
    {
        (xn, yn): f"2x = {2 * x1:.3g}",
        (yn, un): f"u(1-u) = {u1 * (1 - u1):.3g}",
        (yn, vn): f"1-v² = {1 - v1**2:.3g}",
        (un, Ln): f"v = {v1:.3g}",
        (vn, Ln): f"u = {u1:.3g}",
    },
)
axes[0, 1].set_title(r"fan-out: $\mathcal{L} = \sigma(x^2)\,\tanh(x^2)$")

grid = np.linspace(-3.5, 3.5, 200)
ax = axes[1, 0]
ax.plot(grid, 2 * grid**2, label=r"$\mathcal{L}(x) = 2x^2$")
slope = float(trace.grad(x))
ax.plot(grid, L_hand + slope * (grid - x0), "--", label=f"tangent, slope {slope:g}")
ax.plot([x0], [L_hand], "ko")
ax.set_ylim(-5, 30)
ax.set_xlabel("x")
ax.legend()

grid = np.linspace(-1.5, 1.5, 200)
ax = axes[1, 1]
ax.plot(grid, sigmoid(grid**2) * np.tanh(grid**2), label=r"$\mathcal{L}(x)$")
slope = float(trace2.grad(xn))
ax.plot(grid, L1 + slope * (grid - x1), "--", label=f"summed, slope {slope:.3f}")
ax.plot(
    grid,
    L1 + overwritten * (grid - x1),
    ":",
    color="0.5",
    label=f"overwritten, slope {overwritten:.3f}",
)
ax.plot([x1], [L1], "ko")
ax.set_ylim(-0.2, 1.2)
ax.set_xlabel("x")
ax.legend(loc="upper center")

fig.tight_layout()

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs examples in their folder, without __file__
    HERE = Path.cwd()
output = HERE / "output"
output.mkdir(exist_ok=True)
fig.savefig(output / "lecture_backprop_by_hand.png", dpi=100)
print("saved", output / "lecture_backprop_by_hand.png")
