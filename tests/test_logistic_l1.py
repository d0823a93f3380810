"""LogisticRegressionGraph with L1 / elastic-net penalties and ``positive``.

SPEC §4.1: the same ``C`` and ``l1_ratio`` give scikit-learn's optimum (its
``saga`` solver, converged) with the same exact zeros; ``positive=True`` gives
the bound-constrained optimum; ``penalty`` is deprecated and mapped exactly
as scikit-learn 1.9 does it (its class is run beside ours).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import optimize
from scipy.special import log_expit, log_softmax
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skgraph import LogisticRegressionGraph, check_gradients

SAGA_TOL = 1e-10
SAGA_MAX_ITER = 100_000


def _data(n_classes, seed=0):
    X, y = make_classification(
        60,
        5,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


def _weights(y):
    return np.random.RandomState(0).uniform(0.5, 2.0, len(y))


# -- same optimum as scikit-learn's converged saga -------------------------------------

PARITY_CASES = [
    (n_classes, weighted, l1_ratio, C)
    for n_classes in (2, 3)
    for weighted in (False, True)
    for l1_ratio in (0.5, 1.0)
    for C in (0.05, 1.0, 10.0)
]


def _case_id(case):
    n_classes, weighted, l1_ratio, C = case
    kind = "binary" if n_classes == 2 else "multiclass"
    return (
        f"{kind}-{'weighted' if weighted else 'unweighted'}-l1_ratio={l1_ratio}-C={C}"
    )


def _fit_args(case):
    """``(estimator settings, X, y, sample_weight)`` of a parity case."""
    n_classes, weighted, l1_ratio, C = case
    X, y = _data(n_classes)
    settings = dict(
        C=C, l1_ratio=l1_ratio, class_weight="balanced" if weighted else None
    )
    return settings, X, y, (_weights(y) if weighted else None)


@pytest.fixture(scope="module")
def saga_reference():
    """scikit-learn's converged saga fit of a case, computed once per case."""
    cache = {}

    def reference(case):
        if case not in cache:
            settings, X, y, sample_weight = _fit_args(case)
            sk = LogisticRegression(
                solver="saga",
                tol=SAGA_TOL,
                max_iter=SAGA_MAX_ITER,
                random_state=0,
                **settings,
            ).fit(X, y, sample_weight=sample_weight)
            assert sk.n_iter_[0] < SAGA_MAX_ITER  # converged
            cache[case] = sk
        return cache[case]

    return reference


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
@pytest.mark.parametrize("case", PARITY_CASES, ids=_case_id)
def test_same_optimum_and_zeros_as_converged_saga(saga_reference, case, solver):
    reference = saga_reference(case)
    settings, X, y, sample_weight = _fit_args(case)
    ours = LogisticRegressionGraph(
        solver=solver, tol=1e-8, max_iter=100_000, **settings
    ).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(ours.coef_ == 0, reference.coef_ == 0)
    if (reference.coef_ == 0).all() and len(reference.classes_) == 2:
        # The null model: saga's stopping test watches the weights, which do
        # not move, so it stops with the intercept a few 1e-3 off. The
        # optimum is the log-odds of the (weighted) positive class.
        s = np.ones(len(y)) if sample_weight is None else sample_weight
        share = s[y == reference.classes_[1]].sum() / s.sum()
        optimum = np.log(share / (1 - share))  # 0 for balanced classes: atol
        np.testing.assert_allclose(ours.intercept_, optimum, rtol=1e-7, atol=1e-10)
    else:
        np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-4)


def test_the_parity_cases_have_exact_zeros(saga_reference):
    # The zero-pattern test above is only worth something if there are zeros.
    strong = [case for case in PARITY_CASES if case[3] == 0.05]
    assert all((saga_reference(case).coef_ == 0).any() for case in strong)


@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_sparse_and_float32_data_give_the_same_optimum(l1_ratio):
    X, y = _data(3)
    X[np.abs(X) < 0.5] = 0.0
    dense = LogisticRegressionGraph(C=0.5, l1_ratio=l1_ratio, tol=1e-8).fit(X, y)
    assert (dense.coef_ == 0).any()
    for X_other in (sp.csr_matrix(X), sp.csc_matrix(X)):
        other = LogisticRegressionGraph(C=0.5, l1_ratio=l1_ratio, tol=1e-8)
        other.fit(X_other, y)
        np.testing.assert_allclose(other.coef_, dense.coef_, atol=1e-6)
        np.testing.assert_array_equal(other.coef_ == 0, dense.coef_ == 0)
    single = LogisticRegressionGraph(C=0.5, l1_ratio=l1_ratio, tol=1e-8)
    single.fit(X.astype(np.float32), y)
    assert single.coef_.dtype == np.float32
    np.testing.assert_allclose(single.coef_, dense.coef_, atol=1e-5)
    np.testing.assert_array_equal(single.coef_ == 0, dense.coef_ == 0)


# -- the stopping rule -----------------------------------------------------------------


def _redundant_data():
    """Elastic-net trap: near-copies of features, C=10 (see the test below)."""
    X, y = make_classification(200, 6, n_informative=4, n_redundant=2, random_state=17)
    rng = np.random.RandomState(17)
    copies = X @ (0.3 * rng.randn(6, 6)) + 1e-3 * rng.randn(200, 6)
    return StandardScaler().fit_transform(np.hstack([X, copies])), y


def _binary_objective(X, y, C, l1_ratio):
    """scikit-learn's binary elastic-net objective, smooth part and L1 strength."""
    n, d = X.shape
    sign = np.where(y == 1, 1.0, -1.0)

    def smooth(theta):
        w, b = theta[:d], theta[d]
        z = sign * (X @ w + b)
        loss = -log_expit(z).mean() + (1 - l1_ratio) / (2 * C * n) * (w @ w)
        r = -sign * np.exp(log_expit(-z)) / n
        grad = np.concatenate([X.T @ r + (1 - l1_ratio) / (C * n) * w, [r.sum()]])
        return loss, grad

    return smooth, l1_ratio / (C * n)


def _optimality(smooth, l1, theta, d):
    """``|theta - prox(theta - grad)|_max``, the optimality of an L1 problem."""
    grad = smooth(theta)[1]
    moved = theta - grad
    moved[:d] = np.sign(moved[:d]) * np.maximum(np.abs(moved[:d]) - l1, 0.0)
    return np.abs(theta - moved).max()


def _naive_split(smooth, l1, d):
    """One L-BFGS-B run on the split problem with scikit-learn's options."""

    def split(z):
        u, v, b = z[:d], z[d : 2 * d], z[2 * d :]
        loss, grad = smooth(np.concatenate([u - v, b]))
        loss += l1 * (u.sum() + v.sum())
        return loss, np.concatenate([grad[:d] + l1, l1 - grad[:d], grad[d:]])

    bounds = [(0, None)] * (2 * d) + [(None, None)]
    return optimize.minimize(
        split,
        np.zeros(2 * d + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options=dict(gtol=1e-4, ftol=64 * np.finfo(float).eps, maxls=50),
    )


@pytest.mark.slow
def test_lbfgs_does_not_stop_where_the_relative_reduction_test_fires():
    # One L-BFGS-B run on the split problem w = u - v, with scikit-learn's
    # options, stops on its relative-reduction test (ftol) before the L1
    # problem is solved to tol on this data, more than 1e-2 from scikit-
    # learn's converged saga; ours reaches tol, and saga's optimum to 1e-4.
    X, y = _redundant_data()
    d = X.shape[1]
    settings = dict(C=10.0, l1_ratio=0.5)
    smooth, l1 = _binary_objective(X, y, **settings)
    naive = _naive_split(smooth, l1, d)
    naive_theta = np.concatenate([naive.x[:d] - naive.x[d : 2 * d], naive.x[2 * d :]])
    assert "RELATIVE REDUCTION" in naive.message
    assert _optimality(smooth, l1, naive_theta, d) > 1e-4

    ours = LogisticRegressionGraph(max_iter=1000, **settings).fit(X, y)
    theta = np.concatenate([ours.coef_[0], ours.intercept_])
    assert _optimality(smooth, l1, theta, d) <= 1e-4

    reference = LogisticRegression(
        solver="saga", tol=SAGA_TOL, max_iter=SAGA_MAX_ITER, **settings
    ).fit(X, y)
    assert reference.n_iter_[0] < SAGA_MAX_ITER
    assert np.abs(naive_theta[:d] - reference.coef_[0]).max() > 1e-2
    ours.set_params(tol=1e-8).fit(X, y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-4)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_tol_means_the_gradient_mapping(solver):
    # At the returned point the optimality of the non-smooth problem is
    # within tol (max norm for lbfgs, Euclidean norm for gd).
    X, y = _data(2)
    smooth, l1 = _binary_objective(X, y, C=1.0, l1_ratio=1.0)
    d = X.shape[1]
    for tol in (1e-3, 1e-6):
        clf = LogisticRegressionGraph(C=1.0, l1_ratio=1.0, solver=solver, tol=tol)
        clf.set_params(max_iter=10_000).fit(X, y)
        theta = np.concatenate([clf.coef_[0], clf.intercept_])
        assert _optimality(smooth, l1, theta, d) <= tol


# -- positive=True ---------------------------------------------------------------------


def _bounded_reference(X, y, C, l1_ratio, sample_weight):
    """The optimum over W >= 0 of an independently written objective."""
    classes = np.unique(y)
    n, d = X.shape
    k = 1 if len(classes) == 2 else len(classes)
    s = sample_weight / sample_weight.sum()
    total = sample_weight.sum()

    def objective(theta):
        W, b = theta[: d * k].reshape(d, k), theta[d * k :]
        Z = X @ W + b
        if k == 1:
            sign = np.where(y == classes[1], 1.0, -1.0)[:, None]
            loss = -(s * log_expit(sign * Z)[:, 0]).sum()
            R = -sign * np.exp(log_expit(-sign * Z)) * s[:, None]
        else:
            Y = (y[:, None] == classes).astype(float)
            log_p = log_softmax(Z, axis=1)
            loss = -(s * (Y * log_p).sum(axis=1)).sum()
            R = (np.exp(log_p) - Y) * s[:, None]
        loss += (1 - l1_ratio) / (2 * C * total) * (W**2).sum()
        loss += l1_ratio / (C * total) * W.sum()  # W >= 0: |W| = W
        grad_W = X.T @ R + (1 - l1_ratio) / (C * total) * W + l1_ratio / (C * total)
        return loss, np.concatenate([grad_W.ravel(), R.sum(axis=0)])

    bounds = [(0, None)] * (d * k) + [(None, None)] * k
    result = optimize.minimize(
        objective,
        np.zeros(d * k + k),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options=dict(gtol=1e-12, ftol=1e-15, maxiter=10_000),
    )
    return result.x[: d * k].reshape(d, k).T, result.x[d * k :]


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_positive_is_the_bound_constrained_optimum(solver, n_classes, l1_ratio):
    X, y = _data(n_classes, seed=1)
    sample_weight = _weights(y)
    coef, intercept = _bounded_reference(X, y, 1.0, l1_ratio, sample_weight)
    assert (coef == 0).any()  # the bounds are active
    ours = LogisticRegressionGraph(
        C=1.0, l1_ratio=l1_ratio, positive=True, solver=solver, tol=1e-8
    ).fit(X, y, sample_weight=sample_weight)
    assert (ours.coef_ >= 0).all()
    np.testing.assert_allclose(ours.coef_, coef, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, intercept, atol=1e-4)
    np.testing.assert_array_equal(ours.coef_ == 0, coef < 1e-8)


def test_positive_warm_start_from_negative_coefficients():
    X, y = _data(2, seed=1)
    clf = LogisticRegressionGraph(warm_start=True, tol=1e-8).fit(X, y)
    assert (clf.coef_ < 0).any()
    clf.set_params(positive=True).fit(X, y)
    cold = LogisticRegressionGraph(positive=True, tol=1e-8).fit(X, y)
    assert (clf.coef_ >= 0).all()
    np.testing.assert_allclose(clf.coef_, cold.coef_, atol=1e-5)


# -- solvers that cannot ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [dict(l1_ratio=0.5), dict(l1_ratio=1.0), dict(positive=True)],
    ids=["elasticnet", "l1", "positive"],
)
def test_cg_refuses_l1_and_positive_naming_the_solvers_that_can(params):
    X, y = _data(2)
    clf = LogisticRegressionGraph(solver="cg", **params)
    with pytest.raises(ValueError, match="solver='cg'.*'lbfgs'.*'gd'"):
        clf.fit(X, y)
    assert not hasattr(clf, "coef_")


def test_cg_without_penalty_ignores_l1_ratio():
    # C=inf is no penalty at all (scikit-learn: penalty=None), so cg can.
    X, y = _data(2)
    cg = LogisticRegressionGraph(solver="cg", C=np.inf, l1_ratio=1.0, tol=1e-8)
    plain = LogisticRegressionGraph(C=np.inf, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_allclose(
            cg.fit(X, y).coef_, plain.fit(X, y).coef_, rtol=1e-3, atol=1e-4
        )
    assert "l1_penalty" not in [node.name for node in cg.graph_.nodes]


# -- penalty: deprecated, and mapped as scikit-learn 1.9 maps it -----------------------

PENALTY_CASES = [
    dict(penalty="l2"),
    dict(penalty="l1", l1_ratio=1.0),
    dict(penalty="l1"),  # inconsistent with l1_ratio=0: warned, l1 wins
    dict(penalty="l2", l1_ratio=0.5),  # l1_ratio unused: warned
    dict(penalty="elasticnet", l1_ratio=0.5),
    dict(penalty=None),
    dict(penalty=None, C=0.3),  # C ignored: warned
    dict(l1_ratio=None),  # deprecated too: means 0
    dict(l1_ratio=1.0, C=np.inf),  # no penalty at all
]


def _recorded_fit(estimator, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return [
        (w.category, str(w.message))
        for w in caught
        if not issubclass(w.category, ConvergenceWarning)
    ]


@pytest.mark.parametrize("params", PENALTY_CASES, ids=repr)
def test_penalty_deprecation_and_mapping_as_sklearn(params):
    # Overlapping classes: the unpenalised cases have a finite optimum too.
    X, y = make_classification(
        100,
        4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        flip_y=0.3,
        class_sep=0.5,
        random_state=0,
    )
    reference = LogisticRegression(solver="saga", tol=1e-8, max_iter=20_000, **params)
    ours = LogisticRegressionGraph(tol=1e-9, max_iter=1000, **params)
    expected = _recorded_fit(reference, X, y)
    assert _recorded_fit(ours, X, y) == expected
    if "penalty" in params:
        assert (FutureWarning, expected[0][1]) in expected
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-4)
    np.testing.assert_array_equal(ours.coef_ == 0, reference.coef_ == 0)


def test_penalty_elasticnet_without_l1_ratio_is_refused_as_sklearn():
    X, y = _data(2)
    params = dict(penalty="elasticnet", l1_ratio=None)
    with pytest.raises(ValueError) as expected, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        LogisticRegression(solver="saga", **params).fit(X, y)
    with pytest.raises(ValueError) as got, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        LogisticRegressionGraph(**params).fit(X, y)
    assert str(got.value) == str(expected.value)


def test_penalty_is_positional_and_default_fit_is_silent():
    X, y = _data(2)
    assert LogisticRegressionGraph("l1").penalty == "l1"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegressionGraph(l1_ratio=0.5).fit(X, y)


@pytest.mark.parametrize("l1_ratio", [-0.1, 1.5, "l1"])
def test_invalid_l1_ratio_is_refused(l1_ratio):
    X, y = _data(2)
    with pytest.raises(ValueError, match="l1_ratio"):
        LogisticRegressionGraph(l1_ratio=l1_ratio).fit(X, y)


# -- scikit-learn's machinery ----------------------------------------------------------


def test_grid_search_over_l1_ratio_and_C_scores_as_sklearn():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    grid = {"C": [0.1, 1.0], "l1_ratio": [0.0, 1.0]}  # 0.5: the parity grid
    common = dict(tol=1e-8, max_iter=10_000)
    ours = GridSearchCV(
        LogisticRegressionGraph(**common), grid, cv=2, scoring="neg_log_loss"
    ).fit(X, y)
    reference = GridSearchCV(
        LogisticRegression(solver="saga", **common), grid, cv=2, scoring="neg_log_loss"
    ).fit(X, y)
    assert len(ours.cv_results_["params"]) == 4
    assert ours.cv_results_["params"] == reference.cv_results_["params"]
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"],
        reference.cv_results_["mean_test_score"],
        atol=1e-5,
    )
    assert ours.best_params_ == reference.best_params_
    assert clone(ours.best_estimator_).get_params() == ours.best_estimator_.get_params()


def test_regularisation_path_with_warm_start_equals_cold_fits():
    X, y = _data(3)
    Cs = np.logspace(-2, 1, 4)
    path = LogisticRegressionGraph(l1_ratio=1.0, tol=1e-8, warm_start=True)
    warm_iterations = cold_iterations = 0
    for C in Cs:
        path.set_params(C=C).fit(X, y)
        cold = LogisticRegressionGraph(C=C, l1_ratio=1.0, tol=1e-8).fit(X, y)
        np.testing.assert_allclose(path.coef_, cold.coef_, atol=1e-5)
        np.testing.assert_array_equal(path.coef_ == 0, cold.coef_ == 0)
        warm_iterations += path.n_iter_[0]
        cold_iterations += cold.n_iter_[0]
    assert warm_iterations < cold_iterations


# -- the graph shows the penalty -------------------------------------------------------


def test_graph_has_the_l1_node_with_its_value():
    X, y = _data(3)
    clf = LogisticRegressionGraph(C=0.5, l1_ratio=0.5, tol=1e-8).fit(X, y)
    node = clf.graph_["l1_penalty"]
    assert type(node).__name__ == "L1Penalty"
    graph, smooth, feed = clf._training_objective(X, y)
    network = clf._network
    trace = graph.backward(network.objective, feed)
    expected = 0.5 / (0.5 * len(y)) * np.abs(clf.coef_).sum()
    assert trace.value(node) == pytest.approx(expected, rel=1e-12)
    assert trace.value(network.objective) == pytest.approx(
        trace.value(smooth) + expected, rel=1e-12
    )
    assert clf.loss_curve_[-1] == pytest.approx(trace.value(network.objective))
    dot = graph.to_dot(trace)
    assert "l1_penalty" in dot and "L1Penalty" in dot
    # The gradient check applies to the smooth part of the objective (on
    # other data, where its gradient is far from zero).
    X_other, y_other = _data(3, seed=1)
    assert check_gradients(clf, X_other, y_other).max_error < 1e-6
    plain = LogisticRegressionGraph().fit(X, y)
    assert "l1_penalty" not in [node.name for node in plain.graph_.nodes]
