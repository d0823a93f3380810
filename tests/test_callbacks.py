"""scikit-learn's callback API on both estimators, for every solver."""

import warnings

import numpy as np
import pytest
from callback_support import SilentCallback
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skgraph import LogisticRegressionGraph, MLPClassifierGraph

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)

ESTIMATORS = {
    "lr-lbfgs": lambda: LogisticRegressionGraph(solver="lbfgs", max_iter=500),
    "lr-cg": lambda: LogisticRegressionGraph(solver="cg", max_iter=500),
    "lr-gd": lambda: LogisticRegressionGraph(solver="gd", max_iter=500),
    "mlp-lbfgs": lambda: MLPClassifierGraph((8,), solver="lbfgs", random_state=0),
    "mlp-cg": lambda: MLPClassifierGraph((8,), solver="cg", random_state=0),
    "mlp-gd": lambda: MLPClassifierGraph(
        (8,), solver="gd", learning_rate_init=0.5, random_state=0
    ),
    "mlp-sgd": lambda: MLPClassifierGraph((8,), solver="sgd", random_state=0),
    "mlp-adam": lambda: MLPClassifierGraph((8,), solver="adam", random_state=0),
}


class StopAfter(SilentCallback):
    """Asks to stop once ``n`` iterations ended; records what it saw."""

    def __init__(self, n):
        self.n = n
        self.ended = 0
        self.scores = []

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.parent is None or fitted_estimator is None:
            return False  # the fit itself, or the iteration that never ran
        self.ended += 1
        self.scores.append(fitted_estimator.score(X, y))
        return self.ended >= self.n


@pytest.mark.parametrize("name", ESTIMATORS)
def test_stopping_callback_ends_the_solver_at_the_current_parameters(name):
    stop = StopAfter(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a stop is no failure
        est = ESTIMATORS[name]().set_callbacks(stop).fit(X, y)
    assert stop.ended == 3
    assert est.n_iter_ == 3 or np.all(est.n_iter_ == 3)
    assert len(est.loss_curve_) == 3
    # The snapshot the callback scored is the model the fit returned.
    assert stop.scores[-1] == est.score(X, y)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_progress_bar_leaves_the_fit_unchanged(name, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = ESTIMATORS[name]().fit(X, y)
        shown = ESTIMATORS[name]().set_callbacks(ProgressBar()).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), shown.predict_proba(X))
    assert "fit" in capsys.readouterr().out


def test_scoring_monitor_scores_every_iteration():
    monitor = ScoringMonitor(scoring="accuracy")
    est = LogisticRegressionGraph().set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    iterations = [row for row in rows if row["task_name"] == "iteration"]
    assert len(iterations) == est.n_iter_[0]
    assert iterations[-1]["accuracy"] == est.score(X, y)


def test_callbacks_propagate_inside_grid_search(capsys):
    search = GridSearchCV(
        MLPClassifierGraph((4,), solver="lbfgs", max_iter=30, random_state=0),
        {"alpha": [1e-4, 1e-1]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert "MLPClassifierGraph" in out
    assert "GridSearchCV" in out
