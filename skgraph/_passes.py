"""The analyses that turn a graph into a :class:`~skgraph.graph.Program`.

Each pass is a pure function of the graph (and of what earlier passes
found): it reads nodes and returns plain lists, sets and dicts, and changes
nothing. :class:`~skgraph.graph.Program` composes them in this order:

1. :func:`ancestors`: which nodes the requested outputs need (forward pass).
2. :func:`forward_steps`: the compute steps among them, in topological order.
3. :func:`depends_on_parameters`: which nodes a parameter can change.
4. :func:`backward_steps`: the steps the backward pass visits, in reverse,
   and which of each step's parents want a gradient (``ctx.needs``).
5. :func:`forward_plan` and :func:`backward_plan`: the per-pass loops'
   instructions, resolved once: bound rules, argument getters, where each
   parent gradient goes and which steps may write a parameter's gradient
   straight into the flat gradient vector.

The lecture's version of the same computation, with none of this planning,
is :func:`skgraph.graph.reference_forward` and
:func:`skgraph.graph.reference_backward`.
"""

from __future__ import annotations

from operator import itemgetter

__all__ = [
    "ancestors",
    "forward_steps",
    "depends_on_parameters",
    "backward_steps",
    "argument_getters",
    "forward_plan",
    "backward_plan",
]


def ancestors(nodes, targets):
    """The indices of ``targets`` and of every node they are computed from.

    ``nodes`` is a topologically ordered node list (a graph's, or a subset
    closed under parents). One reverse sweep suffices: a node's parents come
    before it, so each is reached after all of its children.
    """
    needed = {node.index for node in targets}
    for node in reversed(nodes):
        if node.index in needed and node.kind == "compute":
            needed.update(p.index for p in node.parents)
    return needed


def forward_steps(nodes):
    """The compute steps of ``nodes``: ``[(op, index, parent indices)]``.

    Kept in the given (topological) order, so running them in sequence finds
    every argument already computed.
    """
    return [
        (node, node.index, [p.index for p in node.parents])
        for node in nodes
        if node.kind == "compute"
    ]


def depends_on_parameters(nodes):
    """The indices of the nodes whose value a parameter can change.

    A gradient can only be non-zero along these nodes: the backward pass
    skips the others (data preprocessing, labels, weights).
    """
    trainable = set()
    for node in nodes:
        if node.kind == "parameter" or (
            node.kind == "compute" and any(p.index in trainable for p in node.parents)
        ):
            trainable.add(node.index)
    return trainable


def backward_steps(nodes, steps, loss):
    """The steps of reverse-mode differentiation of ``loss``, and their needs.

    A step is visited when it lies on a path from a parameter to ``loss``
    (it depends on a parameter and the loss depends on it). Returns
    ``(steps in reverse order, {index: needs})`` where ``needs[i]`` tells
    whether parent ``i`` wants a gradient: an op is never asked for one that
    would be thrown away.
    """
    trainable = depends_on_parameters(nodes)
    reaches_loss = ancestors(nodes, (loss,))
    needs, visited = {}, []
    for node, index, parents in reversed(steps):
        if index in trainable and index in reaches_loss:
            needs[index] = tuple(p in trainable for p in parents)
            visited.append((node, index, parents))
    return visited, needs


def argument_getters(steps):
    """``{index: gather}`` where ``gather(values)`` lists a step's arguments.

    The getters are ``operator.itemgetter`` objects: a C-level lookup.
    """
    # A one-parent itemgetter would return the value, not a tuple: a slice
    # of length one keeps every getter's result unpackable with ``*``.
    return {
        index: itemgetter(slice(parents[0], parents[0] + 1))
        if len(parents) == 1
        else itemgetter(*parents)
        for _, index, parents in steps
    }


def forward_plan(steps, gathers):
    """``[(index, bound forward rule, argument getter)]`` per compute step."""
    # Resolved once so that the per-pass loop does no attribute or dict
    # lookups: small batches pay for every per-step Python operation.
    return [(index, node.forward, gathers[index]) for node, index, _ in steps]


def backward_plan(steps, needs, gathers, parameter_slots):
    """The backward loop's instructions and the in-place gradient destinations.

    Parameters
    ----------
    steps : list
        The backward steps, in the order they run (:func:`backward_steps`).
    needs : dict
        ``{index: needs}`` from :func:`backward_steps`.
    gathers : dict
        ``{index: argument getter}`` from :func:`argument_getters`.
    parameter_slots : dict
        ``{parameter node index: its position in graph.parameters}``.

    Returns
    -------
    plan : list of (index, bound backward rule, argument getter, routes)
        ``routes`` lists ``(position, parent index, slot)`` for each parent
        that wants a gradient; ``slot`` is the parent's parameter slot, or
        ``None`` for a node that is no parameter.
    destinations : dict of {index: tuple}
        For each step that is the first to reach some parameter, the slot
        of each such parent (``None`` for the others): that step may write
        the parameter's gradient straight into the flat gradient vector.
        Later steps reaching the same parameter add to it.
    """
    plan, destinations, reached = [], {}, set()
    for node, index, parents in steps:
        routes, slots = [], []
        for position, (parent, need) in enumerate(
            zip(parents, needs[index], strict=True)
        ):
            slot = parameter_slots.get(parent)
            first = need and slot is not None and parent not in reached
            slots.append(slot if first else None)
            if need:
                routes.append((position, parent, slot))
            reached.add(parent)
        if any(slot is not None for slot in slots):
            destinations[index] = tuple(slots)
        plan.append((index, node.backward, gathers[index], tuple(routes)))
    return plan, destinations
