"""The types a saved skgraph model is made of, for skops' ``trusted=`` list."""

from __future__ import annotations

from skgraph import _stochastic, graph, layers, networks, ops


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def trusted_types():
    """The names of skgraph's types that a saved estimator can hold.

    skops (``skops.io.load``) builds only the types it trusts; scikit-learn's
    and numpy's it trusts by default, skgraph's it must be told. This list is
    exactly skgraph's own: the estimators, the graph's node kinds, every op of
    :mod:`skgraph.ops`, the network handles and the state of the stochastic
    solvers. A file that needs any other type (a custom op of your own, or
    something planted) still fails to load unless you trust it as well.

    Returns
    -------
    names : list of str
        Fully qualified type names, e.g. ``"skgraph.ops.Affine"``, sorted.

    Examples
    --------
    >>> import skgraph
    >>> "skgraph.graph.Graph" in skgraph.trusted_types()
    True
    """
    from skgraph.onnx import _estimator_classes

    estimators = _estimator_classes()
    engine = [graph.Graph, graph.Input, graph.Parameter, networks.Network]
    engine += [layers.LayerNodes, layers.Dense, layers.Dropout]
    solver_state = [_stochastic.SGD, _stochastic.Adam, _stochastic.TrainingState]
    op_classes = [
        obj
        for obj in vars(ops).values()
        if isinstance(obj, type)
        and issubclass(obj, graph.Op)
        and obj.__module__ == ops.__name__
        and not obj.__name__.startswith("_")
    ]
    return sorted(
        _type_name(cls) for cls in estimators + engine + solver_state + op_classes
    )
