"""Class weights, as scikit-learn 1.9 computes them, from class totals alone.

A pure function of small arrays, so that the in-memory fit and the Dask fit
(which sums the classes' weights on the cluster) share it.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

__all__ = ["per_class_weights"]


def per_class_weights(class_weight, classes, class_totals):
    """The weight of each class, in the order of ``classes``.

    Parameters
    ----------
    class_weight : dict or "balanced"
        A dict maps labels to weights (a missing label weighs 1); scikit-learn's
        rules and messages apply, so a key that names no class raises
        ``ValueError: The classes, [...], are not in class_weight``.
        ``"balanced"`` gives class ``k`` the weight ``S / (K * S_k)``.
    classes : ndarray of shape (n_classes,)
        The fitted ``classes_``.
    class_totals : ndarray of shape (n_classes,)
        ``S_k``, the sum of the sample weights of class ``k``'s samples
        (read only for ``"balanced"``).

    Returns
    -------
    ndarray of shape (n_classes,), float64
        A class whose samples weigh 0 in total gets weight 0 under
        ``"balanced"`` (scikit-learn divides by zero): its samples contribute
        nothing either way.
    """
    if isinstance(class_weight, str) and class_weight == "balanced":
        class_totals = np.asarray(class_totals, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = class_totals.sum() / (len(classes) * class_totals)
        weights[~np.isfinite(weights)] = 0.0
        return weights
    # scikit-learn's own dict handling: label matching and error messages.
    return np.asarray(
        compute_class_weight(class_weight, classes=classes, y=classes),
        dtype=np.float64,
    )
