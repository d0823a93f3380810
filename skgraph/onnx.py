"""Export fitted estimators to ONNX, alone or inside scikit-learn pipelines.

:func:`to_onnx` walks the prediction part of a fitted estimator's ``graph_``
(the ancestors of its logits) and asks each op for its ONNX lowering
(``Op.lower_onnx``), then adds the output layer: the class labels and
probabilities of a classifier, the predictions of a regressor. Inputs and
outputs follow skl2onnx's conventions, so code that serves scikit-learn
models exported by skl2onnx serves these too: one float input ``X`` of shape
(n_samples, n_features); a classifier's ``label`` (int64 for numeric class
labels, strings for string labels; an indicator matrix for multilabel
targets) and ``probabilities`` (n_samples, n_classes); a regressor's
``variable`` (n_samples, n_outputs).

:func:`register` teaches skl2onnx to convert skgraph estimators, so that
``skl2onnx.to_onnx(pipeline, X)`` converts a whole pipeline that ends in one.
It is explicit, not done on ``import skgraph``, because importing skl2onnx
takes seconds.

Only ``onnx`` is needed to export (and ``skl2onnx`` for :func:`register`);
neither is imported before it is used.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor
from sklearn.utils.validation import check_is_fitted

from skgraph.graph import Input, Parameter

__all__ = ["to_onnx", "register", "OnnxBuilder"]

#: The oldest opset the lowerings are written for (Softmax over one axis and
#: the reductions' ``axes`` input date from 13).
MIN_OPSET = 13
#: The opset used when none is asked for: every operator of the lowerings
#: exists there for float32 and float64 in onnxruntime, and onnxruntime
#: releases since 1.12 (2022) run it.
DEFAULT_OPSET = 17
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: ONNX's element type of int64 (``onnx.TensorProto.INT64``), without
#: importing onnx to read it.
_INT64 = 7


class OnnxBuilder:
    """What an op's ONNX lowering writes to.

    An op's ``lower_onnx(builder, *inputs)`` receives the names of its
    parents' values in the ONNX graph and returns the name of its own,
    made with :meth:`op` (and :meth:`constant` for fixed tensors).

    Attributes
    ----------
    dtype : numpy.dtype
        The floating-point type of the exported model (float32 or float64).
    opset : int
        The version of the main ONNX operator set that the model targets.
    """

    def __init__(self, dtype, opset):
        self.dtype = np.dtype(dtype)
        self.opset = int(opset)

    def op(self, op_type, *inputs, output=None, **attributes):
        """Add one ONNX operator with one output; return the output's name.

        Parameters
        ----------
        op_type : str
            The operator, e.g. ``"Gemm"`` or ``"Relu"``.
        *inputs : str
            The names of its inputs.
        output : str, optional
            The name of the output; a fresh name by default.
        **attributes
            The operator's attributes.
        """
        if output is None:
            output = self._fresh_name(op_type.lower())
        self._add_node(op_type, list(inputs), output, attributes)
        return output

    def constant(self, value, name="constant"):
        """Add a constant tensor; return its name.

        Floating-point values are stored in :attr:`dtype`, integers as int64
        and text as strings.
        """
        value = np.asarray(value)
        if value.dtype.kind == "f":
            value = value.astype(self.dtype)
        elif value.dtype.kind in "biu":
            value = value.astype(np.int64)
        elif value.dtype.kind in "UO":
            value = value.astype(object)
        from onnx import numpy_helper

        unique = self._fresh_name(name)
        self._add_initializer(numpy_helper.from_array(value, unique))
        return unique

    def reduce(self, op_type, x, axis=None):
        """Add a reduction (``"ReduceSum"``, ``"ReduceMean"``...) over ``axis``.

        ``axis=None`` reduces over every axis; the reduced axes are dropped,
        as numpy does. Written for the opset in use (``ReduceSum`` takes its
        axes as an input from opset 13, the others from 18).
        """
        if axis is None:
            return self.op(op_type, x, keepdims=0)
        axes_as_input = op_type == "ReduceSum" or self.opset >= 18
        if axes_as_input:
            return self.op(op_type, x, self.constant([axis], "axes"), keepdims=0)
        return self.op(op_type, x, axes=[axis], keepdims=0)

    def _fresh_name(self, hint):
        raise NotImplementedError

    def _add_node(self, op_type, inputs, output, attributes):
        raise NotImplementedError

    def _add_initializer(self, tensor):
        raise NotImplementedError


class _ModelBuilder(OnnxBuilder):
    """Collects nodes and initialisers for a model of its own."""

    def __init__(self, dtype, opset):
        super().__init__(dtype, opset)
        self.nodes, self.initializers, self._taken = [], [], {"X"}

    def _fresh_name(self, hint):
        name, k = hint, 0
        while name in self._taken:
            k += 1
            name = f"{hint}_{k}"
        self._taken.add(name)
        return name

    def _add_node(self, op_type, inputs, output, attributes):
        from onnx import helper

        self._taken.add(output)
        name = self._fresh_name(f"{op_type}_node")
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name, **attributes)
        )

    def _add_initializer(self, tensor):
        self.initializers.append(tensor)


class _Skl2OnnxBuilder(OnnxBuilder):
    """Writes into the scope and container of a skl2onnx conversion."""

    def __init__(self, scope, container, dtype):
        super().__init__(dtype, container.target_opset)
        self.scope, self.container = scope, container

    def _fresh_name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def _add_node(self, op_type, inputs, output, attributes):
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(op_type, inputs, [output], name=name, **attributes)

    def _add_initializer(self, tensor):
        self.container.initializers.append(tensor)


def _lower_graph(builder, graph, outputs, input_names):
    """Add the ops that compute ``outputs`` from the fed inputs.

    ``input_names`` maps each :class:`~skgraph.graph.Input` that may be fed
    to its ONNX name; parameters become constants. Returns the ONNX names of
    ``outputs``.
    """
    names = {}
    for node in graph.program(outputs).forward_nodes:
        if isinstance(node, Input):
            if node not in input_names:
                raise ValueError(
                    f"The prediction depends on the input node {node.name!r}, "
                    "which is not fed at prediction time: it cannot be exported."
                )
            names[node.index] = input_names[node]
        elif isinstance(node, Parameter):
            names[node.index] = builder.constant(node.value, node.name)
        else:
            lower = getattr(node, "lower_onnx", None)
            if lower is None:
                raise TypeError(
                    f"The op {node.name!r} ({type(node).__module__}."
                    f"{type(node).__qualname__}) has no ONNX lowering: give "
                    "its class a lower_onnx(builder, *inputs) method (see "
                    "skgraph.graph.Op) to export graphs that use it."
                )
            names[node.index] = lower(builder, *(names[p.index] for p in node.parents))
    return [names[node.index] for node in outputs]


def _onnx_labels(classes):
    """``classes_`` as ONNX labels: int64 for numbers, strings for text."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f" and (classes == np.round(classes)).all():
        return classes.astype(np.int64)
    if all(isinstance(label, str) for label in classes.tolist()):
        return classes.astype(object)
    raise ValueError(
        "ONNX class labels are integers or strings, as in skl2onnx; this "
        f"estimator's classes_ are {classes.tolist()!r}."
    )


def _classifier_outputs(builder, estimator, x, label, probabilities, classes=None):
    """Add a classifier's ``label`` and ``probabilities`` computed from ``x``.

    ``classes`` are what the labels are taken from (``classes_`` by default).
    """
    network = estimator._network
    (logits,) = _lower_graph(
        builder, estimator.graph_, [network.logits], {network.X: x}
    )
    positive = None
    if network.output == "logistic":
        positive = builder.op("Greater", logits, builder.constant(0.0, "zero"))
    if estimator._is_multilabel:  # indicator rows, as predict returns
        builder.op("Cast", positive, output=label, to=_INT64)
        builder.op("Sigmoid", logits, output=probabilities)
        return
    if network.output == "softmax":
        index = builder.op("ArgMax", logits, axis=1, keepdims=0)
        builder.op("Softmax", logits, output=probabilities, axis=1)
    else:  # one logit, of classes_[1], as predict_proba's two columns
        flat = builder.op("Reshape", positive, builder.constant([-1], "flat"))
        index = builder.op("Cast", flat, to=_INT64)
        first = builder.op("Sigmoid", builder.op("Neg", logits))
        second = builder.op("Sigmoid", logits)
        builder.op("Concat", first, second, output=probabilities, axis=1)
    if classes is None:
        classes = estimator.classes_
    classes = builder.constant(_onnx_labels(classes), "classes")
    builder.op("Gather", classes, index, output=label, axis=0)


def _regressor_outputs(builder, estimator, x, variable):
    """Add a regressor's predictions, ``variable`` (n_samples, n_outputs)."""
    network = estimator._network
    (output,) = _lower_graph(
        builder, estimator.graph_, [network.prediction], {network.X: x}
    )
    builder.op("Identity", output, output=variable)


def _check_exportable(estimator):
    if is_classifier(estimator) or is_regressor(estimator):
        check_is_fitted(estimator)
        if hasattr(estimator, "_network"):
            return
    raise TypeError(
        "to_onnx exports skgraph estimators (such as LogisticRegressionGraph "
        f"or MLPClassifierGraph), got {type(estimator).__name__}. A scikit-"
        "learn pipeline ending in one converts with skl2onnx after "
        "skgraph.onnx.register()."
    )


def _model_dtype(estimator, X):
    if X is None:
        return estimator.graph_.dtype
    dtype = np.dtype(X.dtype) if hasattr(X, "dtype") else np.asarray(X).dtype
    if dtype not in _FLOATS:
        raise ValueError(
            f"X is of dtype {dtype}; the exported model takes float32 or float64 "
            "input: pass X (or a row of it) in the type it will be served in."
        )
    n_features = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if n_features is not None and n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} was "
            f"fitted with {estimator.n_features_in_}."
        )
    return dtype


def to_onnx(estimator, X=None, *, target_opset=None):
    """Export a fitted skgraph estimator as an ONNX model.

    The model computes what ``predict`` and ``predict_proba`` compute
    (``predict`` for a regressor), from the same graph: each op of the
    prediction path lowers itself to ONNX operators. Training-only nodes
    (targets, weights, losses, penalties) are left out.

    Parameters
    ----------
    estimator : estimator
        A fitted skgraph estimator, e.g. :class:`~skgraph.LogisticRegressionGraph`
        or :class:`~skgraph.MLPClassifierGraph`.
    X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
        Data in the type the model will be served (only its dtype and number
        of features are used). float32 gives a float32 model, float64 a
        float64 one; by default the model keeps the dtype of ``graph_``.
        The model takes dense input: a sparse matrix fixes the dtype, and
        rows are served densified (``X.toarray()``).
    target_opset : int, default=None
        The version of the main ONNX operator set, at least 13; by default
        17, which onnxruntime 1.12 and later run.

    Returns
    -------
    model : onnx.ModelProto
        Input ``X`` (n_samples, n_features). Outputs of a classifier:
        ``label`` (the predicted labels: int64 for numeric ``classes_``,
        strings for string ones, an int64 indicator matrix for multilabel
        targets) and ``probabilities`` (n_samples, n_classes); of a
        regressor: ``variable`` (n_samples, n_outputs).

    Raises
    ------
    TypeError
        For an estimator that is not a skgraph estimator, or a graph with an
        op that has no ONNX lowering (its name is in the message).

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> from skgraph import LogisticRegressionGraph, to_onnx
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> clf = LogisticRegressionGraph().fit(X, [0, 0, 1, 1])
    >>> model = to_onnx(clf, X.astype(np.float32))  # doctest: +SKIP
    >>> session = ort.InferenceSession(model.SerializeToString())  # doctest: +SKIP
    >>> label, proba = session.run(None, {"X": X.astype(np.float32)})  # doctest: +SKIP
    """
    from onnx import TensorProto, helper

    _check_exportable(estimator)
    dtype = _model_dtype(estimator, X)
    opset = DEFAULT_OPSET if target_opset is None else int(target_opset)
    newest = _newest_opset()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"target_opset must be between {MIN_OPSET} and {newest} (the newest "
            f"this onnx package knows), got {target_opset!r}."
        )
    builder = _ModelBuilder(dtype, opset)
    element = helper.np_dtype_to_tensor_dtype(dtype)
    inputs = [
        helper.make_tensor_value_info("X", element, [None, estimator.n_features_in_])
    ]
    network = estimator._network
    if is_classifier(estimator):
        _classifier_outputs(builder, estimator, "X", "label", "probabilities")
        labels = _onnx_labels(estimator.classes_)
        label_element = TensorProto.STRING if labels.dtype == object else _INT64
        n_classes = len(estimator.classes_)
        label_shape = [None, n_classes] if estimator._is_multilabel else [None]
        outputs = [
            helper.make_tensor_value_info("label", label_element, label_shape),
            helper.make_tensor_value_info("probabilities", element, [None, n_classes]),
        ]
    else:
        _regressor_outputs(builder, estimator, "X", "variable")
        shape = [None, network.y.shape[1]]
        outputs = [helper.make_tensor_value_info("variable", element, shape)]
    return _make_model(builder, type(estimator).__name__, inputs, outputs)


def _make_model(builder, name, inputs, outputs):
    """The ONNX model of what ``builder`` (a :class:`_ModelBuilder`) holds."""
    from onnx import helper

    from skgraph import __version__

    graph = helper.make_graph(
        builder.nodes, name, inputs, outputs, initializer=builder.initializers
    )
    opset_ids = [helper.make_opsetid("", builder.opset)]
    model = helper.make_model(graph, opset_imports=opset_ids, producer_name="skgraph")
    model.ir_version = helper.find_min_ir_version_for(opset_ids)
    model.producer_version = __version__
    return model


def _newest_opset():
    from onnx.defs import onnx_opset_version

    return onnx_opset_version()


# -- skl2onnx ------------------------------------------------------------------------


def _skl2onnx_input(builder, variable):
    """The input of a converted estimator, cast to the model's float type."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(variable.type, DoubleTensorType | FloatTensorType):
        return variable.onnx_name
    return builder.op("Cast", variable.onnx_name, to=_onnx_element(builder.dtype))


def _onnx_element(dtype):
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _skl2onnx_dtype(variable):
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(variable.type, DoubleTensorType) else np.float32


def _skl2onnx_classifier_shapes(operator):
    """skl2onnx's shape calculator: the types of ``label`` and ``probabilities``."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils_classifier import get_label_classes

    estimator = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    n_classes = len(estimator.classes_)
    labels = _onnx_labels(get_label_classes(operator.scope_inst, estimator))
    label_type = StringTensorType if labels.dtype == object else Int64TensorType
    label_shape = [n, n_classes] if estimator._is_multilabel else [n]
    operator.outputs[0].type = label_type(shape=label_shape)
    float_type = (
        DoubleTensorType
        if _skl2onnx_dtype(operator.inputs[0]) == np.float64
        else FloatTensorType
    )
    operator.outputs[1].type = float_type(shape=[n, n_classes])


def _skl2onnx_regressor_shapes(operator):
    """skl2onnx's shape calculator: the type of ``variable``."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    estimator = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    float_type = (
        DoubleTensorType
        if _skl2onnx_dtype(operator.inputs[0]) == np.float64
        else FloatTensorType
    )
    operator.outputs[0].type = float_type(shape=[n, estimator._network.y.shape[1]])


def _skl2onnx_convert_classifier(scope, operator, container):
    """skl2onnx's converter of a skgraph classifier."""
    from skl2onnx.common.utils_classifier import get_label_classes

    builder = _Skl2OnnxBuilder(scope, container, _skl2onnx_dtype(operator.inputs[0]))
    x = _skl2onnx_input(builder, operator.inputs[0])
    label, probabilities = operator.outputs[:2]
    estimator = operator.raw_operator
    _classifier_outputs(
        builder,
        estimator,
        x,
        label.full_name,
        probabilities.full_name,
        classes=get_label_classes(scope, estimator),  # class indices if nocl
    )


def _skl2onnx_convert_regressor(scope, operator, container):
    """skl2onnx's converter of a skgraph regressor."""
    builder = _Skl2OnnxBuilder(scope, container, _skl2onnx_dtype(operator.inputs[0]))
    x = _skl2onnx_input(builder, operator.inputs[0])
    _regressor_outputs(builder, operator.raw_operator, x, operator.outputs[0].full_name)


def _estimator_classes():
    """skgraph's public estimator classes."""
    import skgraph

    return [
        obj
        for obj in (getattr(skgraph, name) for name in skgraph.__all__)
        if isinstance(obj, type) and issubclass(obj, ClassifierMixin | RegressorMixin)
    ]


def register():
    """Register skgraph's estimators with skl2onnx.

    After this call, ``skl2onnx.to_onnx(model, X)`` converts a
    :class:`~sklearn.pipeline.Pipeline` (with a ``ColumnTransformer`` or
    any other step skl2onnx knows) that contains skgraph estimators, with the
    same lowering as :func:`to_onnx`. Classifiers take skl2onnx's
    classifier options as scikit-learn's classifiers do: by default the
    probabilities are a ZipMap (``output_probability``, a list of
    ``{label: probability}``); ``options={"zipmap": False}`` gives the
    ``probabilities`` tensor, ``"columns"`` one output per class, and
    ``"output_class_labels": True`` adds the class labels and ``"nocl":
    True`` gives class indices instead of labels.

    Registration is not done on ``import skgraph``: it needs skl2onnx, whose
    import takes seconds. Calling it again is harmless.

    Examples
    --------
    >>> import skgraph.onnx
    >>> skgraph.onnx.register()  # doctest: +SKIP
    """
    from skl2onnx import update_registered_converter

    for cls in _estimator_classes():
        if issubclass(cls, ClassifierMixin):
            update_registered_converter(
                cls,
                f"Skgraph{cls.__name__}",
                _skl2onnx_classifier_shapes,
                _skl2onnx_convert_classifier,
                options={
                    "zipmap": [True, False, "columns"],
                    "output_class_labels": [False, True],
                    "nocl": [False, True],
                },
            )
        else:
            update_registered_converter(
                cls,
                f"Skgraph{cls.__name__}",
                _skl2onnx_regressor_shapes,
                _skl2onnx_convert_regressor,
            )
