"""Targets and sample weights of a training set, as pure functions.

Class weights (as scikit-learn 1.9 computes them, from class totals alone),
the encoding of class codes as the loss node's targets, the weight of each
sample and the check of the weights' sum: functions of arrays, so that the
in-memory fit and the Dask fit (which applies them chunk by chunk, on the
cluster) share them.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

__all__ = [
    "class_totals",
    "encode_codes",
    "normalized",
    "output_link",
    "per_class_weights",
    "weight_total",
    "weighted_by_class",
]


def output_link(n_classes):
    """The output link of a single-label classifier: sigmoid for two classes."""
    return "logistic" if n_classes == 2 else "softmax"


def encode_codes(codes, n_classes, dtype):
    """The loss node's targets for the class indices ``codes``.

    One 0/1 column for two classes; otherwise one-hot rows, column-major like
    the softmax logits of :func:`~skgraph.networks.mlp_graph`.
    """
    if n_classes == 2:
        return codes.astype(dtype)[:, None]
    Y = np.zeros((codes.shape[0], n_classes), dtype=dtype, order="F")
    Y[np.arange(codes.shape[0]), codes] = 1.0
    return Y


def class_totals(codes, sample_weight, n_classes):
    """``S_k``: the sum of the sample weights of each class's samples."""
    return np.bincount(codes, weights=sample_weight, minlength=n_classes)


def weighted_by_class(sample_weight, codes, per_class):
    """``s_i = sample_weight_i * class_weight[y_i]``, in ``sample_weight``'s dtype."""
    return sample_weight * per_class[codes].astype(sample_weight.dtype)


def normalized(loss_weights, total, dtype, out=None):
    """``s_i / S`` in ``dtype``: the weights the loss nodes are fed.

    The one place the loss weights are normalised (``out``: in place, as a
    mini-batch does with its own sum).
    """
    if out is None:
        return loss_weights / dtype.type(total)  # also a Dask array's, lazily
    return np.divide(loss_weights, dtype.type(total), out=out)


def weight_total(loss_weights):
    """``S``, the sum of the weights ``s_i`` (float64), checked to be positive.

    The one check of the weights' sum, made by the data sources.
    ``loss_weights`` may be a NumPy or a Dask array (whose sum is computed).
    """
    total = float(loss_weights.sum(dtype=np.float64))
    if not total > 0.0:
        raise ValueError(
            f"The sample weights (times class weights) sum to {total}; they must "
            "have a positive sum."
        )
    return total


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
