"""GraphClassifier and skgraph.layers: user-built networks, the MLP as a case."""

import pickle
import warnings

import numpy as np
import pytest
from callback_support import SilentCallback
from sklearn.base import clone
from sklearn.callback import ProgressBar
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgraph import (
    GraphClassifier,
    GraphRegressor,
    MLPClassifierGraph,
    MLPRegressorGraph,
    check_gradients,
    ops,
)
from skgraph.layers import Dense, Dropout, Layer, LayerNodes

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_iris, y_iris = load_iris(return_X_y=True)
X_iris = StandardScaler().fit_transform(X_iris)


def _digits(n=300):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _same_parameters(a, b):
    return all(
        np.array_equal(p, q)
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True)
    )


# -- the MLP is the special case ----------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_default_layers_fit_the_mlp_bit_for_bit(solver):
    params = dict(solver=solver, max_iter=15, random_state=0, class_weight="balanced")
    graph = GraphClassifier(**params).fit(X_iris, y_iris)
    mlp = MLPClassifierGraph(**params).fit(X_iris, y_iris)
    assert graph.layers is None  # the default, [Dense(100, activation="relu")]
    assert _same_parameters(graph, mlp)
    assert graph.loss_curve_ == mlp.loss_curve_
    assert graph.n_layers_ == mlp.n_layers_ == 3


def test_dense_layers_are_hidden_layer_sizes_with_their_activation():
    layers = [Dense(8, activation="tanh"), Dense(5, activation="tanh")]
    y = (y_iris == 1).astype(int)  # binary: a sigmoid output
    graph = GraphClassifier(layers, max_iter=10, random_state=3).fit(X_iris, y)
    mlp = MLPClassifierGraph((8, 5), "tanh", max_iter=10, random_state=3).fit(X_iris, y)
    assert _same_parameters(graph, mlp)
    assert [W.shape for W in graph.coefs_] == [(4, 8), (8, 5), (5, 1)]


def test_mlp_activation_values_stay_scikit_learns():
    X, y = _digits(60)
    with pytest.raises(ValueError, match="activation"):
        MLPClassifierGraph(activation="gelu").fit(X, y)
    assert set(ops.ACTIVATIONS) == {"identity", "logistic", "tanh", "relu"}


# -- activations and dropout ----------------------------------------------------------


@pytest.mark.parametrize("activation", ["gelu", "leaky_relu", "softplus", "silu"])
def test_new_activations_train_and_their_objective_gradient_checks(activation):
    X, y = _digits(120)
    est = GraphClassifier(
        [Dense(12, activation=activation)],
        solver="lbfgs",
        max_iter=30,
        label_smoothing=0.1,
        random_state=0,
    ).fit(X, y)
    assert est.score(X, y) > 0.8
    assert check_gradients(est, X, y).max_error < 1e-5
    assert type(est.graph_["h1"]) is ops.LAYER_ACTIVATIONS[activation]


def test_dropout_fits_are_seeded_and_inference_is_a_plain_forward_pass():
    X, y = _digits()
    layers = [Dense(32, activation="gelu"), Dropout(0.3)]
    fits = [
        GraphClassifier(layers, max_iter=5, random_state=seed).fit(X, y)
        for seed in (0, 0, 1)
    ]
    np.testing.assert_array_equal(fits[0].graph_.theta, fits[1].graph_.theta)
    assert not np.array_equal(fits[0].graph_.theta, fits[2].graph_.theta)
    without = GraphClassifier(
        [Dense(32, activation="gelu"), Dropout(0.0)], max_iter=5, random_state=0
    ).fit(X, y)
    plain = GraphClassifier([Dense(32, activation="gelu")], max_iter=5, random_state=0)
    assert _same_parameters(without, plain.fit(X, y))  # dropout 0: no masks, no draw
    assert not _same_parameters(fits[0], without)  # the masks changed the fit
    est = fits[0]
    # prediction: the same network with the dropout node skipped
    W1, W2 = est.coefs_
    b1, b2 = est.intercepts_
    hidden = ops.GELU(est.graph_.input("h")).forward(None, X @ W1 + b1)
    np.testing.assert_allclose(
        est.decision_function(X), hidden @ W2 + b2, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(est.predict_proba(X), est.predict_proba(X))


def test_dropout_with_early_stopping_scores_without_dropout():
    X, y = _digits()
    est = GraphClassifier(
        [Dense(16), Dropout(0.5)], early_stopping=True, max_iter=8, random_state=0
    ).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
def test_dropout_needs_a_mini_batch_solver(solver):
    with pytest.raises(ValueError, match="Dropout layers train only with"):
        GraphClassifier([Dense(4), Dropout(0.1)], solver=solver).fit(X_iris, y_iris)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([Dense(0)], r"layers\[0\] Dense\(units=0\): units must be a positive"),
        ([Dense(4), Dropout(1.5)], r"layers\[1\] Dropout\(rate=1.5\): rate must be"),
        (
            [Dense(4, activation="swish")],
            r"layers\[0\] Dense\(.*\): unknown activation 'swish'",
        ),
        ([Dense(2.5)], "units must be a positive integer"),
    ],
)
def test_bad_layer_specifications_name_the_layer_and_the_problem(layers, message):
    est = GraphClassifier(layers)  # accepted as given; checked at fit
    with pytest.raises(ValueError, match=message):
        est.fit(X_iris, y_iris)


def test_a_layer_must_be_a_layer():
    with pytest.raises(TypeError, match=r"layers\[0\] must be a skgraph.layers.Layer"):
        GraphClassifier([100]).fit(X_iris, y_iris)


# -- scikit-learn's machinery ---------------------------------------------------


def test_deep_parameters_reach_one_layer_without_touching_shared_lists():
    shared = [Dense(8), Dropout(0.2)]
    est = GraphClassifier(shared)
    params = est.get_params()
    assert params["layers__0__units"] == 8 and params["layers__1__rate"] == 0.2
    est.set_params(layers__0__units=16, layers__1__rate=0.1, alpha=0.5)
    assert est.layers[0].units == 16 and est.layers[1].rate == 0.1 and est.alpha == 0.5
    assert shared[0].units == 8 and shared[1].rate == 0.2
    (layer,) = GraphClassifier().set_params(layers__0__activation="silu").layers
    assert layer.get_params() == {"units": 100, "activation": "silu"}
    with pytest.raises(ValueError, match="layers__<index>__<name>"):
        est.set_params(layers__5__units=3)
    copy = clone(est)
    assert copy.layers[0] is not est.layers[0]
    assert copy.layers[0].get_params() == est.layers[0].get_params()


def test_grid_search_over_layer_lists_and_one_layers_parameter():
    X, y = _digits(200)
    base = GraphClassifier(max_iter=5, random_state=0)
    by_units = GridSearchCV(base, {"layers__0__units": [4, 24]}, cv=2).fit(X, y)
    assert by_units.best_params_ == {"layers__0__units": 24}
    assert by_units.best_estimator_.coefs_[0].shape == (64, 24)
    lists = [[Dense(4)], [Dense(24, activation="silu"), Dropout(0.1)]]
    by_list = GridSearchCV(base, {"layers": lists}, cv=2).fit(X, y)
    assert by_list.best_estimator_.coefs_[0].shape == (64, 24)
    assert lists[1][0].units == 24  # the grid's own layers are cloned, not fitted


def test_pipeline_pickle_and_warm_start():
    X, y = _digits(200)
    pipe = make_pipeline(
        StandardScaler(),
        GraphClassifier([Dense(16, activation="leaky_relu"), Dropout(0.2)], max_iter=5),
    ).fit(X, y)
    loaded = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    est = GraphClassifier([Dense(8)], warm_start=True, max_iter=3, random_state=0)
    est.fit(X, y)
    first = est.graph_.theta.copy()
    est.set_params(layers=[Dense(8, activation="tanh")]).fit(X, y)  # same shapes
    assert not np.array_equal(first, est.graph_.theta)
    with pytest.raises(ValueError, match="other parameter shapes"):
        est.set_params(layers=[Dense(9)]).fit(X, y)
    assert est.layers[0].units == 9 and est.coefs_[0].shape == (64, 8)


def test_label_smoothing_is_the_loss_on_smoothed_targets():
    X, y = X_iris, y_iris
    est = GraphClassifier(
        [Dense(5)], solver="lbfgs", max_iter=5, label_smoothing=0.2, random_state=0
    ).fit(X, y)
    proba = est.predict_proba(X)
    targets = 0.8 * np.eye(3)[y] + 0.2 / 3
    penalty = 0.5 * est.alpha / len(X) * sum((W**2).sum() for W in est.coefs_)
    expected = -(targets * np.log(proba)).sum(axis=1).mean() + penalty
    graph, objective, feed = est._training_objective(X, y)
    assert graph.forward(objective, feed).value(objective) == pytest.approx(
        expected, rel=1e-10
    )
    binary = GraphClassifier([Dense(5)], label_smoothing=0.3, max_iter=3)
    assert binary.fit(X, y == 1).score(X, y == 1) > 0


def test_callbacks_progress_and_a_drawable_graph(capsys):
    class CountIterations(SilentCallback):
        def __init__(self):
            self.ended = 0

        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.parent is not None and fitted_estimator is not None:
                self.ended += 1
                assert fitted_estimator.score(X_iris, y_iris) >= 0
            return False

    counter = CountIterations()
    layers = [Dense(6, activation="silu"), Dropout(0.1)]
    est = GraphClassifier(layers, max_iter=4, random_state=0)
    est.set_callbacks(counter, ProgressBar()).fit(X_iris, y_iris)
    assert counter.ended == 4
    assert "fit" in capsys.readouterr().out
    graph, objective, feed = est._training_objective(X_iris, y_iris)
    dot = graph.to_dot(graph.backward(objective, feed))
    assert "dropout2" in dot and "compute: SiLU" in dot and "grad:" in dot


# -- a user's own layer --------------------------------------------------------


class Residual(Layer):
    """``x + act(x @ W + b)``: a layer of the user's own, from skgraph.ops."""

    def __init__(self, activation="tanh"):
        self.activation = activation

    def build(self, graph, x, n_inputs, *, name):
        W = graph.parameter(f"W{name}", np.zeros((n_inputs, n_inputs)))
        b = graph.parameter(f"b{name}", np.zeros(n_inputs))
        act = ops.LAYER_ACTIVATIONS[self.activation]
        h = act(ops.Affine(x, W, b, name=f"z{name}"), name=f"a{name}")
        return LayerNodes(ops.Add(x, h, name=f"h{name}"), n_inputs, (W,), (b,))


def test_a_users_own_layer_plugs_in_and_trains():
    X, y = _digits(150)
    est = GraphClassifier(
        [Dense(10), Residual("silu")], solver="lbfgs", max_iter=20, random_state=0
    ).fit(X, y)
    assert [W.shape for W in est.coefs_] == [(64, 10), (10, 10), (10, 10)]
    assert check_gradients(est, X, y).max_error < 1e-5
    assert est.get_params()["layers__1__activation"] == "silu"
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_the_layer_base_class_asks_for_build():
    with pytest.raises(NotImplementedError, match="build"):
        GraphClassifier([Layer()]).fit(X_iris, y_iris)


def test_no_warning_on_a_converged_default_fit():
    X, y = _digits(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        GraphClassifier(
            [Dense(8)], solver="lbfgs", max_iter=500, alpha=1.0, random_state=0
        ).fit(X, y)


# -- GraphRegressor -------------------------------------------------------------------


def _regression_data(n=200, outliers=0):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (n, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.05 * rng.randn(n)
    y[:outliers] += 20.0
    return X, y


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_regressor_default_layers_fit_the_mlp_regressor_bit_for_bit(loss, solver):
    X, y = _regression_data()
    y = np.exp(y) if loss == "poisson" else np.stack([y, -y], axis=1)
    params = dict(loss=loss, solver=solver, max_iter=10, random_state=0)
    graph = GraphRegressor(**params).fit(X, y)
    mlp = MLPRegressorGraph(**params).fit(X, y)
    assert _same_parameters(graph, mlp)
    assert graph.loss_curve_ == mlp.loss_curve_


def test_huber_with_a_wide_delta_is_the_squared_error_fit():
    X, y = _regression_data()
    params = dict(layers=[Dense(6, activation="gelu")], solver="lbfgs", max_iter=20)
    huber = GraphRegressor(loss="huber", huber_delta=1e6, random_state=0, **params)
    squared = GraphRegressor(random_state=0, **params)
    np.testing.assert_allclose(
        huber.fit(X, y).graph_.theta, squared.fit(X, y).graph_.theta, rtol=1e-8
    )


def test_huber_resists_outliers_and_its_objective_gradient_checks():
    X, y = _regression_data(outliers=20)
    clean = _regression_data()[1]
    params = dict(layers=[Dense(16, activation="silu")], solver="lbfgs", max_iter=300)
    huber = GraphRegressor(loss="huber", random_state=0, **params).fit(X, y)
    squared = GraphRegressor(random_state=0, **params).fit(X, y)
    error = {
        name: np.abs(est.predict(X[20:]) - clean[20:]).mean()
        for name, est in [("huber", huber), ("squared", squared)]
    }
    assert error["huber"] < 0.5 * error["squared"], error
    assert check_gradients(huber, X, y).max_error < 1e-5
    graph, objective, feed = huber._training_objective(X, y)
    r = np.abs(huber.predict(X) - y)
    expected = np.where(r <= 1.0, 0.5 * r**2, r - 0.5).mean()
    penalty = 0.5 * huber.alpha / len(X) * sum((W**2).sum() for W in huber.coefs_)
    value = graph.forward(objective, feed).value(objective)
    assert value == pytest.approx(expected + penalty, rel=1e-10)


def test_regressor_dropout_is_seeded_and_only_for_mini_batch_solvers():
    X, y = _regression_data()
    layers = [Dense(16, activation="leaky_relu"), Dropout(0.2)]
    a, b = (GraphRegressor(layers, max_iter=5, random_state=1).fit(X, y) for _ in "ab")
    np.testing.assert_array_equal(a.graph_.theta, b.graph_.theta)
    with pytest.raises(ValueError, match="Dropout layers train only with"):
        GraphRegressor(layers, solver="lbfgs").fit(X, y)
    search = GridSearchCV(
        GraphRegressor(max_iter=5, random_state=0), {"layers__0__units": [3, 8]}, cv=2
    ).fit(X, y)
    assert search.best_estimator_.coefs_[0].shape[1] in (3, 8)
