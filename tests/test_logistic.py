"""LogisticRegressionGraph: scikit-learn's optimum, its API, its graph."""

import doctest
import inspect
import pickle
import re
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

import skgraph._objectives
from skgraph import LogisticRegressionGraph, check_gradients


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small problems: BLAS threads only add contention on a shared machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _synthetic(n_classes, seed=0):
    X, y = make_classification(
        n_samples=300,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        flip_y=0.1,  # label noise: not separable, so C=inf is well-posed
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


DATASETS = {
    "breast_cancer": lambda: _standardized(load_breast_cancer),
    "iris": lambda: _standardized(load_iris),
    "wine": lambda: _standardized(load_wine),
    "digits": lambda: _standardized(load_digits),
    "synthetic_binary": lambda: _synthetic(2),
    "synthetic_4_classes": lambda: _synthetic(4),
}


def _reference(X, y, **params):
    """scikit-learn's LogisticRegression, fitted to a tight tolerance."""
    return LogisticRegression(tol=1e-10, max_iter=10_000, **params).fit(X, y)


def _relative_error(ours, reference):
    """Largest coefficient or intercept difference, relative to the largest."""
    got = np.column_stack([ours.coef_, ours.intercept_])
    want = np.column_stack([reference.coef_, reference.intercept_])
    return np.abs(got - want).max() / np.abs(want).max()


#: Tight settings under which each solver reaches scikit-learn's optimum.
SOLVER_SETTINGS = {
    "lbfgs": dict(tol=1e-8, max_iter=1000),
    "cg": dict(tol=1e-8, max_iter=1000),
    "gd": dict(tol=1e-8, max_iter=50_000),
}


# -- the same optimum as scikit-learn --------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("solver", ["lbfgs", "cg"])
def test_same_optimum_as_sklearn(dataset, solver):
    X, y = DATASETS[dataset]()
    ours = LogisticRegressionGraph(solver=solver, **SOLVER_SETTINGS[solver])
    assert _relative_error(ours.fit(X, y), _reference(X, y)) < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_gradient_descent_reaches_the_optimum(dataset):
    X, y = DATASETS[dataset]()
    ours = LogisticRegressionGraph(solver="gd", **SOLVER_SETTINGS["gd"]).fit(X, y)
    assert _relative_error(ours, _reference(X, y)) < 1e-4


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0, np.inf])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_same_optimum_for_every_C(solver, C, n_classes):
    X, y = _synthetic(n_classes)
    ours = LogisticRegressionGraph(C=C, solver=solver, **SOLVER_SETTINGS[solver])
    assert _relative_error(ours.fit(X, y), _reference(X, y, C=C)) < 1e-4


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_same_optimum_with_sample_and_class_weights(solver, dataset):
    X, y = DATASETS[dataset]()
    rng = np.random.default_rng(0)
    sample_weight = rng.uniform(0.0, 3.0, len(y))
    classes = np.unique(y)
    for class_weight in ("balanced", {classes[0]: 3.0, classes[1]: 0.5}):
        params = dict(C=0.5, class_weight=class_weight)
        ours = LogisticRegressionGraph(
            solver=solver, **params, **SOLVER_SETTINGS[solver]
        ).fit(X, y, sample_weight=sample_weight)
        reference = LogisticRegression(tol=1e-10, max_iter=10_000, **params)
        reference.fit(X, y, sample_weight=sample_weight)
        assert _relative_error(ours, reference) < 1e-4


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
@pytest.mark.parametrize("dataset", ["breast_cancer", "iris"])
def test_sparse_input_reaches_the_same_optimum(container, dataset):
    X, y = DATASETS[dataset]()
    X[np.abs(X) < 0.5] = 0.0  # make it really sparse
    ours = LogisticRegressionGraph(**SOLVER_SETTINGS["lbfgs"]).fit(container(X), y)
    assert _relative_error(ours, _reference(X, y)) < 1e-4
    dense = LogisticRegressionGraph(**SOLVER_SETTINGS["lbfgs"]).fit(X, y)
    np.testing.assert_allclose(ours.coef_, dense.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        ours.predict_proba(container(X)), dense.predict_proba(X), rtol=1e-6
    )


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
@pytest.mark.parametrize("dataset", ["breast_cancer", "iris", "wine", "digits"])
def test_float32_gives_a_float32_model_at_the_optimum(solver, dataset):
    X, y = DATASETS[dataset]()
    X32 = X.astype(np.float32)
    ours = LogisticRegressionGraph(solver=solver, **SOLVER_SETTINGS[solver])
    ours.fit(X32, y)
    assert ours.coef_.dtype == np.float32
    assert ours.intercept_.dtype == np.float32
    assert ours.graph_.dtype == np.float32
    assert ours.predict_proba(X32).dtype == np.float32
    # Solved in float64, as scikit-learn does: its optimum for the same
    # (float32-rounded) data, to float32's resolution.
    reference = _reference(X32.astype(np.float64), y)
    assert _relative_error(ours, reference) < 1e-4


def test_float32_sparse_and_warm_start():
    X, y = DATASETS["breast_cancer"]()
    X[np.abs(X) < 0.5] = 0.0
    X32 = sp.csr_matrix(X.astype(np.float32))
    ours = LogisticRegressionGraph(**SOLVER_SETTINGS["lbfgs"]).fit(X32, y)
    assert ours.coef_.dtype == np.float32
    assert _relative_error(ours, _reference(X32.astype(np.float64), y)) < 1e-4
    ours.set_params(warm_start=True, max_iter=5).fit(X32, y)
    assert ours.coef_.dtype == np.float32
    assert _relative_error(ours, _reference(X32.astype(np.float64), y)) < 1e-4


def test_iteration_counts_match_sklearn_lbfgs():
    # Same objective, same parameter layout, same L-BFGS-B options: the same
    # iterations.
    for dataset in DATASETS:
        X, y = DATASETS[dataset]()
        for tol in (1e-4, 1e-6):
            ours = LogisticRegressionGraph(tol=tol, max_iter=1000).fit(X, y)
            theirs = LogisticRegression(tol=tol, max_iter=1000).fit(X, y)
            assert abs(int(ours.n_iter_[0]) - int(theirs.n_iter_[0])) <= 2, dataset


# -- the graph's gradient ---------------------------------------------------------


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris", "synthetic_binary"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_training_objective_passes_the_gradient_check(dataset, fit_intercept, sparse):
    X, y = DATASETS[dataset]()
    X_train, X_check, y_train, y_check = train_test_split(
        X, y, test_size=0.5, random_state=0, stratify=y
    )
    if sparse:
        X_train, X_check = sp.csr_matrix(X_train), sp.csr_matrix(X_check)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y_check))
    clf = LogisticRegressionGraph(
        C=0.3, fit_intercept=fit_intercept, class_weight="balanced"
    ).fit(X_train, y_train)
    # At the optimum on other data the gradient is far from zero.
    result = check_gradients(clf, X_check, y_check, sample_weight=weights)
    assert result.max_error < 1e-6, result


def test_loss_curve_ends_at_the_graph_objective():
    X, y = DATASETS["iris"]()
    clf = LogisticRegressionGraph(solver="cg", tol=1e-3).fit(X, y)
    graph, objective, feed = clf._training_objective(X, y)
    value = graph.forward(objective, feed).value(objective)
    assert clf.loss_curve_[-1] == pytest.approx(float(value), rel=1e-12)
    assert len(clf.loss_curve_) == clf.n_iter_[0]


@pytest.mark.parametrize("learning_rate", ["auto", 0.5])
def test_gradient_descent_loss_curve(learning_rate):
    X, y = DATASETS["breast_cancer"]()
    clf = LogisticRegressionGraph(
        solver="gd", learning_rate=learning_rate, tol=1e-4, max_iter=10_000
    ).fit(X, y)
    curve = np.asarray(clf.loss_curve_)
    assert len(curve) == clf.n_iter_[0] > 1
    assert np.all(np.diff(curve) <= 0)  # descent at every step


def test_auto_step_is_a_descent_step_bound():
    # The first step 1/L, with L the bound of the gradient's Lipschitz
    # constant, decreases the loss without backtracking.
    X, y = DATASETS["wine"]()
    clf = LogisticRegressionGraph(solver="gd").fit(X, y)
    graph, objective, feed = clf._training_objective(X, y)
    net = clf._network
    step = clf._initial_step(
        net, feed[net.X], feed[net.sample_weight], feed[net.l2_strength]
    )
    fun = skgraph._objectives.GraphObjective(graph, objective, feed)
    theta0 = np.zeros(graph.n_parameters)
    loss0, grad0 = fun(theta0)
    loss1, _ = fun(theta0 - step * grad0)
    assert loss1 <= loss0 - 0.5 * step * grad0 @ grad0
    assert step < 1e3


def test_fixed_learning_rate_that_diverges_is_an_error():
    X, y = DATASETS["breast_cancer"]()
    clf = LogisticRegressionGraph(solver="gd", learning_rate=1e300)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="diverged"):
        clf.fit(X * 1e10, y)


# -- attributes: the graph is the model ----------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fitted_attributes(n_classes, fit_intercept):
    X, y = _synthetic(n_classes)
    clf = LogisticRegressionGraph(fit_intercept=fit_intercept).fit(X, y)
    n_rows = 1 if n_classes == 2 else n_classes
    assert clf.coef_.shape == (n_rows, X.shape[1])
    assert clf.intercept_.shape == (n_rows,)
    assert clf.n_iter_.shape == (1,) and clf.n_iter_.dtype == np.int32
    assert clf.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clf.classes_, np.arange(n_classes))
    if not fit_intercept:
        np.testing.assert_array_equal(clf.intercept_, 0.0)
    scores = clf.decision_function(X)
    assert scores.shape == ((len(y),) if n_classes == 2 else (len(y), n_classes))
    np.testing.assert_allclose(
        np.atleast_2d(scores.T).T, X @ clf.coef_.T + clf.intercept_, rtol=1e-10
    )
    assert "logits" in clf.graph_.to_dot()


def test_coef_and_intercept_are_views_of_the_graph():
    X, y = DATASETS["iris"]()
    clf = LogisticRegressionGraph().fit(X, y)
    W = clf._network.weights[0].value
    assert np.shares_memory(clf.coef_, clf.graph_.theta)
    assert np.shares_memory(clf.intercept_, clf.graph_.theta)
    clf.coef_ = np.zeros_like(clf.coef_)
    clf.intercept_ = np.array([0.0, 5.0, 0.0])
    np.testing.assert_array_equal(W, 0.0)
    np.testing.assert_array_equal(clf.predict(X), 1)  # only the intercept speaks
    with pytest.raises(ValueError, match="shape"):
        clf.coef_ = np.zeros((2, 4))


def test_intercept_without_intercept_node():
    X, y = DATASETS["breast_cancer"]()
    clf = LogisticRegressionGraph(fit_intercept=False).fit(X, y)
    clf.intercept_ = np.zeros(1)  # zero is what the graph has
    with pytest.raises(ValueError, match="fit_intercept=False"):
        clf.intercept_ = np.ones(1)


def test_unfitted_estimator_has_no_coef():
    clf = LogisticRegressionGraph()
    assert not hasattr(clf, "coef_") and not hasattr(clf, "intercept_")
    with pytest.raises(AttributeError, match="not fitted"):
        clf.coef_ = np.zeros((1, 2))
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((1, 2)))


def test_warm_start_continues_from_the_current_coef():
    X, y = DATASETS["breast_cancer"]()
    cold = LogisticRegressionGraph(tol=1e-8).fit(X, y)
    warm = LogisticRegressionGraph(tol=1e-8, warm_start=True).fit(X, y)
    assert warm.fit(X, y).n_iter_[0] <= 2  # started at the optimum
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-6)

    # Values assigned to coef_ are where the next fit starts, as in sklearn.
    reference = LogisticRegression(tol=1e-8, warm_start=True, max_iter=1)
    ours = LogisticRegressionGraph(tol=1e-8, warm_start=True, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for clf in (reference, ours):
            clf.fit(X, y)
            clf.coef_ = cold.coef_ * 0.5
            clf.intercept_ = cold.intercept_ * 0.5
            clf.fit(X, y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-8)

    with pytest.raises(ValueError, match="warm_start"):
        warm.fit(X[:, :5], y)


def test_warm_start_false_starts_from_zero():
    X, y = DATASETS["wine"]()
    clf = LogisticRegressionGraph(tol=1e-8).fit(X, y)
    first = clf.coef_.copy()
    np.testing.assert_array_equal(clf.fit(X, y).coef_, first)


def test_signature_is_the_spec():
    # SPEC §2 / §4.1: scikit-learn 1.9's order, ``penalty`` the one positional.
    parameters = inspect.signature(LogisticRegressionGraph).parameters
    assert [(name, p.default) for name, p in parameters.items()] == [
        ("penalty", "deprecated"),
        ("C", 1.0),
        ("l1_ratio", 0.0),
        ("fit_intercept", True),
        ("solver", "lbfgs"),
        ("max_iter", 100),
        ("tol", 1e-4),
        ("learning_rate", "auto"),
        ("class_weight", None),
        ("warm_start", False),
        ("positive", False),
        ("random_state", None),
        ("verbose", 0),
    ]
    kinds = [p.kind for p in parameters.values()]
    assert kinds[0] == inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(kind == inspect.Parameter.KEYWORD_ONLY for kind in kinds[1:])
    sklearn_parameters = inspect.signature(LogisticRegression).parameters
    assert list(sklearn_parameters)[0] == "penalty"
    for name in ("penalty", "C", "l1_ratio"):
        assert sklearn_parameters[name].default == parameters[name].default


def test_docstring_example():
    result = doctest.testmod(skgraph._logistic, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- predictions ---------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["breast_cancer", "digits"])
def test_predictions_match_sklearn(dataset):
    X, y = DATASETS[dataset]()
    ours = LogisticRegressionGraph(tol=1e-8, max_iter=1000).fit(X, y)
    theirs = _reference(X, y)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5
    )
    np.testing.assert_allclose(
        ours.decision_function(X), theirs.decision_function(X), rtol=1e-3, atol=1e-4
    )
    assert np.mean(ours.predict(X) == theirs.predict(X)) > 0.999
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-3)


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris"])
def test_probabilities_sum_to_one_and_logs_are_finite(dataset):
    X, y = DATASETS[dataset]()
    clf = LogisticRegressionGraph().fit(X, y)
    huge = X * 1e6  # logits of order 1e6: probabilities round to 0 and 1
    for data in (X, huge):
        proba = clf.predict_proba(data)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        log_proba = clf.predict_log_proba(data)
        assert np.all(np.isfinite(log_proba))
        assert np.all(log_proba <= 0)
    # log(predict_proba) loses the digits of log(1 - p) for p near 1
    np.testing.assert_allclose(
        clf.predict_log_proba(X), np.log(clf.predict_proba(X)), rtol=1e-9, atol=1e-12
    )
    assert clf.predict_log_proba(huge).min() < -1e4  # not log(0) = -inf


def test_string_and_bool_labels():
    X, y = DATASETS["iris"]()
    species = np.array(["setosa", "versicolor", "virginica"])
    names = species[y]
    clf = LogisticRegressionGraph().fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert set(clf.predict(X)) <= set(names)
    numeric = LogisticRegressionGraph().fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), species[numeric.predict(X)])

    flags = y == 2
    clf = LogisticRegressionGraph().fit(X, flags)
    np.testing.assert_array_equal(clf.classes_, [False, True])
    assert clf.predict(X).dtype == bool
    # classes_[1] (True) is the positive class: its logit is decision_function
    assert np.all((clf.decision_function(X) > 0) == clf.predict(X))


def test_pandas_input_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = DATASETS["wine"]()
    frame = pd.DataFrame(X, columns=[f"feature {i}" for i in range(X.shape[1])])
    clf = LogisticRegressionGraph().fit(frame, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    # The same values in the frame's own (column-major) layout: X's layout
    # takes other BLAS calls, which may round otherwise, and the fit amplifies
    # that (to 1e-13 of the probabilities on breast cancer).
    values = np.asarray(frame)
    plain = LogisticRegressionGraph().fit(values, y)
    np.testing.assert_allclose(
        clf.predict_proba(frame), plain.predict_proba(values), rtol=1e-12
    )
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


# -- scikit-learn's machinery ----------------------------------------------------------


def test_pipeline_grid_search_and_cross_validation():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegressionGraph())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.95
    search = GridSearchCV(
        pipe,
        {
            "logisticregressiongraph__C": [0.01, 1.0],
            "logisticregressiongraph__solver": ["lbfgs", "cg"],
        },
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert search.best_score_ > 0.95
    assert search.best_estimator_[-1].graph_ is not None


def test_pickle_round_trip_predicts_identically():
    X, y = DATASETS["digits"]()
    clf = LogisticRegressionGraph(max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.coef_, clf.coef_)
    restored.coef_ = np.zeros_like(restored.coef_)  # still the graph's view
    assert not np.array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_clone_is_unfitted_with_the_same_parameters():
    X, y = DATASETS["iris"]()
    clf = LogisticRegressionGraph(C=0.3, solver="cg", class_weight="balanced").fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "graph_") and not hasattr(copy, "coef_")


def test_same_data_gives_bit_identical_models():
    X, y = DATASETS["digits"]()
    for solver in ("lbfgs", "cg", "gd"):
        first = LogisticRegressionGraph(solver=solver, max_iter=50, random_state=0)
        second = LogisticRegressionGraph(solver=solver, max_iter=50, random_state=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            first.fit(X, y)
            second.fit(X, y)
        np.testing.assert_array_equal(first.graph_.theta, second.graph_.theta)


def test_concurrent_predictions_are_the_serial_ones():
    X, y = DATASETS["digits"]()
    clf = LogisticRegressionGraph(max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    chunks = np.array_split(X, 16)
    serial = [clf.predict_proba(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(5):
            parallel = list(pool.map(clf.predict_proba, chunks))
            for got, want in zip(parallel, serial, strict=True):
                np.testing.assert_array_equal(got, want)


# -- errors and warnings ------------------------------------------------------------


def test_convergence_warning_names_the_solver_and_the_remedy():
    X, y = DATASETS["digits"]()
    for solver in ("lbfgs", "cg", "gd"):
        clf = LogisticRegressionGraph(solver=solver, max_iter=3)
        with pytest.warns(ConvergenceWarning, match=f"^{solver} failed to") as record:
            clf.fit(X, y)
        message = str(record[0].message)
        assert "max_iter=3" in message and "StandardScaler" in message
        assert clf.n_iter_[0] == 3


def test_verbose_reports_loss_and_gradient_norm(capsys):
    X, y = DATASETS["iris"]()
    with pytest.warns(ConvergenceWarning):
        LogisticRegressionGraph(verbose=1, max_iter=5, tol=1e-12).fit(X, y)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "iteration" in line]
    assert len(lines) == 5
    assert "loss" in lines[0] and "gradient norm" in lines[0]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(solver="newton"), "solver"),
        (dict(C=-1.0), "'C'"),
        (dict(C=0.0), "'C'"),
        (dict(tol=-1.0), "tol"),
        (dict(max_iter=-1), "max_iter"),
        (dict(max_iter=1.5), "max_iter"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate="adaptive"), "learning_rate"),
        (dict(class_weight="auto"), "class_weight"),
        (dict(fit_intercept="yes"), "fit_intercept"),
    ],
)
def test_invalid_parameters_name_the_parameter(params, match):
    X, y = DATASETS["iris"]()
    with pytest.raises(InvalidParameterError, match=match):
        LogisticRegressionGraph(**params).fit(X, y)


def test_bad_input_gets_a_clear_error():
    X, y = DATASETS["iris"]()
    clf = LogisticRegressionGraph()
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ValueError, match="infinity"):
        clf.fit(np.where(X > 2, np.inf, X), y)
    with pytest.raises(ValueError, match="1 class"):
        clf.fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(np.empty((0, 4)), [])
    with pytest.raises(ValueError, match="could not convert|numeric"):
        clf.fit(np.array([["a", "b"], ["c", "d"]]), [0, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, len(y)))
    clf.fit(X, y)
    with pytest.raises(ValueError, match="3 features, but LogisticRegressionGraph"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="non-zero"):
        LogisticRegressionGraph().fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize(
    "y",
    [
        np.array([0, 1, 1, 0]),
        np.array([3, 1, 2, 7], dtype=np.uint8),
        np.array([True, False, True, True]),
        np.array([0.0, 1.0, 2.0, 1.0]),
        np.array([0.0, 1.0, 1.0, 1.0], dtype=np.float32),
        np.array([0.0, 0.5, 1.0, 1.0]),
        np.array([0.0, np.nan, 1.0, 1.0]),
        np.array([0.0, np.inf, 1.0, 1.0]),
        np.array([0.0, 1e20, 1.0, 1.0]),
        np.array(["a", "b", "a", "c"]),
        np.array(["a", 1, "b", 2], dtype=object),
        np.array([[0, 1], [1, 0], [1, 1], [0, 0]]),
        np.array([[0.5, 1], [1, 0], [1, 1], [0, 0]]),
    ],
)
def test_target_check_shortcut_agrees_with_sklearn(y):
    # fit skips scikit-learn's target check where its answer is known: it
    # must accept and reject exactly what scikit-learn does, with its words.
    from sklearn.utils.multiclass import check_classification_targets

    from skgraph._base import _check_classification_targets

    try:
        check_classification_targets(y)
    except (ValueError, TypeError) as error:
        with pytest.raises(type(error), match=re.escape(str(error))):
            _check_classification_targets(y)
    else:
        _check_classification_targets(y)


@pytest.mark.parametrize(
    "container, n_samples, bound",
    [
        (np.asarray, 200_000, 0.15),
        (sp.csr_matrix, 20_000, 0.4),
        (sp.csc_matrix, 20_000, 0.4),
    ],
)
def test_float32_fit_holds_no_float64_copy_of_X(container, n_samples, bound):
    # n_samples x 50 float32: the fit (float32 solve, float64 polish over
    # blocks of rows) needs a fraction of a float64 copy of X. Dense blocks
    # are widened whole (4 MB at most, 80 MB the float64 copy here), sparse
    # ones a few hundred KB at a time.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, 50)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=n_samples) > 0).astype(int)
    X = container(X)
    float64_copy = 8 * n_samples * 50
    tracemalloc.start()
    try:
        ours = LogisticRegressionGraph(tol=1e-8).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < bound * float64_copy
    assert ours.coef_.dtype == np.float32
    if container is np.asarray:  # sparse float32 parity: the test above
        reference = _reference(X.astype(np.float64), y)
        assert _relative_error(ours, reference) < 1e-4


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", ["lbfgs", "cg", "newton-cg", "newton-cholesky"])
def test_a_large_dense_X_is_evaluated_in_row_blocks(monkeypatch, solver, n_classes):
    # A dense X over _STREAM_BYTES goes over row blocks (X read from memory
    # once per evaluation); made small here, so that 1,000 rows are 4 blocks.
    import skgraph._logistic as logistic

    X, y = make_classification(
        1_000, 8, n_informative=5, n_classes=n_classes, random_state=0
    )
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    # (cg stops on the resolution of its line search well above 1e-10)
    params = dict(solver=solver, tol=1e-6 if solver == "cg" else 1e-10, max_iter=500)
    whole = LogisticRegressionGraph(**params).fit(X, y, sample_weight=sample_weight)
    block_sizes = []
    build = LogisticRegressionGraph._full_batch_objective

    def spy(self, network, data, block_size=None):
        block_sizes.append(block_size)
        return build(self, network, data, block_size)

    monkeypatch.setattr(LogisticRegressionGraph, "_full_batch_objective", spy)
    monkeypatch.setattr(logistic, "_STREAM_BYTES", 0)
    monkeypatch.setattr(logistic, "_STREAM_BLOCK_BYTES", 1)  # 256 rows, the floor
    blocks = LogisticRegressionGraph(**params).fit(X, y, sample_weight=sample_weight)
    # Newton-Cholesky keeps the whole batch: its Hessian reads its logits.
    assert block_sizes == [None if solver == "newton-cholesky" else 256]
    scale = np.abs(whole.coef_).max()
    np.testing.assert_allclose(blocks.coef_, whole.coef_, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(
        blocks.intercept_, whole.intercept_, rtol=0, atol=1e-7 * scale
    )
