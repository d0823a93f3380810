"""What a fit trains on: encoded targets and validated data, in one record.

Made by the estimators' data sources (in memory in :mod:`skgraph._base`, on a
Dask cluster in :mod:`skgraph._dask`) and read by the objectives.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TrainingData"]


class _Targets:
    """Encoded targets of a training set.

    Attributes
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
        What the loss node is fed: one 0/1 column for a binary problem, one
        per label for multilabel, one-hot rows for multiclass (a regressor:
        the targets themselves).
    codes : ndarray of shape (n_samples,) or None
        Class index of each sample (``None`` for multilabel and regression).
    output : str
        The link (and fused loss) of the output layer.
    """

    def __init__(self, Y, codes, output):
        self.Y = Y
        self.codes = codes
        self.output = output


@dataclass
class TrainingData:
    """Validated and encoded training data, in memory or on a Dask cluster.

    Attributes
    ----------
    X : {ndarray, sparse matrix, dask.array.Array} of shape (n_samples, n_features)
        In the dtype the solver works in.
    y : array-like
        The validated targets, as given (for the callbacks).
    targets : _Targets
    loss_weights : array of shape (n_samples,) or None
        ``s_i``, the weight of sample ``i``'s loss term: its sample weight
        times its class weight, not normalised; ``None`` when every sample
        weighs one. (``Network.weights`` are the layers' weight matrices.)
    sample_weight : ndarray of shape (n_samples,) or None
        The validated sample weights; ``None`` when unweighted.
    total : float
        ``S = sum_i s_i``, checked positive (:func:`~skgraph._weights.weight_total`).
    model_dtype : dtype
        The dtype of the fitted model (that of ``X`` as given).
    distributed : bool
        Whether the data are Dask arrays.
    """

    X: object
    y: object
    targets: _Targets
    loss_weights: object
    sample_weight: object
    total: float
    model_dtype: object
    distributed: bool = False
