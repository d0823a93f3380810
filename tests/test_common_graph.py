"""scikit-learn's estimator checks on GraphClassifier and GraphRegressor.

No check is declared as an expected failure. The networks have no dropout
(SPEC §4.3: independent masks for repeated rows cannot match sample
weights); each gets settings under which it fits the checks' small data
sets well and fast, as in test_common_mlp.py.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgraph import GraphClassifier, GraphRegressor
from skgraph.layers import Dense

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# L-BFGS with a smooth activation stops (scipy's ftol) about 1e-5 away from
# where the repeated-rows fit stops, over the tolerance of the sample-weight
# checks (MLPClassifierGraph with tanh does the same): the full-batch network
# is a ReLU one, the smooth activations train with Adam (so does the Huber
# loss, whose kink stops L-BFGS likewise).
ESTIMATORS = [
    GraphClassifier(
        [Dense(8)],
        solver="lbfgs",
        alpha=0.1,
        tol=1e-12,
        max_iter=500,
        random_state=0,
    ),
    GraphClassifier(
        [Dense(8, activation="gelu"), Dense(6, activation="leaky_relu")],
        solver="adam",
        learning_rate_init=0.02,
        label_smoothing=0.05,
        random_state=0,
    ),
    GraphRegressor(
        [Dense(8)], solver="lbfgs", alpha=1.0, tol=1e-12, max_iter=500, random_state=0
    ),
    GraphRegressor(
        [Dense(8, activation="silu"), Dense(6, activation="gelu")],
        loss="huber",
        solver="adam",
        learning_rate_init=0.02,
        random_state=0,
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check, monkeypatch):
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)
