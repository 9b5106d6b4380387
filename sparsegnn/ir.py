"""The deployable model: a flat list of ops over named values, plus named numpy tensors.

Importable without torch. The exporter writes it, the artifact stores it, the runtime interprets
it. Every op's semantics is stated here once; the runtime kernels and the reference interpreter
in the tests implement exactly these.

Values: the model input ``x`` (N, F) float32, the graph input ``graph`` (CSR over destinations;
a model may also carry its own), ``batch`` (N,) int64 for graph-level models, and each node's
outputs. Weight matrices are stored in ``x @ M`` orientation, shape ``(in, out)``, either dense or
CSR (three tensors).

Ops (version 1):

``input_norm``   ``[x] -> [y]``      ``y = x / rowsum(x)`` (rows summing to 0 stay 0)
``linear``       ``[x] -> [y]``      ``y = act(x @ W + b)``
``gcn_conv``     ``[x, graph] -> [y]``  ``y = act(Â (x @ W) + b)``, ``Â`` = PyG's gcn_norm of graph
``sage_conv``    ``[x, graph] -> [y]``  ``y = act(l2?(agg_j x_j @ W_n + b + x @ W_r))``
``gin_conv``     ``[x, graph] -> [y]``  ``y = (1 + eps) x + sum_j x_j``
``gat_conv``     ``[x, graph] -> [y]``  multi-head attention as PyG's GATConv, then ``act``
``affine``       ``[x] -> [y]``      ``y = act(x * scale + shift)`` (an unfoldable batch norm)
``activation``   ``[x] -> [y]``      ``y = act(x)``
``global_pool``  ``[x, batch] -> [y]``  per-graph sum/mean/max, ``(G, F)``
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FORMAT_VERSION", "Node", "Model", "IRError", "OPS", "ACTIVATIONS", "Matrix",
           "MATRIX_FORMATS", "csr_parts", "matrix_tensors", "matrix_shape", "matrix_to_dense",
           "matrix_block"]

FORMAT_VERSION = 1
ACTIVATIONS = ("identity", "relu", "elu", "leaky_relu", "sigmoid", "tanh", "gelu")
GRAPH_INPUT = "graph"
STORED_GRAPH = "stored_graph"


class IRError(ValueError):
    """The op list or its tensors are inconsistent."""


@dataclass(frozen=True)
class OpSchema:
    version: int
    inputs: tuple[str, ...]  # kinds: "x" (dense features), "graph", "batch"
    matrices: tuple[str, ...] = ()  # attrs naming a weight matrix (dense or CSR)
    optional_matrices: tuple[str, ...] = ()
    vectors: tuple[str, ...] = ()  # attrs naming a 1-D/2-D tensor
    optional_vectors: tuple[str, ...] = ()


OPS = {
    "input_norm": OpSchema(1, ("x",)),
    "linear": OpSchema(1, ("x",), ("weight",), optional_vectors=("bias",)),
    "gcn_conv": OpSchema(1, ("x", "graph"), ("weight",), optional_vectors=("bias",)),
    "sage_conv": OpSchema(1, ("x", "graph"), ("weight_neighbor",), ("weight_root",),
                          optional_vectors=("bias",)),
    "gin_conv": OpSchema(1, ("x", "graph")),
    "gat_conv": OpSchema(1, ("x", "graph"), ("weight",), ("residual",),
                         ("att_src", "att_dst"), ("bias",)),
    "affine": OpSchema(1, ("x",), vectors=("scale", "shift")),
    "activation": OpSchema(1, ("x",)),
    "global_pool": OpSchema(1, ("x", "batch")),
}

# A weight matrix attr: {"format": "dense" | "csr" | "csr_t" | "bsr", "tensor": name,
# "shape": [in, out]}, optionally "pattern" (the pruning pattern it follows, see
# sparsegnn.patterns; checked on load). Dense: tensor ``name`` of shape (in, out). The sparse
# formats store tensors ``name.indptr``, ``name.indices`` and ``name.values``: "csr" is the CSR
# of M (in rows), "csr_t" the CSR of M.T (out rows; for a pruned torch Linear, its weight
# itself), "bsr" the block-sparse rows of M with "block": [R, C] (R consecutive inputs by C
# consecutive outputs): indptr over the ceil(in / R) block rows, indices the block columns,
# values (blocks, R, C), zero past the matrix's edges. Index arrays use the narrowest integer
# type that fits.
MATRIX_FORMATS = ("dense", "csr", "csr_t", "bsr")
CSR_PARTS = ("indptr", "indices", "values")
Matrix = dict


def matrix_tensors(matrix: Matrix) -> list[str]:
    if matrix.get("format") == "dense":
        return [matrix["tensor"]]
    return [f"{matrix['tensor']}.{part}" for part in CSR_PARTS]


def csr_parts(matrix: Matrix, tensors: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, values)`` of a sparse-format matrix."""
    return tuple(tensors[name] for name in matrix_tensors(matrix))


def matrix_shape(matrix: Matrix) -> tuple[int, int]:
    return int(matrix["shape"][0]), int(matrix["shape"][1])


def matrix_block(matrix: Matrix) -> tuple[int, int]:
    """``(R, C)`` of a "bsr" matrix; (1, 1) for the other formats."""
    if matrix.get("format") != "bsr":
        return 1, 1
    rows, cols = matrix["block"]
    return int(rows), int(cols)


def matrix_to_dense(matrix: Matrix, tensors: dict, dtype=np.float32) -> np.ndarray:
    """The matrix as a dense ``(in, out)`` array, whatever its format (the one conversion the
    runtime, the ONNX writer and ``inspect`` share). The arrays must have passed the artifact's
    checks."""
    rows, cols = matrix_shape(matrix)
    if matrix["format"] == "dense":
        return np.asarray(tensors[matrix["tensor"]], dtype=dtype)
    indptr, indices, values = csr_parts(matrix, tensors)
    block_rows, block_cols = matrix_block(matrix)
    if matrix["format"] == "csr_t":
        block_rows, block_cols, rows, cols = 1, 1, cols, rows
    groups = -(-rows // block_rows)
    out = np.zeros((groups * block_rows, -(-cols // block_cols) * block_cols), dtype)
    row_ids = np.repeat(np.arange(groups), np.diff(np.asarray(indptr, np.int64)))
    blocks = np.asarray(values, dtype).reshape(-1, block_rows, block_cols)
    view = out.reshape(groups, block_rows, -1, block_cols)  # [block row, r, block col, c]
    np.add.at(view, (row_ids, slice(None), np.asarray(indices, np.int64)),
              blocks)  # duplicates (csr) add up, as scipy does
    out = out[:rows, :cols]
    return np.ascontiguousarray(out.T if matrix["format"] == "csr_t" else out)


def matrix_nonzeros(matrix: Matrix, tensors: dict) -> int:
    """Nonzero entries of a weight matrix, whatever its storage."""
    values = tensors[matrix_tensors(matrix)[-1]]
    return int(np.count_nonzero(values))


def weight_sparsity(model: Model) -> float:
    """Fraction of zero entries over all weight matrices of ``model``'s ops."""
    total = zeros = 0
    for node in model.nodes:
        for value in node.attrs.values():
            if isinstance(value, dict) and value.get("format") in MATRIX_FORMATS:
                rows, cols = matrix_shape(value)
                total += rows * cols
                zeros += rows * cols - matrix_nonzeros(value, model.tensors)
    return zeros / total if total else 0.0


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    version: int = 1

    def to_json(self) -> dict:
        attrs = {k: v for k, v in self.attrs.items() if v is not None}  # absent == None
        return {"op": self.op, "version": self.version, "inputs": list(self.inputs),
                "outputs": list(self.outputs), "attrs": attrs}


@dataclass
class Model:
    """A deployable model: ``nodes`` in execution order over named values.

    ``inputs``/``outputs`` are ``{"name", "dtype", "shape"}`` dicts (``None`` for dynamic
    dims); ``metadata`` holds the task, class names, provenance and the pruning record; a
    transductive model may carry its graph as tensors ``stored_graph.indptr/indices/weight``.
    """

    nodes: list[Node]
    tensors: dict[str, np.ndarray]
    inputs: list[dict]
    outputs: list[dict]
    metadata: dict = field(default_factory=dict)

    @property
    def has_stored_graph(self) -> bool:
        return f"{STORED_GRAPH}.indptr" in self.tensors

    def validate(self, error: type[Exception] = IRError) -> None:
        """Check ops, versions, attributes, tensor references and the dataflow order."""
        available = {spec["name"] for spec in self.inputs} | {GRAPH_INPUT}
        if "x" not in available:
            raise error("the model must have an input named 'x'")
        for index, node in enumerate(self.nodes):
            where = f"node {index} ({node.op})"
            schema = OPS.get(node.op)
            if schema is None:
                raise error(f"{where}: unknown op {node.op!r}; registered ops: {sorted(OPS)}")
            if node.version != schema.version:
                raise error(f"{where}: op version {node.version} is not supported "
                            f"(this runtime has version {schema.version})")
            if len(node.inputs) != len(schema.inputs) or len(node.outputs) != 1:
                raise error(f"{where}: expected {len(schema.inputs)} inputs and 1 output, got "
                            f"{len(node.inputs)} and {len(node.outputs)}")
            for name in node.inputs:
                if name not in available:
                    raise error(f"{where}: input {name!r} is neither a model input nor produced "
                                f"by an earlier node")
            self._check_attrs(node, schema, where, error)
            available.add(node.outputs[0])
        for spec in self.outputs:
            if spec["name"] not in available:
                raise error(f"output {spec['name']!r} is not produced by any node")

    def _check_attrs(self, node: Node, schema: OpSchema, where: str, error) -> None:
        attrs = node.attrs
        for key in schema.matrices + schema.optional_matrices:
            matrix = attrs.get(key)
            if matrix is None:
                if key in schema.matrices:
                    raise error(f"{where}: missing weight matrix {key!r}")
                continue
            if not isinstance(matrix, dict) or matrix.get("format") not in MATRIX_FORMATS \
                    or not isinstance(matrix.get("tensor"), str):
                raise error(f"{where}: {key} must be a matrix description with a format in "
                            f"{MATRIX_FORMATS}")
            for name in matrix_tensors(matrix):
                if name not in self.tensors:
                    raise error(f"{where}: tensor {name!r} of {key} is missing")
        for key in schema.vectors + schema.optional_vectors:
            name = attrs.get(key)
            if name is None:
                if key in schema.vectors:
                    raise error(f"{where}: missing tensor attribute {key!r}")
            elif name not in self.tensors:
                raise error(f"{where}: tensor {name!r} of {key} is missing")
        activation = attrs.get("activation", "identity")
        if activation not in ACTIVATIONS:
            raise error(f"{where}: unknown activation {activation!r}; expected one of {ACTIVATIONS}")
