"""IR -> a standard ONNX model (opset 18) that ONNX Runtime runs.

Inputs: ``x`` (N, F) float32, ``edge_index`` (2, E) int64, for models with a GCN layer
``edge_weight`` (E,) float32 (optional: it defaults to an empty tensor, which means unweighted)
and, for graph-level models, ``batch`` (N,) int64; N and E are dynamic. Message passing uses
only standard ops: ``Gather`` for the messages, ``ScatterElements`` with ``reduction="add"`` /
``"max"`` for the aggregation, and the GCN normalisation and GAT softmax are computed in the
graph from ``edge_index``. Weights are dense initializers, or with ``sparse_weights=True``
CSR-pruned weights become ONNX sparse initializers (COO) to shrink the file.

A link predictor's model (a ``decoder`` in the metadata) also scores pairs: the optional input
``pairs`` (2, P) int64 (an empty default: no scores) gives the output ``scores`` (P,), the
decoder on the embeddings ``logits``: the dot product of the two ends, or the MLP on their
Hadamard product, as ``Session.score_pairs``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._fileio import atomic_path
from ..ir import Model, matrix_to_dense
from ..ops import LEAKY_RELU_SLOPE, OPS

__all__ = ["to_onnx", "save_onnx", "save_ort", "OPSET"]

OPSET = 18
EDGE_WEIGHT = "edge_weight"
PAIRS, SCORES = "pairs", "scores"
LOWEST = float(np.finfo(np.float32).min)


class _Graph:
    """Accumulates ONNX nodes and initializers with unique names."""

    def __init__(self, model: Model, sparse_weights: bool):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.model, self.sparse_weights = model, sparse_weights
        self.nodes, self.initializers = [], []
        self.count = 0
        self.constants: dict[tuple, str] = {}
        self.float_type = helper.np_dtype_to_tensor_dtype(np.dtype(np.float32))

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        output = self.name(hint or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [output], **attrs))
        return output

    def const(self, value, hint: str = "const", dtype=np.float32) -> str:
        """A constant initializer; equal constants share one (axes, shapes recur per layer)."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self.constants:
            self.constants[key] = self.name(hint)
            self.initializers.append(self.numpy_helper.from_array(array, self.constants[key]))
        return self.constants[key]

    def tensor(self, ir_name: str) -> str:
        name = self.name(ir_name.replace(".", "_"))
        array = np.asarray(self.model.tensors[ir_name], dtype=np.float32)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def matrix(self, matrix: dict) -> str:
        """The matrix as an (in, out) float initializer; with ``sparse_weights``, a matrix the
        artifact stores sparse (any pattern) becomes a ``Constant`` holding a sparse tensor of
        its nonzeros (ONNX Runtime densifies it when it loads the model; unlike a sparse
        initializer, a Constant's shape is inferred, so ``onnx.checker``'s full check passes)."""
        rows, cols = matrix["shape"]
        dense = matrix_to_dense(matrix, self.model.tensors)
        name = self.name(matrix["tensor"].replace(".", "_"))
        if self.sparse_weights and matrix["format"] != "dense":
            flat = np.flatnonzero(dense)  # row-major order, as ONNX's linear indices
            values_tensor = self.numpy_helper.from_array(dense.reshape(-1)[flat], name)
            index_tensor = self.numpy_helper.from_array(flat.astype(np.int64), name + "_indices")
            self.nodes.append(self.helper.make_node("Constant", [], [name], sparse_value=(
                self.helper.make_sparse_tensor(values_tensor, index_tensor, [rows, cols]))))
            return name
        self.initializers.append(self.numpy_helper.from_array(dense, name))
        return name

    def add_bias(self, value: str, bias: str | None) -> str:
        return self.op("Add", [value, self.tensor(bias)]) if bias else value

    def activation(self, value: str, name: str) -> str:
        """``value`` through activation ``name`` (``sparsegnn.ops.activation``)."""
        if name == "identity":
            return value
        if name == "relu":
            return self.op("Relu", [value])
        if name == "elu":
            return self.op("Elu", [value], alpha=1.0)
        if name == "leaky_relu":
            return self.op("LeakyRelu", [value], alpha=LEAKY_RELU_SLOPE)
        if name == "sigmoid":
            return self.op("Sigmoid", [value])
        if name == "tanh":
            return self.op("Tanh", [value])
        if name == "gelu":  # Gelu is opset 20: write the erf form
            scaled = self.op("Div", [value, self.const(np.sqrt(2.0))])
            erf = self.op("Add", [self.op("Erf", [scaled]), self.const(1.0)])
            return self.op("Mul", [self.op("Mul", [value, erf]), self.const(0.5)])
        raise ValueError(f"unknown activation {name!r}")


class _Edges:
    """Per-graph tensors derived from ``edge_index`` once and shared by every layer."""

    def __init__(self, g: _Graph, x: str):
        self.g = g
        self.src = g.op("Gather", ["edge_index", g.const(0, "zero", np.int64)], "src", axis=0)
        self.dst = g.op("Gather", ["edge_index", g.const(1, "one", np.int64)], "dst", axis=0)
        shape = g.op("Shape", [x])
        self.num_nodes = g.op("Slice", [shape, g.const([0], "s", np.int64),
                                        g.const([1], "e", np.int64)], "num_nodes")
        self._looped = None
        self._weights = None
        self._gcn = {}

    def looped(self) -> tuple[str, str]:
        """Edges without self loops, plus one loop per node: ``(src, dst)``."""
        if self._looped is None:
            g = self.g
            keep = g.op("Not", [g.op("Equal", [self.src, self.dst])])
            nodes = g.op("Range", [g.const(0, "start", np.int64),
                                   g.op("Squeeze", [self.num_nodes, g.const([0], "ax", np.int64)]),
                                   g.const(1, "step", np.int64)])
            src = g.op("Concat", [g.op("Compress", [self.src, keep], axis=0), nodes], axis=0)
            dst = g.op("Concat", [g.op("Compress", [self.dst, keep], axis=0), nodes], axis=0)
            self._looped = (src, dst)
        return self._looped

    @property
    def weights_used(self) -> bool:
        """Whether a lowering read the ``edge_weight`` input (which the model then declares)."""
        return self._weights is not None

    def weights(self) -> tuple[str, str]:
        """``(weights (E,), unweighted)``: the ``edge_weight`` input, or ones where it was left
        empty (its default), and whether it was."""
        if self._weights is None:
            g, helper = self.g, self.g.helper
            ones = g.op("ConstantOfShape", [g.op("Shape", [self.src])],
                        value=g.numpy_helper.from_array(np.array([1.0], np.float32)))
            empty = g.op("Equal", [g.op("Size", [EDGE_WEIGHT]), g.const(0, "zero", np.int64)])
            branches = {}
            for branch, source in (("then", ones), ("else", EDGE_WEIGHT)):
                out = g.name(f"weights_{branch}")
                branches[f"{branch}_branch"] = helper.make_graph(
                    [helper.make_node("Identity", [source], [out])], f"weights_{branch}", [],
                    [helper.make_tensor_value_info(out, g.float_type, ["num_edges"])])
            self._weights = (g.op("If", [empty], "edge_weights", **branches), empty)
        return self._weights

    def zeros(self, width: str | None, fill: float = 0.0, rows: str | None = None) -> str:
        """A (rows, width...) float tensor of ``fill``; ``width`` is a 1-D int64 shape tail."""
        g = self.g
        parts = [rows or self.num_nodes] + ([width] if width else [])
        shape = g.op("Concat", parts, axis=0) if len(parts) > 1 else parts[0]
        return g.op("ConstantOfShape", [shape],
                    value=g.numpy_helper.from_array(np.array([fill], np.float32)))

    def scatter(self, messages: str, index: str, reduction: str, rows: str | None = None) -> str:
        """Reduce ``messages`` (E, ...) into ``rows`` (default N) by ``index``; empty rows 0."""
        g = self.g
        tail = g.op("Slice", [g.op("Shape", [messages]), g.const([1], "s", np.int64),
                              g.const([2**62], "e", np.int64)])
        fill = LOWEST if reduction == "max" else 0.0
        base = self.zeros(tail, fill, rows)
        # ScatterElements, not ScatterND: ONNX Runtime's CPU ScatterND updates duplicate indices
        # from several threads at once and returns racy sums (onnxruntime issues 18048, 23396;
        # reproduced here: 1e-3 errors in 1 of 3 runs).
        rank = g.op("Shape", [g.op("Shape", [messages])])
        ones = g.op("ConstantOfShape", [g.op("Sub", [rank, g.const([1], "one", np.int64)])],
                    value=g.numpy_helper.from_array(np.array([1], np.int64)))
        column = g.op("Reshape", [index, g.op("Concat", [g.const([-1], "m1", np.int64), ones],
                                               axis=0)])
        indices = g.op("Expand", [column, g.op("Shape", [messages])])
        out = g.op("ScatterElements", [base, indices, messages], axis=0, reduction=reduction)
        if reduction == "max":  # rows without messages: 0, as the runtime and PyG give
            out = g.op("Where", [g.op("Equal", [out, g.const(LOWEST)]), g.const(0.0), out])
        return out

    def aggregate(self, x: str, reduce: str, src=None, dst=None, weight=None) -> str:
        g = self.g
        src, dst = src or self.src, dst or self.dst
        messages = g.op("Gather", [x, src], axis=0)
        if weight is not None:
            messages = g.op("Mul", [messages, g.op("Unsqueeze", [weight, g.const([-1], "ax",
                                                                                   np.int64)])])
        if reduce == "max":
            return self.scatter(messages, dst, "max")
        total = self.scatter(messages, dst, "add")
        if reduce == "mean":
            ones = g.op("ConstantOfShape", [g.op("Shape", [dst])],
                        value=g.numpy_helper.from_array(np.array([1.0], np.float32)))
            count = self.scatter(g.op("Unsqueeze", [ones, g.const([-1], "ax", np.int64)]), dst, "add")
            total = g.op("Div", [total, g.op("Max", [count, g.const([1.0])])])
        return total

    def gcn_weights(self, add_self_loops: bool, improved: bool) -> tuple[str, str, str]:
        """``(src, dst, weight)`` of PyG's ``gcn_norm``: remaining self loops (a node's own
        loop keeps its weight, the others get 1, or 2 when ``improved`` and the graph is
        weighted), ``D^-1/2 A D^-1/2`` over the weighted in-degrees (0 where a degree is 0)."""
        key = (add_self_loops, improved)
        if key not in self._gcn:
            g = self.g
            weight, unweighted = self.weights()
            src, dst = self.src, self.dst
            if add_self_loops:
                src, dst = self.looped()
                is_loop = g.op("Equal", [self.src, self.dst])
                fill = g.op("Where", [unweighted, g.const(1.0),
                                      g.const(2.0 if improved else 1.0)])
                loops = g.op("Expand", [fill, self.num_nodes])
                loops = g.op("ScatterElements", [loops, g.op("Compress", [self.dst, is_loop], axis=0),
                                                 g.op("Compress", [weight, is_loop], axis=0)],
                             axis=0)  # a duplicated loop: the last one's weight, as PyG
                kept = g.op("Compress", [weight, g.op("Not", [is_loop])], axis=0)
                weight = g.op("Concat", [kept, loops], axis=0)
            degree = self.scatter(weight, dst, "add")
            inv = g.op("Pow", [degree, g.const(-0.5)])
            inv = g.op("Where", [g.op("Equal", [degree, g.const(0.0)]), g.const(0.0), inv])
            weight = g.op("Mul", [g.op("Mul", [g.op("Gather", [inv, src], axis=0), weight]),
                                  g.op("Gather", [inv, dst], axis=0)])
            self._gcn[key] = (src, dst, weight)
        return self._gcn[key]


def _emit(g: _Graph, edges: _Edges, node, values: dict) -> str:
    """The ONNX nodes of one IR node: its op module's lowering."""
    spec = OPS[node.op]
    if spec.to_onnx is None:
        raise ValueError(f"op {node.op!r} has no ONNX lowering")
    return spec.to_onnx(g, edges, node, *[values[name] for name in spec.values(node)])


def _pair_scores(g: _Graph, embeddings: str, decoder: str) -> str:
    """The decoder's scores (P,) of the ``pairs`` input's (2, P) node pairs."""
    ends = [g.op("Gather", [embeddings, g.op("Gather", [PAIRS, g.const(side, dtype=np.int64)],
                                                 axis=0)], axis=0) for side in (0, 1)]
    product = g.op("Mul", ends)
    if decoder == "dot":
        return g.op("ReduceSum", [product, g.const([1], dtype=np.int64)], keepdims=0)
    hidden = g.op("Relu", [g.add_bias(g.op("MatMul", [product, g.tensor("decoder.0.weight")]),
                                      "decoder.0.bias")])
    logits = g.add_bias(g.op("MatMul", [hidden, g.tensor("decoder.1.weight")]), "decoder.1.bias")
    return g.op("Squeeze", [logits, g.const([1], dtype=np.int64)])


def to_onnx(model: Model, *, sparse_weights: bool = False):
    """Lower an IR model to an ``onnx.ModelProto`` (validated first, then checked with
    ``onnx.checker``)."""
    import onnx
    from onnx import TensorProto, helper

    model.validate()

    g = _Graph(model, sparse_weights)
    edges = _Edges(g, "x")
    values = {"x": "x"}
    for node in model.nodes:
        values[node.outputs[0]] = _emit(g, edges, node, values)
    final = "logits"  # a stable output name, whatever the model
    g.nodes.append(helper.make_node("Identity", [values[model.outputs[0]["name"]]], [final]))
    width = int(model.inputs[0]["shape"][1])
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["num_nodes", width]),
              helper.make_tensor_value_info("edge_index", TensorProto.INT64, [2, "num_edges"])]
    if edges.weights_used:  # an op's lowering weighed the edges
        inputs.append(helper.make_tensor_value_info(EDGE_WEIGHT, TensorProto.FLOAT,
                                                    ["num_weights"]))
        g.initializers.append(g.numpy_helper.from_array(np.zeros(0, np.float32), EDGE_WEIGHT))
    if any(spec["name"] == "batch" for spec in model.inputs):
        inputs.append(helper.make_tensor_value_info("batch", TensorProto.INT64, ["num_nodes"]))
    rows = "num_graphs" if model.metadata.get("task") == "graph" else "num_nodes"
    output_width = int(model.outputs[0]["shape"][1])
    outputs = [helper.make_tensor_value_info(final, TensorProto.FLOAT, [rows, output_width])]
    decoder = model.metadata.get("decoder")
    if decoder is not None:  # a link predictor: its pair scorer too
        inputs.append(helper.make_tensor_value_info(PAIRS, TensorProto.INT64, [2, "num_pairs"]))
        g.initializers.append(g.numpy_helper.from_array(np.zeros((2, 0), np.int64), PAIRS))
        g.nodes.append(helper.make_node("Identity", [_pair_scores(g, final, decoder["kind"])],
                                        [SCORES]))
        outputs.append(helper.make_tensor_value_info(SCORES, TensorProto.FLOAT, ["num_pairs"]))
    graph = helper.make_graph(g.nodes, "sparsegnn", inputs, outputs, initializer=g.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="sparsegnn")
    onnx_model.ir_version = 9  # readable by onnxruntime >= 1.16
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def save_onnx(model: Model, path: str | os.PathLike, *, sparse_weights: bool = False) -> Path:
    """Write ``to_onnx(model)`` to ``path`` atomically."""
    proto = to_onnx(model, sparse_weights=sparse_weights)
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_bytes(proto.SerializeToString())
    return path


def save_ort(onnx_path: str | os.PathLike, ort_path: str | os.PathLike) -> Path:
    """Convert an ONNX file to the ORT format of ONNX Runtime Mobile, with the installed
    onnxruntime (which loads the model once and saves it in that format)."""
    import onnxruntime as ort

    ort_path = Path(ort_path)
    with atomic_path(ort_path) as temporary:
        target = temporary.with_suffix(".ort")
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(target)
        options.add_session_config_entry("session.save_model_format", "ORT")
        # basic optimisations only: the result must run on the mobile runtime's kernels too
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        target.replace(temporary)
    return ort_path
