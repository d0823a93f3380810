"""scikit-learn's estimator checks on MLPRegressorGraph, one set per solver.

No check is declared as an expected failure. As for the classifier (see
``test_common_mlp.py``), each solver gets settings under which it fits the
checks' small data sets well and fast.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgraph import MLPRegressorGraph

# The checks test the API on tiny data with capped iterations; whether a
# solver converged there is not their subject (test_mlp_regressor.py is).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# A penalty strong enough that the sample-weight check (two fits compared)
# finds one optimum, not two local ones.
_SMALL = {"hidden_layer_sizes": (8,), "random_state": 0}

ESTIMATORS = [
    MLPRegressorGraph(solver="lbfgs", alpha=1.0, tol=1e-12, max_iter=500, **_SMALL),
    MLPRegressorGraph(solver="cg", alpha=1.0, tol=1e-10, max_iter=500, **_SMALL),
    MLPRegressorGraph(
        solver="newton-cg",
        activation="tanh",
        alpha=1.0,
        # 1e-8 left the two fits of the sample-weight check 1.3e-7 apart on
        # some CPUs (the check allows 1e-7); 1e-10 costs nothing here.
        tol=1e-10,
        max_iter=200,
        **_SMALL,
    ),
    MLPRegressorGraph(solver="gd", learning_rate_init=0.05, max_iter=500, **_SMALL),
    MLPRegressorGraph(solver="sgd", learning_rate_init=0.01, **_SMALL),
    MLPRegressorGraph(solver="adam", learning_rate_init=0.02, **_SMALL),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check, monkeypatch):
    # scikit-learn runs its array API check only when this variable is set.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)
