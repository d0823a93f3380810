"""Data-parallel backpropagation on a Dask cluster.

The training objective is a weighted sum over samples plus a penalty,

    1/S sum_i s_i loss_i + c/(2S) ||W||^2,

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

from skgraph._optimize import GraphObjective

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

    def __init__(self, network, X, Y, weights):
        self.network = network
        # A chunk deserialised from the network can start at an unaligned
        # address, which sends numpy and BLAS down slow paths at every
        # evaluation: align it once, here.
        X, Y, weights = (_aligned(a) for a in (X, Y, weights))
        feed = {network.X: X, network.y: Y, network.sample_weight: weights}
        self.objective = GraphObjective(network.graph, network.loss, feed)

    def __call__(self, theta):
        return self.objective(theta)


def _aligned(array):
    if isinstance(array, np.ndarray):
        return np.require(array, requirements=("C", "A"))
    return array


def _build_chunk(network, X, Y, weights):
    return _ChunkObjective(network, X, Y, weights)


def _evaluate_chunk(chunk, theta):
    return chunk(theta)


class DaskObjective:
    """``theta -> (loss, grad)`` of a network's objective over Dask arrays.

    Parameters
    ----------
    network : Network
        The graph and its handles (its parameters' values are not used).
    X : dask.array.Array of shape (n_samples, n_features)
    Y : dask.array.Array of shape (n_samples, n_outputs)
        Encoded targets, as fed to the loss node.
    weights : dask.array.Array of shape (n_samples,)
        ``s_i / S``: the per-sample weights, already divided by their sum.
    l2_strength : float
        ``c / S``, the strength of the penalty.
    client : distributed.Client, optional
        Defaults to the current client.

    Attributes
    ----------
    n_chunks : int
        Number of row chunks (= tasks per evaluation).
    n_calls : int
        Evaluations so far.
    """

    def __init__(self, network, X, Y, weights, l2_strength, client=None):
        import dask

        self.client = _get_client(client)
        self.network = network
        self.l2_strength = float(l2_strength)
        X = X.rechunk({1: -1})
        rows = X.chunks[0]
        Y = Y.rechunk((rows, -1))
        weights = weights.rechunk((rows,))
        build = dask.delayed(_build_chunk, pure=False)
        network_data = dask.delayed(network, traverse=False)
        chunks = [
            build(network_data, x, y, w)
            for x, y, w in zip(
                X.to_delayed().ravel(),
                Y.to_delayed().ravel(),
                weights.to_delayed().ravel(),
                strict=True,
            )
        ]
        self._chunks = self.client.compute(chunks)
        self.n_chunks = len(self._chunks)
        self.n_calls = 0
        self.last_grad_norm = np.inf
        graph = network.graph
        self._penalty = graph.program((network.penalty,), loss=network.penalty)
        self._penalty_feed = {network.l2_strength: self.l2_strength}

    def __call__(self, theta):
        """Loss and gradient at ``theta``, summed over all chunks plus the penalty."""
        client = self.client
        theta = np.asarray(theta, dtype=np.float64)
        # A small vector travels inside each task; a large one is sent to
        # every worker once and referenced.
        if theta.nbytes > _SCATTER_BYTES:
            theta = client.scatter(theta, broadcast=True, hash=False)
        tasks = [
            client.submit(_evaluate_chunk, chunk, theta, pure=False)
            for chunk in self._chunks
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
        self.n_calls += 1
        grad += penalty_grad
        self.last_grad_norm = float(np.linalg.norm(grad))
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
