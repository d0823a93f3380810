"""Scale-out on Dask: data-parallel full-batch fits, lazy prediction, distributed
search and out-of-core partial_fit, on a real LocalCluster on 127.0.0.1."""

import contextlib
import os
import warnings

import dask.array as da
import distributed
import joblib
import numpy as np
import pytest
from callback_support import SilentCallback
from dask_ml.wrappers import Incremental
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score

from skgraph import LogisticRegressionGraph, MLPClassifierGraph, MLPRegressorGraph


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def make_data(n=3000, d=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    scores = X[:, :n_classes] + 0.5 * rng.normal(size=(n, n_classes))
    y = np.array(["ant", "bee", "cat", "dog"])[:n_classes][scores.argmax(axis=1)]
    sample_weight = rng.uniform(0.5, 2.0, size=n)
    return X, y, sample_weight


def as_dask(*arrays, rows=700):
    return [da.from_array(a, chunks=(rows,) + a.shape[1:]) for a in arrays]


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_fit_on_dask_equals_in_memory(client, solver, n_classes):
    X, y, sw = make_data(n_classes=n_classes)
    params = dict(solver=solver, tol=1e-9, max_iter=5000, class_weight="balanced")
    memory = LogisticRegressionGraph(**params).fit(X, y, sample_weight=sw)
    Xd, yd, swd = as_dask(X, y, sw)
    dist = LogisticRegressionGraph(**params).fit(Xd, yd, sample_weight=swd)
    scale = np.abs(memory.coef_).max()
    np.testing.assert_allclose(dist.coef_, memory.coef_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(
        dist.intercept_, memory.intercept_, rtol=0, atol=1e-6 * scale
    )
    np.testing.assert_array_equal(dist.classes_, memory.classes_)
    assert dist.n_features_in_ == X.shape[1]


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="lbfgs", l1_ratio=1.0),
        dict(solver="gd", l1_ratio=0.5, positive=True),
    ],
    ids=repr,
)
def test_logistic_l1_and_positive_on_dask_equal_in_memory(client, params):
    # The same solver on the same sums: equal up to rounding, at any tol.
    X, y, sw = make_data(n_classes=3)
    params = dict(C=0.01, tol=1e-5, **params)
    memory = LogisticRegressionGraph(**params).fit(X, y, sample_weight=sw)
    assert (memory.coef_ == 0).any()
    Xd, yd, swd = as_dask(X, y, sw)
    dist = LogisticRegressionGraph(**params).fit(Xd, yd, sample_weight=swd)
    scale = np.abs(memory.coef_).max()
    np.testing.assert_allclose(dist.coef_, memory.coef_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_array_equal(dist.coef_ == 0, memory.coef_ == 0)
    assert "l1_penalty" in [node.name for node in dist.graph_.nodes]


def test_logistic_float32_on_dask_is_the_in_memory_float32_model(client):
    X, y, sw = make_data(n_classes=2)
    X = X.astype(np.float32)
    params = dict(tol=1e-9, max_iter=5000)
    memory = LogisticRegressionGraph(**params).fit(X, y, sample_weight=sw)
    dist = LogisticRegressionGraph(**params).fit(*as_dask(X, y), sample_weight=sw)
    assert dist.coef_.dtype == memory.coef_.dtype == np.float32
    # In memory, L-BFGS starts in float32 before its float64 polish; on Dask
    # it solves in float64 throughout: the same optimum, to the solve's
    # tolerance (a float32 rounding of the largest coefficient is coarser).
    scale = np.abs(memory.coef_).max()
    np.testing.assert_allclose(dist.coef_, memory.coef_, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_mlp_full_batch_fit_on_dask_equals_in_memory(client, solver):
    X, y, sw = make_data(n=1500)
    params = dict(
        hidden_layer_sizes=(5,),
        solver=solver,
        max_iter=40,
        learning_rate_init=0.5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = MLPClassifierGraph(**params).fit(X, y, sample_weight=sw)
        dist = MLPClassifierGraph(**params).fit(
            *as_dask(X, y, sw, rows=400)[:2], sample_weight=as_dask(sw, rows=400)[0]
        )
    for a, b in zip(
        memory.coefs_ + memory.intercepts_, dist.coefs_ + dist.intercepts_, strict=True
    ):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("loss", "n_outputs"), [("squared_error", 1), ("squared_error", 2), ("poisson", 2)]
)
def test_mlp_regressor_fit_on_dask_equals_in_memory(client, loss, n_outputs):
    X, _, sw = make_data(n=1200)
    Y = np.c_[X[:, 0] + X[:, 1] ** 2, X[:, 2]][:, :n_outputs]
    if loss == "poisson":
        Y = np.random.default_rng(1).poisson(np.exp(0.3 * Y)).astype(float)
    y = Y[:, 0] if n_outputs == 1 else Y
    params = dict(loss=loss, hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = MLPRegressorGraph(**params, random_state=0).fit(X, y, sample_weight=sw)
        dist = MLPRegressorGraph(**params, random_state=0).fit(
            *as_dask(X, y, rows=400), sample_weight=as_dask(sw, rows=400)[0]
        )
    assert dist.loss_ == pytest.approx(memory.loss_, rel=1e-9)
    for a, b in zip(
        memory.coefs_ + memory.intercepts_, dist.coefs_ + dist.intercepts_, strict=True
    ):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)
    prediction = dist.predict(as_dask(X, rows=400)[0]).compute()
    np.testing.assert_allclose(prediction, memory.predict(X), rtol=1e-6, atol=1e-9)


def test_poisson_regressor_rejects_negative_dask_targets(client):
    X, _, _ = make_data(n=100)
    with pytest.raises(ValueError, match="needs non-negative targets"):
        MLPRegressorGraph("poisson", solver="lbfgs").fit(*as_dask(X, X[:, 0]))


@pytest.mark.parametrize("loss", ["huber", "poisson"])
def test_a_user_built_regressor_fits_on_dask_as_in_memory(client, loss):
    from skgraph import GraphRegressor
    from skgraph.layers import Dense

    X, _, sw = make_data(n=1200)
    y = X[:, 0] + X[:, 1] ** 2
    y = np.exp(0.3 * y) if loss == "poisson" else y
    layers = [Dense(5, activation="gelu")]
    params = dict(layers=layers, loss=loss, solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GraphRegressor(**params).fit(X, y, sample_weight=sw)
        Xd, yd, swd = as_dask(X, y, sw, rows=400)
        dist = GraphRegressor(**params).fit(Xd, yd, sample_weight=swd)
    assert dist.loss_ == pytest.approx(memory.loss_, rel=1e-9)
    np.testing.assert_allclose(
        dist.graph_.theta, memory.graph_.theta, rtol=1e-6, atol=1e-9
    )


def test_a_user_built_network_fits_on_dask_as_in_memory(client):
    from skgraph import GraphClassifier
    from skgraph.layers import Dense, Dropout

    X, y, sw = make_data(n=1200)
    layers = [Dense(5, activation="gelu"), Dense(4, activation="softplus")]
    params = dict(layers=layers, solver="lbfgs", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GraphClassifier(**params).fit(X, y, sample_weight=sw)
        Xd, yd, swd = as_dask(X, y, sw, rows=400)
        dist = GraphClassifier(**params).fit(Xd, yd, sample_weight=swd)
    np.testing.assert_allclose(
        dist.graph_.theta, memory.graph_.theta, rtol=1e-6, atol=1e-9
    )
    with pytest.raises(ValueError, match="Dropout layers train only with"):
        GraphClassifier([Dense(3), Dropout(0.1)], solver="lbfgs").fit(Xd, yd)
    with pytest.raises(ValueError, match="label_smoothing > 0 is not supported"):
        GraphClassifier([Dense(3)], solver="lbfgs", label_smoothing=0.1).fit(Xd, yd)


def test_prediction_on_dask_is_lazy_and_blockwise(client):
    X, y, _ = make_data()
    clf = LogisticRegressionGraph().fit(X, y)
    (Xd,) = as_dask(X)
    proba = clf.predict_proba(Xd)
    assert isinstance(proba, da.Array)
    assert proba.chunks[0] == Xd.chunks[0]
    np.testing.assert_allclose(proba.compute(), clf.predict_proba(X), rtol=1e-12)
    labels = clf.predict(Xd)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), clf.predict(X))
    np.testing.assert_allclose(
        clf.predict_log_proba(Xd).compute(), clf.predict_log_proba(X)
    )
    np.testing.assert_allclose(
        clf.decision_function(Xd).compute(), clf.decision_function(X)
    )


def test_dask_input_errors_are_clear(client):
    X, y, _ = make_data()
    Xd, yd = as_dask(X, y)
    with pytest.raises(ValueError, match="1 class"):
        LogisticRegressionGraph().fit(Xd, da.from_array(np.zeros(len(y)), chunks=700))
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegressionGraph().fit(as_dask(bad)[0], yd)
    with pytest.raises(ValueError, match="features"):
        LogisticRegressionGraph().fit(X, y).predict(Xd[:, :3])


def test_grid_search_and_cross_validation_run_on_the_cluster(client):
    X, y, _ = make_data(n=600)
    grid = {"C": [0.1, 1.0, 10.0]}
    serial = GridSearchCV(LogisticRegressionGraph(), grid, cv=3).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_cluster = GridSearchCV(LogisticRegressionGraph(), grid, cv=3, n_jobs=-1)
        on_cluster.fit(X, y)
        scores = cross_val_score(
            MLPClassifierGraph((5,), solver="lbfgs", max_iter=50, random_state=0),
            X,
            y,
            cv=3,
            n_jobs=-1,
        )
    np.testing.assert_allclose(
        on_cluster.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
    )
    assert on_cluster.best_params_ == serial.best_params_
    assert scores.shape == (3,)
    assert np.all(scores > 0.5)


def test_incremental_partial_fit_over_chunks(client):
    X, y, _ = make_data(n=2000)
    Xd, yd = as_dask(X, y, rows=250)
    classes = np.unique(y)
    model = MLPClassifierGraph(
        (8,), solver="adam", learning_rate_init=0.05, random_state=0
    )
    incremental = Incremental(model, scoring="accuracy", shuffle_blocks=False)
    incremental.fit(Xd, yd, classes=classes)
    fitted = incremental.estimator_
    # One partial_fit per chunk, each a pass of mini-batches over that chunk.
    reference = MLPClassifierGraph(
        (8,), solver="adam", learning_rate_init=0.05, random_state=0
    )
    for start in range(0, len(y), 250):
        reference.partial_fit(
            X[start : start + 250], y[start : start + 250], classes=classes
        )
    for a, b in zip(fitted.coefs_, reference.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    assert incremental.score(Xd, yd) > 0.7


def test_worker_lost_mid_fit_never_gives_a_wrong_model(client):
    X, y, sw = make_data(n=4000)
    reference = LogisticRegressionGraph(tol=1e-9).fit(X, y, sample_weight=sw)
    Xd, yd, swd = as_dask(X, y, sw, rows=500)
    killed = []

    class KillAWorker(SilentCallback):
        def on_fit_task_end(self, estimator, context):
            if context.parent is not None and not killed:
                worker = sorted(client.scheduler_info()["workers"])[0]
                # It dies before it can answer: the error is the intended one.
                with contextlib.suppress(OSError, distributed.comm.CommClosedError):
                    client.run(os._exit, 1, workers=[worker])
                killed.append(worker)
            return False

    clf = LogisticRegressionGraph(tol=1e-9).set_callbacks(KillAWorker())
    try:
        clf.fit(Xd, yd, sample_weight=swd)
    except RuntimeError as exc:  # a clear failure is acceptable ...
        assert "chunk" in str(exc)
    else:  # ... and a completed fit must be the right one.
        np.testing.assert_allclose(clf.coef_, reference.coef_, rtol=1e-6)
    assert killed
    client.wait_for_workers(2, timeout=60)


def test_class_weight_typo_is_rejected_as_scikit_learn(client):
    X, y, _ = make_data(n=300, n_classes=2)
    X, y = as_dask(X, y, rows=100)
    with pytest.raises(ValueError, match=r"The classes, \['ant', 'bee'\], are not in"):
        LogisticRegressionGraph(class_weight={"Ant": 10}).fit(X, y)


def test_negative_sample_weights_are_accepted_as_scikit_learn(client):
    X, y, sample_weight = make_data(n=300)
    sample_weight[::10] = -0.2
    memory = LogisticRegressionGraph(tol=1e-8).fit(X, y, sample_weight=sample_weight)
    distributed_fit = LogisticRegressionGraph(tol=1e-8).fit(
        *as_dask(X, y, rows=100), sample_weight=as_dask(sample_weight, rows=100)[0]
    )
    scale = np.abs(memory.coef_).max()
    np.testing.assert_allclose(
        distributed_fit.coef_, memory.coef_, rtol=0, atol=1e-6 * scale
    )
