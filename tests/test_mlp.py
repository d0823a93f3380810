"""MLPClassifierGraph against scikit-learn's MLPClassifier, and on its own."""

import doctest
import inspect
import pickle
import re
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_softmax, xlogy
from sklearn.base import clone
from sklearn.datasets import (
    load_digits,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler

import skgraph._mlp
import skgraph._solvers
from skgraph import MLPClassifierGraph, check_gradients

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
TARGETS = ["binary", "multiclass", "multilabel"]
SOLVERS = ["lbfgs", "cg", "gd", "sgd", "adam"]


def make_data(target, n_samples=120, n_features=6, random_state=0):
    """Small standardised data of the given target type."""
    if target == "multilabel":
        X, y = make_multilabel_classification(
            n_samples, n_features, n_classes=3, random_state=random_state
        )
    else:
        X, y = make_classification(
            n_samples,
            n_features,
            n_informative=4,
            n_classes=2 if target == "binary" else 3,
            random_state=random_state,
        )
    return StandardScaler().fit_transform(X), y


def one_unit_data(n_samples, activation, regression=False):
    """float32 data drawn from a network of one hidden unit: a well-posed fit.

    scikit-learn's ``lbfgs`` stops when an iteration lowers the loss by less
    than 2.2e-9 of itself (scipy's ``ftol``): on most networks that is 1e-4
    to 1e-2 (relative) away from the optimum, in its flattest directions.
    Fitting this small network to its own kind of data, scikit-learn's fit
    below stops within 1e-5 of its optimum: a point that a fit along
    another path (float32 steps first) can be compared with to 1e-4.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, 3)).astype(np.float32)
    hidden = X @ rng.normal(size=(3, 1))
    hidden = np.tanh(hidden) if activation == "tanh" else expit(hidden)
    f = hidden @ (2 * rng.normal(size=1))
    if regression:
        return X, 10 * (f + 0.1 * rng.normal(size=n_samples))
    return X, (rng.uniform(size=n_samples) < expit(f)).astype(int)


def quiet_fit(estimator, *args, **kwargs):
    """Fit, ignoring convergence warnings (the tests stop early on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def assert_allclose_to_scale(actual, desired, rtol):
    """``actual`` equals ``desired`` to ``rtol``, entry by entry or of the largest.

    For two computations that round differently (other BLAS calls, other
    summation orders, other update code): their rounding errors scale with
    the array's largest entries, not with an entry that happens to be near
    zero, so ``rtol`` alone would demand more of such an entry than
    floating point gives.
    """
    assert_allclose(actual, desired, rtol=rtol, atol=rtol * np.abs(desired).max())


def assert_same_parameters(ours, theirs, rtol, atol=None):
    """Our coefs_/intercepts_ equal scikit-learn's, layer by layer.

    Without ``atol``, to ``rtol`` of each layer's scale (see
    :func:`assert_allclose_to_scale`).
    """
    ours = ours.coefs_ + ours.intercepts_
    theirs = theirs.coefs_ + theirs.intercepts_
    for a, b in zip(ours, theirs, strict=True):
        if atol is None:
            assert_allclose_to_scale(a, b, rtol)
        else:
            assert_allclose(a, b, rtol=rtol, atol=atol)


def random_weights(est, rng, scale=0.7):
    """Move the estimator's parameters to a random point (through coefs_)."""
    est.coefs_ = [scale * rng.standard_normal(W.shape) for W in est.coefs_]
    est.intercepts_ = [scale * rng.standard_normal(b.shape) for b in est.intercepts_]


# -- the objective ------------------------------------------------------------------


def reference_loss(coefs, intercepts, X, Y, sample_weight, alpha, activation, output):
    """scikit-learn's MLP objective, in plain NumPy from its definition.

    ``np.average`` over samples of the log-loss of the output probabilities
    (softmax, or one sigmoid per column summed over columns), plus
    ``alpha / (2 S) sum ||W||^2``.
    """
    act = {
        "identity": lambda z: z,
        "logistic": expit,
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
    }[activation]
    h = X
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        h = act(h @ W + b)
    Z = h @ coefs[-1] + intercepts[-1]
    if output == "softmax":
        per_sample = -(Y * log_softmax(Z, axis=1)).sum(axis=1)
    else:
        P = expit(Z)
        per_sample = -(xlogy(Y, P) + xlogy(1 - Y, 1 - P)).sum(axis=1)
    penalty = 0.5 * alpha * sum(np.vdot(W, W) for W in coefs) / sample_weight.sum()
    return np.average(per_sample, weights=sample_weight) + penalty


def sklearn_backprop(est, X, y, sample_weight):
    """Loss and gradients of scikit-learn's own MLPClassifier at est's weights."""
    ref = MLPClassifier(
        hidden_layer_sizes=est.hidden_layer_sizes,
        activation=est.activation,
        alpha=est.alpha,
        solver="lbfgs",
        max_iter=1,
    )
    quiet_fit(ref, X, y)
    ref.coefs_ = [W.copy() for W in est.coefs_]
    ref.intercepts_ = [b.copy() for b in est.intercepts_]
    Y = ref._label_binarizer.transform(y).astype(float)
    n_layers = len(ref.coefs_)
    loss, coef_grads, intercept_grads = ref._backprop(
        X,
        Y,
        sample_weight,
        [X] + [None] * n_layers,
        [None] * n_layers,
        [np.empty_like(W) for W in ref.coefs_],
        [np.empty_like(b) for b in ref.intercepts_],
    )
    return loss, coef_grads, intercept_grads, Y


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("target", TARGETS)
def test_objective_and_gradient_equal_sklearn(activation, target):
    X, y = make_data(target)
    rng = np.random.default_rng(0)
    sample_weight = rng.uniform(0.2, 3.0, X.shape[0])
    est = MLPClassifierGraph((7, 5), activation, solver="lbfgs", alpha=0.3, max_iter=1)
    quiet_fit(est, X, y)
    random_weights(est, rng)

    graph, objective, feed = est._training_objective(X, y, sample_weight)
    loss, grad = graph.value_and_grad(objective, feed)

    ref_loss, coef_grads, intercept_grads, Y = sklearn_backprop(
        est, X, y, sample_weight
    )
    assert_allclose(loss, ref_loss, rtol=1e-10)
    own = reference_loss(
        est.coefs_,
        est.intercepts_,
        X,
        Y,
        sample_weight,
        est.alpha,
        activation,
        est.out_activation_,
    )
    assert_allclose(loss, own, rtol=1e-10)
    network = est._network
    for W, ref_grad in zip(network.weights, coef_grads, strict=True):
        assert_allclose_to_scale(
            grad[W.offset : W.offset + W.size], ref_grad.ravel(), rtol=1e-10
        )
    for b, ref_grad in zip(network.biases, intercept_grads, strict=True):
        assert_allclose_to_scale(
            grad[b.offset : b.offset + b.size], ref_grad, rtol=1e-10
        )


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("target", TARGETS)
def test_gradient_checker_on_full_objective(activation, target):
    X, y = make_data(target, n_samples=40)
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    # A fixed initialisation: central differences resolve a gradient to
    # ~1e-7 of its largest entry, and about one random start in 300 puts a
    # parameter's largest gradient so near zero that this reaches 1e-6.
    est = MLPClassifierGraph(
        (5,), activation, solver="lbfgs", alpha=0.1, max_iter=5, random_state=0
    )
    quiet_fit(est, X, y, sample_weight=sample_weight)
    result = check_gradients(est, X, y, sample_weight=sample_weight, max_entries=None)
    assert result.max_error < 1e-6, result


def test_class_weight_multiplies_sample_weight():
    X, y = make_data("multiclass")
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30, random_state=0)
    weighted = quiet_fit(
        MLPClassifierGraph(class_weight={0: 3.0, 2: 0.5}, **params), X, y
    )
    sample_weight = np.select([y == 0, y == 2], [3.0, 0.5], 1.0)
    plain = quiet_fit(MLPClassifierGraph(**params), X, y, sample_weight=sample_weight)
    assert_allclose(weighted.graph_.theta, plain.graph_.theta, rtol=1e-12)

    balanced = quiet_fit(MLPClassifierGraph(class_weight="balanced", **params), X, y)
    counts = np.bincount(y)
    sample_weight = (len(y) / (len(counts) * counts))[y]
    plain = quiet_fit(MLPClassifierGraph(**params), X, y, sample_weight=sample_weight)
    assert_allclose(balanced.graph_.theta, plain.graph_.theta, rtol=1e-12)


# -- same initialisation and same training as scikit-learn ------------------------


@pytest.mark.parametrize("activation", ["logistic", "relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_initial_weights_as_sklearn(activation, dtype):
    # A gradient tolerance no start can miss: both stop before any update.
    X, y = make_data("multiclass")
    X = X.astype(dtype)
    params = dict(activation=activation, solver="lbfgs", tol=1e9, random_state=7)
    ours = MLPClassifierGraph((9, 4), **params).fit(X, y)
    theirs = MLPClassifier((9, 4), **params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 0
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert a.dtype == dtype
        assert_array_equal(a, b.astype(dtype))


TRAJECTORIES = {
    "adam": dict(solver="adam", batch_size=32, hidden_layer_sizes=(15, 7)),
    "adam-unshuffled": dict(solver="adam", shuffle=False, activation="tanh"),
    "sgd-nesterov": dict(solver="sgd", batch_size=32, learning_rate_init=0.05),
    "sgd-momentum": dict(solver="sgd", nesterovs_momentum=False, activation="logistic"),
    "sgd-invscaling": dict(
        solver="sgd", learning_rate="invscaling", learning_rate_init=0.5
    ),
    "sgd-adaptive": dict(
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.2,
        batch_size=50,
        n_iter_no_change=2,
        tol=1e-2,
        max_iter=60,
    ),
    "adam-early-stopping": dict(solver="adam", early_stopping=True, n_iter_no_change=3),
    "lbfgs": dict(solver="lbfgs", max_iter=25),
}


@pytest.mark.parametrize(
    "case, target",
    [(case, target) for case in TRAJECTORIES for target in TARGETS],
)
def test_training_follows_sklearn(case, target):
    """Same seed, same data: scikit-learn's weights and loss curve, to rounding."""
    X, y = make_data(target, n_samples=300)
    sample_weight = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    params = {"max_iter": 15, "random_state": 0, "hidden_layer_sizes": (12,)}
    params.update(TRAJECTORIES[case])
    ours = quiet_fit(MLPClassifierGraph(**params), X, y, sample_weight=sample_weight)
    theirs = quiet_fit(MLPClassifier(**params), X, y, sample_weight=sample_weight)
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_parameters(ours, theirs, rtol=1e-9)
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-9)
    if case != "lbfgs":
        assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
        assert ours.t_ == theirs.t_
        if theirs.best_loss_ is not None:
            assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-9)
    if case == "adam-early-stopping":
        assert ours.best_loss_ is theirs.best_loss_ is None
        assert_allclose(ours.validation_scores_, theirs.validation_scores_)
        assert ours.best_validation_score_ == theirs.best_validation_score_


def test_same_optimum_as_sklearn_lbfgs():
    X, y = make_data("multiclass", n_samples=80)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", alpha=1.0, tol=1e-10)
    params.update(activation="tanh", max_iter=3000, random_state=0)
    ours = MLPClassifierGraph(**params).fit(X, y)
    theirs = MLPClassifier(**params).fit(X, y)
    assert_same_parameters(ours, theirs, rtol=1e-4, atol=1e-6)


#: The full-batch solvers, with the settings that converge on one_unit_data.
FULL_BATCH_TO_OPTIMUM = {
    "lbfgs": dict(solver="lbfgs", tol=1e-10),
    "cg": dict(solver="cg", tol=1e-7),
    "newton-cg": dict(solver="newton-cg", tol=1e-8),
    "gd": dict(solver="gd", tol=1e-7, learning_rate_init=1.0),
}


@pytest.mark.parametrize("solver", list(FULL_BATCH_TO_OPTIMUM))
def test_float32_full_batch_fit_reaches_sklearn_float64_optimum(solver):
    # scikit-learn computes float32 data in float64; the graph solves in
    # float32 first, then polishes in float64 over the same float32 X.
    X, y = one_unit_data(1_000, "tanh")
    common = dict(hidden_layer_sizes=(1,), activation="tanh", alpha=1.0)
    common.update(max_iter=3000, random_state=0)
    theirs = MLPClassifier(solver="lbfgs", tol=1e-10, **common)
    theirs.fit(X.astype(np.float64), y)
    ours = MLPClassifierGraph(**common, **FULL_BATCH_TO_OPTIMUM[solver])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours.fit(X, y)
    assert ours.graph_.dtype == np.float32
    assert all(W.dtype == np.float32 for W in ours.coefs_ + ours.intercepts_)
    assert_same_parameters(ours, theirs, rtol=1e-4)


@pytest.mark.parametrize(
    ("solver", "container"), [("lbfgs", np.asarray), ("cg", sp.csr_matrix)]
)
def test_float32_full_batch_fit_holds_no_float64_copy_of_X(
    solver, container, monkeypatch
):
    # Both phases: the float32 solve, then (tol met) the float64 polish.
    polished = []
    polish = skgraph._solvers.FullBatchSolver._solve_with_budget_left

    def spy(self, *args):
        polished.append(True)
        return polish(self, *args)

    monkeypatch.setattr(
        skgraph._solvers.FullBatchSolver, "_solve_with_budget_left", spy
    )
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4_000, 500)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifierGraph((5,), solver=solver, tol=0.03, random_state=0)
    data = container(X)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            est.fit(data, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert polished
    assert peak < 0.4 * 8 * X.size  # a float64 copy of X would be 16 MB
    assert est.graph_.dtype == np.float32


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_digits_accuracy_within_one_point_of_sklearn(solver):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.3, stratify=y, random_state=0
    )
    ours, theirs = [], []
    for seed in range(3):
        params = dict(solver=solver, max_iter=200, random_state=seed)
        ours.append(quiet_fit(MLPClassifierGraph(**params), X_train, y_train))
        theirs.append(quiet_fit(MLPClassifier(**params), X_train, y_train))
    ours = np.mean([est.score(X_test, y_test) for est in ours])
    theirs = np.mean([est.score(X_test, y_test) for est in theirs])
    assert ours > 0.95
    assert abs(ours - theirs) <= 0.01


# -- solvers -------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("target", TARGETS)
def test_every_solver_learns(solver, target):
    X, y = make_data(target, n_samples=200)
    est = MLPClassifierGraph(
        (16,),
        solver=solver,
        learning_rate_init={"gd": 0.5, "sgd": 0.1}.get(solver, 0.01),
        max_iter=300,
        random_state=0,
    )
    quiet_fit(est, X, y)
    # Subset accuracy for multilabel targets (always predicting the most
    # frequent label set scores 0.17 here).
    assert est.score(X, y) > (0.5 if target == "multilabel" else 0.85)
    assert len(est.loss_curve_) == est.n_iter_ > 0
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert est.best_loss_ == min(est.loss_curve_)
    if solver not in ("sgd", "adam"):
        assert est.loss_ == pytest.approx(est.loss_curve_[-1])
        assert est.t_ == est.n_iter_ * X.shape[0]


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_stays_float32(solver):
    X, y = make_data("multiclass")
    est = MLPClassifierGraph(
        (8,),
        solver=solver,
        learning_rate_init={"gd": 0.5, "sgd": 0.1}.get(solver, 0.01),
        max_iter=50,
        random_state=0,
    )
    quiet_fit(est, X.astype(np.float32), y)
    assert est.graph_.dtype == np.float32
    assert all(W.dtype == np.float32 for W in est.coefs_ + est.intercepts_)
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert est.score(X, y) > 0.5


@pytest.mark.parametrize("solver", SOLVERS)
def test_fits_are_bit_identical(solver):
    X, y = make_data("multiclass")
    params = dict(solver=solver, max_iter=30, random_state=3, early_stopping=True)
    first = quiet_fit(MLPClassifierGraph((8,), **params), X, y)
    second = quiet_fit(MLPClassifierGraph((8,), **params), X, y)
    assert_array_equal(first.graph_.theta, second.graph_.theta)
    assert first.loss_curve_ == second.loss_curve_


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_sparse_input_equals_dense(fmt, solver):
    X, y = make_data("multiclass")
    X[np.abs(X) < 0.5] = 0.0
    params = dict(solver=solver, max_iter=20, random_state=0)
    dense = quiet_fit(MLPClassifierGraph((8,), **params), X, y)
    sparse = quiet_fit(
        MLPClassifierGraph((8,), **params), sp.csr_matrix(X).asformat(fmt), y
    )
    assert_same_parameters(sparse, dense, rtol=1e-9)  # other BLAS calls


def test_lbfgs_respects_max_fun():
    X, y = make_data("multiclass")
    est = MLPClassifierGraph((8,), solver="lbfgs", max_fun=7, max_iter=100)
    with pytest.warns(ConvergenceWarning, match="^lbfgs failed to converge"):
        est.fit(X, y)
    assert est.n_iter_ <= 7


@pytest.mark.parametrize("solver", ["gd", "cg"])
def test_full_batch_solvers_stop_at_gradient_tolerance(solver):
    X, y = make_data("binary", n_samples=60)
    est = MLPClassifierGraph(
        (4,), "tanh", solver=solver, alpha=1.0, tol=1e-3, learning_rate_init=1.0
    )
    est.set_params(max_iter=5000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    graph, objective, feed = est._training_objective(X, y)
    _, grad = graph.value_and_grad(objective, feed)
    assert np.linalg.norm(grad) <= 1e-3
    assert est.n_iter_ < 5000


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_max_iter_reached_warns(solver):
    X, y = make_data("binary")
    est = MLPClassifierGraph((4,), solver=solver, max_iter=3)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        est.fit(X, y)
    assert est.n_iter_ == 3


def test_stops_after_n_iter_no_change():
    X, y = make_data("binary")
    est = MLPClassifierGraph((4,), tol=10.0, n_iter_no_change=4, max_iter=100).fit(X, y)
    # The first epoch improves on an infinite best loss; none after it improves
    # by tol, and the fifth such epoch in a row exceeds n_iter_no_change.
    assert est.n_iter_ == 6


def test_early_stopping_restores_the_best_weights():
    X, y = make_data("multiclass", n_samples=400)
    y[::5] = (y[::5] + 1) % 3  # label noise: the validation score soon peaks
    params = dict(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        n_iter_no_change=5,
        tol=0.0,
        learning_rate_init=0.05,
        random_state=0,
    )
    stopped = quiet_fit(MLPClassifierGraph(max_iter=200, **params), X, y)
    scores = stopped.validation_scores_
    best_epoch = int(np.argmax(scores)) + 1
    assert stopped.best_validation_score_ == max(scores)
    assert stopped.best_loss_ is None
    assert stopped.n_iter_ == len(scores) > best_epoch  # it trained on past the best
    # The same run cut at the best epoch ends on the best weights.
    cut = quiet_fit(MLPClassifierGraph(max_iter=best_epoch, **params), X, y)
    assert_array_equal(stopped.graph_.theta, cut.graph_.theta)


def test_early_stopping_errors():
    X, y = make_data("multiclass", n_samples=20)
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPClassifierGraph(early_stopping=True, validation_fraction=0.05).fit(X, y)
    y = (y == y[0]).astype(int)
    y[1:] = 0
    with pytest.raises(ValueError, match="least populated classes in y have only 1"):
        MLPClassifierGraph(early_stopping=True).fit(X, y)


# -- partial_fit and warm_start ------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_makes_one_epoch_of_updates(solver):
    X, y = make_data("multiclass", n_samples=450)
    est = MLPClassifierGraph((8,), solver=solver, batch_size=100, random_state=0)
    for _ in range(3):
        est.partial_fit(X, y, classes=[0, 1, 2])
        assert est.n_iter_ == 1
    assert est._optimizer.n_updates == 3 * 5  # ceil(450 / 100) per call
    assert est.t_ == 3 * 450
    assert len(est.loss_curve_) == 3


def test_partial_fit_equals_sklearn():
    X, y = make_data("multiclass", n_samples=300)
    ours = MLPClassifierGraph((8,), random_state=0, batch_size=64)
    theirs = MLPClassifier((8,), random_state=0, batch_size=64)
    for chunk in np.array_split(np.arange(300), 3):
        ours.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        theirs.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert_same_parameters(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
def test_partial_fit_is_only_for_stochastic_solvers(solver):
    est = MLPClassifierGraph(solver=solver)
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="no attribute 'partial_fit'") as error:
        est.partial_fit([[0.0]], [0])
    assert f"{solver} is not stochastic" in str(error.value.__cause__)


def test_partial_fit_errors():
    X, y = make_data("multiclass")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifierGraph().partial_fit(X, y)
    with pytest.raises(ValueError, match="does not support early_stopping"):
        MLPClassifierGraph(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="'balanced' is not supported"):
        MLPClassifierGraph(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    est = MLPClassifierGraph().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        est.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"labels \[7\] not in classes_"):
        est.partial_fit(X, np.where(y == 2, 7, y))


def test_warm_start_continues_from_fitted_weights():
    X, y = make_data("multiclass")
    params = dict(solver="sgd", max_iter=4, shuffle=False, random_state=0)
    warm = quiet_fit(MLPClassifierGraph((8,), warm_start=True, **params), X, y)
    quiet_fit(warm, X, y)
    once = quiet_fit(MLPClassifierGraph((8,), **dict(params, max_iter=8)), X, y)
    # Each fit restarts the momentum, like scikit-learn: compare with it.
    theirs = MLPClassifier((8,), warm_start=True, **params)
    quiet_fit(theirs, X, y)
    quiet_fit(theirs, X, y)
    assert_allclose_to_scale(warm.coefs_[0], theirs.coefs_[0], rtol=1e-10)
    assert len(warm.loss_curve_) == 8
    assert not np.allclose(warm.coefs_[0], once.coefs_[0])  # momentum was reset


def test_warm_start_continues_from_assigned_weights():
    X, y = make_data("multiclass")
    rng = np.random.default_rng(0)
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=10, warm_start=True)
    ours = quiet_fit(MLPClassifierGraph(**params), X, y)
    theirs = quiet_fit(MLPClassifier(**params), X, y)
    random_weights(ours, rng, scale=0.3)
    theirs.coefs_ = [W.copy() for W in ours.coefs_]
    theirs.intercepts_ = [b.copy() for b in ours.intercepts_]
    quiet_fit(ours, X, y)
    quiet_fit(theirs, X, y)
    assert_same_parameters(ours, theirs, rtol=1e-9)


def test_warm_start_checks_classes_and_layers():
    X, y = make_data("multiclass")
    est = quiet_fit(MLPClassifierGraph((6,), warm_start=True, max_iter=2), X, y)
    with pytest.raises(ValueError, match="same classes as in the previous call"):
        est.fit(X[y < 2], y[y < 2])
    est.set_params(hidden_layer_sizes=(7,))
    with pytest.raises(ValueError, match=r"hidden_layer_sizes are \(6,\)"):
        est.fit(X, y)
    # A new activation keeps the weights and rebuilds the graph around them.
    est.set_params(hidden_layer_sizes=(6,), activation="tanh")
    before = [W.copy() for W in est.coefs_]
    est.set_params(max_iter=1, solver="lbfgs", tol=1e9).fit(X, y)
    assert type(est.graph_["h1"]).__name__ == "Tanh"
    for a, b in zip(est.coefs_, before, strict=True):
        assert_array_equal(a, b)


# -- the parameters are the graph's ---------------------------------------------------


def test_coefs_are_views_into_the_graph():
    X, y = make_data("binary")
    est = quiet_fit(MLPClassifierGraph((5,), max_iter=5, random_state=0), X, y)
    assert [W.shape for W in est.coefs_] == [(6, 5), (5, 1)]
    assert [b.shape for b in est.intercepts_] == [(5,), (1,)]
    for W in est.coefs_ + est.intercepts_:
        assert np.shares_memory(W, est.graph_.theta)
    est.coefs_[1][...] = 0.0
    est.intercepts_[1][...] = 2.0
    assert_allclose(est.predict_proba(X)[:, 1], 1 / (1 + np.exp(-2.0)))
    est.coefs_ = [np.ones((6, 5)), np.ones((5, 1))]
    assert_array_equal(est.graph_["W1"].value, np.ones((6, 5)))
    with pytest.raises(ValueError, match=re.escape("shapes [(6, 5), (5, 1)]")):
        est.coefs_ = [np.ones((6, 5))]
    with pytest.raises(AttributeError, match="fit it first"):
        MLPClassifierGraph().coefs_ = [np.ones((6, 5))]
    assert not hasattr(MLPClassifierGraph(), "coefs_")


def test_fitted_attributes():
    X, y = make_data("multiclass")
    est = quiet_fit(MLPClassifierGraph((7, 5), max_iter=5), X, y)
    assert est.n_layers_ == 4
    assert est.n_outputs_ == 3
    assert est.out_activation_ == "softmax"
    assert est.n_features_in_ == 6
    assert_array_equal(est.classes_, [0, 1, 2])
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert "digraph" in est.graph_.to_dot()
    est = quiet_fit(MLPClassifierGraph((7,), max_iter=5), X, y == 1)
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 1


def test_multilabel():
    X, Y = make_data("multilabel", n_samples=300)
    est = quiet_fit(MLPClassifierGraph((20,), max_iter=300, random_state=0), X, Y)
    assert est.out_activation_ == "logistic"
    assert est.predict(X).shape == Y.shape
    assert set(np.unique(est.predict(X))) <= {0, 1}
    proba = est.predict_proba(X)
    assert proba.shape == Y.shape
    assert_array_equal(est.predict(X), (proba > 0.5).astype(int))
    assert_allclose(np.exp(est.predict_log_proba(X)), proba)
    assert est.score(X, Y) > 0.5
    with pytest.raises(
        ValueError, match="class_weight is not supported for multilabel"
    ):
        MLPClassifierGraph(class_weight="balanced").fit(X, Y)


def test_string_labels_and_stable_probabilities():
    X, y = make_data("multiclass")
    labels = np.array(["ant", "bee", "cat"])[y]
    est = quiet_fit(MLPClassifierGraph((8,), max_iter=50, random_state=0), X, labels)
    assert set(est.predict(X)) <= set(labels)
    huge = 1e6 * X
    proba, log_proba = est.predict_proba(huge), est.predict_log_proba(huge)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(log_proba).all()


def test_pickle_round_trip_and_continue():
    X, y = make_data("multiclass")
    est = quiet_fit(MLPClassifierGraph((8,), max_iter=5, random_state=0), X, y)
    copy = pickle.loads(pickle.dumps(est))
    assert_array_equal(copy.predict_proba(X), est.predict_proba(X))
    assert np.shares_memory(copy.coefs_[0], copy.graph_.theta)
    assert not np.shares_memory(copy.coefs_[0], est.graph_.theta)
    copy.partial_fit(X, y)
    est.partial_fit(X, y)
    assert_array_equal(copy.graph_.theta, est.graph_.theta)


def test_grid_search_and_pipeline():
    X, y = make_data("multiclass", n_samples=150)
    grid = GridSearchCV(
        make_pipeline(
            StandardScaler(), MLPClassifierGraph(solver="lbfgs", max_iter=50)
        ),
        {
            "mlpclassifiergraph__hidden_layer_sizes": [(4,), (8, 4)],
            "mlpclassifiergraph__alpha": [1e-3, 1.0],
        },
        cv=3,
        n_jobs=2,
    )
    quiet_fit(grid, X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_score_ > 0.7
    assert (
        clone(grid.best_estimator_).get_params()["mlpclassifiergraph__max_iter"] == 50
    )


def test_verbose_reports_progress(capsys):
    X, y = make_data("binary")
    quiet_fit(MLPClassifierGraph((4,), max_iter=2, verbose=True), X, y)
    assert re.search(r"Iteration 2, loss = \d", capsys.readouterr().out)
    quiet_fit(MLPClassifierGraph((4,), solver="lbfgs", max_iter=2, verbose=True), X, y)
    out = capsys.readouterr().out
    assert "iteration 2, loss = " in out and "gradient norm" in out


# -- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "newton"}, "'solver' parameter"),
        ({"activation": "softplus"}, "'activation' parameter"),
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"),
        ({"momentum": 1.5}, "'momentum' parameter"),
        ({"beta_2": 1.0}, "'beta_2' parameter"),
        ({"class_weight": "auto"}, "'class_weight' parameter"),
        (
            {"hidden_layer_sizes": (4, 0)},
            "hidden_layer_sizes must be positive integers",
        ),
        (
            {"hidden_layer_sizes": (2.5,)},
            "hidden_layer_sizes must be positive integers",
        ),
    ],
)
def test_bad_parameters(params, message):
    X, y = make_data("binary")
    with pytest.raises(ValueError, match=message):
        MLPClassifierGraph(**params).fit(X, y)


def test_bad_data():
    X, y = make_data("binary")
    est = MLPClassifierGraph((4,), max_iter=2)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad, y)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.fit(bad, y)
    with pytest.raises(ValueError, match="1 class"):
        est.fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="could not convert|numeric"):
        est.fit(np.full(X.shape, "a"), y)
    with pytest.raises(NotFittedError):
        est.predict(X)
    quiet_fit(est, X, y)
    with pytest.raises(ValueError, match="X has 5 features, but MLPClassifierGraph"):
        est.predict(X[:, :5])
    with pytest.raises(ValueError, match="at least one non-zero"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sum to 0.0; they must have a positive sum"):
        est.set_params(class_weight={0: 0.0, 1: 0.0}).fit(X, y)


def test_column_vector_y_warns_and_works():
    X, y = make_data("binary")
    with pytest.warns(DataConversionWarning):
        quiet_fit(MLPClassifierGraph((4,), max_iter=2), X, y[:, None])


def test_label_binarizer_matches_encoding():
    # The encoded targets are what scikit-learn's MLP trains on.
    X, y = make_data("multiclass")
    est = quiet_fit(MLPClassifierGraph((4,), max_iter=1), X, y)
    targets = est._encode_targets(y, np.float64)
    assert_array_equal(targets.Y, LabelBinarizer().fit_transform(y))


# -- the interface ---------------------------------------------------------------------


def test_signature_is_sklearns_plus_class_weight():
    ours = inspect.signature(MLPClassifierGraph).parameters
    theirs = inspect.signature(MLPClassifier).parameters
    assert list(ours) == [*theirs, "class_weight"]
    for name, param in theirs.items():
        assert ours[name].default == param.default, name
        assert ours[name].kind == param.kind, name
    assert ours["class_weight"].default is None


def test_docstring_example():
    result = doctest.testmod(skgraph._mlp, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
