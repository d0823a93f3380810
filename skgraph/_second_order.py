"""Hessian-vector products through a graph: forward over reverse.

The gradient ``grad(theta)`` of a scalar node is itself computed by the graph
(the backward pass). Its directional derivative along ``v``, ``H v``, is
Pearlmutter's R-operator ``R{.} = d/dt (.)(theta + t v) at t = 0`` applied
to every value and gradient of the passes:

1. **Linearise** at ``theta``: a forward and a backward pass, which leave
   every node's value ``x`` and gradient ``g = dL/dx`` in a trace.
2. **Tangent sweep** (forward mode): a parameter's tangent is its slice of
   ``v``; each op maps its parents' tangents to its own, ``x_dot =
   op.jvp(ctx, parent tangents, *values)``. Inputs have none.
3. **R-backward sweep** (reverse): the loss's gradient is the constant 1, so
   ``R{g} = 0`` there; each op gives the tangent of what its backward rule
   returns, ``op.hvp(ctx, g, R{g}, parent tangents, *values)``, summed over
   the children exactly as gradients are. A parameter's ``R{g}`` is its
   slice of ``H v``.

Steps 2 and 3 are one more forward-and-backward sweep over the nodes of the
backward pass. Between two products at the same point nothing is
recomputed: the trace keeps the values and gradients, and each op keeps
what depends only on the point (:meth:`Context.at_point
<skgraph.graph.Context.at_point>`), so for a linear model a product costs
two matrix products, as scikit-learn's hand-written ``hessp`` does.

The first-order passes do no work for this: the products run on a trace of
their own.

Conventions of the op rules (:class:`skgraph.graph.Op`): a tangent or
``R{g}`` of ``None`` is zero (data, and branches that no parameter
reaches); ``hvp`` of a node runs before its backward rule in the
linearisation's sweep order would, so both see the forward results;
backward rules that overwrite their forward scratch buffers (the fused
losses) have second-order rules that do not read them.
"""

from __future__ import annotations

import numpy as np

from skgraph.graph import Parameter, Trace

__all__ = ["HessianVectorProduct", "ObjectiveHessian"]


class HessianVectorProduct:
    """``v -> H v`` for the scalar ``loss`` of a program, at a point.

    Parameters
    ----------
    program : Program
        A program with a ``loss``.

    Examples
    --------
    >>> import numpy as np
    >>> from skgraph.graph import Graph
    >>> from skgraph import ops
    >>> from skgraph._second_order import HessianVectorProduct
    >>> g = Graph()
    >>> x = g.input("x")
    >>> w = g.parameter("w", np.array([2.0]))
    >>> loss = ops.Sum(ops.Square(ops.Multiply(x, w)))  # sum (x w)^2
    >>> hvp = HessianVectorProduct(g.program((loss,), loss=loss))
    >>> hvp.linearize({x: np.array([1.0, 3.0])})
    >>> hvp(np.array([1.0]))  # d2/dw2 = 2 * (1 + 9)
    array([20.])
    """

    def __init__(self, program):
        if program.loss is None:
            raise ValueError("A Hessian-vector product needs a program with a loss.")
        self.program = program
        self.trace = Trace(program)
        graph = program.graph
        # The backward pass's steps, in forward order, with the getters of
        # their parents' values (which also gather their tangents).
        self._steps = [
            (index, graph.nodes[index], gather, routes)
            for index, _, gather, routes in reversed(program._backward_plan)
        ]
        # What the linearisation's backward pass asks of each op when the
        # point's gradient is not wanted: the gradients of the nodes between
        # the parameters and the loss (which the products read), none of the
        # parameters' (which they do not: for a linear model, X.T @ r).
        self._interior_needs = {
            index: tuple(
                need and not isinstance(parent, Parameter)
                for need, parent in zip(needs, graph.nodes[index].parents, strict=True)
            )
            for index, needs in program.needs.items()
        }

    def linearize(self, feed, gradient=True):
        """Forward and backward pass at the graph's current parameters.

        Later products are taken at this point, whatever ``graph.theta``
        becomes, until the next call.

        Parameters
        ----------
        feed : dict of {Input: array-like}
        gradient : bool, default=True
            Whether to compute the gradient at the point (:attr:`gradient`).
            The products do not need it: ``False`` saves each parameter's
            share of the backward pass (a Newton solver has the gradient from
            its objective), and :attr:`gradient` is then NaN.
        """
        program, trace = self.program, self.trace
        for ctx in trace.contexts:
            if ctx is not None:
                ctx._at_point.clear()
        program.forward(feed, trace)
        if gradient:
            program.backward(trace)
        else:
            contexts = trace.contexts
            for index, needs in self._interior_needs.items():
                contexts[index].needs = needs
            try:
                program.backward(trace)
            finally:  # the products' rules read which parents want an R{g}
                for index, needs in program.needs.items():
                    contexts[index].needs = needs
            # Ops that ignore needs may have written part of it: none is wanted.
            trace.parameter_grad.fill(np.nan)
        # Freeze the point: the bound parameter values are live views.
        for param in program.parameters:
            trace.values[param.index] = trace.values[param.index].copy()

    @property
    def gradient(self):
        """ndarray : the flat gradient at the point (a view; do not modify).

        NaN (not computed) after ``linearize(feed, gradient=False)``.
        """
        return self.trace.parameter_grad

    def __call__(self, direction, out=None):
        """``H v`` for the flat ``direction`` ``v``, laid out like ``theta``.

        Parameters
        ----------
        direction : ndarray of shape (n_parameters,)
        out : ndarray of shape (n_parameters,), optional
            Where to write the product (a new array of the graph's dtype by
            default).
        """
        graph = self.program.graph
        tangents = self._tangents(np.asarray(direction, dtype=graph.dtype))
        if out is None:
            out = np.empty(graph.n_parameters, graph.dtype)
        out.fill(0.0)
        self._r_backward(tangents, out)
        return out

    def sweep(self, direction):
        """The second-order sweep along ``direction``, as a :class:`Trace`.

        Its values are the nodes' tangents (``None`` where zero) and its
        gradients their ``R{dL/dnode}``; ``parameter_grad`` is ``H v``. For
        inspection and drawing (``graph.draw(sweep)``).
        """
        graph = self.program.graph
        tangents = self._tangents(np.asarray(direction, dtype=graph.dtype))
        sweep = Trace(self.program)
        sweep.values = tangents
        sweep.parameter_grad = np.zeros(graph.n_parameters, graph.dtype)
        sweep.grads = self._r_backward(tangents, sweep.parameter_grad)
        return sweep

    def _tangents(self, direction):
        """Step 2: every node's tangent (``None``: zero), as a list by index."""
        graph, trace = self.program.graph, self.trace
        tangents = [None] * len(graph.nodes)
        for param in self.program.parameters:
            tangents[param.index] = direction[
                param.offset : param.offset + param.size
            ].reshape(param.shape)
        values, contexts = trace.values, trace.contexts
        # Every step has a parent that a parameter reaches (a parameter, or
        # an earlier step): its tangent is never skipped as zero.
        for index, node, gather, _ in self._steps:
            tangents[index] = node.jvp(
                contexts[index], gather(tangents), *gather(values)
            )
        return tangents

    def _r_backward(self, tangents, out):
        """Step 3: sum each parameter's ``R{g}`` into its slice of ``out``.

        Returns every node's ``R{g}`` (a parameter's: a view of ``out``).
        """
        graph, trace = self.program.graph, self.trace
        values, contexts, grads = trace.values, trace.contexts, trace.grads
        r_grads = [None] * len(graph.nodes)
        for index, node, gather, routes in reversed(self._steps):
            g = grads[index]
            if g is None:
                continue
            results = node.hvp(
                contexts[index], g, r_grads[index], gather(tangents), *gather(values)
            )
            for position, parent, slot in routes:
                result = results[position]
                if result is None:
                    continue
                if slot is not None:
                    param = graph.parameters[slot]
                    out[param.offset : param.offset + param.size] += np.ravel(result)
                else:  # never in place: a rule may return its g_dot itself
                    previous = r_grads[parent]
                    r_grads[parent] = result if previous is None else previous + result
        for param in graph.parameters:
            r_grads[param.index] = out[param.offset : param.offset + param.size]
            r_grads[param.index] = r_grads[param.index].reshape(param.shape)
        return r_grads


class ObjectiveHessian:
    """``(theta, v) -> H v`` of an objective summed over feeds (row blocks).

    What a Newton solver calls as ``hessp``. With one feed, the point is
    linearised once and kept for every product there (scipy's Newton-CG
    takes several at each iterate); with several blocks of rows, each
    product linearises block by block, so only one block's passes are held
    in memory at a time.

    Parameters
    ----------
    graph : Graph
    loss : Node
        The scalar whose Hessian is wanted.
    feeds : callable
        ``feeds()`` returns an iterable of feeds (each may reuse the
        previous one's buffers); the objective is the sum of ``loss`` over
        them.
    n_feeds : int, default=1
        How many feeds ``feeds()`` gives.
    """

    def __init__(self, graph, loss, feeds, n_feeds=1):
        self.graph = graph
        self.product = HessianVectorProduct(graph.program((loss,), loss=loss))
        self.feeds = feeds
        self.n_feeds = n_feeds
        self._point = None

    def __call__(self, theta, direction):
        theta = np.asarray(theta, dtype=np.float64)
        if self.n_feeds == 1:
            if self._point is None or not np.array_equal(theta, self._point):
                self._point = None  # until the trace holds this point whole
                self.graph.set_flat(theta)
                (feed,) = self.feeds()
                self.product.linearize(feed, gradient=False)
                self._point = theta.copy()
            return self.product(direction).astype(np.float64)
        total = np.zeros(self.graph.n_parameters)
        for feed in self.feeds():
            self.graph.set_flat(theta)
            self.product.linearize(feed, gradient=False)
            total += self.product(direction)
        return total
