"""Finite-difference check of backpropagated gradients."""

from __future__ import annotations

import numpy as np

from skgraph._objectives import GraphObjective
from skgraph.graph import Graph

__all__ = ["check_gradients", "GradientCheck"]

#: Errors above these mean a wrong gradient, by the graph's dtype. Correct
#: gradients give errors near the noise of central differences, about
#: ``eps ** (2/3)`` (1e-11 in float64, 1e-5 in float32; see check_gradients).
THRESHOLDS = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-2}


class GradientCheck(dict):
    """Worst relative error per parameter name (a dict), with the details.

    The error of entry ``j`` of a parameter is

    ``|backprop_j - numeric_j| / max(max_k |backprop_k|, max_k |numeric_k|,
    |objective| / unit_j)``

    over the parameter's checked entries ``k``, and a parameter's error is
    the worst over its entries. ``unit_j`` is the scale on which the
    objective varies with that entry (see :func:`check_gradients`), so
    ``|objective| / unit_j`` is the slope of a change of the objective by its
    own size over that scale: a gradient much smaller than that (as at an
    optimum) is compared with that slope instead of with itself, where
    finite differences can only give noise.

    Attributes
    ----------
    max_error : float
        The worst error over all parameters.
    threshold : float
        Errors above it mean a wrong gradient: 1e-6 for float64 graphs,
        1e-2 for float32 ones.
    passed : bool
        Whether ``max_error <= threshold``.
    backprop, numeric : dict of {str: ndarray}
        The compared gradients of the checked entries.
    """

    threshold = THRESHOLDS[np.dtype(np.float64)]

    @property
    def max_error(self):
        return max(self.values(), default=0.0)

    @property
    def passed(self):
        return self.max_error <= self.threshold

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
        Step relative to each entry's scale ``unit_j``; by default the cube
        root of the dtype's machine epsilon (the best order for central
        differences).
    max_entries : int or None, default=200
        Check at most this many entries of each parameter, chosen at random
        (``None``: all of them).
    random_state : int, default=0
        Seeds the choice of entries.

    Returns
    -------
    GradientCheck
        ``{parameter name: worst relative error}``; ``.passed`` tells whether
        every error is under ``.threshold``.

    Notes
    -----
    **What the error means.** Central differences differ from the true
    derivative by truncation (the step times the third derivative) and by
    rounding (the objective's rounding error over the step), together about
    ``eps_mach ** (2/3)`` of the objective's slope over the scale ``unit_j``
    on which it varies with entry ``j``. The error of an entry is therefore
    measured against the larger of the parameter's largest gradient and that
    slope, ``|objective| / unit_j`` (see :class:`GradientCheck`). So the
    error of a correct gradient is about 1e-11 in float64 and 1e-5 in
    float32 at any point, an optimum included, on scaled or unscaled data
    (ReLU kinks inside a step can add a little). A wrong gradient (a factor
    off, a missing term) reads as the fraction by which it is wrong where
    the gradient is larger than that slope, and as that fraction scaled
    down by the gradient's size against the slope where it is smaller: a
    gradient wrong by 1% gave errors of 4e-4 to 1e-2 on unscaled data, from
    the start of a fit to its optimum.

    **Threshold.** An error above 1e-6 (float64 graphs) or 1e-2 (float32
    graphs) means a wrong gradient; ``GradientCheck.passed`` applies it.
    float32 rounding hides errors of a few percent, so check new ops in
    float64.

    **Step per entry.** ``unit_j`` starts as ``max(1, |theta_j|)``. Where the
    second difference shows that the objective curves on a much shorter
    scale (parameters of features with large values, say), ``unit_j``
    shrinks to ``sqrt(|objective| / |curvature_j|)`` and the difference is
    taken again with the step ``eps * unit_j``. Steps are rounded to the
    graph's dtype, and the numeric derivative uses the step actually taken.

    Examples
    --------
    >>> import numpy as np
    >>> from skgraph import LogisticRegressionGraph, check_gradients
    >>> X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, -1.0], [3.0, 0.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> clf = LogisticRegressionGraph().fit(X, y)
    >>> result = check_gradients(clf, X, y)
    >>> result.passed, result.max_error < 1e-6
    (True, True)
    """
    graph, loss, feed = _objective_parts(model, X, y, sample_weight, loss, feed)
    objective = GraphObjective(graph, loss, feed)
    theta0 = graph.get_flat().astype(np.float64)
    if eps is None:
        eps = float(np.finfo(graph.dtype).eps) ** (1.0 / 3.0)
    rng = np.random.default_rng(random_state)
    try:
        value0, backprop = objective(theta0)
        differences = _CentralDifferences(objective, graph, theta0, value0, eps)
        result = GradientCheck()
        result.threshold = THRESHOLDS[graph.dtype]
        result.backprop, result.numeric = {}, {}
        for param in graph.parameters:
            entries = np.arange(param.size)
            if max_entries is not None and param.size > max_entries:
                entries = np.sort(rng.choice(param.size, max_entries, replace=False))
            numeric, slope_floor = differences.of_entries(param.offset + entries)
            exact = backprop[param.offset + entries]
            result[param.name] = _worst_error(exact, numeric, slope_floor)
            result.backprop[param.name] = exact
            result.numeric[param.name] = numeric
    finally:
        graph.set_flat(theta0)
    return result


def _objective_parts(model, X, y, sample_weight, loss, feed):
    """``(graph, loss node, feed)`` of a graph, or of a fitted estimator's data."""
    if isinstance(model, Graph):
        if loss is None or feed is None:
            raise ValueError("Checking a graph needs its `loss` node and a `feed`.")
        return model, loss, feed
    if X is None or y is None:
        raise ValueError("Checking an estimator needs the data `X` and `y`.")
    return model._training_objective(X, y, sample_weight)


def _worst_error(exact, numeric, slope_floor):
    """The worst relative error of one parameter (see :class:`GradientCheck`)."""
    largest = max(np.abs(exact).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    scale = np.maximum(largest, slope_floor)
    diff = np.abs(exact - numeric)
    errors = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    return float(errors.max(initial=0.0))


class _CentralDifferences:
    """Central differences of an objective at ``theta0``, entry by entry."""

    def __init__(self, objective, graph, theta0, value0, eps):
        self.objective, self.dtype = objective, graph.dtype
        self.theta0, self.theta, self.value0 = theta0, theta0.copy(), value0
        self.eps, self.machine_eps = eps, float(np.finfo(graph.dtype).eps)

    def at(self, i, step):
        """``(derivative, objective up, objective down)`` at entry ``i``."""
        theta, theta0 = self.theta, self.theta0
        # The graph holds its dtype: the step is the one that dtype takes.
        up, down = (float(self.dtype.type(theta0[i] + sign * step)) for sign in (1, -1))
        theta[i] = up
        value_up, _ = self.objective(theta)
        theta[i] = down
        value_down, _ = self.objective(theta)
        theta[i] = theta0[i]
        return (value_up - value_down) / (up - down), value_up, value_down

    def of_entries(self, indices):
        """Numeric derivatives at ``indices`` of theta, and each slope floor."""
        eps, machine_eps, value0 = self.eps, self.machine_eps, self.value0
        numeric = np.empty(indices.size)
        slope_floor = np.empty(indices.size)
        for k, i in enumerate(indices):
            unit = max(1.0, abs(self.theta0[i]))
            step = eps * unit
            numeric[k], value_up, value_down = self.at(i, step)
            size = max(abs(value0), abs(value_up), abs(value_down))
            curvature = abs(value_up + value_down - 2.0 * value0) / step**2
            # Trust a second difference above the rounding of the values.
            if curvature * step**2 > 8.0 * machine_eps * size:
                natural = np.sqrt(size / curvature)
                if natural < 0.5 * unit:
                    unit = max(natural, np.sqrt(machine_eps) * unit)
                    numeric[k], _, _ = self.at(i, eps * unit)
            slope_floor[k] = abs(value0) / unit
        return numeric, slope_floor
