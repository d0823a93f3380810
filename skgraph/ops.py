"""Compute nodes: one class per operation, each holding its forward rule and
its local derivative.

Notation in the docstrings: ``g`` is the incoming gradient dL/d(output); the
backward rule returns dL/d(argument) for each argument. Rows are samples.
Every op keeps the dtype of its floating-point arguments (float32 stays
float32). None clips its input or output: the fused losses are stable because
of how they are written, not because extreme values are cut off.

Second order: every op also states the rules of a Hessian-vector product
(see :class:`~skgraph.graph.Op` and :mod:`skgraph._second_order`), next to
its derivative: ``jvp``, the forward tangent ``x_dot -> out_dot`` of its
forward rule, and ``hvp``, Pearlmutter's R-operator of its backward rule,
the tangent of each returned gradient when the arguments move along their
tangents and ``g`` along ``g_dot``. A one-argument function ``f`` needs only
its first and second derivatives (``_slopes``): ``out_dot = f'(x) * x_dot``
and ``R{dx} = g_dot * f'(x) + g * f''(x) * x_dot``. Piecewise-linear ops
(ReLU, leaky ReLU, the Huber loss's linear part) have ``f'' = 0`` almost
everywhere, which is their rule; :class:`L1Penalty` refuses, since its
minima sit on the kinks where it has no second derivative.

The ops a prediction uses also state their ONNX lowering (``lower_onnx``, see
:class:`~skgraph.graph.Op`): the ONNX operators that compute the same forward
rule, which is how :func:`skgraph.to_onnx` exports a fitted graph. The
penalties and losses are for training only and have none.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
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


#: Values of ``x`` per block that :func:`_widened_blocks` widens at a time
#: (256 KB in float64: the block stays in cache between its cast and product).
_WIDENED_BLOCK = 1 << 15


def _widened(x, W):
    """Whether narrower data meet wider parameters (float32 ``x``, float64 ``W``)."""
    return x.dtype != W.dtype and x.dtype.itemsize < W.dtype.itemsize


def _widened_blocks(ctx, x, dtype, key):
    """``x`` cast to ``dtype`` block by block: never whole, so never copied.

    Yields ``(z_part, W_part, block)``: ``x @ W`` is the sum of ``block @
    W[W_part]`` into the rows ``z_part`` of the product. Dense and CSR ``x``
    come in blocks of rows (a dense block into one reused buffer), CSC ``x``
    in blocks of columns, the cheap slices of each format.
    """
    by_columns = sp.issparse(x) and x.format == "csc"
    n, d = x.shape
    lines = d if by_columns else n
    # Values per row (per column of CSC): the stored ones of a sparse x.
    per_line = x.nnz / max(lines, 1) if sp.issparse(x) else d
    size = max(1, int(_WIDENED_BLOCK // max(per_line, 1)))
    whole = slice(None)
    for start in range(0, lines, size):
        part = slice(start, start + size)
        if by_columns:
            yield whole, part, x[:, part].astype(dtype)
        elif sp.issparse(x):
            yield part, whole, x[part].astype(dtype)
        else:
            rows = x[part]
            buffer = ctx.buffer(key, (size, d), dtype)[: rows.shape[0]]
            np.copyto(buffer, rows)
            yield part, whole, buffer


def _dot_into(a, b, out):
    """``a @ b`` written into ``out`` by ``np.dot`` (BLAS), in either layout.

    ``np.dot`` wants a C-contiguous ``out``; a column-major ``out`` is the
    transpose of one: ``out.T = b.T @ a.T``. ``out`` has the dtype of the
    product. Returns ``out``.
    """
    if out.flags.c_contiguous:
        np.dot(a, b, out=out)
    else:
        np.dot(b.T, a.T, out=out.T)
    return out


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


def _times(*factors):
    """The product of ``factors``, or ``None`` (a zero tangent) if one is."""
    if any(f is None for f in factors):
        return None
    product = factors[0]
    for factor in factors[1:]:
        product = product * factor
    return product


def _tangent_sum(*terms):
    """The sum of the terms that are not ``None`` (``None`` when none is)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


class _Elementwise(Op):
    """Base of ops applied element by element to one argument.

    A subclass whose forward rule is one ONNX operator names it in
    ``_onnx_op`` (with its attributes in ``_onnx_attributes``); that is its
    ONNX lowering.

    Second order: a subclass states ``_slopes(ctx, x) -> (f'(x), f''(x))``
    (``f''`` may be ``None`` for zero); the rules then are ``out_dot =
    f'(x) * x_dot`` and ``R{dx} = g_dot * f'(x) + g * f''(x) * x_dot``. The
    slopes are computed once per point (:meth:`Context.at_point
    <skgraph.graph.Context.at_point>`).
    """

    def _slopes(self, ctx, x):
        raise NotImplementedError(
            f"{type(self).__name__} states no second-order rule (_slopes)."
        )

    def _slopes_at_point(self, ctx, x):
        return ctx.at_point("slopes", lambda: self._slopes(ctx, x))

    def jvp(self, ctx, tangents, x):
        (x_dot,) = tangents
        if x_dot is None:
            return None
        return x_dot * self._slopes_at_point(ctx, x)[0]

    def hvp(self, ctx, g, g_dot, tangents, x):
        first, second = self._slopes_at_point(ctx, x)
        return (_tangent_sum(_times(g_dot, first), _times(g, second, tangents[0])),)

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

    def jvp(self, ctx, tangents, a, b):
        """``a_dot @ b + a @ b_dot``."""
        a_dot, b_dot = tangents
        return _product_tangent(a, a_dot, b, b_dot)

    def hvp(self, ctx, g, g_dot, tangents, a, b):
        """``g_dot @ b.T + g @ b_dot.T`` for ``a``, ``a.T @ g_dot + a_dot.T @ g``
        for ``b``."""
        return _product_hvp(ctx.needs, g, g_dot, tangents, a, b)

    def lower_onnx(self, builder, a, b):
        """ONNX: ``MatMul(a, b)``."""
        return builder.op("MatMul", a, b)

    def output_shape(self, a, b):
        return None if a is None or b is None else (*a[:-1], b[-1])


def _product_tangent(a, a_dot, b, b_dot):
    """The tangent of ``a @ b``: ``a_dot @ b + a @ b_dot`` (``None`` if zero)."""
    return _tangent_sum(
        None if a_dot is None else a_dot @ b,
        None if b_dot is None else np.asarray(a @ b_dot),
    )


def _product_hvp(needs, g, g_dot, tangents, a, b):
    """R-operator of the backward rule of ``a @ b``: ``(R{da}, R{db})``."""
    a_dot, b_dot = tangents
    da = db = None
    if needs[0]:
        da = _tangent_sum(
            None if g_dot is None else g_dot @ b.T,
            None if b_dot is None else g @ b_dot.T,
        )
    if needs[1]:
        db = _tangent_sum(
            None if g_dot is None else np.asarray(a.T @ g_dot),
            None if a_dot is None else a_dot.T @ g,
        )
    return da, db


class Affine(Op):
    """Affine map of a batch: ``x @ W + b``.

    Forward: ``z = x @ W + b`` with ``x`` of shape (n, d), ``W`` (d, k), ``b``
    (k,). Backward: ``dW = x.T @ g``, ``db = g.sum(axis=0)`` (the gradients
    of the parameters summed over the batch), ``dx = g @ W.T`` (only when
    wanted). ``x`` may be a scipy.sparse matrix (CSR or CSC); the bias is
    optional (``Affine(x, W)``). ``order="F"`` stores ``z`` column-major.

    float32 ``x`` with float64 ``W`` (a float32 fit solved in float64): the
    products are float64 ones, as if on ``x.astype(np.float64)``, but ``x``
    is widened a block at a time into one small buffer, never whole (see
    :func:`_widened_blocks`).
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
        if _widened(x, W):
            out.fill(0.0)
            for z_part, W_part, x_block in _widened_blocks(ctx, x, W.dtype, "x_block"):
                out[z_part] += x_block @ W[W_part]
        elif isinstance(x, np.ndarray):
            # np.dot: BLAS as np.matmul, with less dispatch cost (small batches).
            _dot_into(x, W, out)
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
            dx = ctx.buffer("dx", shape, dtype, _order(x))
            # One output column: dx is an outer product, each entry one
            # multiplication. BLAS's gemm forms it in half the time of numpy's
            # broadcast multiply (which, in the layout of a column-major dx,
            # scales each column by a scalar: no SIMD loop) and a fifth of
            # np.matmul's; np.matmul is the faster one from two columns on.
            one_column = W.shape[1] == 1
            dx = _dot_into(g, W.T, dx) if one_column else np.matmul(g, W.T, out=dx)
        dW = None
        if needs[1]:
            dW = self._weight_grad(ctx, g, x, W)
        if b is None:
            return dx, dW
        db = None
        if needs[2]:  # the ufunc's reduce: np.sum's wrapper costs more than it
            db = np.add.reduce(g, axis=0, out=ctx.grad_destination(2))
        return dx, dW, db

    def jvp(self, ctx, tangents, x, W, b=None):
        """``x_dot @ W + x @ W_dot + b_dot``."""
        out = _product_tangent(x, tangents[0], W, tangents[1])
        bias = tangents[2] if b is not None else None
        if out is None and bias is not None:  # only the bias moves
            return np.broadcast_to(bias, (x.shape[0], W.shape[1])).copy()
        return _tangent_sum(out, bias)

    def hvp(self, ctx, g, g_dot, tangents, x, W, b=None):
        """As :class:`MatMul`'s, and ``g_dot.sum(axis=0)`` for ``b``."""
        dx, dW = _product_hvp(ctx.needs, g, g_dot, tangents[:2], x, W)
        if b is None:
            return dx, dW
        db = g_dot.sum(axis=0) if ctx.needs[2] and g_dot is not None else None
        return dx, dW, db

    @staticmethod
    def _weight_grad(ctx, g, x, W):
        """``x.T @ g``, into the flat gradient when it may go there."""
        out = ctx.grad_destination(1)
        if _widened(x, W):
            if out is None:
                out = ctx.buffer("dW", W.shape, W.dtype)
            out.fill(0.0)
            blocks = _widened_blocks(ctx, x, W.dtype, "x_block_backward")
            for z_part, W_part, x_block in blocks:
                out[W_part] += x_block.T @ g[z_part]
            return out
        if not isinstance(x, np.ndarray):  # scipy.sparse
            return np.asarray(x.T @ g)
        if out is None and g.flags.f_contiguous and not g.flags.c_contiguous:
            dWt = ctx.buffer("dW", W.shape[::-1], W.dtype)
            return np.dot(g.T, x, out=dWt).T
        if out is None:
            out = ctx.buffer("dW", W.shape, W.dtype)
        return np.dot(x.T, g, out=out)

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

    def jvp(self, ctx, tangents, a, b):
        """``a_dot + b_dot``, of the output's shape."""
        a_dot, b_dot = tangents
        if a_dot is not None and b_dot is not None:
            return a_dot + b_dot
        out, other = (a_dot, b) if b_dot is None else (b_dot, a)
        if out is None or np.shape(out) == np.shape(other) or np.ndim(other) == 0:
            return out
        # Only a term that broadcasting stretches moves: stretch its tangent.
        return np.broadcast_to(
            out, np.broadcast_shapes(np.shape(a), np.shape(b))
        ).copy()

    def hvp(self, ctx, g, g_dot, tangents, a, b):
        """The backward rule applied to ``g_dot`` (the op is linear)."""
        if g_dot is None:
            return (None, None)
        return self.backward(ctx, g_dot, a, b)

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

    def jvp(self, ctx, tangents, a, b):
        """``a_dot * b + a * b_dot``."""
        return _tangent_sum(_times(tangents[0], b), _times(a, tangents[1]))

    def hvp(self, ctx, g, g_dot, tangents, a, b):
        """``g_dot * b + g * b_dot`` for ``a``, ``g_dot * a + g * a_dot`` for
        ``b``, each summed back to its argument's shape."""
        a_dot, b_dot = tangents
        need_a, need_b = ctx.needs
        da = _tangent_sum(_times(g_dot, b), _times(g, b_dot)) if need_a else None
        db = _tangent_sum(_times(g_dot, a), _times(g, a_dot)) if need_b else None
        return (
            None if da is None else _unbroadcast(da, np.shape(a)),
            None if db is None else _unbroadcast(db, np.shape(b)),
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

    def jvp(self, ctx, tangents, x):
        """The forward rule applied to ``x_dot`` (the op is linear)."""
        return None if tangents[0] is None else self.forward(ctx, tangents[0])

    def hvp(self, ctx, g, g_dot, tangents, x):
        """The backward rule applied to ``g_dot`` (the op is linear)."""
        return (None,) if g_dot is None else self.backward(ctx, g_dot, x)

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

    def _slopes(self, ctx, x):
        return x.dtype.type(1.0), None


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

    def _slopes(self, ctx, x):
        """``s (1 - s)`` and ``s (1 - s) (1 - 2 s)``."""
        s = ctx.out
        first = s * (1.0 - s)
        return first, first * (1.0 - 2.0 * s)


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

    def _slopes(self, ctx, x):
        """``1 - t**2`` and ``-2 t (1 - t**2)``."""
        t = ctx.out
        first = 1.0 - t * t
        return first, -2.0 * t * first


class ReLU(_Elementwise):
    """Rectified linear unit.

    Forward: ``max(x, 0)``. Backward: ``g`` where ``x > 0``, else 0.
    """

    _onnx_op = "Relu"

    def forward(self, ctx, x):
        out = ctx.buffer("r", x.shape, x.dtype, _order(x))
        return np.maximum(x, 0, out=out)

    def backward(self, ctx, g, x):
        # The mask straight into the float result, then a same-type multiply:
        # the same numbers as g times a boolean mask, whose mixed-type
        # multiply casts the mask block by block (about 15 % slower).
        dx = np.greater(x, 0, out=ctx.buffer("dx", x.shape, x.dtype, _order(x)))
        dx *= g
        return (dx,)

    def _slopes(self, ctx, x):
        """``1`` where ``x > 0``, else 0; no curvature (almost everywhere)."""
        return (x > 0).astype(x.dtype), None


class Exp(_Elementwise):
    """Exponential: forward ``e = exp(x)``; backward ``g * e``."""

    _onnx_op = "Exp"

    def forward(self, ctx, x):
        ctx.save(out=np.exp(x))
        return ctx.out

    def backward(self, ctx, g, x):
        return (g * ctx.out,)

    def _slopes(self, ctx, x):
        """``e`` and ``e``."""
        return ctx.out, ctx.out


class Log(_Elementwise):
    """Natural logarithm: forward ``log(x)``; backward ``g / x``."""

    _onnx_op = "Log"

    def forward(self, ctx, x):
        return np.log(x)

    def backward(self, ctx, g, x):
        return (g / x,)

    def _slopes(self, ctx, x):
        """``1 / x`` and ``-1 / x**2``."""
        inverse = 1.0 / x
        return inverse, -inverse * inverse


class Square(_Elementwise):
    """Square: forward ``x**2``; backward ``2 * g * x``."""

    def forward(self, ctx, x):
        return np.square(x)

    def backward(self, ctx, g, x):
        return (2.0 * g * x,)

    def _slopes(self, ctx, x):
        """``2 x`` and ``2``."""
        return 2.0 * x, x.dtype.type(2.0)

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


def _row_sum(a):
    return a.sum(axis=1, keepdims=True)


def _softmax_tangent(p, x_dot):
    """The tangent of ``p = softmax(x)``: ``p * (x_dot - sum(p * x_dot))``."""
    if x_dot is None:
        return None
    return p * (x_dot - _row_sum(p * x_dot))


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

    def jvp(self, ctx, tangents, x):
        """``p_dot = p * (x_dot - sum(p * x_dot, axis=1))``."""
        return _softmax_tangent(ctx.out, tangents[0])

    def hvp(self, ctx, g, g_dot, tangents, x):
        """``p_dot * (g - sum(g p)) + p * (g_dot - sum(g_dot p) - sum(g p_dot))``
        (row sums)."""
        p, p_dot = ctx.out, _softmax_tangent(ctx.out, tangents[0])
        inner = _tangent_sum(
            None if g_dot is None else g_dot - _row_sum(g_dot * p),
            None if p_dot is None else -_row_sum(g * p_dot),
        )
        return (_tangent_sum(_times(p_dot, g - _row_sum(g * p)), _times(p, inner)),)


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

    def _probabilities(self, ctx):
        return ctx.at_point("p", lambda: ctx.exp_shifted / ctx.total)

    def jvp(self, ctx, tangents, x):
        """``x_dot - sum(softmax(x) * x_dot, axis=1)``."""
        x_dot = tangents[0]
        if x_dot is None:
            return None
        return x_dot - _row_sum(self._probabilities(ctx) * x_dot)

    def hvp(self, ctx, g, g_dot, tangents, x):
        """``g_dot - p * sum(g_dot) - p_dot * sum(g)`` (row sums), with
        ``p_dot`` the softmax's tangent."""
        p = self._probabilities(ctx)
        p_dot = _softmax_tangent(p, tangents[0])
        return (
            _tangent_sum(
                None if g_dot is None else g_dot - p * _row_sum(g_dot),
                _times(-p_dot, _row_sum(g)) if p_dot is not None else None,
            ),
        )


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

    def jvp(self, ctx, tangents, strength, *weights):
        """``strength * sum_l <W_l, W_l_dot>``."""
        parts = [
            np.vdot(W, W_dot)
            for W, W_dot in zip(weights, tangents[1:], strict=True)
            if W_dot is not None
        ]
        return float(strength) * sum(parts) if parts else None

    def hvp(self, ctx, g, g_dot, tangents, strength, *weights):
        """``strength * (g_dot * W_l + g * W_l_dot)`` for each ``W_l``."""
        strength, needs = float(strength), ctx.needs
        pairs = zip(weights, tangents[1:], strict=True)
        return (
            None,
            *[
                _tangent_sum(_times(g_dot, W), _times(g, W_dot)) * strength
                if needs[i] and (g_dot is not None or W_dot is not None)
                else None
                for i, (W, W_dot) in enumerate(pairs, 1)
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

    def jvp(self, ctx, tangents, strength, *weights):
        """Refused: ``|w|`` has no derivative at 0, where sparse minima lie."""
        raise ValueError(
            f"L1Penalty ({self.name!r}) has no second-order rule: |w| has no "
            "derivative at w = 0, where the zeros of a sparse model sit, so a "
            "Hessian-vector product through it is undefined. Newton solvers "
            "cannot minimise an L1 term (l1_ratio > 0); use 'lbfgs' or 'gd'."
        )

    hvp = jvp

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
    ``sample_weight`` (n,). Without sample weights the loss is the mean over
    samples; sample weights that sum to one give the weighted mean, which is what the
    estimators feed (``s_i / S``).
    """

    def output_shape(self, *shapes):
        return ()

    def _weighted_total(self, per_element, sample_weight):
        if sample_weight is None:
            return per_element.sum() / per_element.shape[0]
        per_column = sample_weight.astype(per_element.dtype, copy=False) @ per_element
        return per_column[0] if per_column.size == 1 else per_column.sum()

    def _scaled(self, residual, g, sample_weight):
        """``residual * g * w_i`` row by row, in place."""
        if sample_weight is None:
            residual *= g / residual.shape[0]
        else:
            residual *= sample_weight.astype(residual.dtype, copy=False)[:, None]
            if float(g) != 1.0:  # the usual seed is exactly one: skip a pass
                residual *= g
        return residual

    # -- second order: per element, d loss_i / dz and its curvature ------------------
    # A subclass states ``_slope(ctx, z, y)``, the derivative of loss_i with
    # respect to each z_ik (what its backward rule scales), and
    # ``_curvature(ctx, z, y)``, the second derivative where it is diagonal
    # (a scalar or an array like z); a non-diagonal one overrides
    # ``_curvature_times``. Targets and weights are data: no tangent.

    def _slope_at_point(self, ctx, z, y):
        return ctx.at_point(
            "slope", lambda: self._slope(ctx, z, y).astype(z.dtype, copy=False)
        )

    def _curvature_times(self, ctx, z, y, z_dot):
        """The loss's Hessian in ``z`` times ``z_dot``, sample by sample."""
        return z_dot * ctx.at_point("curvature", lambda: self._curvature(ctx, z, y))

    def jvp(self, ctx, tangents, z, y, sample_weight=None):
        """``sum_i w_i sum_k slope_ik * z_dot_ik``."""
        z_dot = tangents[0]
        if z_dot is None:
            return None
        return self._weighted_total(
            self._slope_at_point(ctx, z, y) * z_dot, sample_weight
        )

    def hvp(self, ctx, g, g_dot, tangents, z, y, sample_weight=None):
        """``w_i * (g_dot * slope + g * curvature @ z_dot)`` for ``z``."""
        z_dot, dz = tangents[0], None
        if z_dot is not None:
            dz = self._scaled(self._curvature_times(ctx, z, y, z_dot), g, sample_weight)
        if g_dot is not None:
            slope = self._slope_at_point(ctx, z, y).copy()
            dz = _tangent_sum(dz, self._scaled(slope, g_dot, sample_weight))
        return (dz, None, None)[: len(self.parents)]


class SigmoidCrossEntropy(_WeightedLoss):
    """Binary cross-entropy on logits, fused with the sigmoid.

    For targets ``y`` in [0, 1] (one column for a binary problem, one per
    label for multilabel ones) and logits ``z``, per sample

        loss_i = sum_k [ log(1 + exp(z_ik)) - y_ik * z_ik ]

    which equals ``-y log(sigmoid(z)) - (1 - y) log(1 - sigmoid(z))`` but
    is computed as ``max(z, 0) + log1p(exp(-|z|)) - y * z``: finite for every
    finite ``z``, and accurate where the loss is tiny.

    Forward: ``sum_i w_i * loss_i`` (mean over samples without sample weights),
    each ``loss_i`` the sum of two non-negative terms, ``max(z, 0) - y * z``
    and ``log1p(exp(-|z|))`` (for ``y`` in [0, 1]).
    Backward: ``g * w_i * (sigmoid(z_ik) - y_ik)`` for the logits only, with
    ``sigmoid(z) = exp(min(z, 0)) / (1 + exp(-|z|))`` from the forward
    pass's ``exp(-|z|)``: accurate to a few ulps in both tails (no
    difference of nearly equal numbers), and exactly 0 where ``exp(-|z|)``
    underflows below zero, which is the sigmoid rounded.
    """

    # Two buffers of the logits' size, as many as the loss needs without
    # the exponential kept: the forward pass sums its two non-negative terms
    # one after the other in one of them, and leaves exp(-|z|), its one
    # exponential, in the other, from which the backward pass builds the
    # sigmoid with arithmetic alone (overwriting both).
    def forward(self, ctx, z, y, sample_weight=None):
        term = np.maximum(z, 0.0, out=ctx.scratch("l", z.shape, z.dtype))
        tail = ctx.scratch("exp_minus_abs", z.shape, z.dtype)
        term -= np.multiply(y, z, out=tail)
        total = self._weighted_total(term, sample_weight)
        _exp_minus_abs(z, tail)
        ctx.save(exp_minus_abs=tail)
        return total + self._weighted_total(np.log1p(tail, out=term), sample_weight)

    def backward(self, ctx, g, z, y, sample_weight=None):
        # sigmoid(z) = exp(min(z, 0)) / (1 + exp(-|z|)): the numerator is 1
        # where z >= 0 and exp(-|z|) below, which max(sign(z), exp(-|z|))
        # picks (0 <= exp(-|z|) <= 1, and exp(-0) = 1). No difference of
        # nearly equal numbers. (np.sign, not np.heaviside: numpy does not
        # vectorise the latter, which cost more than the rest of this rule.)
        tail = ctx.exp_minus_abs
        residual = np.sign(z, out=ctx.scratch("l", z.shape, z.dtype))
        np.maximum(residual, tail, out=residual)
        tail += 1.0
        residual /= tail
        residual -= y
        return (self._scaled(residual, g, sample_weight), None, None)[
            : len(self.parents)
        ]

    def _slope(self, ctx, z, y):
        """``sigmoid(z) - y``."""
        return expit(z) - y

    def _curvature(self, ctx, z, y):
        """``sigmoid(z) * (1 - sigmoid(z))``."""
        s = expit(z)
        return s * (1.0 - s)


def _exp_minus_abs(z, out):
    """``exp(-|z|)`` into ``out``: in [0, 1] (0 once it underflows), for any ``z``."""
    np.negative(np.abs(z, out=out), out=out)  # -|z| (np.copysign costs twice)
    with np.errstate(under="ignore"):  # exp(-|z|) -> 0 is exact enough
        return np.exp(out, out=out)


class SoftmaxCrossEntropy(_WeightedLoss):
    """Categorical cross-entropy on logits, fused with the softmax.

    For one-hot (or any probability-row) targets ``Y`` and logits ``Z``, per
    sample ``loss_i = logsumexp(Z_i) - sum_k Y_ik Z_ik``, computed with the
    row maximum shifted out: finite for every finite ``Z``.

    Forward: ``sum_i w_i * loss_i`` (mean over samples without sample weights).
    Backward: ``g * w_i * (softmax(Z_i) - Y_i)`` for the logits only.
    """

    # Every buffer shares the layout of Z: column-major logits (an
    # Affine(..., order="F")) with column-major targets make each step a few
    # long vectorised passes.

    def forward(self, ctx, z, y, sample_weight=None):
        lse = _log_sum_exp(z, ctx, overwritten=True)
        per_sample = lse[:, 0]
        per_sample -= np.einsum("ij,ij->i", y, z)  # in place: keeps z's dtype
        return self._weighted_total(per_sample[:, None], sample_weight)

    def backward(self, ctx, g, z, y, sample_weight=None):
        residual = ctx.exp_shifted
        residual /= ctx.total
        residual -= y
        return (self._scaled(residual, g, sample_weight), None, None)[
            : len(self.parents)
        ]

    def _probabilities(self, ctx, z):
        # Recomputed: the backward rule turns exp_shifted into its residual.
        def softmax():
            e = np.exp(z - z.max(axis=1, keepdims=True))
            e /= _row_sum(e)
            return e

        return ctx.at_point("p", softmax)

    def _slope(self, ctx, z, y):
        """``softmax(z) - y``."""
        return self._probabilities(ctx, z) - y

    def _curvature_times(self, ctx, z, y, z_dot):
        """``p * (z_dot - sum(p * z_dot))`` per row, ``p = softmax(z)``."""
        return _softmax_tangent(self._probabilities(ctx, z), z_dot)


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

    def _slopes(self, ctx, x):
        """``Phi(x) + x * phi(x)`` and ``phi(x) * (2 - x**2)``."""
        with np.errstate(over="ignore", under="ignore"):
            density = np.exp(-0.5 * x * x) * x.dtype.type(_INV_SQRT_2PI)
            return ndtr(x) + x * density, density * (2.0 - x * x)

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

    def _slopes(self, ctx, x):
        """``1`` or ``negative_slope``; no curvature (almost everywhere)."""
        slope = x.dtype.type(self.negative_slope)
        return np.where(x > 0, x.dtype.type(1.0), slope), None

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

    def _slopes(self, ctx, x):
        """``sigmoid(x)`` and ``sigmoid(x) * (1 - sigmoid(x))``."""
        s = expit(x)
        return s, s * (1.0 - s)

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

    def _slopes(self, ctx, x):
        """``s (1 + x (1 - s))`` and ``s (1 - s) (2 + x (1 - 2 s))``."""
        s = expit(x)
        return s * (1.0 + x * (1.0 - s)), s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s))

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

    def _slopes(self, ctx, x):
        """The pass's scaled mask (1 at inference); no curvature."""
        return (x.dtype.type(1.0) if ctx.mask is None else ctx.mask), None

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
    ``sum_i w_i * loss_i``, the mean over samples without sample weights.

    Forward: the loss above. Backward: ``g * w_i * clip(r_ik, -delta,
    delta)`` for the predictions only.
    """

    def __init__(self, z, y, sample_weight=None, *, delta=1.0, name=None):
        delta = float(delta)
        if not delta > 0.0:
            raise ValueError(f"Huber delta must be positive, got {delta!r}.")
        self.delta = delta
        super().__init__(
            *(p for p in (z, y, sample_weight) if p is not None), name=name
        )

    def forward(self, ctx, z, y, sample_weight=None):
        size = np.abs(z - y)
        delta = z.dtype.type(self.delta)
        per_element = np.where(
            size <= delta, 0.5 * size * size, delta * (size - 0.5 * delta)
        )
        return self._weighted_total(per_element, sample_weight)

    def backward(self, ctx, g, z, y, sample_weight=None):
        delta = z.dtype.type(self.delta)
        residual = np.clip(z - y, -delta, delta)
        residual = self._scaled(residual, g, sample_weight)
        return (residual, None, None)[: len(self.parents)]

    def _slope(self, ctx, z, y):
        """``clip(z - y, -delta, delta)``."""
        return np.clip(z - y, -self.delta, self.delta)

    def _curvature(self, ctx, z, y):
        """1 where ``|z - y| <= delta``, else 0 (the linear part)."""
        return (np.abs(z - y) <= self.delta).astype(z.dtype)


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

    Forward: ``sum_i w_i * loss_i`` (mean over samples without sample weights).
    Backward: ``g * w_i * (z_ik - y_ik)`` for the predictions only: the
    gradient of scikit-learn's MLPRegressor, whose reported loss is this one
    divided by the number of outputs (see ``Network.reported_loss_share``).
    """

    def forward(self, ctx, z, y, sample_weight=None):
        residual = np.subtract(z, y, out=ctx.scratch("r", z.shape, z.dtype))
        residual *= residual
        residual *= 0.5
        return self._weighted_total(residual, sample_weight)

    def backward(self, ctx, g, z, y, sample_weight=None):
        residual = np.subtract(z, y, out=ctx.scratch("r", z.shape, z.dtype))
        return (self._scaled(residual, g, sample_weight), None, None)[
            : len(self.parents)
        ]

    def _slope(self, ctx, z, y):
        """``z - y``."""
        return z - y

    def _curvature(self, ctx, z, y):
        """1."""
        return z.dtype.type(1.0)


class PoissonLoss(_WeightedLoss):
    """Half Poisson deviance of a log-link prediction, fused with its ``exp``.

    For raw outputs ``z`` (the prediction is ``exp(z)``) and non-negative
    targets ``y``, per sample

        loss_i = sum_k [ exp(z_ik) - y_ik * z_ik + y_ik log(y_ik) - y_ik ]

    scikit-learn's ``poisson_loss`` of ``exp(z)``, its constant term
    ``y log y - y`` included (``0 log 0 = 0``), written in ``z`` so that no
    logarithm of the prediction is taken.

    Forward: ``sum_i w_i * loss_i`` (mean over samples without sample weights).
    Backward: ``g * w_i * (exp(z_ik) - y_ik)`` for ``z`` only.
    """

    def forward(self, ctx, z, y, sample_weight=None):
        per_element = np.exp(z, out=ctx.scratch("r", z.shape, z.dtype))
        scratch = ctx.buffer("scratch", z.shape, z.dtype)
        per_element -= np.multiply(y, z, out=scratch)
        per_element += xlogy(y, y, out=scratch)
        per_element -= y
        return self._weighted_total(per_element, sample_weight)

    def backward(self, ctx, g, z, y, sample_weight=None):
        residual = np.exp(z, out=ctx.scratch("r", z.shape, z.dtype))
        residual -= y
        return (self._scaled(residual, g, sample_weight), None, None)[
            : len(self.parents)
        ]

    def _slope(self, ctx, z, y):
        """``exp(z) - y``."""
        return np.exp(z) - y

    def _curvature(self, ctx, z, y):
        """``exp(z)``."""
        return np.exp(z)
