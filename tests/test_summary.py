"""Standard errors of LogisticRegressionGraph against statsmodels, run beside it."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit
from sklearn.datasets import make_classification

from skgraph import InferenceWarning, LogisticRegressionGraph


def _data(n_classes=2, n_samples=200, n_features=4, seed=0):
    return make_classification(
        n_samples,
        n_features,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        flip_y=0.2,
        random_state=seed,
    )


def _tight(**params):
    return LogisticRegressionGraph(solver="newton-cholesky", tol=1e-10, **params)


def _assert_close(got, expected, rtol=1e-6):
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        got, expected, rtol=rtol, atol=rtol * np.abs(expected).max()
    )


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_binary_matches_statsmodels_logit(fit_intercept):
    X, y = _data()
    table = _tight(C=np.inf, fit_intercept=fit_intercept).fit(X, y).summary(X, y)
    exog = sm.add_constant(X) if fit_intercept else X
    result = sm.Logit(y, exog).fit(disp=0, tol=1e-12)
    _assert_close(table.coef, result.params)
    _assert_close(table.stderr, result.bse)
    _assert_close(table.z, result.tvalues)
    _assert_close(table.p_value, result.pvalues)
    _assert_close(table.conf_int, result.conf_int(alpha=0.05))
    _assert_close(table.covariance, result.cov_params())
    assert table.names[: 1 + fit_intercept] == ["const", "x1"][1 - fit_intercept :]


def test_sample_weight_matches_statsmodels_glm_frequency_weights():
    X, y = _data()
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    est = _tight(C=np.inf).fit(X, y, sample_weight=weights)
    table = est.summary(X, y, sample_weight=weights, alpha=0.1)
    result = sm.GLM(
        y, sm.add_constant(X), family=sm.families.Binomial(), freq_weights=weights
    ).fit(tol=1e-13)
    _assert_close(table.coef, result.params)
    _assert_close(table.stderr, result.bse)
    _assert_close(table.conf_int, result.conf_int(alpha=0.1))


def test_multinomial_matches_statsmodels_mnlogit_reference_class():
    X, y = _data(n_classes=3, n_samples=300)
    est = _tight(C=np.inf).fit(X, y)
    table = est.summary(X, y)
    result = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    # MNLogit's params are (n_params, K - 1); ours one row per class 1..K-1.
    _assert_close(table.coef, result.params.T)
    _assert_close(table.stderr, result.bse.T)
    _assert_close(table.p_value, result.pvalues.T)
    _assert_close(est.coef_covariance(X, y), result.cov_params())
    _assert_close(table.coef[:, 1:], est.coef_[1:] - est.coef_[0])
    assert table.classes.tolist() == [1, 2] and table.reference == 0


def test_l2_covariance_is_the_inverse_penalised_hessian():
    X, y = _data()
    C = 0.3
    est = _tight(C=C).fit(X, y)
    p = expit(est.decision_function(X))
    X1 = np.hstack([np.ones((len(y), 1)), X])
    information = X1.T @ ((p * (1 - p))[:, None] * X1)
    information[1:, 1:] += np.eye(X.shape[1]) / C  # the intercept is not penalised
    _assert_close(est.coef_covariance(X, y), np.linalg.inv(information))


def test_table_and_frame():
    X, y = _data()
    frame = pd.DataFrame(X, columns=["age", "dose", "weight", "height"])
    est = _tight(C=np.inf).fit(frame, y)
    table = est.summary(frame, y, alpha=0.1)
    text = str(table)
    assert text.splitlines()[0].split() == [
        "coef",
        "std",
        "err",
        "z",
        "P>|z|",
        "[0.05",
        "0.95]",
    ]
    assert [line.split()[0] for line in text.splitlines()[2:]] == table.names
    assert table.names == ["const", "age", "dose", "weight", "height"]
    out = table.to_frame()
    assert list(out.index) == table.names
    np.testing.assert_array_equal(out["std err"], table.stderr)
    np.testing.assert_array_equal(out[["[0.05", "0.95]"]], table.conf_int)


def test_separable_data_warn():
    X, y = _data()
    y = (X[:, 0] > 0).astype(int)
    est = LogisticRegressionGraph(C=np.inf).fit(X, y)
    with pytest.warns(InferenceWarning, match="separable"):
        est.summary(X, y)


def test_collinear_features_warn_ill_conditioned():
    X, y = _data()
    X = np.hstack([X, X[:, :1]])
    est = LogisticRegressionGraph(C=np.inf).fit(X, y)
    with pytest.warns(InferenceWarning, match="ill-conditioned"):
        est.coef_covariance(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"l1_ratio": 1.0}, "l1_ratio"),
        ({"positive": True}, "positive"),
    ],
)
def test_refused_models(params, match):
    X, y = _data()
    est = LogisticRegressionGraph(**params).fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.summary(X, y)


def test_multinomial_with_penalty_and_bad_alpha_are_refused():
    X, y = _data(n_classes=3)
    est = LogisticRegressionGraph(C=1.0).fit(X, y)
    with pytest.raises(ValueError, match="C=np.inf"):
        est.summary(X, y)
    with pytest.raises(ValueError, match="alpha"):
        est.set_params(C=np.inf).fit(X, y).summary(X, y, alpha=1.5)
