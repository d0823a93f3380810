"""MLPRegressorGraph: scikit-learn's MLPRegressor, as a computation graph."""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from skgraph._base import _BaseGraphRegressor
from skgraph._mlp import MLPClassifierGraph, _BaseMLPGraph, _is_stochastic

__all__ = ["MLPRegressorGraph"]

# scikit-learn's output activation of each loss.
_OUTPUTS = {"squared_error": "identity", "poisson": "exp"}


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

    alpha : float, default=1e-4
        Strength of the L2 penalty, divided by ``S`` in the objective.

    batch_size : int or "auto", default="auto"
        Mini-batch size of ``"sgd"``/``"adam"``; ``"auto"`` is
        ``min(200, n_samples)``.

    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of ``"sgd"``.

    learning_rate_init : float, default=1e-3
        Step size of ``"sgd"``, ``"adam"`` and ``"gd"``.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    max_iter : int, default=200
        Most iterations (full batch) or epochs (mini-batch).

    shuffle : bool, default=True
        Whether ``"sgd"``/``"adam"`` shuffle the samples at each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the mini-batch shuffling and the
        early-stopping split; an int makes fits bit-identical.

    tol : float, default=1e-4
        ``"sgd"``/``"adam"`` stop when the loss (or validation score) has
        not improved by ``tol`` for ``n_iter_no_change`` epochs; the
        full-batch solvers stop when the gradient is below ``tol``.

    verbose : bool, default=False
        Print the loss after each iteration or epoch.

    warm_start : bool, default=False
        Continue from the current ``coefs_``/``intercepts_``.

    momentum : float, default=0.9
        Momentum of ``"sgd"``.

    nesterovs_momentum : bool, default=True
        Whether ``"sgd"`` uses Nesterov's momentum.

    early_stopping : bool, default=False
        Hold out a ``validation_fraction`` of the training data
        (``"sgd"``/``"adam"``; the same split as scikit-learn's for the same
        ``random_state``), stop when its R² has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the parameters that scored
        best.

    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.

    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates.

    epsilon : float, default=1e-8
        Adam's numerical-stability term.

    n_iter_no_change : int, default=10
        Epochs without improvement before ``"sgd"``/``"adam"`` stop.

    max_fun : int, default=15000
        Most objective evaluations of ``"lbfgs"``.

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

    loss_curve_ : list of float
        ``loss_`` after each iteration or epoch, for every solver.

    best_loss_ : float or None
        The smallest value of ``loss_curve_``; ``None`` with early stopping.

    validation_scores_ : list of float or None
        R² of the held-out data after each epoch (early stopping only).

    best_validation_score_ : float or None
        The best of ``validation_scores_`` (early stopping only).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are strings.

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

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 stays float32); a Dask array with the
            full-batch solvers.
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
