"""Data-parallel backpropagation on a Dask cluster.

The training objective is a weighted sum over samples plus a penalty,

    1/S sum_i s_i loss_i + l2_alpha/(2S) ||W||^2,

so it splits over the row chunks of the data: each worker runs the forward
and backward pass of the *same graph* on the chunks it holds, and the driver
adds the chunk losses and gradients and the penalty. The chunks are built into
per-chunk objectives once, on the workers that hold them; each iteration then
only sends the parameter vector out and one gradient per chunk back.

Dask is optional (``pip install skgraph[dask]``); this module imports it
lazily.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import is_regressor

from skgraph import _weights
from skgraph._objectives import GraphObjective, Objective
from skgraph._training_data import TrainingData, _Targets

__all__ = ["is_dask_collection", "DaskObjective"]

_SCATTER_BYTES = 64 * 1024


def is_dask_collection(obj):
    """True for a Dask array (or another Dask collection), without importing Dask."""
    module = type(obj).__module__
    if not module.startswith("dask"):
        return False
    from dask import is_dask_collection as _is_dask

    return _is_dask(obj)


def _get_client(client):
    try:
        from distributed import get_client
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "Fitting on Dask arrays needs `distributed`: pip install 'skgraph[dask]'."
        ) from exc
    if client is not None:
        return client
    try:
        return get_client()
    except ValueError as exc:
        raise RuntimeError(
            "Fitting on Dask arrays needs a running distributed.Client (for example "
            "`Client(LocalCluster())`); none was found."
        ) from exc


class _ChunkObjective:
    """The data term of one row chunk: ``theta -> (sum over chunk, gradient)``.

    Lives on the worker that holds the chunk; owns its own copy of the graph,
    so chunks on one multi-threaded worker never share mutable state.
    """

    def __init__(self, network, X, Y, sample_weight):
        self.network = network
        # A chunk deserialised from the network can start at an unaligned
        # address, which sends numpy and BLAS down slow paths at every
        # evaluation: align it once, here. The penalty is the driver's.
        X, Y, sample_weight = (_aligned(a) for a in (X, Y, sample_weight))
        feed = network.feed(X, Y, sample_weight, 0.0)
        self.objective = GraphObjective(network.graph, network.loss, feed)

    def __call__(self, theta):
        return self.objective(theta)


def _aligned(array):
    if isinstance(array, np.ndarray):
        return np.require(array, requirements=("C", "A"))
    return array


def _build_chunk(network, X, Y, sample_weight):
    return _ChunkObjective(network, X, Y, sample_weight)


def _placement(worker):
    """Run on ``worker`` when it can; elsewhere (a lost worker's chunks) when not."""
    if worker is None:
        return {}
    return {"workers": [worker], "allow_other_workers": True}


def _evaluate_chunks(chunks, theta):
    """Sum of the loss and gradient of the chunks held by one worker."""
    loss, grad = chunks[0](theta)
    for chunk in chunks[1:]:
        chunk_loss, chunk_grad = chunk(theta)
        loss += chunk_loss
        grad += chunk_grad
    return loss, grad


class DaskObjective(Objective):
    """Dask chunks: ``theta -> (loss, grad)`` of a network's objective.

    The data term is summed over the row chunks, each evaluated by a
    :class:`~skgraph._objectives.GraphObjective` on the worker that holds
    it; the driver adds the penalty.

    Parameters
    ----------
    network : Network
        The graph and its handles (its parameters' values are not used).
    X : dask.array.Array of shape (n_samples, n_features)
    Y : dask.array.Array of shape (n_samples, n_outputs)
        Encoded targets, as fed to the loss node.
    loss_weights : dask.array.Array of shape (n_samples,)
        ``s_i``, not normalised.
    l2_alpha : float
        The L2 strength against the summed loss (``alpha``, ``1/C``).
    total : float
        ``S``, as the data source checked it.
    client : distributed.Client, optional
        Defaults to the current client.

    Attributes
    ----------
    sample_weight : dask.array.Array of shape (n_samples,)
        ``s_i / S``, as the chunks are fed.
    l2_strength : float
        What the graph's penalty input is fed, ``l2_alpha / S``.
    n_chunks : int
        Number of row chunks (= tasks per evaluation).
    n_calls : int
        Evaluations so far.
    """

    def __init__(self, network, X, Y, loss_weights, l2_alpha, total, client=None):
        import dask

        self.client = _get_client(client)
        self.network = network
        self.X = X
        self.l2_strength = float(l2_alpha) / total
        self.sample_weight = _weights.normalized(loss_weights, total, X.dtype)
        X = X.rechunk({1: -1})
        rows = X.chunks[0]
        Y = Y.rechunk((rows, -1))
        sample_weight = self.sample_weight.rechunk((rows,))
        build = dask.delayed(_build_chunk, pure=False)
        network_data = dask.delayed(network, traverse=False)
        chunks = [
            build(network_data, x, y, w)
            for x, y, w in zip(
                X.to_delayed().ravel(),
                Y.to_delayed().ravel(),
                sample_weight.to_delayed().ravel(),
                strict=True,
            )
        ]
        # Place the chunks so that every worker holds about as many rows (the
        # slowest worker sets the pace of each iteration), then evaluate with
        # one task per worker over the chunks it holds: the scheduling cost
        # grows with the workers, not with the chunks. Placement moves data
        # once, here; no iteration re-sends it.
        workers = sorted(self.client.nthreads()) or [None]  # asks the scheduler
        rows_held = dict.fromkeys(workers, 0)
        groups = {worker: [] for worker in workers}
        self._chunks = []
        for n_rows, chunk in sorted(
            zip(rows, chunks, strict=True), key=lambda pair: -pair[0]
        ):
            worker = min(workers, key=rows_held.__getitem__)
            rows_held[worker] += n_rows
            future = self.client.compute(chunk, **_placement(worker))
            groups[worker].append(future)
            self._chunks.append(future)
        self._groups = [(worker, group) for worker, group in groups.items() if group]
        self.n_chunks = len(self._chunks)
        graph = network.graph
        self._penalty = graph.program((network.penalty,), loss=network.penalty)
        self._penalty_feed = {network.l2_strength: self.l2_strength}

    def _evaluate(self, theta):
        """Loss and gradient at ``theta``, summed over all chunks plus the penalty."""
        client = self.client
        theta = np.array(theta, dtype=np.float64)  # the solver mutates its own
        # A small vector travels inside each task; a large one is sent to
        # every worker once and referenced.
        sent = theta
        if theta.nbytes > _SCATTER_BYTES:
            sent = client.scatter(theta, broadcast=True, hash=False)
        tasks = [
            client.submit(
                _evaluate_chunks, chunks, sent, pure=False, **_placement(worker)
            )
            for worker, chunks in self._groups
        ]
        try:
            parts = client.gather(tasks)
        except Exception as exc:
            raise RuntimeError(
                "A chunk of the distributed objective failed to evaluate "
                f"({type(exc).__name__}: {exc}); the fit was stopped so that no "
                "partial gradient is ever used."
            ) from exc
        loss = sum(part[0] for part in parts)
        grad = np.sum([part[1] for part in parts], axis=0)
        penalty, penalty_grad = self._penalty_value_and_grad(theta)
        grad += penalty_grad
        # The data term as the solvers report it (see Network.reported_loss_share).
        loss *= self.network.reported_loss_share
        return float(loss + penalty), grad

    def _penalty_value_and_grad(self, theta):
        graph = self.network.graph
        graph.set_flat(theta)
        program = self._penalty
        trace = program.backward(program.forward(self._penalty_feed))
        grad = program.gradient_into(trace, np.empty(graph.n_parameters))
        return float(trace.values[self.network.penalty.index]), grad

    def close(self):
        """Release the per-chunk objectives held on the workers."""
        for future in self._chunks:
            future.release()
        self._chunks = []


def _dask_arrays(X, y, sample_weight, multi_output=False):
    """``X``, ``y`` and ``sample_weight`` as Dask arrays of the same row chunks."""
    import dask.array as da

    X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got a Dask array of shape {X.shape}.")
    if X.dtype not in (np.float32, np.float64):
        if not np.issubdtype(X.dtype, np.number):
            raise TypeError(f"X must be numeric, got dtype {X.dtype}.")
        X = X.astype(np.float64)
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    X = X.rechunk({1: -1})
    rows = X.chunks[0]
    y = da.asarray(y)
    if y.ndim != 1 and not (multi_output and y.ndim == 2):
        raise ValueError(
            "Distributed fitting takes 1-D class labels y; got shape "
            f"{y.shape}. Fit multilabel targets in memory."
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} samples but y has {y.shape[0]}; they must match."
        )
    if X.shape[0] == 0:
        raise ValueError("X has 0 samples; at least one is required.")
    if sample_weight is not None:
        sample_weight = da.asarray(sample_weight).astype(X.dtype).rechunk((rows,))
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}, expected "
                f"({X.shape[0]},)."
            )
    return X, y.rechunk((rows,) + y.shape[1:]), sample_weight


def dask_training_data(estimator, X, y, sample_weight=None):
    """Validate Dask training data and encode labels and weights, distributed.

    Sets ``n_features_in_`` and ``classes_`` on ``estimator`` (a regressor's
    data go to :func:`dask_regression_data`). The checks and
    reductions (finiteness, classes, weighted class counts, ``S``) run on the
    cluster in as few passes as possible; nothing is gathered but their
    small results. The encodings are the in-memory ones of
    :mod:`skgraph._weights`, applied chunk by chunk.

    Parameters
    ----------
    estimator : _BaseGraphClassifier
    X : dask.array.Array of shape (n_samples, n_features)
    y : dask.array.Array of shape (n_samples,)
    sample_weight : dask.array.Array or array-like of shape (n_samples,), optional

    Returns
    -------
    TrainingData
        With Dask arrays, ``loss_weights`` = ``s_i`` (never ``None``).
    """
    import dask
    import dask.array as da

    if is_regressor(estimator):
        return dask_regression_data(estimator, X, y, sample_weight)
    X, y, given_weight = _dask_arrays(X, y, sample_weight)
    rows = X.chunks[0]
    finite, classes = dask.compute(da.isfinite(X).all(), da.unique(y))
    if not finite:
        raise ValueError("Input X contains NaN or infinity.")
    estimator.n_features_in_ = X.shape[1]
    estimator.__dict__.pop("feature_names_in_", None)
    estimator._fit_classes(np.asarray(classes))
    classes = estimator.classes_
    n_classes = len(classes)
    codes = y.map_blocks(lambda b: np.searchsorted(classes, b), dtype=np.intp)
    sample_weight = given_weight
    if sample_weight is None:
        sample_weight = da.ones(X.shape[0], chunks=(rows,), dtype=X.dtype)
    loss_weights = sample_weight
    class_weight = estimator._class_weight()
    if class_weight is not None:
        totals = None
        if isinstance(class_weight, str):  # "balanced": each class's total
            totals = da.bincount(codes, weights=sample_weight, minlength=n_classes)
        per_class = _weights.per_class_weights(
            class_weight, classes, dask.compute(totals)[0]
        )
        loss_weights = da.map_blocks(
            _weights.weighted_by_class, sample_weight, codes, per_class, dtype=X.dtype
        )
    Y = codes.map_blocks(
        _weights.encode_codes,
        n_classes,
        X.dtype,
        dtype=X.dtype,
        new_axis=1,
        chunks=(rows, (1 if n_classes == 2 else n_classes,)),
    )
    targets = _Targets(Y, None, _weights.output_link(n_classes))
    total = _weights.weight_total(loss_weights)
    return TrainingData(
        X, y, targets, loss_weights, given_weight, total, X.dtype, distributed=True
    )


def dask_regression_data(estimator, X, y, sample_weight=None):
    """A regressor's Dask :class:`TrainingData`, checked on the cluster.

    Sets ``n_features_in_``; ``y`` has one or several outputs.
    """
    import dask
    import dask.array as da

    X, y, given_weight = _dask_arrays(X, y, sample_weight, multi_output=True)
    Y = (y[:, None] if y.ndim == 1 else y).astype(X.dtype)
    output = estimator._output_link()
    finite, smallest = dask.compute(
        da.isfinite(X).all() & da.isfinite(Y).all(), Y.min()
    )
    if not finite:
        raise ValueError("Input X or y contains NaN or infinity.")
    if output == "exp" and smallest < 0:
        raise ValueError(
            f"loss={estimator.loss!r} needs non-negative targets y; the smallest "
            f"is {smallest}."
        )
    estimator.n_features_in_ = X.shape[1]
    estimator.__dict__.pop("feature_names_in_", None)
    loss_weights = given_weight
    if loss_weights is None:
        loss_weights = da.ones(X.shape[0], chunks=(X.chunks[0],), dtype=X.dtype)
    targets = _Targets(Y.rechunk((X.chunks[0], -1)), None, output)
    total = _weights.weight_total(loss_weights)
    return TrainingData(
        X, y, targets, loss_weights, given_weight, total, X.dtype, distributed=True
    )


def predict_blockwise(estimator, method, X):
    """Apply a prediction ``method`` of a fitted estimator lazily, chunk by chunk.

    Returns a Dask array with ``X``'s row chunks; nothing is computed.
    """
    import dask.array as da

    X = da.asarray(X)
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has shape {X.shape}, but {type(estimator).__name__} was fitted "
            f"with {estimator.n_features_in_} features."
        )
    X = X.rechunk({1: -1})
    probe = method(estimator, np.zeros((1, X.shape[1]), dtype=X.dtype))

    def apply(block):
        return method(estimator, block)

    if probe.ndim == 1:
        return X.map_blocks(apply, dtype=probe.dtype, drop_axis=1)
    return X.map_blocks(
        apply, dtype=probe.dtype, chunks=(X.chunks[0], (probe.shape[1],))
    )
