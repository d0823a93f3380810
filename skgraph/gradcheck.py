"""Finite-difference check of backpropagated gradients."""

from __future__ import annotations

import numpy as np

from skgraph._optimize import GraphObjective
from skgraph.graph import Graph

__all__ = ["check_gradients", "GradientCheck"]


class GradientCheck(dict):
    """Worst relative error per parameter name (a dict), with the details.

    The relative error of a parameter is
    ``max_j |backprop_j - numeric_j| / max(max_j |backprop_j|, max_j |numeric_j|)``
    over the checked entries ``j``.

    Attributes
    ----------
    max_error : float
        The worst error over all parameters.
    backprop, numeric : dict of {str: ndarray}
        The compared gradients of the checked entries.
    """

    @property
    def max_error(self):
        return max(self.values(), default=0.0)

    def __repr__(self):
        rows = ", ".join(f"{name}: {err:.2e}" for name, err in self.items())
        return f"GradientCheck({rows})"


def check_gradients(
    model,
    X=None,
    y=None,
    *,
    sample_weight=None,
    loss=None,
    feed=None,
    eps=None,
    max_entries=200,
    random_state=0,
):
    """Compare backpropagation with central finite differences.

    Parameters
    ----------
    model : Graph or fitted skgraph estimator
        A graph (then give ``loss`` and ``feed``), or a fitted estimator (then
        give ``X`` and ``y``): its full training objective on that data is
        checked at its fitted parameters.
    X : {array-like, sparse matrix} of shape (n_samples, n_features), optional
    y : array-like, optional
    sample_weight : array-like of shape (n_samples,), optional
    loss : Node, optional
        The scalar node of ``model`` (a graph) to differentiate.
    feed : dict of {Input: array-like}, optional
        Input values for ``model`` (a graph).
    eps : float, optional
        Relative step; by default the cube root of the dtype's machine
        epsilon (the best order for central differences).
    max_entries : int or None, default=200
        Check at most this many entries of each parameter, chosen at random
        (``None``: all of them).
    random_state : int, default=0
        Seeds the choice of entries.

    Returns
    -------
    GradientCheck
        ``{parameter name: worst relative error}``.

    Examples
    --------
    >>> import numpy as np
    >>> from skgraph import LogisticRegressionGraph, check_gradients
    >>> X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, -1.0], [3.0, 0.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> clf = LogisticRegressionGraph().fit(X, y)
    >>> check_gradients(clf, X, y).max_error < 1e-6
    True
    """
    if isinstance(model, Graph):
        if loss is None or feed is None:
            raise ValueError("Checking a graph needs its `loss` node and a `feed`.")
        graph = model
    else:
        if X is None or y is None:
            raise ValueError("Checking an estimator needs the data `X` and `y`.")
        graph, loss, feed = model._training_objective(X, y, sample_weight)
    objective = GraphObjective(graph, loss, feed)
    theta0 = graph.get_flat().astype(np.float64)
    if eps is None:
        eps = float(np.finfo(graph.dtype).eps) ** (1.0 / 3.0)
    rng = np.random.default_rng(random_state)
    try:
        _, backprop = objective(theta0)
        result = GradientCheck()
        result.backprop, result.numeric = {}, {}
        for param in graph.parameters:
            entries = np.arange(param.size)
            if max_entries is not None and param.size > max_entries:
                entries = np.sort(rng.choice(param.size, max_entries, replace=False))
            numeric = np.empty(entries.size)
            theta = theta0.copy()
            for k, j in enumerate(entries):
                i = param.offset + j
                h = eps * max(1.0, abs(theta0[i]))
                theta[i] = theta0[i] + h
                up, _ = objective(theta)
                theta[i] = theta0[i] - h
                down, _ = objective(theta)
                theta[i] = theta0[i]
                numeric[k] = (up - down) / (2.0 * h)
            exact = backprop[param.offset + entries]
            scale = max(
                np.abs(exact).max(initial=0.0), np.abs(numeric).max(initial=0.0)
            )
            diff = np.abs(exact - numeric).max(initial=0.0)
            result[param.name] = 0.0 if scale == 0.0 else float(diff / scale)
            result.backprop[param.name] = exact
            result.numeric[param.name] = numeric
    finally:
        graph.set_flat(theta0)
    return result
