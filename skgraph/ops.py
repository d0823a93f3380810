"""Compute nodes: one class per operation, each holding its forward rule and
its local derivative.

Notation in the docstrings: ``g`` is the incoming gradient dL/d(output); the
backward rule returns dL/d(argument) for each argument. Rows are samples.
Every op keeps the dtype of its floating-point arguments (float32 stays
float32). None clips its input or output: the fused losses are stable because
of how they are written, not because extreme values are cut off.

The ops a prediction uses also state their ONNX lowering (``lower_onnx``, see
:class:`~skgraph.graph.Op`): the ONNX operators that compute the same forward
rule, which is how :func:`skgraph.to_onnx` exports a fitted graph. The
penalties and losses are for training only and have none.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr, xlogy

from skgraph.graph import Op

__all__ = [
    "Affine",
    "MatMul",
    "Add",
    "Multiply",
    "Sum",
    "Mean",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "Softmax",
    "LogSoftmax",
    "Exp",
    "Log",
    "Square",
    "L2Penalty",
    "L1Penalty",
    "SigmoidCrossEntropy",
    "SoftmaxCrossEntropy",
    "GELU",
    "LeakyReLU",
    "Softplus",
    "SiLU",
    "Dropout",
    "Huber",
    "SquaredError",
    "PoissonLoss",
    "ACTIVATIONS",
    "LAYER_ACTIVATIONS",
]


def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def _broadcast_shape(*shapes):
    """The broadcast of shapes for drawing; ``None`` dimensions are unknown."""
    if any(s is None for s in shapes):
        return None
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out = []
    for dims in zip(*padded, strict=True):
        known = [n for n in dims if n is not None and n != 1]
        out.append(known[0] if known else (None if None in dims else 1))
    return tuple(out)


class _Elementwise(Op):
    """Base of ops applied element by element to one argument.

    A subclass whose forward rule is one ONNX operator names it in
    ``_onnx_op`` (with its attributes in ``_onnx_attributes``); that is its
    ONNX lowering.
    """

    _onnx_op = None
    _onnx_attributes = {}

    def output_shape(self, shape):
        return shape

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._onnx_op is not None and "lower_onnx" not in cls.__dict__:
            cls.lower_onnx = _Elementwise._lower_onnx_as_one_operator

    def _lower_onnx_as_one_operator(self, builder, x):
        """ONNX: the one operator named by ``_onnx_op``."""
        return builder.op(self._onnx_op, x, **self._onnx_attributes)


# -- linear algebra -----------------------------------------------------------------


class MatMul(Op):
    """Matrix product ``a @ b``.

    Forward: ``a @ b``. Backward: ``g @ b.T`` for ``a``, ``a.T @ g`` for ``b``.
    ``a`` may be a scipy.sparse matrix (CSR or CSC).
    """

    def forward(self, ctx, a, b):
        return a @ b

    def backward(self, ctx, g, a, b):
        needs_a, needs_b = ctx.needs
        return (g @ b.T if needs_a else None, a.T @ g if needs_b else None)

    def lower_onnx(self, builder, a, b):
        """ONNX: ``MatMul(a, b)``."""
        return builder.op("MatMul", a, b)

    def output_shape(self, a, b):
        return None if a is None or b is None else (*a[:-1], b[-1])


class Affine(Op):
    """Affine map of a batch: ``x @ W + b``.

    Forward: ``z = x @ W + b`` with ``x`` of shape (n, d), ``W`` (d, k), ``b``
    (k,). Backward: ``dW = x.T @ g``, ``db = g.sum(axis=0)`` (the gradients
    of the parameters summed over the batch), ``dx = g @ W.T`` (only when
    wanted). ``x`` may be a scipy.sparse matrix (CSR or CSC); the bias is
    optional (``Affine(x, W)``). ``order="F"`` stores ``z`` column-major.
    """

    # order="F": each of z's k columns is contiguous, which lets the row-wise
    # reductions of a softmax over a few classes run as k vectorised passes
    # instead of one short loop per row, and makes dW the product
    # (g.T @ x).T of contiguous operands.

    def __init__(self, x, W, b=None, *, order="C", name=None):
        if order not in ("C", "F"):
            raise ValueError(f"order must be 'C' or 'F', got {order!r}.")
        self.order = order
        super().__init__(*(p for p in (x, W, b) if p is not None), name=name)

    def forward(self, ctx, x, W, b=None):
        dtype = W.dtype if x.dtype == W.dtype else np.result_type(x.dtype, W.dtype)
        out = ctx.buffer("z", (x.shape[0], W.shape[1]), dtype, self.order)
        # np.dot: BLAS as np.matmul, with less dispatch cost (small batches);
        # it wants a C-contiguous out, which a column-major z is transposed.
        if isinstance(x, np.ndarray) and self.order == "C":
            np.dot(x, W, out=out)
        elif isinstance(x, np.ndarray):
            np.dot(W.T, x.T, out=out.T)
        else:  # scipy.sparse
            out[...] = x @ W
        if b is not None:
            out += b
        return out

    def backward(self, ctx, g, x, W, b=None):
        needs = ctx.needs
        dx = None
        # dx only when wanted: a first layer fed by data saves a whole matrix
        # product per pass. Laid out like x, as the activations' buffers are.
        if needs[0]:
            shape, dtype = x.shape, np.result_type(g.dtype, W.dtype)
            dx = np.matmul(g, W.T, out=ctx.buffer("dx", shape, dtype, _order(x)))
        dW = None
        if needs[1]:
            out = ctx.grad_destination(1)
            if not isinstance(x, np.ndarray):  # scipy.sparse
                dW = np.asarray(x.T @ g)
            elif out is None and g.flags.f_contiguous and not g.flags.c_contiguous:
                dWt = ctx.buffer("dW", W.shape[::-1], W.dtype)
                dW = np.dot(g.T, x, out=dWt).T
            else:
                if out is None:
                    out = ctx.buffer("dW", W.shape, W.dtype)
                dW = np.dot(x.T, g, out=out)
        if b is None:
            return dx, dW
        db = None
        if needs[2]:  # the ufunc's reduce: np.sum's wrapper costs more than it
            db = np.add.reduce(g, axis=0, out=ctx.grad_destination(2))
        return dx, dW, db

    def output_shape(self, x, W, b=None):
        n = None if x is None else x[0]
        return None if W is None else (n, W[1])

    def lower_onnx(self, builder, x, W, b=None):
        """ONNX: ``Gemm(x, W, b)``, or ``MatMul(x, W)`` without a bias."""
        if b is None:
            return builder.op("MatMul", x, W)
        return builder.op("Gemm", x, W, b)


class Add(Op):
    """Sum with broadcasting: ``a + b``.

    Forward: ``a + b``. Backward: ``g`` for each argument, summed back over
    the axes that broadcasting stretched so it has the argument's shape.
    """

    def forward(self, ctx, a, b):
        return a + b

    def backward(self, ctx, g, a, b):
        need_a, need_b = ctx.needs
        if getattr(g, "ndim", 0) == 0:  # two scalars (a sum of losses)
            return (g if need_a else None, g if need_b else None)
        return (
            _unbroadcast(g, np.shape(a)) if need_a else None,
            _unbroadcast(g, np.shape(b)) if need_b else None,
        )

    def output_shape(self, a, b):
        return _broadcast_shape(a, b)

    def lower_onnx(self, builder, a, b):
        """ONNX: ``Add(a, b)`` (the same broadcasting)."""
        return builder.op("Add", a, b)


class Multiply(Op):
    """Element-wise product with broadcasting: ``a * b``.

    Forward: ``a * b``. Backward: ``g * b`` for ``a`` and ``g * a`` for
    ``b``, each summed back to its argument's shape.
    """

    def forward(self, ctx, a, b):
        return a * b

    def backward(self, ctx, g, a, b):
        need_a, need_b = ctx.needs
        return (
            _unbroadcast(g * b, np.shape(a)) if need_a else None,
            _unbroadcast(g * a, np.shape(b)) if need_b else None,
        )

    def output_shape(self, a, b):
        return _broadcast_shape(a, b)

    def lower_onnx(self, builder, a, b):
        """ONNX: ``Mul(a, b)`` (the same broadcasting)."""
        return builder.op("Mul", a, b)


class Sum(Op):
    """Sum of the elements, over ``axis`` (all by default).

    Forward: ``x.sum(axis)``. Backward: ``g`` broadcast back to ``x``'s shape.
    """

    def __init__(self, x, axis=None, *, name=None):
        self.axis = axis
        super().__init__(x, name=name)

    def forward(self, ctx, x):
        return x.sum(axis=self.axis)

    def backward(self, ctx, g, x):
        if self.axis is not None:
            g = np.expand_dims(g, self.axis)
        return (np.broadcast_to(g, x.shape).astype(x.dtype),)

    def output_shape(self, shape):
        if self.axis is None:
            return ()
        if shape is None:
            return None
        return tuple(n for i, n in enumerate(shape) if i != self.axis % len(shape))

    #: The ONNX reduction that computes the forward rule.
    _onnx_reduction = "ReduceSum"

    def lower_onnx(self, builder, x):
        """ONNX: ``ReduceSum`` over ``axis`` (all axes by default)."""
        return builder.reduce(self._onnx_reduction, x, self.axis)


class Mean(Sum):
    """Mean of the elements, over ``axis`` (all by default).

    Forward: ``x.mean(axis)``. Backward: ``g / m`` broadcast back to ``x``'s
    shape, where ``m`` is the number of averaged elements. ONNX:
    ``ReduceMean``.
    """

    _onnx_reduction = "ReduceMean"

    def forward(self, ctx, x):
        return x.mean(axis=self.axis)

    def backward(self, ctx, g, x):
        (dx,) = super().backward(ctx, g, x)
        count = x.size if self.axis is None else x.shape[self.axis]
        return (dx / count,)


# -- element-wise functions --------------------------------------------------------


class Identity(_Elementwise):
    """Identity: forward ``x``; backward ``g``."""

    _onnx_op = "Identity"

    def forward(self, ctx, x):
        return x

    def backward(self, ctx, g, x):
        return (g,)


class Sigmoid(_Elementwise):
    """Logistic sigmoid.

    Forward: ``s = 1 / (1 + exp(-x))``, evaluated without overflow for any
    finite ``x``. Backward: ``g * s * (1 - s)``.
    """

    _onnx_op = "Sigmoid"

    def forward(self, ctx, x):
        ctx.save(out=expit(x, out=ctx.buffer("s", x.shape, x.dtype, _order(x))))
        return ctx.out

    def backward(self, ctx, g, x):
        s = ctx.out
        dx = ctx.buffer("dx", s.shape, s.dtype, _order(s))
        np.subtract(1.0, s, out=dx)
        dx *= s
        dx *= g
        return (dx,)


class Tanh(_Elementwise):
    """Hyperbolic tangent.

    Forward: ``t = tanh(x)``. Backward: ``g * (1 - t**2)``.
    """

    _onnx_op = "Tanh"

    def forward(self, ctx, x):
        ctx.save(out=np.tanh(x, out=ctx.buffer("t", x.shape, x.dtype, _order(x))))
        return ctx.out

    def backward(self, ctx, g, x):
        t = ctx.out
        dx = ctx.buffer("dx", t.shape, t.dtype, _order(t))
        np.multiply(t, t, out=dx)
        np.subtract(1.0, dx, out=dx)
        dx *= g
        return (dx,)


class ReLU(_Elementwise):
    """Rectified linear unit.

    Forward: ``max(x, 0)``. Backward: ``g`` where ``x > 0``, else 0.
    """

    _onnx_op = "Relu"

    def forward(self, ctx, x):
        out = ctx.buffer("r", x.shape, x.dtype, _order(x))
        return np.maximum(x, 0, out=out)

    def backward(self, ctx, g, x):
        order = _order(x)
        positive = np.greater(x, 0, out=ctx.buffer("x>0", x.shape, np.bool_, order))
        dx = ctx.buffer("dx", x.shape, x.dtype, order)
        return (np.multiply(g, positive, out=dx),)


class Exp(_Elementwise):
    """Exponential: forward ``e = exp(x)``; backward ``g * e``."""

    _onnx_op = "Exp"

    def forward(self, ctx, x):
        ctx.save(out=np.exp(x))
        return ctx.out

    def backward(self, ctx, g, x):
        return (g * ctx.out,)


class Log(_Elementwise):
    """Natural logarithm: forward ``log(x)``; backward ``g / x``."""

    _onnx_op = "Log"

    def forward(self, ctx, x):
        return np.log(x)

    def backward(self, ctx, g, x):
        return (g / x,)


class Square(_Elementwise):
    """Square: forward ``x**2``; backward ``2 * g * x``."""

    def forward(self, ctx, x):
        return np.square(x)

    def backward(self, ctx, g, x):
        return (2.0 * g * x,)

    def lower_onnx(self, builder, x):
        """ONNX: ``Mul(x, x)``."""
        return builder.op("Mul", x, x)


def _order(a):
    """The memory layout of ``a`` that its buffers should share: "C" or "F"."""
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


def _log_sum_exp(z, ctx, overwritten=False):
    """Row-wise ``log(sum(exp(z)))`` without overflow; keeps ``exp(z - max)``.

    ``overwritten``: the caller's backward rule reuses ``ctx.exp_shifted``.
    """
    allocate = ctx.scratch if overwritten else ctx.buffer
    shift = z.max(axis=1, keepdims=True)
    e = np.subtract(z, shift, out=allocate("e", z.shape, z.dtype, _order(z)))
    with np.errstate(under="ignore"):  # exp(-large) -> 0 is exact enough
        np.exp(e, out=e)
    total = e.sum(axis=1, keepdims=True)
    ctx.save(exp_shifted=e, total=total)
    return shift + np.log(total)


class Softmax(_Elementwise):
    """Row-wise softmax.

    Forward: ``p = exp(x - max) / sum(exp(x - max))`` per row. Backward:
    ``p * (g - sum(g * p, axis=1))``.
    """

    _onnx_op = "Softmax"
    _onnx_attributes = {"axis": 1}

    def forward(self, ctx, x):
        _log_sum_exp(x, ctx)
        ctx.save(out=ctx.exp_shifted / ctx.total)
        return ctx.out

    def backward(self, ctx, g, x):
        p = ctx.out
        return (p * (g - (g * p).sum(axis=1, keepdims=True)),)


class LogSoftmax(_Elementwise):
    """Row-wise log-softmax, by log-sum-exp.

    Forward: ``x - logsumexp(x)`` per row. Backward:
    ``g - softmax(x) * sum(g, axis=1)``.
    """

    _onnx_op = "LogSoftmax"
    _onnx_attributes = {"axis": 1}

    def forward(self, ctx, x):
        return x - _log_sum_exp(x, ctx)

    def backward(self, ctx, g, x):
        p = ctx.exp_shifted / ctx.total
        return (g - p * g.sum(axis=1, keepdims=True),)


# -- penalties and fused losses ------------------------------------------------------


class L2Penalty(Op):
    """Squared Frobenius norm of some parameters, times half a strength.

    ``L2Penalty(strength, W1, W2, ...)`` with ``strength`` a scalar node.

    Forward: ``0.5 * strength * sum_l ||W_l||_F^2``.
    Backward: ``strength * W_l`` for each ``W_l``; none for ``strength``.
    """

    def forward(self, ctx, strength, *weights):
        total = 0.0
        for W in weights:
            total += np.vdot(W, W)
        return 0.5 * float(strength) * total

    def backward(self, ctx, g, strength, *weights):
        scale = float(g) * float(strength)
        needs = ctx.needs
        return (
            None,
            *[
                np.multiply(W, scale, out=ctx.grad_destination(i)) if needs[i] else None
                for i, W in enumerate(weights, 1)
            ],
        )

    def output_shape(self, *shapes):
        return ()


class L1Penalty(Op):
    """Sum of absolute values of some parameters, times a strength.

    ``L1Penalty(strength, W1, W2, ...)`` with ``strength`` a scalar node: the
    L1 term of an elastic-net objective (every entry of every ``W_l``).

    Forward: ``strength * sum_l sum |W_l|``.
    Backward: ``strength * sign(W_l)`` for each ``W_l`` (zero where an entry
    is zero); none for ``strength``.

    ``|w|`` has no derivative at ``w = 0``, where the entries of a sparse
    model sit, so no solver steps along this backward rule: it is one
    subgradient, kept so that a backward pass through the whole objective
    still gives every node a gradient to inspect and draw. The solvers use
    the term's proximal operator instead, :meth:`prox` (soft-thresholding):
    a proximal gradient step ``w <- prox(w - t * grad, t * strength)``
    minimises the smooth part's linear model plus the exact term, and
    ``w - prox(w - grad, strength)`` (the step's move with ``t = 1``) is
    zero exactly at a minimum of ``smooth + L1``: its size is how far from
    optimal ``w`` is, and it is the gradient itself where the term is absent.
    """

    def forward(self, ctx, strength, *weights):
        total = 0.0
        for W in weights:
            total += np.abs(W).sum()
        return float(strength) * total

    def backward(self, ctx, g, strength, *weights):
        scale = float(g) * float(strength)
        needs = ctx.needs
        return (
            None,
            *[
                np.multiply(np.sign(W), scale, out=ctx.grad_destination(i))
                if needs[i]
                else None
                for i, W in enumerate(weights, 1)
            ],
        )

    def output_shape(self, *shapes):
        return ()

    @staticmethod
    def prox(w, threshold, *, nonnegative=False):
        """Proximal operator of ``threshold * ||w||_1`` (a new array).

        ``argmin_v threshold * ||v||_1 + ||v - w||^2 / 2``: soft-thresholding,
        ``sign(w) * max(|w| - threshold, 0)``, which sets small entries to
        exactly zero. With ``nonnegative=True`` the minimum is over ``v >= 0``
        (``threshold`` may then be 0: a projection), ``max(w - threshold, 0)``.
        """
        if nonnegative:
            return np.maximum(w - threshold, 0.0)
        return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


class _WeightedLoss(Op):
    """Base of the fused losses: ``sum_i w_i * loss_i`` over the samples.

    Arguments: ``logits`` (n, k), ``targets`` (n, k) and optionally
    ``weights`` (n,). Without weights the loss is the mean over samples;
    weights that sum to one give the weighted mean, which is what the
    estimators feed (``s_i / S``).
    """

    def output_shape(self, *shapes):
        return ()

    def _weighted_total(self, per_element, weights):
        if weights is None:
            return per_element.sum() / per_element.shape[0]
        per_column = weights.astype(per_element.dtype, copy=False) @ per_element
        return per_column[0] if per_column.size == 1 else per_column.sum()

    def _scaled(self, residual, g, weights):
        """``residual * g * w_i`` row by row, in place."""
        if weights is None:
            residual *= g / residual.shape[0]
        else:
            residual *= weights.astype(residual.dtype, copy=False)[:, None]
            if float(g) != 1.0:  # the usual seed is exactly one: skip a pass
                residual *= g
        return residual


class SigmoidCrossEntropy(_WeightedLoss):
    """Binary cross-entropy on logits, fused with the sigmoid.

    For targets ``y`` in [0, 1] (one column for a binary problem, one per
    label for multilabel ones) and logits ``z``, per sample

        loss_i = sum_k [ log(1 + exp(z_ik)) - y_ik * z_ik ]

    which equals ``-y log(sigmoid(z)) - (1 - y) log(1 - sigmoid(z))`` but
    is computed as ``max(z, 0) + log1p(exp(-|z|)) - y * z``: finite for every
    finite ``z``, and accurate where the loss is tiny.

    Forward: ``sum_i w_i * loss_i`` (mean over samples without weights),
    each ``loss_i`` the sum of two non-negative terms, ``max(z, 0) - y * z``
    and ``log1p(exp(-|z|))`` (for ``y`` in [0, 1]).
    Backward: ``g * w_i * (sigmoid(z_ik) - y_ik)`` for the logits only, with
    ``sigmoid(z) = 1 / (1 + exp(-z))``: accurate to a few ulps in both tails
    (no difference of nearly equal numbers), and exactly 0 where ``exp(-z)``
    overflows, which is the sigmoid rounded.
    """

    # The forward pass works in two buffers of the logits' size; the
    # backward pass needs nothing kept from it, and one buffer.
    def forward(self, ctx, z, y, weights=None):
        scratch = ctx.buffer("scratch", z.shape, z.dtype)
        per_element = np.maximum(z, 0.0, out=ctx.scratch("l", z.shape, z.dtype))
        per_element -= np.multiply(y, z, out=scratch)
        per_element += np.log1p(_exp_minus_abs(z, scratch), out=scratch)
        return self._weighted_total(per_element, weights)

    def backward(self, ctx, g, z, y, weights=None):
        residual = np.negative(z, out=ctx.scratch("l", z.shape, z.dtype))
        # exp(-z) = inf gives sigmoid(z) = 0, exp(-z) = 0 gives 1: both exact
        with np.errstate(over="ignore", under="ignore"):
            np.exp(residual, out=residual)
        residual += 1.0
        np.divide(1.0, residual, out=residual)
        residual -= y
        return (self._scaled(residual, g, weights), None, None)[: len(self.parents)]


def _exp_minus_abs(z, out):
    """``exp(-|z|)`` into ``out``: in (0, 1], for any finite ``z``."""
    np.copysign(z, -1.0, out=out)  # -|z|
    with np.errstate(under="ignore"):  # exp(-|z|) -> 0 is exact enough
        return np.exp(out, out=out)


class SoftmaxCrossEntropy(_WeightedLoss):
    """Categorical cross-entropy on logits, fused with the softmax.

    For one-hot (or any probability-row) targets ``Y`` and logits ``Z``, per
    sample ``loss_i = logsumexp(Z_i) - sum_k Y_ik Z_ik``, computed with the
    row maximum shifted out: finite for every finite ``Z``.

    Forward: ``sum_i w_i * loss_i`` (mean over samples without weights).
    Backward: ``g * w_i * (softmax(Z_i) - Y_i)`` for the logits only.
    """

    # Every buffer shares the layout of Z: column-major logits (an
    # Affine(..., order="F")) with column-major targets make each step a few
    # long vectorised passes.

    def forward(self, ctx, z, y, weights=None):
        lse = _log_sum_exp(z, ctx, overwritten=True)
        per_sample = lse[:, 0]
        per_sample -= np.einsum("ij,ij->i", y, z)  # in place: keeps z's dtype
        return self._weighted_total(per_sample[:, None], weights)

    def backward(self, ctx, g, z, y, weights=None):
        residual = ctx.exp_shifted
        residual /= ctx.total
        residual -= y
        return (self._scaled(residual, g, weights), None, None)[: len(self.parents)]


#: Activation functions by scikit-learn's names.
ACTIVATIONS = {
    "identity": Identity,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
}


# -- activations of user-built networks, dropout, the Huber loss ---------------------
# These ops allocate their results (they keep no buffer that a later pass
# overwrites), so they hold under any buffer-reuse protocol of the engine.

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class GELU(_Elementwise):
    """Gaussian error linear unit, exact form.

    Forward: ``x * Phi(x)``, ``Phi`` the standard normal CDF (``ndtr``).
    Backward: ``g * (Phi(x) + x * phi(x))``, ``phi(x) = exp(-x**2 / 2) /
    sqrt(2 pi)`` the normal density.
    """

    def forward(self, ctx, x):
        return x * ndtr(x)

    def backward(self, ctx, g, x):
        # x * x overflows to inf far out, where phi(x) is 0 and exp(-inf) = 0
        with np.errstate(over="ignore", under="ignore"):
            density = np.exp(-0.5 * x * x) * x.dtype.type(_INV_SQRT_2PI)
        return (g * (ndtr(x) + x * density),)

    def lower_onnx(self, builder, x):
        """ONNX: ``x * 0.5 * (1 + Erf(x / sqrt(2)))``.

        onnxruntime has ``Erf`` in single precision only: a double-precision
        model evaluates it in float32 (``Cast`` there and back), which is
        accurate to about 1e-7.
        """
        scaled = builder.op("Mul", x, builder.constant(1.0 / np.sqrt(2.0), "rsqrt2"))
        if builder.dtype == np.float64:
            single = builder.op("Cast", scaled, to=1)  # TensorProto.FLOAT
            erf = builder.op("Cast", builder.op("Erf", single), to=11)  # DOUBLE
        else:
            erf = builder.op("Erf", scaled)
        cdf = builder.op("Add", erf, builder.constant(1.0, "one"))
        half_x = builder.op("Mul", x, builder.constant(0.5, "half"))
        return builder.op("Mul", half_x, cdf)


class LeakyReLU(_Elementwise):
    """Leaky rectified linear unit with slope ``negative_slope`` below zero.

    Forward: ``x`` where ``x > 0``, else ``negative_slope * x`` (0.01 by
    default). Backward: ``g`` where ``x > 0``, else ``negative_slope * g``.
    """

    def __init__(self, x, negative_slope=0.01, *, name=None):
        self.negative_slope = float(negative_slope)
        super().__init__(x, name=name)

    def forward(self, ctx, x):
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def backward(self, ctx, g, x):
        return (np.where(x > 0, g, g * g.dtype.type(self.negative_slope)),)

    def lower_onnx(self, builder, x):
        """ONNX: ``Where(x > 0, x, negative_slope * x)``.

        (onnxruntime's ``LeakyRelu`` has no double-precision kernel.)
        """
        zero = builder.constant(0.0, "zero")
        scaled = builder.op("Mul", x, builder.constant(self.negative_slope, "slope"))
        return builder.op("Where", builder.op("Greater", x, zero), x, scaled)


class Softplus(_Elementwise):
    """Softplus, ``log(1 + exp(x))``, a smooth ReLU.

    Forward: ``max(x, 0) + log1p(exp(-|x|))``: finite for every finite ``x``
    and accurate in both tails. Backward: ``g * sigmoid(x)``.
    """

    def forward(self, ctx, x):
        tail = np.log1p(_exp_minus_abs(x, np.empty_like(x)))
        return np.maximum(x, 0) + tail

    def backward(self, ctx, g, x):
        return (g * expit(x),)

    def lower_onnx(self, builder, x):
        """ONNX: ``Relu(x) + Log(1 + Exp(-Abs(x)))``, the stable form.

        (onnxruntime's ``Softplus`` has no double-precision kernel.)
        """
        tail = builder.op("Exp", builder.op("Neg", builder.op("Abs", x)))
        one = builder.constant(1.0, "one")
        return builder.op(
            "Add",
            builder.op("Relu", x),
            builder.op("Log", builder.op("Add", tail, one)),
        )


class SiLU(_Elementwise):
    """Sigmoid linear unit (swish): ``x * sigmoid(x)``.

    Forward: ``x * s`` with ``s = sigmoid(x)``. Backward: ``g * (s + x * s *
    (1 - s))``.
    """

    def forward(self, ctx, x):
        return x * expit(x)

    def backward(self, ctx, g, x):
        s = expit(x)
        return (g * (s * (1.0 + x * (1.0 - s))),)

    def lower_onnx(self, builder, x):
        """ONNX: ``Mul(x, Sigmoid(x))``."""
        return builder.op("Mul", x, builder.op("Sigmoid", x))


class Dropout(_Elementwise):
    """Inverted dropout: zero each entry with probability ``rate`` in training.

    Forward, in training: ``x * m / (1 - rate)`` with ``m`` a 0/1 mask whose
    entries are 1 with probability ``1 - rate``; at inference: ``x``, so
    prediction is a plain forward pass. Backward: ``g * m / (1 - rate)``
    (``g`` at inference).

    A pass is a training pass when the trainer has given the op's context
    (its :class:`~skgraph.graph.Context` in the trace) a random generator as
    ``ctx.dropout_rng``, from which the mask is drawn: a trace without one
    (prediction, a gradient check) applies no dropout, and the same
    generator state gives the same masks (bit-identical same-seed fits).
    """

    def __init__(self, x, rate, *, name=None):
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}.")
        self.rate = rate
        super().__init__(x, name=name)

    def forward(self, ctx, x):
        rng = getattr(ctx, "dropout_rng", None)
        if rng is None or self.rate == 0.0:
            ctx.mask = None
            return x
        keep = rng.random(x.shape) >= self.rate
        ctx.mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * ctx.mask

    def backward(self, ctx, g, x):
        return (g if ctx.mask is None else g * ctx.mask,)

    def lower_onnx(self, builder, x):
        """ONNX: ``Identity`` (dropout is for training only)."""
        return builder.op("Identity", x)


class Huber(_WeightedLoss):
    """Huber loss of predictions against targets, summed over outputs.

    For a residual ``r = z - y``, per element ``h(r) = r**2 / 2`` where
    ``|r| <= delta`` and ``delta * (|r| - delta / 2)`` beyond: quadratic
    near zero, linear (robust to outliers) far out. Per sample ``loss_i =
    sum_k h(r_ik)``, combined over outputs and samples as
    :class:`SquaredError` (which it equals where every ``|r| <= delta``):
    ``sum_i w_i * loss_i``, the mean over samples without weights.

    Forward: the loss above. Backward: ``g * w_i * clip(r_ik, -delta,
    delta)`` for the predictions only.
    """

    def __init__(self, z, y, weights=None, *, delta=1.0, name=None):
        delta = float(delta)
        if not delta > 0.0:
            raise ValueError(f"Huber delta must be positive, got {delta!r}.")
        self.delta = delta
        super().__init__(*(p for p in (z, y, weights) if p is not None), name=name)

    def forward(self, ctx, z, y, weights=None):
        size = np.abs(z - y)
        delta = z.dtype.type(self.delta)
        per_element = np.where(
            size <= delta, 0.5 * size * size, delta * (size - 0.5 * delta)
        )
        return self._weighted_total(per_element, weights)

    def backward(self, ctx, g, z, y, weights=None):
        delta = z.dtype.type(self.delta)
        residual = np.clip(z - y, -delta, delta)
        residual = self._scaled(residual, g, weights)
        return (residual, None, None)[: len(self.parents)]


#: Activations of the layers of user-built networks (:mod:`skgraph.layers`):
#: scikit-learn's four and more. :data:`ACTIVATIONS` stays scikit-learn's.
LAYER_ACTIVATIONS = {
    **ACTIVATIONS,
    "gelu": GELU,
    "leaky_relu": LeakyReLU,
    "softplus": Softplus,
    "silu": SiLU,
}


# -- regression losses --------------------------------------------------------------


class SquaredError(_WeightedLoss):
    """Half squared error of a prediction, summed over its outputs.

    For predictions ``z`` (the identity output of a regressor) and targets
    ``y``, per sample ``loss_i = 1/2 sum_k (z_ik - y_ik) ** 2``.

    Forward: ``sum_i w_i * loss_i`` (mean over samples without weights).
    Backward: ``g * w_i * (z_ik - y_ik)`` for the predictions only: the
    gradient of scikit-learn's MLPRegressor, whose reported loss is this one
    divided by the number of outputs (see ``Network.reported_loss_share``).
    """

    def forward(self, ctx, z, y, weights=None):
        residual = np.subtract(z, y, out=ctx.scratch("r", z.shape, z.dtype))
        residual *= residual
        residual *= 0.5
        return self._weighted_total(residual, weights)

    def backward(self, ctx, g, z, y, weights=None):
        residual = np.subtract(z, y, out=ctx.scratch("r", z.shape, z.dtype))
        return (self._scaled(residual, g, weights), None, None)[: len(self.parents)]


class PoissonLoss(_WeightedLoss):
    """Half Poisson deviance of a log-link prediction, fused with its ``exp``.

    For raw outputs ``z`` (the prediction is ``exp(z)``) and non-negative
    targets ``y``, per sample

        loss_i = sum_k [ exp(z_ik) - y_ik * z_ik + y_ik log(y_ik) - y_ik ]

    scikit-learn's ``poisson_loss`` of ``exp(z)``, its constant term
    ``y log y - y`` included (``0 log 0 = 0``), written in ``z`` so that no
    logarithm of the prediction is taken.

    Forward: ``sum_i w_i * loss_i`` (mean over samples without weights).
    Backward: ``g * w_i * (exp(z_ik) - y_ik)`` for ``z`` only.
    """

    def forward(self, ctx, z, y, weights=None):
        per_element = np.exp(z, out=ctx.scratch("r", z.shape, z.dtype))
        scratch = ctx.buffer("scratch", z.shape, z.dtype)
        per_element -= np.multiply(y, z, out=scratch)
        per_element += xlogy(y, y, out=scratch)
        per_element -= y
        return self._weighted_total(per_element, weights)

    def backward(self, ctx, g, z, y, weights=None):
        residual = np.exp(z, out=ctx.scratch("r", z.shape, z.dtype))
        residual -= y
        return (self._scaled(residual, g, weights), None, None)[: len(self.parents)]
