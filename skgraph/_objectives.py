"""The training objective: validated data in, ``theta -> (loss, grad)`` out.

Every estimator minimises the same objective of its network,

    1/S sum_i s_i loss_i + l2_alpha/(2S) ||W||^2  (+ l1_alpha/S ||W||_1)

with ``s_i`` the loss weight of sample ``i`` (its sample weight times its
class weight), ``S`` their sum, and ``l2_alpha``/``l1_alpha`` the
penalties' strengths against the summed loss (``alpha``, ``1/C``). The
graph's inputs hold the normalised values: ``sample_weight`` is fed ``s_i /
S``, ``l2_strength`` is fed ``l2_alpha / S`` and ``l1_strength`` ``l1_alpha /
S``. This module is where that objective is
evaluated; the rest of the fit only chooses a variant:

- the whole batch at fixed inputs (:class:`GraphObjective`: any scalar node
  and its feed, as :func:`skgraph.check_gradients` uses it);
- the training data in row blocks (:class:`FullBatchObjective`, the
  objective of every full-batch solver and of both estimators; one block
  is the whole batch);
- one mini-batch at a time (:class:`MiniBatchObjective`, for SGD and Adam,
  which update the graph's parameters in place: its
  :meth:`~MiniBatchObjective.batch_loss` takes the batch's rows, evaluates
  at the current parameters and leaves the gradient in ``grad``);
- Dask chunks (:class:`skgraph._dask.DaskObjective`, same base class).

Who does what, once:

- ``S`` is computed and checked positive by the data sources, with
  :func:`skgraph._weights.weight_total`, when they make a
  :class:`~skgraph._training_data.TrainingData`;
- ``s_i / S`` is made by the objectives only (here, and in the Dask
  variant), with :func:`skgraph._weights.normalized`: once per fit for the
  full batch, per batch for the mini-batches, lazily on the chunks for Dask;
- the graph's inputs are named by the network alone, with
  :meth:`skgraph.networks.Network.feed`.

Every variant of ``theta -> (loss, grad)`` derives from :class:`Objective`:
``__call__(theta) -> (loss, grad)``, a call counter and the norm of the last
gradient. The mini-batch variant is no such function (each call sees other
rows, and the optimisers own ``theta``): it shares the row evaluation of
:class:`FullBatchObjective` (``_RowObjective``), not the base, and is called
``batch_loss(rows) -> loss``. Beside ``__call__``, ``hessp(theta,
v)`` gives Hessian-vector products on the same feeds (what
``solver="newton-cg"`` needs; :class:`GraphObjective` and
:class:`FullBatchObjective`, over :meth:`FullBatchObjective.block_feeds`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skgraph._second_order import ObjectiveHessian
from skgraph._weights import normalized, weight_total
from skgraph.graph import Trace

#: Bytes of one block of dense data narrower than the graph (float32 ``X``
#: of a float64 network) once widened (see :class:`FullBatchObjective`).
_WIDENED_BLOCK_BYTES = 4 * 2**20

__all__ = [
    "Objective",
    "GraphObjective",
    "FullBatchObjective",
    "MiniBatchObjective",
    "full_batch_objective",
]


def full_batch_objective(network, data, l2_alpha, l1_alpha=0.0, block_size=None):
    """The objective of the full-batch solvers on :class:`TrainingData`.

    Parameters
    ----------
    network : Network
    data : TrainingData
        In memory (a :class:`FullBatchObjective`, in blocks of ``block_size``
        rows) or on a Dask cluster (a :class:`~skgraph._dask.DaskObjective`,
        in the data's chunks).
    l2_alpha, l1_alpha : float
        The penalties' strengths against the summed loss.
    block_size : int or None, default=None
        Rows per block in memory (``None``: the whole batch at once).
    """
    if data.distributed:
        from skgraph._dask import DaskObjective  # Dask is optional

        return DaskObjective(
            network, data.X, data.targets.Y, data.loss_weights, l2_alpha, data.total
        )
    return FullBatchObjective(
        network,
        data.X,
        data.targets.Y,
        data.loss_weights,
        l2_alpha,
        block_size,
        total=data.total,
        l1_alpha=l1_alpha,
    )


class Objective:
    """``theta -> (loss, grad)``: the interface of every objective variant.

    A subclass implements ``_evaluate(theta) -> (loss, grad)``; calling the
    objective counts the evaluation and keeps the gradient for
    :attr:`last_grad_norm`. The gradient is a new float64 array (the solvers
    may keep it).

    Attributes
    ----------
    n_calls : int
        Evaluations so far.
    """

    n_calls = 0
    _last_grad = None

    def __call__(self, theta):
        """Loss (float) and gradient (new float64 array) at ``theta``."""
        loss, grad = self._evaluate(theta)
        self.n_calls += 1
        self._last_grad = grad
        return loss, grad

    def _evaluate(self, theta):
        raise NotImplementedError

    @property
    def last_grad_norm(self):
        """Euclidean norm of the last gradient (``inf`` before the first call)."""
        if self._last_grad is None:
            return np.inf
        return float(np.linalg.norm(self._last_grad))  # computed only when asked

    _hessian = None

    def hessp(self, theta, direction):
        """``H v``: the Hessian at ``theta`` times ``direction`` (new float64 array).

        One more forward-and-backward sweep of the graph per product, plus
        one pass to linearise at each new ``theta``, block by block (see
        :class:`~skgraph._second_order.ObjectiveHessian`); what
        ``solver="newton-cg"`` calls. A variant says what it sums in
        ``_second_order_parts``.
        """
        if self._hessian is None:
            self._hessian = ObjectiveHessian(*self._second_order_parts())
        return self._hessian(theta, direction)

    def _second_order_parts(self):
        """``(graph, scalar node, feeds(), number of feeds)`` of :meth:`hessp`."""
        raise NotImplementedError(
            f"{type(self).__name__} has no Hessian-vector products."
        )


class GraphObjective(Objective):
    """The whole batch: a scalar graph node at fixed inputs.

    The forward and backward passes reuse one :class:`~skgraph.graph.Trace`,
    so every buffer a pass needs is allocated on the first call only. The
    data are referenced, never copied.

    Parameters
    ----------
    graph : Graph
    loss : Node
        The scalar to minimise.
    feed : dict of {Input: array-like}
        Values of the inputs ``loss`` depends on.
    """

    def __init__(self, graph, loss, feed):
        self.graph = graph
        self.loss = loss
        self.feed = feed
        self.program = graph.program((loss,), loss=loss)
        self.trace = self.program.bind(feed, Trace(self.program))

    def __setstate__(self, state):
        # The trace's parameter values are views of graph.theta, which pickle
        # copies apart: bind the copy's trace to the copy's graph again.
        self.__dict__.update(state)
        self.program.bind(self.feed, self.trace)

    def _second_order_parts(self):
        return self.graph, self.loss, self._feeds, 1

    def _feeds(self):
        return (self.feed,)

    def _evaluate(self, theta):
        # set_flat without its checks: scipy hands back the vector it was given.
        np.copyto(self.graph.theta, theta, casting="unsafe")
        program, trace = self.program, self.trace
        program.backward(program.evaluate(trace))
        # A new float64 array (scipy may keep it): the one copy this call makes.
        grad = trace.parameter_grad.astype(np.float64)
        return float(trace.values[self.loss.index]), grad


class _RowObjective:
    """The network's differentiable objective, evaluated on rows of its data.

    What :class:`FullBatchObjective` and :class:`MiniBatchObjective` share
    (not the ``theta -> (loss, grad)`` interface: only the former has it).
    Holds the program, one reused :class:`~skgraph.graph.Trace` and the
    buffers the rows' targets are cast into. Targets may be stored
    compactly (a bool indicator matrix): each evaluation casts only its own
    rows to the graph's dtype, in the layout of the logits.
    """

    def __init__(self, network, X, Y):
        graph = network.graph
        self.network, self.graph = network, graph
        self.node = network.smooth_objective
        self.program = graph.program((self.node,), loss=self.node)
        self.trace = Trace(self.program)
        self.X, self.Y = X, Y
        # The targets' buffers share the layout of the logits.
        self._order = "F" if network.output == "softmax" else "C"
        self._Y_rows = {}

    def _targets(self, Y_rows):
        """``Y_rows`` in the graph's dtype, in a buffer reused per batch size."""
        layout = "F_CONTIGUOUS" if self._order == "F" else "C_CONTIGUOUS"
        if Y_rows.dtype == self.graph.dtype and Y_rows.flags[layout]:
            return Y_rows  # already what the loss node reads (it only reads)
        buffer = self._Y_rows.get(Y_rows.shape[0])
        if buffer is None:
            buffer = np.empty(Y_rows.shape, self.graph.dtype, order=self._order)
            self._Y_rows[Y_rows.shape[0]] = buffer
        np.copyto(buffer, Y_rows)
        return buffer

    def _pass(self, feed, trace):
        """Forward and backward pass on one feed; returns the reported objective.

        ``feed=None``: on the inputs already bound in ``trace``.
        """
        network, program = self.network, self.program
        if feed is not None:
            program.bind(feed, trace)
        program.backward(program.evaluate(trace))
        value = float(trace.values[self.node.index])
        share = network.reported_loss_share
        if share != 1.0:  # scikit-learn's report of a multi-output squared error
            value -= (1.0 - share) * float(trace.values[network.loss.index])
        return value


class FullBatchObjective(_RowObjective, Objective):
    """The training data in row blocks: the objective of the full-batch solvers.

    ``1/S sum_i s_i loss_i + l2_alpha/(2 S) ||W||^2`` is a sum over
    samples: with ``block_size`` it is evaluated over blocks of rows (each
    fed its share of the normalised weights ``s_i / S``, the penalty fed to
    the first block only), which bounds the memory of the hidden layers'
    values and gradients whatever the number of samples. Without, the whole
    batch is one block, fed the plain mean when every sample weighs one.
    The data are sliced, never copied (CSC input is taken whole). Dense
    data narrower than the graph (float32 ``X``, float64 parameters) are
    widened one block at a time into one reused buffer, the blocks then at
    most ``_WIDENED_BLOCK_BYTES`` (4 MB) once widened: each block is cast
    once for both of its products, where :class:`~skgraph.ops.Affine`,
    fed the narrow rows, would cast them in the forward and again in the
    backward pass.

    Parameters
    ----------
    network : Network
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        The encoded targets.
    loss_weights : ndarray of shape (n_samples,) or None
        ``s_i``, not normalised (``None``: all ones).
    l2_alpha : float
        The L2 strength against the summed loss (``alpha``, ``1/C``).
    block_size : int or None, default=None
        Rows per block (``None``: one block).
    total : float or None, default=None
        ``S``, as the data source checked it (``None``: computed here).
    l1_alpha : float, default=0.0
        The L1 strength against the summed loss, fed (divided by ``S``) to
        a network that has an L1 penalty (which this objective leaves to
        the solver).

    Attributes
    ----------
    sample_weight : ndarray of shape (n_samples,) or None
        ``s_i / S`` (``None``: the plain mean).
    l2_strength, l1_strength : float
        What the graph's penalty inputs are fed: ``l2_alpha / S`` and
        ``l1_alpha / S``.
    """

    def __init__(
        self,
        network,
        X,
        Y,
        loss_weights,
        l2_alpha,
        block_size=None,
        *,
        total=None,
        l1_alpha=0.0,
    ):
        n_samples = X.shape[0]
        if total is None:
            total = n_samples if loss_weights is None else weight_total(loss_weights)
        super().__init__(network, X, Y)
        dtype = self.graph.dtype
        self.l2_strength = float(l2_alpha) / total
        self.l1_strength = float(l1_alpha) / total
        self.sample_weight = None
        if loss_weights is not None:
            self.sample_weight = normalized(loss_weights, total, dtype)
        # Blocks of unweighted data are fed ones / n, which sum to the mean
        # over all rows; one whole batch takes the loss node's plain mean.
        blocked = block_size is not None
        if not blocked or (sp.issparse(X) and X.format == "csc"):
            block_size = n_samples
        self._widened = None
        if blocked and isinstance(X, np.ndarray) and X.dtype.itemsize < dtype.itemsize:
            row_bytes = max(1, X.shape[1]) * dtype.itemsize
            block_size = min(block_size, max(1, _WIDENED_BLOCK_BYTES // row_bytes))
            self._widened = np.empty((min(block_size, n_samples), X.shape[1]), dtype)
        self._block_ones = None
        if blocked and loss_weights is None:
            self._block_ones = np.full(min(block_size, n_samples), 1.0 / total, dtype)
        self._blocks = [
            slice(start, min(start + block_size, n_samples))
            for start in range(0, n_samples, block_size)
        ]
        self._grad = np.zeros(self.graph.n_parameters)
        # Where the whole batch was last evaluated (see last_value).
        self._last_point = np.empty(self.graph.n_parameters)
        self._at_last_point = False
        # One trace per block size (a last, shorter block has its own): a
        # trace's buffers fit one shape, and a block of another shape would
        # reallocate them all, twice per evaluation.
        self._traces = {self._blocks[0].stop: self.trace}
        # One block is the whole batch: its feed is made once.
        self._whole_feed = None
        if len(self._blocks) == 1:
            self._whole_feed = self._block_feed(self._blocks[0], self.l2_strength)

    def _block_feed(self, rows, l2_strength):
        """The feed of the block ``rows`` (a slice); the whole batch is fed
        as it is (a slice of a sparse matrix would copy it), narrow data
        widened into the one buffer every block shares."""
        whole = len(self._blocks) == 1
        n_rows = rows.stop - rows.start
        if self._block_ones is not None:
            w = self._block_ones[:n_rows]
        else:
            w = None if self.sample_weight is None else self.sample_weight[rows]
        X_rows = self.X if whole else self.X[rows]
        if self._widened is not None:
            widened = self._widened[:n_rows]
            np.copyto(widened, X_rows)
            X_rows = widened
        return self.network.feed(
            X_rows,
            self._targets(self.Y if whole else self.Y[rows]),
            w,
            l2_strength,
            self.l1_strength,
        )

    def block_feeds(self):
        """The feed of each block of rows, in order (the penalty in the first).

        A feed may reuse the previous one's buffers (widened data): use
        each before asking for the next.
        """
        if self._whole_feed is not None:
            yield self._whole_feed
            return
        l2_strength = self.l2_strength
        for rows in self._blocks:
            yield self._block_feed(rows, l2_strength)
            l2_strength = 0.0  # the penalty counts once

    def _second_order_parts(self):
        return self.graph, self.node, self.block_feeds, len(self._blocks)

    def trace_for(self, rows):
        """The trace that evaluates the block ``rows`` (a slice)."""
        n_rows = rows.stop - rows.start
        trace = self._traces.get(n_rows)
        if trace is None:
            trace = self._traces[n_rows] = Trace(self.program)
        return trace

    def last_value(self, node, theta):
        """The value of ``node`` in the last evaluation, if it was at ``theta``.

        Only a whole batch has one (its trace keeps every node's value);
        otherwise, or at another ``theta``, ``None``. The Newton solver
        reads the logits here instead of running the forward pass again.
        """
        if not self._at_last_point or not np.array_equal(self._last_point, theta):
            return None
        return self.trace.values[node.index]

    def _evaluate(self, theta):
        # set_flat without its checks: scipy hands back the vector it was given.
        np.copyto(self.graph.theta, theta, casting="unsafe")
        if self._whole_feed is not None:
            self._at_last_point = False  # until the pass is complete
            loss = self._pass(self._whole_feed, self.trace)
            # A copy: scipy may change the vector it passed in.
            np.copyto(self._last_point, theta, casting="unsafe")
            self._at_last_point = True
            return loss, self.trace.parameter_grad.astype(np.float64)
        loss, grad = 0.0, self._grad
        grad.fill(0.0)
        for rows, feed in zip(self._blocks, self.block_feeds(), strict=True):
            trace = self.trace_for(rows)
            loss += self._pass(feed, trace)
            grad += trace.parameter_grad
        return loss, grad.copy()


class MiniBatchObjective(_RowObjective):
    """One mini-batch at a time: the objective of ``"sgd"`` and ``"adam"``.

    :meth:`batch_loss` runs the forward and backward pass on the batch's
    rows (a slice or an index array) at the graph's current parameters
    (the optimisers update them in place) and leaves the gradient in
    :attr:`grad`. The objective is scikit-learn's per-batch one:
    ``1/S_b sum_{i in b} s_i loss_i + l2_alpha/(2 S_b) ||W||^2``, its
    weights normalised by the batch's own sum ``S_b``.

    It is not a ``theta -> (loss, grad)`` :class:`Objective`: a call sees
    other rows each time and reads the parameters where the optimiser keeps
    them.

    Parameters
    ----------
    network : Network
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        In the graph's dtype. Dense rows are gathered into a reused buffer;
        a slice of a C-contiguous array is used as it is.
    Y : ndarray of shape (n_samples, n_outputs)
        The encoded targets (any dtype; a bool indicator matrix is smallest).
    loss_weights : ndarray of shape (n_samples,) or None
        ``s_i`` (``None``: all ones).
    l2_alpha : float
        The L2 strength against the summed loss (``alpha``), divided by
        each batch's ``S_b``.
    batch_size : int

    Attributes
    ----------
    n_calls : int
        Batches evaluated so far.
    """

    n_calls = 0

    def __init__(self, network, X, Y, loss_weights, l2_alpha, batch_size):
        if sp.issparse(X) and X.format != "csr":
            X = X.tocsr()  # cheap row gathers
        # np.take copies a source that is not C-contiguous whole, at every
        # call: gather from row-major targets (small), and from row-major X
        # only (other X are indexed, which allocates the batch).
        Y = np.ascontiguousarray(Y)
        super().__init__(network, X, Y)
        self.l2_alpha = float(l2_alpha)
        self.loss_weights = loss_weights
        self._contiguous = isinstance(X, np.ndarray) and X.flags.c_contiguous
        dtype = self.graph.dtype
        self._X_rows = (
            np.empty((batch_size, X.shape[1]), dtype) if self._contiguous else None
        )
        self._Y_raw = np.empty((batch_size, Y.shape[1]), Y.dtype)
        self._w_rows = np.empty(batch_size, dtype)
        # Unweighted batches of one size all weigh 1 / n_b: made once per size.
        self._unit_weights = {}
        # What the trace's inputs are bound to: full batches gathered into
        # the same buffers need no new binding.
        self._bound = ()

    def __setstate__(self, state):
        # The trace's parameter values are views of graph.theta, which pickle
        # copies apart: the next batch binds them again.
        self.__dict__.update(state)
        self._bound = ()

    @property
    def grad(self):
        """ndarray of shape (n_parameters,): the gradient of the last batch.

        The trace's own flat gradient: the optimisers use it as scratch.
        """
        return self.trace.parameter_grad

    def _rows(self, rows):
        """``X`` and ``Y`` of the batch, into reused buffers."""
        X, Y = self.X, self.Y
        if isinstance(rows, slice):
            return X[rows], Y[rows]  # views (or cheap CSR slices)
        n = len(rows)
        whole = n == self._Y_raw.shape[0]  # the buffers themselves, not views
        Y_rows = self._Y_raw if whole else self._Y_raw[:n]
        Yb = np.take(Y, rows, axis=0, out=Y_rows, mode="clip")
        if self._X_rows is None:
            return X[rows], Yb
        X_rows = self._X_rows if whole else self._X_rows[:n]
        return np.take(X, rows, axis=0, out=X_rows, mode="clip"), Yb

    def _weights(self, rows, n_rows):
        """``s_i / S_b`` of the batch, and the L2 strength it is fed."""
        loss_weights, dtype = self.loss_weights, self.graph.dtype
        if loss_weights is None:
            w = self._unit_weights.get(n_rows)
            if w is None:
                ones = np.ones(n_rows, dtype)
                w = self._unit_weights[n_rows] = normalized(ones, n_rows, dtype)
            return w, self.l2_alpha / n_rows
        w = self._w_rows[:n_rows]
        if isinstance(rows, slice):
            np.copyto(w, loss_weights[rows])
        else:
            np.take(loss_weights, rows, out=w, mode="clip")
        total = float(w.sum(dtype=np.float64))
        if total > 0.0:
            return normalized(w, total, dtype, out=w), self.l2_alpha / total
        return w, 0.0  # a batch of zero-weight samples carries no information

    def batch_loss(self, rows):
        """The objective on the batch ``rows``; its gradient goes to :attr:`grad`.

        Parameters
        ----------
        rows : slice or ndarray of int
            The batch's rows of ``X``.

        Returns
        -------
        loss : float
        """
        Xb, Yb = self._rows(rows)
        w, l2_strength = self._weights(rows, Xb.shape[0])
        self.n_calls += 1
        arrays = (Xb, self._targets(Yb), w)
        feed, bound = None, self._bound
        if (
            not bound
            or any(a is not b for a, b in zip(arrays, bound[0], strict=True))
            or l2_strength != bound[1]
        ):
            feed = self.network.feed(*arrays, l2_strength)
            self._bound = (arrays, l2_strength)
        return self._pass(feed, self.trace)
