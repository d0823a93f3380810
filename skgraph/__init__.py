"""skgraph: scikit-learn estimators whose models are computation graphs.

The model inside each estimator is a :class:`~skgraph.graph.Graph` of input,
parameter and compute nodes, trained by backpropagation; ``graph_`` on a
fitted estimator is that graph, ready to read, evaluate and draw.
"""

from skgraph import layers, ops
from skgraph._graph_estimators import GraphClassifier, GraphRegressor
from skgraph._inference import InferenceWarning, LogisticSummary
from skgraph._logistic import LogisticRegressionGraph
from skgraph._logistic_cv import LogisticRegressionGraphCV
from skgraph._mlp import MLPClassifierGraph
from skgraph._mlp_regressor import MLPRegressorGraph
from skgraph._persistence import trusted_types
from skgraph.gradcheck import (
    GradientCheck,
    HessianCheck,
    check_gradients,
    check_hessian_vector_products,
)
from skgraph.graph import Graph, Input, Op, Parameter, Trace
from skgraph.networks import Network, layers_graph, linear_graph, mlp_graph
from skgraph.onnx import to_onnx

__version__ = "0.1.0"

__all__ = [
    "LogisticRegressionGraph",
    "LogisticRegressionGraphCV",
    "MLPClassifierGraph",
    "GraphClassifier",
    "GraphRegressor",
    "MLPRegressorGraph",
    "Graph",
    "Input",
    "Parameter",
    "Op",
    "Trace",
    "ops",
    "layers",
    "Network",
    "linear_graph",
    "mlp_graph",
    "layers_graph",
    "check_gradients",
    "GradientCheck",
    "check_hessian_vector_products",
    "HessianCheck",
    "to_onnx",
    "trusted_types",
    "LogisticSummary",
    "InferenceWarning",
    "__version__",
]
