"""scikit-learn's estimator checks on MLPClassifierGraph, one set per solver.

No check is declared as an expected failure. Each solver gets settings under
which it fits the checks' small data sets well and fast: a small network, a
penalty and a tight tolerance where the checks compare two fits (sample
weights against repeated samples), and a step size for the first-order
solvers. ``newton-cg`` trains a tanh network: smooth, it converges where the
kinks of ReLU slow a Newton method down.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgraph import MLPClassifierGraph

# The checks test the API on tiny data with capped iterations; whether a
# solver converged there is not their subject (test_mlp.py tests that).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_SMALL = {"hidden_layer_sizes": (8,), "random_state": 0}

ESTIMATORS = [
    MLPClassifierGraph(solver="lbfgs", alpha=0.1, tol=1e-12, max_iter=500, **_SMALL),
    MLPClassifierGraph(solver="cg", alpha=0.1, tol=1e-10, max_iter=500, **_SMALL),
    MLPClassifierGraph(
        solver="newton-cg",
        activation="tanh",
        alpha=0.1,
        tol=1e-8,
        max_iter=200,
        **_SMALL,
    ),
    MLPClassifierGraph(solver="gd", learning_rate_init=0.5, max_iter=500, **_SMALL),
    MLPClassifierGraph(solver="sgd", learning_rate_init=0.1, **_SMALL),
    MLPClassifierGraph(solver="adam", learning_rate_init=0.02, **_SMALL),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check, monkeypatch):
    # scikit-learn runs its array API check (NumPy inputs under array API
    # dispatch) only when this variable is set; it is read at call time.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)
