"""scikit-learn's estimator checks on LogisticRegressionGraphCV, no expected failures.

One configuration, kept small for the suite's time budget (each fit is
``cv`` paths of ``Cs`` fits and a refit): the L2 path, the new attribute
layout, accuracy. It passes the sample-weight equivalence checks, which run
with their own folds (one group of weighted or repeated samples). The
elastic-net path, the legacy layout, ``neg_log_loss`` and ``refit=False``
are compared with scikit-learn's class in ``test_logistic_cv.py``.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgraph import LogisticRegressionGraphCV

ESTIMATORS = [
    LogisticRegressionGraphCV(
        Cs=3, cv=2, l1_ratios=(0,), scoring=None, use_legacy_attributes=False
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check, monkeypatch):
    # scikit-learn runs its array API check (NumPy inputs under array API
    # dispatch) only when this variable is set; it is read at call time.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)
