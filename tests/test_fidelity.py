"""Where skgraph must behave exactly as scikit-learn does.

Each test runs scikit-learn's class beside ours: class weights, early-stopping
splits, negative sample weights, convergence warnings, ``max_iter=0``,
``sparsify``/``densify``, what an interrupted fit leaves behind, and
``sample_weight`` under metadata routing.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from callback_support import SilentCallback
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import (
    ConvergenceWarning,
    NotFittedError,
    UnsetMetadataPassedError,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skgraph import LogisticRegressionGraph, MLPClassifierGraph

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
YES_NO = np.array(["no", "yes"])[(Y_IRIS > 0).astype(int)]


def _outcome(make, X, y):
    """``"ok"``, or the type and message of the error ``make().fit`` raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            make().fit(X, y)
    except Exception as error:  # noqa: BLE001 - the outcome is compared
        return type(error).__name__, str(error)
    return "ok"


# -- class_weight dicts --------------------------------------------------------------
CLASS_WEIGHTS = [
    ({"Yes": 10}, YES_NO),  # a typo: scikit-learn raises
    ({"yes": 10}, YES_NO),
    ({"yes": 10, "no": 1, "maybe": 3}, YES_NO),  # every class named: accepted
    ({"yes": 2, "Yes": 3}, YES_NO),
    ({0: 2}, YES_NO),
    ({1: 3}, Y_IRIS > 0),  # int keys match bool labels, as in scikit-learn
    ({True: 3}, Y_IRIS > 0),
    ({5: 2.0}, Y_IRIS),
    ({0: 2.0, 2: 0.5}, Y_IRIS),
]


@pytest.mark.parametrize(("class_weight", "y"), CLASS_WEIGHTS)
def test_class_weight_dicts_accepted_and_rejected_as_scikit_learn(class_weight, y):
    expected = _outcome(
        lambda: LogisticRegression(class_weight=class_weight), X_IRIS, y
    )
    ours = [
        LogisticRegressionGraph(class_weight=class_weight),
        MLPClassifierGraph((3,), class_weight=class_weight, max_iter=5),
    ]
    for estimator in ours:
        assert _outcome(lambda e=estimator: e, X_IRIS, y) == expected
    if expected == "ok":
        theirs = LogisticRegression(class_weight=class_weight, tol=1e-10).fit(X_IRIS, y)
        mine = ours[0].set_params(tol=1e-10).fit(X_IRIS, y)
        np.testing.assert_allclose(mine.coef_, theirs.coef_, rtol=1e-4, atol=1e-6)


# -- early stopping splits as scikit-learn's -----------------------------------------
def _early_stopping_pair(**params):
    params = {
        "hidden_layer_sizes": (4,),
        "early_stopping": True,
        "max_iter": 3,
        "random_state": 0,
        **params,
    }
    return MLPClassifier(**params), MLPClassifierGraph(**params)


def _many_classes(n_classes, per_class):
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(n_classes), per_class)
    return rng.normal(size=(len(y), 3)), y


SPLIT_CASES = {
    "multiclass": (X_IRIS, Y_IRIS, {}),
    "binary": (X_IRIS, Y_IRIS > 0, {}),
    "one sample of a class": (X_IRIS[:101], Y_IRIS[:101], {}),
    "validation_fraction=0.01": (X_IRIS, Y_IRIS, {"validation_fraction": 0.01}),
    "validation_fraction=0.99": (X_IRIS, Y_IRIS, {"validation_fraction": 0.99}),
    "1000 classes x 2": (*_many_classes(1000, 2), {"max_iter": 1}),
    "binary, one sample of a class": (X_IRIS[:51], Y_IRIS[:51], {}),
}


@pytest.mark.parametrize("case", SPLIT_CASES)
def test_early_stopping_holds_out_the_rows_scikit_learn_holds_out(case):
    X, y, params = SPLIT_CASES[case]
    theirs, ours = _early_stopping_pair(**params)
    expected = _outcome(lambda: theirs, X, y)
    assert _outcome(lambda: ours, X, y) == expected
    if expected != "ok":
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
        ours.fit(X, y)
    # The same held-out rows give the same accuracies, epoch by epoch.
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    for mine, their in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_allclose(mine, their, rtol=1e-7, atol=1e-9)


# -- negative sample weights ---------------------------------------------------------
def test_negative_sample_weights_are_accepted_as_scikit_learn():
    sample_weight = np.ones(len(Y_IRIS))
    sample_weight[::10] = -0.2
    theirs = LogisticRegression(tol=1e-10, max_iter=1000)
    ours = LogisticRegressionGraph(tol=1e-10, max_iter=1000)
    theirs.fit(X_IRIS, Y_IRIS, sample_weight=sample_weight)
    ours.fit(X_IRIS, Y_IRIS, sample_weight=sample_weight)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-4, atol=1e-6)
    gd = LogisticRegressionGraph(solver="gd", tol=1e-6, max_iter=20000)
    gd.fit(X_IRIS, Y_IRIS, sample_weight=sample_weight)
    np.testing.assert_allclose(gd.coef_, theirs.coef_, rtol=1e-3, atol=1e-4)
    # scikit-learn's MLP accepts them too.
    for solver in ("lbfgs", "adam"):
        params = {"hidden_layer_sizes": (4,), "solver": solver, "max_iter": 5}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier(**params).fit(X_IRIS, Y_IRIS, sample_weight=sample_weight)
            MLPClassifierGraph(**params).fit(
                X_IRIS, Y_IRIS, sample_weight=sample_weight
            )


# -- convergence warnings in scikit-learn's words ------------------------------------
UNCONVERGED = {
    "lr-lbfgs": lambda: LogisticRegressionGraph(solver="lbfgs", max_iter=2),
    "lr-cg": lambda: LogisticRegressionGraph(solver="cg", max_iter=2),
    "lr-gd": lambda: LogisticRegressionGraph(solver="gd", max_iter=2),
    "mlp-lbfgs": lambda: MLPClassifierGraph((4,), solver="lbfgs", max_iter=2),
    "mlp-cg": lambda: MLPClassifierGraph((4,), solver="cg", max_iter=2),
    "mlp-gd": lambda: MLPClassifierGraph((4,), solver="gd", max_iter=2),
}


@pytest.mark.parametrize("name", UNCONVERGED)
def test_convergence_warning_starts_with_scikit_learns_words(name):
    estimator = UNCONVERGED[name]()
    solver = estimator.solver
    with pytest.warns(ConvergenceWarning) as record:
        estimator.fit(X_IRIS, Y_IRIS)
    message = str(record[0].message)
    assert message.startswith(f"{solver} failed to converge after 2 iteration(s)")
    assert "(max_iter=2)" in message and "scale the data" in message
    # A filter written for scikit-learn's message silences ours.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=f"{solver} failed to converge")
        UNCONVERGED[name]().fit(X_IRIS, Y_IRIS)


def test_lbfgs_warning_is_scikit_learns_for_the_same_fit():
    def first_line(estimator):
        with pytest.warns(ConvergenceWarning) as record:
            estimator.fit(X_IRIS, Y_IRIS)
        return str(record[0].message).splitlines()[0]

    assert first_line(LogisticRegressionGraph(max_iter=3)) == first_line(
        LogisticRegression(max_iter=3)
    )


@pytest.mark.parametrize(
    ("estimator", "step"),
    [
        (
            LogisticRegressionGraph(solver="gd", learning_rate=20.0, max_iter=30),
            "learning_rate",
        ),
        (
            MLPClassifierGraph(
                (4,), solver="gd", learning_rate_init=50.0, max_iter=30, random_state=0
            ),
            "learning_rate_init",
        ),
    ],
)
def test_gd_warning_names_the_step_when_the_loss_went_up(estimator, step):
    X = X_IRIS * 10
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            estimator.fit(X, Y_IRIS)
        except ValueError as error:  # a diverged fit says so, naming the step
            assert step in str(error)
            return
    messages = [str(w.message) for w in record if w.category is ConvergenceWarning]
    assert estimator.loss_curve_ != sorted(estimator.loss_curve_, reverse=True)
    assert messages and messages[0].startswith("gd failed to converge")
    assert f"The loss increased during the fit: {step}=" in messages[0]


def test_gd_warning_without_a_rising_loss_does_not_blame_the_step():
    with pytest.warns(ConvergenceWarning) as record:
        LogisticRegressionGraph(solver="gd", max_iter=3).fit(X_IRIS, Y_IRIS)
    assert "loss increased" not in str(record[0].message)


# -- max_iter=0 ----------------------------------------------------------------------
def test_max_iter_zero_reports_zero_iterations_as_scikit_learn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = LogisticRegression(max_iter=0).fit(X_IRIS, Y_IRIS)
        ours = LogisticRegressionGraph(max_iter=0).fit(X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(ours.n_iter_, theirs.n_iter_)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-9)
    assert len(ours.loss_curve_) == 0
    # scikit-learn's MLP takes at least one iteration: so does ours.
    expected = _outcome(lambda: MLPClassifier(max_iter=0), X_IRIS, Y_IRIS)
    assert _outcome(lambda: MLPClassifierGraph(max_iter=0), X_IRIS, Y_IRIS) == (
        expected[0],
        expected[1].replace("MLPClassifier", "MLPClassifierGraph"),
    )


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
def test_max_iter_zero_with_callbacks(solver):
    from sklearn.callback import ProgressBar

    estimator = LogisticRegressionGraph(solver=solver, max_iter=0)
    estimator.set_callbacks(ProgressBar())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(estimator.n_iter_, [0])


# -- sparsify / densify --------------------------------------------------------------
@pytest.mark.parametrize("interface", ["spmatrix", "sparray"])
def test_sparsify_and_densify_as_scikit_learn(interface):
    ours = LogisticRegressionGraph(C=0.1).fit(X_IRIS, Y_IRIS)
    theirs = LogisticRegression(C=0.1).fit(X_IRIS, Y_IRIS)
    dense_proba = ours.predict_proba(X_IRIS)
    with sklearn.config_context(sparse_interface=interface):
        assert ours.sparsify() is ours
        theirs.sparsify()
    assert type(ours.coef_) is type(theirs.coef_)
    assert sp.issparse(ours.coef_) and ours.coef_.format == "csr"
    np.testing.assert_allclose(ours.coef_.toarray(), ours.graph_["W"].value.T)
    np.testing.assert_allclose(ours.predict_proba(X_IRIS), dense_proba)
    # Assigning a sparse coef_ changes the model, as a dense one does.
    ours.coef_ = ours.coef_ * 0
    np.testing.assert_allclose(
        ours.decision_function(X_IRIS),
        ours.intercept_[None, :].repeat(len(X_IRIS), axis=0),
    )
    assert ours.densify() is ours
    assert isinstance(ours.coef_, np.ndarray)
    assert ours.densify() is ours  # a no-op on a dense coef_


def test_fit_after_sparsify_gives_a_dense_model_and_warm_starts():
    clf = LogisticRegressionGraph(warm_start=True).fit(X_IRIS, Y_IRIS)
    clf.sparsify()
    n_iter = clf.fit(X_IRIS, Y_IRIS).n_iter_[0]
    assert isinstance(clf.coef_, np.ndarray)
    assert n_iter <= 2  # started from the optimum it had


@pytest.mark.parametrize("method", ["sparsify", "densify"])
def test_sparsify_and_densify_need_a_fitted_model(method):
    expected = _outcome(lambda: getattr(LogisticRegression(), method)(), None, None)
    with pytest.raises(NotFittedError) as error:
        getattr(LogisticRegressionGraph(), method)()
    assert str(error.value) == expected[1].replace(
        "LogisticRegression", "LogisticRegressionGraph"
    )


# -- an interrupted fit leaves the estimator as it was -------------------------------
class Interrupt(SilentCallback):
    """A callback that raises ``error`` once ``n`` iterations have ended."""

    def __init__(self, n, error=KeyboardInterrupt):
        self.n, self.error, self.ended = n, error, 0

    def on_fit_task_end(self, estimator, context, **kwargs):
        if context.parent is None:
            return False
        self.ended += 1
        if self.ended == self.n:  # once, as a Ctrl-C
            raise self.error("interrupted")
        return False


def test_interrupted_first_fit_leaves_the_estimator_unfitted():
    for estimator in (
        LogisticRegressionGraph(),
        MLPClassifierGraph((4,), solver="lbfgs", random_state=0),
    ):
        estimator.set_callbacks(Interrupt(2))
        with pytest.raises(KeyboardInterrupt):
            estimator.fit(X_IRIS, Y_IRIS)
        with pytest.raises(NotFittedError):
            check_is_fitted(estimator)
        with pytest.raises(NotFittedError):
            estimator.predict(X_IRIS)


# Each first fit stops early, so that the refit has iterations left to run.
WARM = {
    "lr-lbfgs": lambda: LogisticRegressionGraph(warm_start=True, max_iter=2),
    "lr-gd": lambda: LogisticRegressionGraph(solver="gd", warm_start=True, max_iter=2),
    "mlp-lbfgs": lambda: MLPClassifierGraph(
        (4,), solver="lbfgs", warm_start=True, max_iter=2, random_state=0
    ),
    "mlp-adam": lambda: MLPClassifierGraph(
        (4,), solver="adam", warm_start=True, max_iter=2, random_state=0
    ),
}


@pytest.mark.parametrize("name", WARM)
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_refit_leaves_the_previous_fit(name, error):
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    estimator = WARM[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    before = {k: v for k, v in vars(estimator).items() if k.endswith("_")}
    theta = estimator.graph_.theta.copy()
    proba = estimator.predict_proba(X)
    estimator.set_callbacks(Interrupt(2, error))
    stochastic = name == "mlp-adam" and error is KeyboardInterrupt
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if stochastic:  # scikit-learn's mini-batch loop: stop, keep what trained
            estimator.set_params(max_iter=10).fit(X, y)
        else:
            with pytest.raises(error):
                estimator.set_params(max_iter=10).fit(X, y)
    if stochastic:
        assert "Training interrupted by user." in [str(w.message) for w in record]
        assert estimator.n_iter_ == 2
        return
    assert {k: v for k, v in vars(estimator).items() if k.endswith("_")}.keys() == (
        before.keys()
    )
    for key, value in before.items():
        assert vars(estimator)[key] is value, key
    np.testing.assert_array_equal(estimator.graph_.theta, theta)
    np.testing.assert_array_equal(estimator.predict_proba(X), proba)


# -- metadata routing ------------------------------------------------------------------
ROUTED = {
    "lr": lambda: LogisticRegressionGraph(tol=1e-8),
    "mlp": lambda: MLPClassifierGraph((4,), solver="lbfgs", random_state=0),
}


def _routing_data():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    sample_weight = np.random.default_rng(0).uniform(0.0, 3.0, size=len(y))
    return X, y, sample_weight


@pytest.mark.parametrize("name", ROUTED)
def test_sample_weight_routed_through_a_pipeline(name):
    X, y, sample_weight = _routing_data()
    with (
        sklearn.config_context(enable_metadata_routing=True),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = ROUTED[name]().set_fit_request(sample_weight=True)
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False), model
        )
        pipe.fit(X, y, sample_weight=sample_weight)
        direct = ROUTED[name]().fit(
            StandardScaler().fit_transform(X), y, sample_weight=sample_weight
        )
        unweighted = ROUTED[name]().fit(StandardScaler().fit_transform(X), y)
    np.testing.assert_allclose(pipe[-1].graph_.theta, direct.graph_.theta)
    assert not np.allclose(pipe[-1].graph_.theta, unweighted.graph_.theta, atol=1e-3)


@pytest.mark.parametrize("name", ROUTED)
def test_sample_weight_routed_through_grid_search_to_fit_and_score(name):
    X, y, sample_weight = _routing_data()
    param = {"lr": "C", "mlp": "alpha"}[name]
    grid = {param: [0.1, 10.0]}
    cv = KFold(3)
    with (
        sklearn.config_context(enable_metadata_routing=True),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = (
            ROUTED[name]()
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        search = GridSearchCV(model, grid, cv=cv).fit(X, y, sample_weight=sample_weight)
        # The same search, written out: weighted fits, weighted scores.
        for i, value in enumerate(grid[param]):
            scores = []
            for train, test in cv.split(X, y):
                fold = ROUTED[name]().set_params(**{param: value})
                fold.fit(X[train], y[train], sample_weight=sample_weight[train])
                scores.append(
                    fold.score(X[test], y[test], sample_weight=sample_weight[test])
                )
            assert search.cv_results_["mean_test_score"][i] == pytest.approx(
                np.mean(scores)
            )
        refit = ROUTED[name]().set_params(**search.best_params_)
        refit.fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(search.best_estimator_.graph_.theta, refit.graph_.theta)


def test_routing_without_a_request_is_scikit_learns_error():
    X, y, sample_weight = _routing_data()
    with (
        sklearn.config_context(enable_metadata_routing=True),
        pytest.raises(UnsetMetadataPassedError),
    ):
        make_pipeline(LogisticRegressionGraph()).fit(X, y, sample_weight=sample_weight)
