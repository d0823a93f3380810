"""MLPRegressorGraph against scikit-learn's MLPRegressor, and on its own."""

import inspect
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_mlp import (
    assert_allclose_to_scale,
    assert_same_parameters,
    one_unit_data,
    quiet_fit,
    random_weights,
)

from skgraph import GraphRegressor, MLPRegressorGraph, check_gradients
from skgraph._objectives import FullBatchObjective
from skgraph.layers import Dense

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
SOLVERS = ["lbfgs", "cg", "gd", "sgd", "adam"]
# (loss, number of outputs) of the parity tests.
TARGETS = [("squared_error", 1), ("squared_error", 3), ("poisson", 1), ("poisson", 2)]
TARGET_IDS = [f"{loss}-{k}" for loss, k in TARGETS]


def make_data(loss="squared_error", n_outputs=1, n_samples=120, random_state=0):
    """Standardised features; targets of unit scale (counts for Poisson)."""
    X, y = make_regression(
        n_samples,
        6,
        n_informative=4,
        n_targets=n_outputs,
        noise=5.0,
        random_state=random_state,
    )
    X = StandardScaler().fit_transform(X)
    y = y / y.std()
    if loss == "poisson":
        y = np.random.default_rng(random_state).poisson(np.exp(0.5 * y))
    return X, y.astype(float)


def sklearn_backprop(est, X, y, sample_weight):
    """Loss and gradients of scikit-learn's own MLPRegressor at est's weights."""
    ref = MLPRegressor(
        loss=est.loss,
        hidden_layer_sizes=est.hidden_layer_sizes,
        activation=est.activation,
        alpha=est.alpha,
        solver="lbfgs",
        max_iter=1,
    )
    quiet_fit(ref, X, y)
    ref.coefs_ = [W.copy() for W in est.coefs_]
    ref.intercepts_ = [b.copy() for b in est.intercepts_]
    Y = y.reshape(len(y), -1)
    n_layers = len(ref.coefs_)
    return ref._backprop(
        X,
        Y,
        sample_weight,
        [X] + [None] * n_layers,
        [None] * n_layers,
        [np.empty_like(W) for W in ref.coefs_],
        [np.empty_like(b) for b in ref.intercepts_],
    )


def objective_at_weights(est, X, y, sample_weight):
    """Our reported loss and gradient at est's weights, as the solvers see them."""
    targets = est._encode_targets(y, np.float64)
    objective = FullBatchObjective(
        est._network, X, targets.Y, sample_weight, est.alpha, block_size=50
    )
    return objective(est.graph_.theta.copy())


# -- the objective ------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("loss", "n_outputs"), TARGETS, ids=TARGET_IDS)
def test_loss_and_gradient_equal_sklearn_backprop(
    loss, n_outputs, activation, weighted
):
    X, y = make_data(loss, n_outputs)
    sample_weight = None
    if weighted:
        sample_weight = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    params = dict(loss=loss, hidden_layer_sizes=(7, 5), activation=activation)
    est = quiet_fit(
        MLPRegressorGraph(**params, alpha=0.3, solver="lbfgs", max_iter=1), X, y
    )
    random_weights(est, np.random.default_rng(2), scale=0.3)
    ours_loss, ours_grad = objective_at_weights(est, X, y, sample_weight)
    ref_loss, coef_grads, intercept_grads = sklearn_backprop(est, X, y, sample_weight)
    assert ours_loss == pytest.approx(ref_loss, rel=1e-10)
    network = est._network
    params = network.weights + network.biases
    for param, ref_grad in zip(params, coef_grads + intercept_grads, strict=True):
        assert_allclose_to_scale(
            ours_grad[param.offset : param.offset + param.size],
            ref_grad.ravel(),
            rtol=1e-10,
        )


@pytest.mark.parametrize(("loss", "n_outputs"), TARGETS, ids=TARGET_IDS)
def test_gradient_checker_on_full_objective(loss, n_outputs):
    X, y = make_data(loss, n_outputs, n_samples=40)
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    est = MLPRegressorGraph(
        loss, (4,), "tanh", solver="lbfgs", alpha=0.1, max_iter=3, random_state=0
    )
    quiet_fit(est, X, y, sample_weight=sample_weight)
    result = check_gradients(est, X, y, sample_weight=sample_weight, max_entries=None)
    assert result.max_error < 1e-6, result


@pytest.mark.parametrize("activation", ["logistic", "relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_initial_weights_as_sklearn(activation, dtype):
    X, y = make_data("squared_error", 2)
    X = X.astype(dtype)
    params = dict(activation=activation, solver="lbfgs", tol=1e9, random_state=7)
    ours = MLPRegressorGraph(hidden_layer_sizes=(9, 4), **params).fit(X, y)
    theirs = MLPRegressor(hidden_layer_sizes=(9, 4), **params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 0
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert a.dtype == dtype
        assert_array_equal(a, b.astype(dtype))


TRAJECTORIES = {
    "adam": dict(solver="adam", batch_size=32, hidden_layer_sizes=(15, 7)),
    "sgd-nesterov": dict(solver="sgd", batch_size=32, learning_rate_init=0.01),
    "sgd-invscaling": dict(
        solver="sgd", learning_rate="invscaling", learning_rate_init=0.05
    ),
    "adam-early-stopping": dict(solver="adam", early_stopping=True, n_iter_no_change=3),
    "lbfgs": dict(solver="lbfgs", max_iter=25),
}


@pytest.mark.parametrize(
    "case, target",
    [(case, target) for case in TRAJECTORIES for target in TARGETS],
    ids=[f"{case}-{i}" for case in TRAJECTORIES for i in TARGET_IDS],
)
def test_training_follows_sklearn(case, target):
    """Same seed, same data: scikit-learn's weights and loss curve, to rounding."""
    loss, n_outputs = target
    X, y = make_data(loss, n_outputs, n_samples=300)
    sample_weight = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    params = {"max_iter": 15, "random_state": 0, "hidden_layer_sizes": (12,)}
    params.update(TRAJECTORIES[case], loss=loss)
    ours = quiet_fit(MLPRegressorGraph(**params), X, y, sample_weight=sample_weight)
    theirs = quiet_fit(MLPRegressor(**params), X, y, sample_weight=sample_weight)
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_parameters(ours, theirs, rtol=1e-8)
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-9)
    assert len(ours.loss_curve_) == ours.n_iter_
    if case != "lbfgs":
        assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
        assert ours.t_ == theirs.t_
    if case == "adam-early-stopping":
        assert ours.best_loss_ is theirs.best_loss_ is None
        assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-9)
        assert ours.best_validation_score_ == pytest.approx(
            theirs.best_validation_score_, rel=1e-9
        )


def test_partial_fit_equals_sklearn():
    X, y = make_data("squared_error", 2)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", random_state=0)
    ours, theirs = MLPRegressorGraph(**params), MLPRegressor(**params)
    for _ in range(3):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
    assert_same_parameters(ours, theirs, rtol=1e-9)
    assert ours.t_ == theirs.t_


# -- the estimator on its own -------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(("loss", "n_outputs"), TARGETS[:3], ids=TARGET_IDS[:3])
def test_every_solver_learns(solver, loss, n_outputs):
    X, y = make_data(loss, n_outputs)
    step = {"gd": 0.05, "sgd": 0.01, "adam": 0.01}.get(solver, 1e-3)
    est = MLPRegressorGraph(
        loss,
        (10,),
        solver=solver,
        learning_rate_init=step,
        max_iter=150,
        random_state=0,
    )
    quiet_fit(est, X, y)
    prediction = est.predict(X)
    assert prediction.shape == y.shape
    assert len(est.loss_curve_) == est.n_iter_
    assert est.score(X, y) == pytest.approx(r2_score(y, prediction))
    assert est.score(X, y) > (0.3 if loss == "poisson" else 0.8)
    assert est.out_activation_ == ("exp" if loss == "poisson" else "identity")
    assert est.n_outputs_ == n_outputs and est.n_layers_ == 3


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_stays_float32_and_fits_are_bit_identical(solver):
    X, y = make_data()
    X = X.astype(np.float32)
    est = MLPRegressorGraph(
        hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0
    )
    first = quiet_fit(clone(est), X, y)
    second = quiet_fit(clone(est), X, y)
    assert first.predict(X).dtype == np.float32
    assert all(W.dtype == np.float32 for W in first.coefs_)
    assert_array_equal(first.graph_.theta, second.graph_.theta)


@pytest.mark.parametrize(
    ("network", "solver", "tol"),
    [("mlp", "lbfgs", 1e-10), ("layers", "lbfgs", 1e-10), ("mlp", "cg", 1e-7)],
)
def test_float32_full_batch_fit_reaches_sklearn_float64_optimum(network, solver, tol):
    # scikit-learn computes float32 data in float64; the graph solves in
    # float32 first, then polishes in float64 over the same float32 X.
    X, y = one_unit_data(300, "logistic", regression=True)
    common = dict(alpha=1.0, max_iter=3000, random_state=0)
    hidden = dict(hidden_layer_sizes=(1,), activation="logistic")
    theirs = MLPRegressor(**hidden, solver="lbfgs", tol=1e-10, **common)
    theirs.fit(X.astype(np.float64), y)
    if network == "mlp":
        ours = MLPRegressorGraph(**hidden, solver=solver, tol=tol, **common)
    else:
        layers = [Dense(1, activation="logistic")]
        ours = GraphRegressor(layers, solver=solver, tol=tol, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours.fit(X, y)
    assert ours.graph_.dtype == np.float32
    assert_same_parameters(ours, theirs, rtol=1e-4)


def test_poisson_rejects_negative_targets():
    X, y = make_data()
    with pytest.raises(ValueError, match="loss='poisson' needs non-negative"):
        MLPRegressorGraph("poisson", max_iter=1).fit(X, y)


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
def test_partial_fit_is_only_for_stochastic_solvers(solver):
    est = MLPRegressorGraph(solver=solver)
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="no attribute 'partial_fit'") as error:
        est.partial_fit([[0.0]], [0.0])
    assert f"{solver} is not stochastic" in str(error.value.__cause__)


def test_partial_fit_rejects_early_stopping_and_other_outputs():
    X, y = make_data("squared_error", 2)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPRegressorGraph(early_stopping=True).partial_fit(X, y)
    est = MLPRegressorGraph(hidden_layer_sizes=(4,)).partial_fit(X, y)
    with pytest.raises(ValueError, match="has 2 outputs; y has 1"):
        est.partial_fit(X, y[:, 0])


def test_warm_start_continues_from_fitted_weights():
    X, y = make_data()
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0)
    once = quiet_fit(MLPRegressorGraph(**params, max_iter=20), X, y)
    twice = quiet_fit(MLPRegressorGraph(**params, max_iter=10, warm_start=True), X, y)
    twice.set_params(max_iter=10)
    quiet_fit(twice, X, y)
    assert once.loss_ != twice.loss_  # two runs restart L-BFGS's memory
    assert twice.loss_ < twice.loss_curve_[0]


def test_column_vector_y_warns_and_predicts_1d():
    X, y = make_data()
    with pytest.warns(DataConversionWarning):
        est = quiet_fit(
            MLPRegressorGraph(hidden_layer_sizes=(3,), max_iter=2), X, y[:, None]
        )
    assert est.predict(X).shape == (len(y),)


def test_signature_is_sklearns():
    ours = inspect.signature(MLPRegressorGraph).parameters
    theirs = inspect.signature(MLPRegressor).parameters
    assert list(ours) == list(theirs)
    for name, parameter in theirs.items():
        assert ours[name].default == parameter.default, name
        assert ours[name].kind == parameter.kind, name


def test_pickle_grid_search_and_pipeline():
    X, y = make_data()
    pipe = make_pipeline(
        StandardScaler(), MLPRegressorGraph(hidden_layer_sizes=(4,), max_iter=20)
    )
    search = GridSearchCV(pipe, {"mlpregressorgraph__alpha": [1e-4, 1e-1]}, cv=2)
    quiet_fit(search, X, y)
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    assert_array_equal(restored.predict(X), search.predict(X))


def test_graph_draws_with_values_and_gradients():
    X, y = make_data("poisson")
    est = quiet_fit(MLPRegressorGraph("poisson", (3,), max_iter=2), X, y)
    dot = est.graph_.to_dot()
    assert "prediction" in dot and "loss" in dot
