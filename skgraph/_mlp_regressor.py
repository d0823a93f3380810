"""MLPRegressorGraph: scikit-learn's MLPRegressor, as a computation graph."""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from skgraph._base import _BaseGraphRegressor, fill_docstring, parameters_init
from skgraph._mlp import (
    MLP_TRAINING_PARAMETERS,
    MLP_TRAINING_PARAMETERS_DOC,
    MLPClassifierGraph,
    _BaseMLPGraph,
    _is_stochastic,
)

__all__ = ["MLPRegressorGraph"]

# scikit-learn's output activation of each loss.
_OUTPUTS = {"squared_error": "identity", "poisson": "exp"}


@fill_docstring(MLP_TRAINING_PARAMETERS_DOC)
class MLPRegressorGraph(_BaseGraphRegressor, _BaseMLPGraph):
    """Multi-layer perceptron regressor whose model is a computation graph.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters, objective and fitted attributes, plus the
    full-batch solvers ``"cg"`` and ``"gd"``. The network is a graph of
    affine, activation and loss nodes (``graph_``), trained by the engine's
    backpropagation.

    The objective, as scikit-learn 1.9's (``s_i`` the sample weights, ``S``
    their sum over the samples a step sees: all of them for the full-batch
    solvers, the mini-batch for ``"sgd"``/``"adam"``)::

        1/S sum_i s_i loss_i + alpha/(2 S) sum_l ||W_l||_F^2

    with, for the outputs ``k`` of sample ``i``:

    - ``loss="squared_error"`` (identity output):
      ``loss_i = 1/2 sum_k (y_ik - p_ik) ** 2``;
    - ``loss="poisson"`` (``exp`` output, non-negative targets): the half
      Poisson deviance ``loss_i = sum_k [p_ik - y_ik log p_ik + y_ik log y_ik
      - y_ik]``, constant term included as in scikit-learn's reported loss.

    With several outputs, scikit-learn's squared error follows the gradient
    of this sum over the outputs but reports its mean over them: this
    estimator does the same (the same optimum, and the same ``loss_`` and
    ``loss_curve_``; ``"lbfgs"`` then sees scikit-learn's values too).

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        The loss, and with it the output activation (identity or ``exp``).

    hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        The number of units of each hidden layer.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.

    solver : {"lbfgs", "cg", "gd", "newton-cg", "sgd", "adam"}, default="adam"
        As :class:`MLPClassifierGraph`'s: scipy's L-BFGS-B, scipy's nonlinear
        conjugate gradients, full-batch gradient descent with step
        ``learning_rate_init``, scipy's trust-region Newton-CG with the
        graph's Hessian-vector products, mini-batch SGD and Adam.

    <training parameters>
    early_stopping : bool, default=False
        Hold out a ``validation_fraction`` of the training data
        (``"sgd"``/``"adam"``; the same split as scikit-learn's for the same
        ``random_state``), stop when its R² has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the parameters that scored
        best.

    <more training parameters>
    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix of layer ``i + 1``, a view into
        ``graph_``.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i + 1``.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : {"identity", "exp"}
        The output's activation.

    n_iter_ : int
        Iterations (full batch) or epochs (mini-batch) of the last fit.

    t_ : int
        Training samples seen by the solver.

    loss_ : float
        scikit-learn's loss at the end of the last iteration (for
        ``"sgd"``/``"adam"``: the mean batch loss of the last epoch).

    validation_scores_ : list of float or None
        R² of the held-out data after each epoch (early stopping only).

    <more fitted attributes>
    graph_ : Graph
        The computation graph the model was trained with; its
        ``prediction`` node is what :meth:`predict` returns.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The estimator this one mirrors.
    MLPClassifierGraph : The classifier on the same training core.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skgraph import MLPRegressorGraph
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = MLPRegressorGraph(solver="lbfgs", max_iter=500, random_state=0)
    >>> reg = reg.fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> round(reg.score(X, y), 3) > 0.99
    True
    """

    _parameter_constraints: dict = {
        "loss": [StrOptions(set(_OUTPUTS))],
        **{
            name: rule
            for name, rule in MLPClassifierGraph._parameter_constraints.items()
            if name != "class_weight"
        },
    }

    __init__ = parameters_init(
        {"loss": "squared_error", "hidden_layer_sizes": (100,), "activation": "relu"},
        MLP_TRAINING_PARAMETERS,
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 data: as in
            :meth:`MLPClassifierGraph.fit`); a Dask array with the full-batch
            solvers.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (non-negative for ``loss="poisson"``).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of ``"sgd"``/``"adam"`` over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _output_link(self):
        return _OUTPUTS[self.loss]

    def _validation_score(self, Z, Y, codes, sample_weight):
        """R² of the predictions from the raw outputs ``Z`` on held-out rows."""
        prediction = np.exp(Z) if self._output_link() == "exp" else Z
        if not np.isfinite(prediction).all():
            return np.nan
        return float(r2_score(Y, prediction, sample_weight=sample_weight))
