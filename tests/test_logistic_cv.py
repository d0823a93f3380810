"""LogisticRegressionGraphCV against scikit-learn's LogisticRegressionCV, run beside it.

Both classes fit the same folds (an explicit splitter) with a tight ``tol``;
the chosen ``C_``/``l1_ratio_``, the final coefficients, every fold's path and
scores, and the layout of every fitted attribute must agree.
"""

import pickle
import warnings

import dask.array as da
import numpy as np
import pytest
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgraph import Graph, LogisticRegressionGraphCV

RTOL = 1e-4


def _data(n_classes=2, n_samples=60, labels=None, seed=0):
    X, y = make_classification(
        n_samples,
        4,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    X = StandardScaler().fit_transform(X)
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def _both(X, y, sample_weight=None, sklearn_params=None, **params):
    """Our class and scikit-learn's, fitted with the same parameters and folds."""
    params = {"cv": StratifiedKFold(3), "Cs": [0.05, 0.5, 5.0], "tol": 1e-9, **params}
    params.setdefault("use_legacy_attributes", False)
    params.setdefault("l1_ratios", (0,))
    params.setdefault("scoring", None)
    theirs = LogisticRegressionCV(**{**params, **(sklearn_params or {})})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs.fit(X, y, sample_weight=sample_weight)
    ours = LogisticRegressionGraphCV(**params).fit(X, y, sample_weight=sample_weight)
    return ours, theirs


def _scale(a):
    return np.max(np.abs(a))


def _assert_same(ours, theirs):
    """Same choice, coefficients (1e-4 relative) and attribute layout."""
    assert_array_equal(ours.classes_, theirs.classes_)
    assert_allclose(ours.Cs_, theirs.Cs_)
    assert_array_equal(ours.l1_ratios_, theirs.l1_ratios_)
    for name in ("C_", "l1_ratio_"):
        mine, reference = getattr(ours, name), getattr(theirs, name)
        assert type(mine) is type(reference), name
        assert np.shape(mine) == np.shape(reference), name
        assert_array_equal(mine, reference)
    assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=RTOL * _scale(theirs.coef_))
    assert_allclose(
        ours.intercept_, theirs.intercept_, rtol=0, atol=RTOL * _scale(theirs.coef_)
    )
    assert ours.n_iter_.shape == theirs.n_iter_.shape
    for name in ("coefs_paths_", "scores_"):
        mine, reference = getattr(ours, name), getattr(theirs, name)
        if isinstance(reference, dict):
            assert list(mine) == list(reference), name
            pairs = [(mine[k], reference[k]) for k in reference]
        else:
            assert not isinstance(mine, dict), name
            pairs = [(mine, reference)]
        for a, b in pairs:
            assert a.shape == b.shape, name
            assert_allclose(a, b, rtol=0, atol=RTOL * _scale(b), err_msg=name)


@pytest.mark.parametrize(
    ("n_classes", "params"),
    [
        (2, {"Cs": 3}),
        (3, {}),
        (3, {"class_weight": "balanced", "scoring": "neg_log_loss"}),
        (2, {"class_weight": {0: 3.0, 1: 0.5}, "fit_intercept": False}),
        (3, {"refit": False, "scoring": "neg_log_loss"}),
        (2, {"refit": False, "Cs": [0.01, 0.1, np.inf]}),
        (2, {"use_legacy_attributes": True, "l1_ratios": "warn"}),
        (3, {"use_legacy_attributes": True, "l1_ratios": "warn", "refit": False}),
        (3, {"use_legacy_attributes": True}),
    ],
)
def test_matches_sklearn(n_classes, params):
    X, y = _data(n_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ours, theirs = _both(X, y, **params)
    _assert_same(ours, theirs)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)


def test_sample_weight_and_string_labels_match_sklearn():
    X, y = _data(3, labels=["cat", "dog", "emu"])
    sample_weight = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    ours, theirs = _both(X, y, sample_weight, scoring="neg_log_loss")
    _assert_same(ours, theirs)
    assert ours.predict(X).dtype == theirs.predict(X).dtype
    assert_array_equal(ours.predict(X), theirs.predict(X))


def test_folds_missing_a_class_match_sklearn():
    # Unstratified folds of sorted labels: a training fold lacks a class, a
    # held-out fold has only one; the paths still have every class's row.
    X, y = _data(3, n_samples=45)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    ours, theirs = _both(X, y, cv=KFold(3), scoring="neg_log_loss")
    _assert_same(ours, theirs)


@pytest.mark.slow
@pytest.mark.parametrize("n_classes", [2, 3])
def test_elastic_net_matches_saga(n_classes):
    # scikit-learn's only elastic-net solver is saga; ours is lbfgs. (Away
    # from C values where every weight is zero: saga then stops early with a
    # wrong intercept.)
    X, y = _data(n_classes, n_samples=90)
    # (An array: scikit-learn 1.9's refit=False fails on a list of l1_ratios.)
    params = {"Cs": [0.5, 5.0], "l1_ratios": np.array([0.3, 0.8]), "max_iter": 20000}
    for refit in (True, False):
        ours, theirs = _both(
            X,
            y,
            refit=refit,
            scoring="neg_log_loss",
            tol=1e-10,
            sklearn_params={"solver": "saga", "tol": 1e-12},
            **params,
        )
        assert ours.n_iter_.shape == theirs.n_iter_.shape
        ours.n_iter_ = theirs.n_iter_  # saga counts epochs
        _assert_same(ours, theirs)
        assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)
        assert (ours.coefs_paths_ == 0).any()


def test_deprecated_penalty_warns_and_maps_as_sklearn():
    # penalty="l1" fixes the L1 penalty whatever l1_ratios holds (which
    # scikit-learn still reports as l1_ratio_); lbfgs cannot, so saga there.
    X, y = _data()
    params = dict(penalty="l1", Cs=[0.5], cv=2, l1_ratios=(0,), tol=1e-10)
    with (
        pytest.warns(FutureWarning, match="'penalty' was deprecated"),
        pytest.warns(UserWarning, match="only used when penalty"),
    ):
        ours, theirs = _both(
            X, y, sklearn_params={"solver": "saga", "tol": 1e-12}, **params
        )
    assert ours.l1_ratio_ == theirs.l1_ratio_
    assert_allclose(ours.coef_, theirs.coef_, atol=RTOL * _scale(theirs.coef_))
    assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)
    assert (ours.coef_ == 0).any()


def test_default_warnings_are_sklearns():
    X, y = _data()

    def categories(estimator):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            estimator.fit(X, y)
        # scikit-learn's texts, but for the class name (and a missing space)
        return [
            (w.category, str(w.message).replace("GraphCV", "CV").replace(" ", ""))
            for w in record
            if w.category is FutureWarning
        ]

    ours = categories(LogisticRegressionGraphCV(Cs=2, cv=2))
    theirs = categories(LogisticRegressionCV(Cs=2, cv=2))
    assert ours == theirs and len(ours) == 3


def test_path_is_warm_started():
    # Each C starts from the last one's coefficients: on a path that repeats
    # one C, every fit after the first starts at its optimum.
    X, y = _data(3)
    cv = LogisticRegressionGraphCV(
        Cs=[1.0, 1.0, 1.0],
        cv=KFold(2),
        l1_ratios=(0,),
        scoring=None,
        tol=1e-6,
        use_legacy_attributes=False,
    ).fit(X, y)
    assert (cv.n_iter_[..., 0] > 5).all()
    assert (cv.n_iter_[..., 1:] <= 1).all()
    assert_array_equal(cv.coefs_paths_[:, :, 1], cv.coefs_paths_[:, :, 0])


def test_float32_keeps_float32():
    X, y = _data(3)
    params = dict(Cs=3, cv=3, l1_ratios=(0,), scoring=None, tol=1e-8)
    params["use_legacy_attributes"] = False
    est = LogisticRegressionGraphCV(**params).fit(X.astype(np.float32), y)
    reference = LogisticRegressionGraphCV(**params).fit(X, y)
    assert est.coef_.dtype == est.coefs_paths_.dtype == np.float32
    assert est.graph_.dtype == np.float32
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert est.C_ == reference.C_
    assert_allclose(est.coef_, reference.coef_, rtol=1e-3, atol=1e-4)


def test_pipeline_pickle_graph_and_score():
    X, y = _data(3)
    model = make_pipeline(
        StandardScaler(),
        LogisticRegressionGraphCV(
            Cs=3,
            cv=3,
            l1_ratios=(0,),
            scoring="neg_log_loss",
            use_legacy_attributes=False,
        ),
    ).fit(X, y)
    cv = model[-1]
    assert isinstance(cv.graph_, Graph)
    assert_allclose(cv.graph_.theta[: cv.coef_.size], cv.coef_.T.ravel())
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert_allclose(model.score(X, y), -log_loss(y, model.predict_proba(X)))
    with pytest.warns(FutureWarning, match="positional"):
        cv.score(X, y, np.ones(len(y)))


def test_parallel_folds_equal_sequential():
    X, y = _data(3)
    params = dict(Cs=3, cv=3, l1_ratios=(0,), scoring=None)
    params["use_legacy_attributes"] = False
    sequential = LogisticRegressionGraphCV(**params).fit(X, y)
    with parallel_config(backend="threading"):
        parallel = LogisticRegressionGraphCV(**params, n_jobs=2).fit(X, y)
    assert_array_equal(parallel.coefs_paths_, sequential.coefs_paths_)
    assert_array_equal(parallel.coef_, sequential.coef_)


def test_metadata_routing_matches_sklearn():
    X, y = _data(n_samples=48)
    groups = np.repeat(np.arange(4), 12)
    params = dict(Cs=2, cv=GroupKFold(2), l1_ratios=(0,), scoring=None)
    params["use_legacy_attributes"] = False
    with pytest.raises(ValueError, match="groups"):
        LogisticRegressionGraphCV(**params).fit(X, y, groups=groups)
    with config_context(enable_metadata_routing=True):
        ours = LogisticRegressionGraphCV(**params).fit(X, y, groups=groups)
        theirs = LogisticRegressionCV(**params).fit(X, y, groups=groups)
    _assert_same(ours, theirs)


def test_dask_fit_refused_predict_lazy():
    X, y = _data()
    est = LogisticRegressionGraphCV(
        Cs=2, cv=2, l1_ratios=(0,), scoring=None, use_legacy_attributes=False
    )
    with pytest.raises(TypeError, match="cannot fit Dask"):
        est.fit(da.from_array(X, chunks=20), y)
    est.fit(X, y)
    lazy = est.predict_proba(da.from_array(X, chunks=20))
    assert isinstance(lazy, da.Array)
    assert_allclose(lazy.compute(), est.predict_proba(X))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"Cs": [1.0, -1.0]}, "Cs must be positive"),
        ({"solver": "cg", "l1_ratios": [0.5]}, "solver='cg' cannot minimise"),
        ({"solver": "newton-raphson"}, "'solver' parameter"),
        ({"l1_ratios": [0.5, 2.0]}, "l1_ratios must be an array-like"),
        ({"l1_ratios": []}, "at least one value"),
    ],
)
def test_bad_parameters_are_named(params, message):
    X, y = _data()
    params = {"cv": 2, "scoring": None, "use_legacy_attributes": False, **params}
    params.setdefault("l1_ratios", (0,))
    with pytest.raises(ValueError, match=message):
        LogisticRegressionGraphCV(**params).fit(X, y)


def test_one_class_is_refused():
    X, _ = _data()
    with pytest.raises(ValueError, match="1 class"):
        LogisticRegressionGraphCV(
            cv=2, l1_ratios=(0,), scoring=None, use_legacy_attributes=False
        ).fit(X, np.zeros(len(X)))
