"""The computation graph: input, parameter and compute nodes, forward and backward.

A :class:`Graph` owns its nodes; nothing is global, so any number of graphs live
side by side (threads, joblib workers) and each one pickles. Nodes are created
in topological order: a compute node can only be built from nodes that already
exist, so *creation order is a valid evaluation order* (the lecture's rule).

The values and gradients of one pass live in a :class:`Trace`, not on the
nodes, so concurrent passes over one graph never share mutable state. A trace
can be kept and reused by a training loop: ops then reuse the buffers they
allocated in the previous pass instead of allocating new ones.

Example
-------
>>> import numpy as np
>>> from skgraph.graph import Graph
>>> from skgraph import ops
>>> g = Graph()
>>> x = g.input("x")
>>> w = g.parameter("w", np.array([2.0]))
>>> loss = ops.Sum(ops.Square(ops.Multiply(x, w)))
>>> trace = g.backward(loss, {x: np.array([1.0, 3.0])})
>>> float(trace.value(loss)), trace.grad(w)
(40.0, array([40.]))
"""

from __future__ import annotations

import math

import numpy as np

from skgraph import _passes, _render

__all__ = [
    "Graph",
    "Node",
    "Input",
    "Parameter",
    "Op",
    "Context",
    "Trace",
    "Program",
    "reference_forward",
    "reference_backward",
    "guarded_pass",
]


def _read_only(array):
    array.flags.writeable = False
    return array


#: The seed dLoss/dLoss of a scalar loss, by its type. Read-only, so that one
#: array serves every pass: an op must never write into its incoming gradient.
_UNIT_SEEDS = {t: _read_only(np.ones((), t)) for t in (np.float64, np.float32)}


class Node:
    """A vertex of a computation graph.

    Attributes
    ----------
    graph : Graph
        The graph that owns the node.
    index : int
        Position in creation (= topological) order.
    name : str
        Human-readable name, unique within the graph.
    kind : {"input", "parameter", "compute"}
        What role the node plays.
    """

    kind = "node"

    def __init__(self, graph, name):
        if not isinstance(name, str) or not name:
            # Drawing and DOT text need a name: fail here, not at to_dot().
            raise (ValueError if isinstance(name, str) else TypeError)(
                f"The name of a new {self.kind} node ({type(self).__name__}) "
                f"must be a non-empty string, got {name!r}."
            )
        self.graph = graph
        self.index = len(graph.nodes)
        self.name = graph._unique_name(name)
        graph.nodes.append(self)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r} ({self.kind})>"

    def __getstate__(self):
        # The graph lists its nodes and each node names its graph (and a
        # compute node its parents): cycles and shared references that
        # pickle's memo resolves but that tree-shaped formats such as skops
        # would follow forever, or write out once per path. A node's state
        # names no other object; Graph.__setstate__ restores the links, so a
        # node travels with its graph.
        state = self.__dict__.copy()
        del state["graph"]
        return state


class Input(Node):
    """Data fed at evaluation time: features, targets, weights, constants.

    Nothing flows back into an input node: its gradient is never computed.

    Parameters
    ----------
    graph : Graph
    name : str
    shape : tuple of (int or None), optional
        The expected shape; ``None`` marks a dimension known only when fed
        (the batch dimension). Used for drawing only.
    """

    kind = "input"

    def __init__(self, graph, name, shape=None):
        super().__init__(graph, name)
        self.shape = None if shape is None else tuple(shape)


class Parameter(Node):
    """A learned array whose gradient is summed over the batch.

    The value is a view into the graph's single flat parameter vector, so the
    whole model can be read or written as one vector (what scipy's optimisers
    work on) without gathering the pieces.

    Parameters
    ----------
    graph : Graph
    name : str
    shape : tuple of int
    """

    kind = "parameter"

    def __init__(self, graph, name, shape):
        super().__init__(graph, name)
        self.shape = tuple(shape)
        self.size = math.prod(self.shape)
        self.offset = 0  # set by Graph._pack
        self.param_index = len(graph.parameters)

    @property
    def value(self):
        """ndarray : the current value (a writable view into ``graph.theta``)."""
        return self.graph._views[self.param_index]

    @value.setter
    def value(self, array):
        np.copyto(self.value, np.asarray(array).reshape(self.shape))


class Op(Node):
    """A compute node: one operation of its parents.

    A subclass states its own forward rule and the local derivative with
    respect to each of its arguments, nothing more; the graph chains them.

    Subclasses implement:

    ``forward(self, ctx, *values) -> ndarray``
        The value of the node from the values of its parents. ``ctx`` is a
        per-pass scratch object (see :class:`Context`) where the op can keep
        what its backward rule needs, or reuse a buffer from the last pass.
    ``backward(self, ctx, grad, *values) -> tuple``
        Given ``grad`` = dLoss/d(this node), return dLoss/d(parent) for each
        parent, or ``None`` where ``ctx.needs[i]`` is false (no gradient is
        wanted there: an input, or a branch that reaches no parameter).
    ``jvp(self, ctx, tangents, *values) -> ndarray or None``
        Second order, forward mode: the directional derivative of the
        node's value given its parents' (``tangents[i]``, ``None`` for a
        zero tangent), or ``None`` when it is zero.
    ``hvp(self, ctx, g, g_dot, tangents, *values) -> tuple``
        Second order, Pearlmutter's R-operator of the backward rule: the
        directional derivative of each parent gradient that ``backward``
        returns, when the parents move along ``tangents`` and the incoming
        gradient ``g`` along ``g_dot`` (``None``: zero). ``None`` where
        ``ctx.needs[i]`` is false or the result is zero. It runs before the
        node's backward rule of the same pass and must not write into
        anything the forward pass left (see :mod:`skgraph._second_order`),
        nor read anything the backward rule keeps: the linearisation's
        backward pass may run with fewer ``needs`` (no parameter's
        gradient) than the products see.
        An op with no second derivative where it matters raises a
        ValueError naming itself (:class:`~skgraph.ops.L1Penalty`); an op
        without these methods raises ``NotImplementedError``.
    ``output_shape(self, *shapes) -> tuple or None``
        Optional, for drawing: the output shape from the parents' shapes.
    ``lower_onnx(self, builder, *inputs) -> str``
        Optional, for :func:`skgraph.to_onnx`: add the ONNX operators that
        compute the forward rule from the parents' ONNX values (their names,
        ``inputs``) with ``builder.op(...)`` (an
        :class:`skgraph.onnx.OnnxBuilder`) and return the name of the result.
        An op that acts only in training (dropout) lowers to its inference
        behaviour. A prediction graph with an op that lacks it cannot be
        exported.

    Parameters
    ----------
    *parents : Node
        The arguments, all from the same graph.
    name : str, optional
        Defaults to the lower-cased class name.
    """

    kind = "compute"

    def __init__(self, *parents, name=None):
        if not parents:
            raise ValueError(f"{type(self).__name__} needs at least one parent node.")
        for parent in parents:
            if not isinstance(parent, Node):
                raise TypeError(
                    f"{type(self).__name__} takes nodes as arguments, "
                    f"got {type(parent).__name__}."
                )
        graph = parents[0].graph
        for parent in parents:
            if parent.graph is not graph:
                raise ValueError(
                    f"{type(self).__name__}: node {parent.name!r} belongs to "
                    "another graph."
                )
        self.parents = parents
        super().__init__(graph, type(self).__name__.lower() if name is None else name)

    def forward(self, ctx, *values):
        raise NotImplementedError

    def backward(self, ctx, grad, *values):
        raise NotImplementedError

    def jvp(self, ctx, tangents, *values):
        raise NotImplementedError(
            f"{type(self).__name__} ({self.name!r}) states no second-order rule: "
            "define its jvp and hvp methods to compute Hessian-vector products "
            "through it."
        )

    def hvp(self, ctx, g, g_dot, tangents, *values):
        raise NotImplementedError(
            f"{type(self).__name__} ({self.name!r}) states no second-order rule: "
            "define its jvp and hvp methods to compute Hessian-vector products "
            "through it."
        )

    def output_shape(self, *shapes):
        return None

    def __getstate__(self):
        state = super().__getstate__()
        state["parents"] = tuple(parent.index for parent in self.parents)
        return state


class Context:
    """Per-node scratch space of one :class:`Trace`.

    An op's forward rule keeps what its backward rule needs here, and the
    trace keeps it between passes, so buffers are allocated once:

    * :meth:`save` (or plain attributes, ``ctx.out = ...``): values the
      backward rule reads. They must stay as the forward pass left them.
    * :meth:`buffer`: an array reused by every pass of the trace. A buffer
      the forward pass fills is, like a saved value, read-only to the
      backward rule; one that only the backward rule uses is its own.
    * :meth:`scratch`: a forward buffer that the backward rule *declares* it
      overwrites (to build a gradient without allocating). The trace then
      knows its forward results are spent by one backward pass: a second
      backward pass needs a new forward pass (:meth:`Program.backward`
      raises otherwise).

    :func:`guarded_pass` runs a pass with everything the backward rules must
    not write made read-only: the tests use it to catch an op that writes
    into a buffer it did not declare.

    Attributes
    ----------
    needs : tuple of bool
        ``needs[i]`` is true when the backward pass wants the gradient with
        respect to parent ``i``.
    grad_destinations : tuple of (ndarray or None)
        Where the gradient of parent ``i`` may be written: for a parameter
        that this node is the first to reach in the backward pass, its slice
        of the trace's flat gradient (an op that writes there and returns
        that array saves the engine a copy); else ``None``. Empty when no
        parent has one.
    """

    def __init__(self, needs):
        self.needs = needs
        self.grad_destinations = ()
        self._buffers = {}
        self._scratch = set()
        self._at_point = {}

    def at_point(self, key, compute):
        """``compute()``, kept for the Hessian-vector products at one point.

        Second-order rules keep here what depends on where the objective is
        linearised but not on the direction (a loss's curvature weights, an
        activation's derivatives), so that every product at that point after
        the first costs only the direction's work. The products' driver
        forgets them when it moves to a new point.
        """
        value = self._at_point.get(key)
        if value is None:
            value = self._at_point[key] = compute()
        return value

    def grad_destination(self, i):
        """``grad_destinations[i]``, or ``None``."""
        destinations = self.grad_destinations
        return destinations[i] if i < len(destinations) else None

    def save(self, **values):
        """Keep ``values`` for the backward rule, as attributes of the context.

        ``ctx.save(out=s)`` then ``ctx.out`` in the backward rule. The
        backward rule must not modify them.
        """
        self.__dict__.update(values)

    def buffer(self, key, shape, dtype, order="C"):
        """Return an uninitialised array, reused across passes of the trace.

        ``order`` is its memory layout, ``"C"`` (row-major) or ``"F"``. A
        buffer filled by the forward rule is read-only to the backward rule;
        declare it with :meth:`scratch` instead if the backward rule
        overwrites it.
        """
        spec = (shape, dtype, order)
        entry = self._buffers.get(key)
        if entry is None or entry[0] != spec:
            entry = self._buffers[key] = (spec, np.empty(shape, dtype, order))
        return entry[1]

    def scratch(self, key, shape, dtype, order="C"):
        """A :meth:`buffer` of the forward rule that the backward rule overwrites.

        Declaring it lets the backward rule reuse the memory, and tells the
        trace that its forward results serve one backward pass only.
        """
        self._scratch.add(key)
        return self.buffer(key, shape, dtype, order)


class Trace:
    """The values (and, after backward, gradients) of one pass over a graph.

    Parameters
    ----------
    program : Program
        What to evaluate.

    Notes
    -----
    Reusing a trace for a further pass overwrites its values and lets ops
    reuse their buffers; keep one trace per thread. A trace made by
    :meth:`Program.forward` refers to the live parameter values;
    :meth:`Graph.forward` and :meth:`Graph.backward` freeze them, so such a
    trace stays consistent after later updates.
    """

    def __init__(self, program):
        self.program = program
        n_nodes = len(program.graph.nodes)
        self.values = [None] * n_nodes
        self.grads = [None] * n_nodes
        self.contexts = [None] * n_nodes
        #: After a backward pass: every parameter gradient in one flat vector
        #: laid out like ``graph.theta`` (``trace.grad(param)`` is a view).
        self.parameter_grad = None
        self._parameter_grads = []
        self._grad_layout = None  # the graph.theta that parameter_grad mirrors
        # False once a backward pass has used the forward results: a pass
        # through an op with scratch buffers must then run forward again.
        self._fresh = False
        for node in program.forward_nodes:
            self.contexts[node.index] = Context(program.needs.get(node.index, ()))

    def __getstate__(self):
        # Buffers and the views into the flat gradient would come back as
        # separate copies (pickle keeps no view relations): a copied trace
        # starts from fresh scratch space instead.
        state = self.__dict__.copy()
        state["parameter_grad"] = None
        state["_parameter_grads"] = []
        state["_grad_layout"] = None
        state["contexts"] = [
            None if ctx is None else Context(ctx.needs) for ctx in self.contexts
        ]
        return state

    def _spent(self):
        """Whether a backward pass overwrote forward results (scratch buffers)."""
        return not self._fresh and any(
            ctx is not None and ctx._scratch for ctx in self.contexts
        )

    def value(self, node):
        """The value of ``node`` in this pass."""
        return self.values[node.index]

    def grad(self, node):
        """dLoss/d``node`` in this pass (``None`` when none flowed there)."""
        return self.grads[node.index]


class Program:
    """The steps that evaluate some outputs of a graph, and optionally a gradient.

    Forward runs only the ancestors of ``outputs`` (so prediction needs no
    labels). Backward, when ``loss`` is given, visits in reverse only the nodes
    that lie on a path from a parameter to the loss, and asks each op only for
    the gradients of parents that lead to a parameter.

    The plan is made once, by the passes of ``skgraph/_passes.py`` (each a
    small pure function); :func:`reference_forward` and
    :func:`reference_backward` compute the same values and gradients without
    one, the lecture's way.

    Parameters
    ----------
    graph : Graph
    outputs : sequence of Node
    loss : Node, optional
        A scalar node to differentiate.
    """

    def __init__(self, graph, outputs, loss=None):
        self.graph = graph
        self.outputs = tuple(outputs)
        self.loss = loss
        targets = self.outputs + ((loss,) if loss is not None else ())
        needed = _passes.ancestors(graph.nodes, targets)
        self.forward_nodes = [node for node in graph.nodes if node.index in needed]
        self.inputs = [node for node in self.forward_nodes if isinstance(node, Input)]
        self.parameters = [
            node for node in self.forward_nodes if isinstance(node, Parameter)
        ]
        steps = _passes.forward_steps(self.forward_nodes)
        gathers = _passes.argument_getters(steps)
        self._forward_plan = _passes.forward_plan(steps, gathers)
        self.needs, backward_steps = {}, []
        if loss is not None:
            backward_steps, self.needs = _passes.backward_steps(
                self.forward_nodes, steps, loss
            )
        slots = {p.index: p.param_index for p in graph.parameters}
        self._backward_plan, self._grad_destinations = _passes.backward_plan(
            backward_steps, self.needs, gathers, slots
        )

    def forward(self, feed, trace=None):
        """Evaluate the outputs; returns the trace."""
        if trace is None:
            trace = Trace(self)
        return self.evaluate(self.bind(feed, trace))

    def bind(self, feed, trace):
        """Put the inputs' and parameters' values into ``trace``; returns it.

        A trace keeps them: a training loop binds its data once and then only
        calls :meth:`evaluate` (the parameter values are views of
        ``graph.theta``, so updates to it are seen).
        """
        values = trace.values
        for node in self.inputs:
            try:
                values[node.index] = feed[node]
            except KeyError:
                raise KeyError(
                    f"No value fed for input node {node.name!r}, which the "
                    "requested outputs depend on."
                ) from None
        # Live views of graph.theta, not copies: the training path binds its
        # data once and pays no copy of the parameters per pass.
        views = self.graph._views
        for node in self.parameters:
            values[node.index] = views[node.param_index]
        return trace

    def evaluate(self, trace):
        """Run the compute steps on the values bound in ``trace``; returns it."""
        values, contexts = trace.values, trace.contexts
        for index, forward, gather in self._forward_plan:
            values[index] = forward(contexts[index], *gather(values))
        trace._fresh = True
        return trace

    def backward(self, trace, grad_out=None):
        """Fill ``trace.grads`` by reverse-mode differentiation of ``loss``.

        Gradients reaching a node along several edges are summed (the
        multivariate chain rule); a parameter's land in its slice of the
        flat ``trace.parameter_grad``. Returns the trace.

        Raises
        ------
        RuntimeError
            When an earlier backward pass already overwrote this trace's
            forward results (an op declared :meth:`Context.scratch`
            buffers): run :meth:`forward` or :meth:`evaluate` again first.
        """
        if trace._spent():
            raise RuntimeError(
                "This trace's forward results were used up by a backward pass "
                "(an op overwrote its scratch buffers): run forward again "
                "before another backward pass."
            )
        trace._fresh = False
        # A parameter's gradient is summed straight into its slice of the
        # flat gradient (reused by later passes): no array is allocated for
        # the sum and none is kept alive for it.
        values, contexts = trace.values, trace.contexts
        grads = trace.grads = [None] * len(values)
        flat_grads = self._parameter_grads(trace)
        if grad_out is None:  # dLoss/dLoss = 1, typed like the loss
            loss_value = values[self.loss.index]
            grad_out = _UNIT_SEEDS.get(type(loss_value))
            if grad_out is None:
                grad_out = np.ones(np.shape(loss_value), np.result_type(loss_value))
        grads[self.loss.index] = grad_out
        for index, backward, gather, routes in self._backward_plan:
            grad = grads[index]
            if grad is None:
                continue
            parent_grads = backward(contexts[index], grad, *gather(values))
            for position, parent, slot in routes:
                parent_grad = parent_grads[position]
                if parent_grad is None:
                    continue
                previous = grads[parent]
                if previous is not None:
                    if slot is None:
                        grads[parent] = previous + parent_grad
                    else:
                        previous += parent_grad
                elif slot is None:
                    grads[parent] = parent_grad
                else:
                    view = flat_grads[slot]
                    if parent_grad is not view:  # not written in place
                        np.copyto(view, parent_grad)
                    grads[parent] = view
        for param in self.graph.parameters:  # nothing flowed there: zero
            if grads[param.index] is None:
                flat_grads[param.param_index].fill(0.0)
        return trace

    def _parameter_grads(self, trace):
        """The views of ``trace.parameter_grad``, one per parameter."""
        theta = self.graph.theta
        if trace._grad_layout is not theta:  # first pass, or the graph grew
            trace._grad_layout = theta
            flat = trace.parameter_grad = np.empty_like(theta)
            views = trace._parameter_grads = [
                flat[p.offset : p.offset + p.size].reshape(p.shape)
                for p in self.graph.parameters
            ]
            for index, slots in self._grad_destinations.items():
                trace.contexts[index].grad_destinations = tuple(
                    None if slot is None else views[slot] for slot in slots
                )
        return trace._parameter_grads

    def gradient_into(self, trace, out):
        """Write the parameter gradients of ``trace`` into the flat vector ``out``.

        Parameters the loss does not depend on get a zero gradient.
        """
        if trace.parameter_grad is None:  # no backward pass yet
            out.fill(0.0)
        else:
            np.copyto(out, trace.parameter_grad)
        return out


def _snapshot(trace):
    """Freeze the parameter values a trace refers to (they are live views)."""
    for param in trace.program.parameters:
        trace.values[param.index] = trace.values[param.index].copy()
    return trace


# -- the lecture's way -------------------------------------------------------------
#
# The same forward and backward passes with no planning, no buffer reuse and
# no in-place accumulation: the definition the fast Program is tested against.


def reference_forward(graph, feed):
    """Evaluate every node of ``graph`` in topological order, the lecture's way.

    Parameters
    ----------
    graph : Graph
    feed : dict of {Input: array-like}
        A value for every input node.

    Returns
    -------
    values : dict of {Node: value}
    contexts : dict of {Op: Context}
        What each op kept for its backward rule.
    """
    values, contexts = {}, {}
    for node in graph.nodes:  # creation order is a topological order
        if isinstance(node, Input):
            values[node] = feed[node]
        elif isinstance(node, Parameter):
            values[node] = node.value
        else:
            # Nothing flows back into an input: no gradient is wanted there.
            needs = tuple(not isinstance(p, Input) for p in node.parents)
            ctx = contexts[node] = Context(needs)
            values[node] = node.forward(ctx, *(values[p] for p in node.parents))
    return values, contexts


def reference_backward(graph, loss, feed):
    """Values and gradients of every node, by the chain rule in reverse order.

    Each node's gradient is the sum, over its children, of what their
    backward rules return for it (fan-in); ``loss`` starts with 1.

    Returns
    -------
    values : dict of {Node: value}
    grads : dict of {Node: ndarray}
        dLoss/d(node) for every node the loss depends on (``None`` where an
        op returned no gradient).
    """
    values, contexts = reference_forward(graph, feed)
    grads = {loss: np.ones_like(values[loss])}
    for node in reversed(graph.nodes):
        if not isinstance(node, Op) or grads.get(node) is None:
            continue
        parent_values = [values[p] for p in node.parents]
        parent_grads = node.backward(contexts[node], grads[node], *parent_values)
        for parent, grad in zip(node.parents, parent_grads, strict=True):
            if grad is not None:
                previous = grads.get(parent)
                grads[parent] = grad if previous is None else previous + grad
    return values, grads


def guarded_pass(program, feed, trace=None):
    """A forward and a backward pass in which backward rules cannot misuse memory.

    Between the passes, every value, saved array and forward :meth:`buffer
    <Context.buffer>` is made read-only, except the buffers an op declared
    with :meth:`Context.scratch`; the flags are restored afterwards. An op
    whose backward rule writes where it did not declare it would raises
    ``ValueError`` (numpy's "assignment destination is read-only"). For
    tests: it costs a little per pass.

    Parameters
    ----------
    program : Program
        A program with a ``loss``.
    feed : dict of {Input: array-like}
    trace : Trace, optional
        A trace of ``program`` to reuse (its buffers from earlier passes).

    Returns
    -------
    trace : Trace
    """
    trace = Trace(program) if trace is None else trace
    contexts = [ctx for ctx in trace.contexts if ctx is not None]
    filled = [_record_buffer_keys(ctx) for ctx in contexts]
    try:
        program.forward(feed, trace)
    finally:
        for ctx in contexts:
            del ctx.buffer  # the recorder: Context.buffer shows through again
    frozen = []
    for array in _forward_arrays(trace, contexts, filled):
        if array.flags.writeable:
            array.flags.writeable = False
            frozen.append(array)
    try:
        program.backward(trace)
    finally:
        for array in frozen:
            array.flags.writeable = True
    return trace


def _record_buffer_keys(ctx):
    """Make ``ctx`` note the keys of the buffers it hands out; returns the set."""
    keys = set()

    def buffer(key, shape, dtype, order="C"):
        keys.add(key)
        return Context.buffer(ctx, key, shape, dtype, order)

    ctx.buffer = buffer
    return keys


def _forward_arrays(trace, contexts, filled):
    """The arrays a backward rule may read but not write, without duplicates.

    The values, the buffers in ``filled`` (the keys each context handed out
    in the forward pass) other than scratch buffers, and the arrays saved
    on a context that share no memory with its scratch or backward buffers.
    """
    arrays = {id(v): v for v in trace.values if isinstance(v, np.ndarray)}
    for ctx, keys in zip(contexts, filled, strict=True):
        protected = keys - ctx._scratch
        kept = [ctx._buffers[key][1] for key in protected]
        others = [a for k, (_, a) in ctx._buffers.items() if k not in protected]
        for array in vars(ctx).values():
            if isinstance(array, np.ndarray) and not any(
                np.may_share_memory(array, other) for other in others
            ):
                kept.append(array)
        arrays.update((id(array), array) for array in kept)
    return arrays.values()


class Graph:
    """A computation graph: nodes in topological order, parameters in one vector.

    Parameters
    ----------
    dtype : {np.float64, np.float32}, default=np.float64
        The floating-point type of the parameters.

    Attributes
    ----------
    nodes : list of Node
        All nodes, in creation (= topological) order.
    parameters : list of Parameter
        The parameter nodes, in creation order; their values are consecutive
        slices of :attr:`theta`.
    theta : ndarray of shape (n_parameters,)
        Every parameter value, flattened and concatenated.
    """

    def __init__(self, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}.")
        self.nodes = []
        self.parameters = []
        self.theta = np.zeros(0, dtype=self.dtype)
        self._views = []
        self._programs = {}

    # -- building -------------------------------------------------------------
    def _unique_name(self, name):
        if all(node.name != name for node in self.nodes):
            return name
        taken = {node.name for node in self.nodes}
        k = 1
        while f"{name}_{k}" in taken:
            k += 1
        return f"{name}_{k}"

    def input(self, name, shape=None):
        """Add an :class:`Input` node (data fed at evaluation time)."""
        return Input(self, name, shape)

    def parameter(self, name, value):
        """Add a :class:`Parameter` node initialised to ``value``."""
        value = np.asarray(value, dtype=self.dtype)
        param = Parameter(self, name, value.shape)
        self.parameters.append(param)
        old = self.theta
        self._pack(np.concatenate([old, value.ravel()]))
        return param

    def _pack(self, theta):
        self.theta = theta
        self._views = []
        offset = 0
        for param in self.parameters:
            param.offset = offset
            self._views.append(theta[offset : offset + param.size].reshape(param.shape))
            offset += param.size
        self._programs = {}

    @property
    def n_parameters(self):
        """int : the length of the flat parameter vector."""
        return self.theta.size

    def get_flat(self):
        """A copy of all parameters as one flat vector."""
        return self.theta.copy()

    def set_flat(self, theta):
        """Overwrite all parameters from one flat vector (cast to ``dtype``)."""
        theta = np.asarray(theta)
        if theta.shape != self.theta.shape:
            raise ValueError(
                f"theta has shape {theta.shape}, expected {self.theta.shape}."
            )
        np.copyto(self.theta, theta, casting="unsafe")

    # -- evaluation -------------------------------------------------------------
    def program(self, outputs, loss=None):
        """The (cached) :class:`Program` evaluating ``outputs`` and d``loss``."""
        outputs = tuple(outputs) if isinstance(outputs, list | tuple) else (outputs,)
        key = (
            tuple(node.index for node in outputs),
            None if loss is None else loss.index,
        )
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = Program(self, outputs, loss)
        return program

    def forward(self, outputs, feed):
        """Run a forward pass and return its :class:`Trace`.

        Parameters
        ----------
        outputs : Node or sequence of Node
            What to compute; only their ancestors are evaluated.
        feed : dict of {Input: array-like}
            Values of the input nodes the outputs depend on.
        """
        return _snapshot(self.program(outputs).forward(feed))

    def backward(self, loss, feed, outputs=()):
        """Run a forward and a backward pass of ``loss``; return the trace.

        Every node on a path from a parameter to ``loss`` gets its gradient
        (``trace.grad(node)``); inputs never do.
        """
        outputs = tuple(outputs) if isinstance(outputs, list | tuple) else (outputs,)
        program = self.program((loss, *outputs), loss=loss)
        return _snapshot(program.backward(program.forward(feed)))

    def value_and_grad(self, loss, feed):
        """Return ``(loss value, flat parameter gradient)`` at the current ``theta``."""
        program = self.program((loss,), loss=loss)
        trace = program.backward(program.forward(feed))
        grad = program.gradient_into(trace, np.empty_like(self.theta))
        return float(trace.values[loss.index]), grad

    def hessian_vector_product(self, loss, feed, direction):
        """The product of the Hessian of ``loss`` with ``direction``, as a trace.

        Forward over reverse (see :mod:`skgraph._second_order`): a forward
        and a backward pass at the current ``theta``, then one more sweep in
        which every op applies its second-order rules (``jvp``, ``hvp``).

        Parameters
        ----------
        loss : Node
            A scalar node.
        feed : dict of {Input: array-like}
        direction : ndarray of shape (n_parameters,)
            ``v``, laid out like :attr:`theta`.

        Returns
        -------
        sweep : Trace
            ``sweep.parameter_grad`` is ``H v``; each node's value in the
            sweep is its tangent along ``v`` and its gradient the tangent of
            its gradient (``None`` where zero): ``draw(sweep)`` shows them.
        """
        from skgraph._second_order import HessianVectorProduct  # imports Trace

        product = HessianVectorProduct(self.program((loss,), loss=loss))
        product.linearize(feed)
        return product.sweep(direction)

    # -- inspection -------------------------------------------------------------
    def __getitem__(self, name):
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(
            f"No node named {name!r}; nodes are {[n.name for n in self.nodes]}."
        )

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        counts = {}
        for node in self.nodes:
            counts[node.kind] = counts.get(node.kind, 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        return f"<Graph: {summary}; {self.n_parameters} parameter values>"

    def to_dot(self, trace=None, *, values=True, grads=True, precision=3):
        """Render the graph as Graphviz DOT text.

        Every node is labelled with its name, kind and shape. Given a trace,
        each node also shows its value (drawn forward) and its gradient
        (drawn backward), like the lecture's figures.

        Parameters
        ----------
        trace : Trace, optional
            A pass whose values and gradients annotate the nodes.
        values, grads : bool, default=True
            Which annotations to show when ``trace`` is given.
        precision : int, default=3
            Significant digits of printed numbers.

        Returns
        -------
        dot : str
        """
        return _render.graph_to_dot(
            self, trace, values=values, grads=grads, precision=precision
        )

    def draw(
        self,
        trace=None,
        *,
        values=True,
        grads=True,
        precision=3,
        ax=None,
        title=None,
        fontsize=9.0,
        legend=True,
    ):
        """Draw the graph with matplotlib (no Graphviz needed).

        A layered drawing from left to right: a compute node's column is its
        topological depth, and inputs and parameters sit next to the node that
        uses them. Each node is a box coloured by its kind, labelled with its
        name, kind and shape and, given a trace, its value (blue) and gradient
        (red).

        Parameters
        ----------
        trace : Trace, optional
            A pass whose values and gradients annotate the nodes.
        values, grads : bool, default=True
            Which annotations to show when ``trace`` is given.
        precision : int, default=3
            Significant digits of printed numbers.
        ax : matplotlib Axes, optional
            Where to draw; by default a new pyplot figure sized to the graph.
        title : str, optional
            A title above the graph.
        fontsize : float, default=9.0
        legend : bool, default=True
            Whether to explain the colours under the graph.

        Returns
        -------
        figure : matplotlib.figure.Figure
        """
        return _render.draw_graph(
            self,
            trace,
            values=values,
            grads=grads,
            precision=precision,
            ax=ax,
            title=title,
            fontsize=fontsize,
            legend=legend,
        )

    def save(
        self,
        path,
        trace=None,
        *,
        values=True,
        grads=True,
        precision=3,
        engine="auto",
        dpi=150,
    ):
        """Write the graph to a ``.dot``, ``.svg``, ``.png`` or ``.pdf`` file.

        ``.dot`` (or ``.gv``) files hold the text of :meth:`to_dot`. Pictures
        are rendered by Graphviz's ``dot`` program when it is installed, and
        otherwise by :meth:`draw` (matplotlib), so they never need Graphviz.

        Parameters
        ----------
        path : str or path-like
            The file to write; its suffix chooses the format.
        trace : Trace, optional
            A pass whose values and gradients annotate the nodes.
        values, grads : bool, default=True
            Which annotations to show when ``trace`` is given.
        precision : int, default=3
            Significant digits of printed numbers.
        engine : {"auto", "graphviz", "matplotlib"}, default="auto"
            Who renders pictures: Graphviz when available (``"auto"``), only
            Graphviz (an error without it) or always matplotlib.
        dpi : int, default=150
            Resolution of ``.png`` files drawn by matplotlib.

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        return _render.save_graph(
            self,
            path,
            trace,
            values=values,
            grads=grads,
            precision=precision,
            engine=engine,
            dpi=dpi,
        )

    def _repr_svg_(self):
        """Jupyter: the graph as SVG, drawn by Graphviz or else by matplotlib
        (``None`` with neither)."""
        return _render.graph_svg(self)

    def _repr_html_(self):
        """Jupyter with neither Graphviz nor matplotlib: the DOT text and how
        to get a picture (``None`` otherwise: ``_repr_svg_`` shows one)."""
        if _render.graphviz_available() or _render.matplotlib_available():
            return None
        return _render.dot_fallback_html(self.to_dot())

    # -- pickling ---------------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_views"] = None
        state["_programs"] = {}
        state["dtype"] = self.dtype.name  # a string: no numpy type to trust
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.dtype = np.dtype(self.dtype)
        for node in self.nodes:  # the links that Node.__getstate__ leaves out
            node.graph = self
            if isinstance(node, Op):
                node.parents = tuple(self.nodes[i] for i in node.parents)
        self._pack(self.theta)
