"""scikit-learn's estimator checks on LogisticRegressionGraph, no expected failures.

Every check of ``check_estimator`` runs on each configuration below: each
solver, ``newton-cg`` included (settings that let it converge on the checks'
small data), balanced
class weights, a model without intercept, and the L1 and elastic-net
penalties (``l1_ratio=1`` and ``0.5``) with ``"lbfgs"`` and ``"gd"``. None is
declared as expected to fail, including the sample-weight equivalence checks
that scikit-learn's own LogisticRegression declares as failing.

Two checks run outside the parametrisation, and not skipped:

* ``check_array_api_input`` skips itself unless ``SCIPY_ARRAY_API=1`` was set
  before scipy was imported, so ``test_array_api_dispatch`` runs it in a fresh
  process with that variable, for every configuration.
* ``check_class_weight_classifiers`` on the model without intercept. That
  check asks a classifier to put 87% of a test set in class 0, on blobs that
  are not centred; a hyperplane through the origin cannot do that
  (scikit-learn's ``LogisticRegression(fit_intercept=False)`` fails it too).
  ``test_class_weight_without_intercept`` proves that bound on the check's own
  data, then runs the check's assertion where a model through the origin can
  meet it: on the same blobs with a column of ones.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import estimator_checks_generator

from skgraph import LogisticRegressionGraph

CONFIGURATIONS = [
    LogisticRegressionGraph(),
    LogisticRegressionGraph(solver="cg"),
    LogisticRegressionGraph(solver="newton-cg"),
    LogisticRegressionGraph(solver="newton-cholesky"),
    LogisticRegressionGraph(solver="gd", max_iter=1000),
    LogisticRegressionGraph(solver="gd", learning_rate=0.5, max_iter=2000),
    LogisticRegressionGraph(class_weight="balanced"),
    LogisticRegressionGraph(fit_intercept=False),
    LogisticRegressionGraph(l1_ratio=1.0),
    LogisticRegressionGraph(l1_ratio=0.5),
    LogisticRegressionGraph(solver="gd", l1_ratio=1.0, max_iter=1000),
    LogisticRegressionGraph(solver="gd", l1_ratio=0.5, max_iter=1000),
]

_UNATTAINABLE_WITHOUT_INTERCEPT = "check_class_weight_classifiers"
_NEEDS_SCIPY_ARRAY_API = "check_array_api_input"


def _check_name(check):
    return getattr(check, "func", check).__name__


def _all_checks():
    for configuration in CONFIGURATIONS:
        for estimator, check in estimator_checks_generator(configuration):
            name = _check_name(check)
            if name == _NEEDS_SCIPY_ARRAY_API:
                continue  # run by test_array_api_dispatch
            if not configuration.fit_intercept and (
                name == _UNATTAINABLE_WITHOUT_INTERCEPT
            ):
                continue  # replaced by test_class_weight_without_intercept
            yield pytest.param(estimator, check, id=f"{configuration!r}-{name}")


@pytest.mark.parametrize(("estimator", "check"), list(_all_checks()))
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_every_configuration_runs_the_sample_weight_equivalence_checks():
    names = {
        _check_name(c)
        for config in CONFIGURATIONS
        for _, c in estimator_checks_generator(config)
    }
    assert "check_sample_weight_equivalence_on_dense_data" in names
    assert "check_sample_weight_equivalence_on_sparse_data" in names


def test_array_api_dispatch():
    code = (
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from test_common_logistic import CONFIGURATIONS\n"
        "for estimator in CONFIGURATIONS:\n"
        "    check_array_api_input(type(estimator).__name__, estimator,\n"
        "        array_namespace='numpy', expect_only_array_outputs=False)\n"
        "print('checked', len(CONFIGURATIONS))\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=os.path.dirname(__file__),
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"checked {len(CONFIGURATIONS)}"


def _class_weight_check_data(ones_column):
    """The data of ``check_class_weight_classifiers``, optionally with ones."""
    X, y = make_blobs(centers=2, random_state=0, cluster_std=20)
    if ones_column:
        X = np.hstack([X, np.ones((len(X), 1))])
    return train_test_split(X, y, test_size=0.5, random_state=0)


def test_class_weight_without_intercept():
    # On the check's own data, no hyperplane through the origin puts 87% of
    # the test points on one side: the check is unattainable without intercept.
    _, X_test, _, _ = _class_weight_check_data(ones_column=False)
    angles = np.linspace(0.0, 2.0 * np.pi, 3600, endpoint=False)
    directions = np.stack([np.cos(angles), np.sin(angles)])
    best_share = ((X_test @ directions) > 0).mean(axis=0).max()
    assert best_share < 0.87

    # Where it is attainable (a column of ones lets the weights play the
    # intercept), the model passes the check's assertion with its settings.
    X_train, X_test, y_train, _ = _class_weight_check_data(ones_column=True)
    clf = LogisticRegressionGraph(
        fit_intercept=False, class_weight={0: 1000, 1: 0.0001}, max_iter=1000
    ).fit(X_train, y_train)
    assert np.mean(clf.predict(X_test) == 0) > 0.87
