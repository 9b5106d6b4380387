"""The deployable model: a flat list of ops over named values, plus named numpy tensors.

Importable without torch. The exporter writes it, the artifact stores it, the runtime interprets
it. Every op's semantics is stated here once; the runtime kernels and the reference interpreter
in the tests implement exactly these.

Values: the model input ``x`` (N, F) float32, the graph input ``graph`` (CSR over destinations;
a model may also carry its own), ``batch`` (N,) int64 for graph-level models, and each node's
outputs. Weight matrices are stored in ``x @ M`` orientation, shape ``(in, out)``, either dense or
CSR (three tensors).

Ops: one module each in ``sparsegnn/ops/`` (its docstring states the semantics, its ``SPEC``
the version, the typed attributes and the width inference that ``Model.validate`` chains).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ops import ACTIVATIONS as ACTIVATION_CODES
from .ops import OPS, OpSpec, WidthError

__all__ = ["FORMAT_VERSION", "Node", "Model", "IRError", "OPS", "ACTIVATIONS", "Matrix",
           "MATRIX_FORMATS", "csr_parts", "matrix_tensors", "matrix_shape", "matrix_to_dense",
           "matrix_block"]

FORMAT_VERSION = 1
ACTIVATIONS = tuple(ACTIVATION_CODES)
GRAPH_INPUT = "graph"
BATCH_INPUT = "batch"
STORED_GRAPH = "stored_graph"
STORED_GRAPH_TENSORS = tuple(f"{STORED_GRAPH}.{part}" for part in ("indptr", "indices", "weight"))
# A link predictor's pair decoder: metadata["decoder"] = {"kind": "dot"} (score = z_u . z_v) or
# {"kind": "mlp"} (score = W1 relu(W0 (z_u * z_v) + b0) + b1, the tensors below, x @ W oriented).
DECODER_TENSORS = ("decoder.0.weight", "decoder.0.bias", "decoder.1.weight", "decoder.1.bias")

# The widest feature or weight dimension a model may declare (bounds what loading a file can
# make the runtime allocate per node).
MAX_WIDTH = 1 << 24


class IRError(ValueError):
    """The op list or its tensors are inconsistent."""

def check_decoder(metadata: dict, tensors: dict, width: int, error=IRError) -> None:
    """A declared pair decoder is one of the known kinds, with tensors that fit embeddings of
    ``width`` columns; without one, no decoder tensor may be present."""
    decoder = metadata.get("decoder")
    present = [name for name in DECODER_TENSORS if name in tensors]
    if decoder is None:
        if present:
            raise error(f"tensors {present} need a decoder in the metadata")
        return
    if not isinstance(decoder, dict) or decoder.get("kind") not in ("dot", "mlp") \
            or set(decoder) != {"kind"}:
        raise error(f"metadata decoder must be {{'kind': 'dot' | 'mlp'}}, found {str(decoder)[:100]}")
    if decoder["kind"] == "dot":
        if present:
            raise error(f"a dot-product decoder has no tensors, found {present}")
        return
    if present != list(DECODER_TENSORS):
        raise error(f"an MLP decoder needs the tensors {list(DECODER_TENSORS)}, found {present}")
    w0, b0, w1, b1 = (tensors[name] for name in DECODER_TENSORS)
    if any(t.dtype != np.float32 for t in (w0, b0, w1, b1)) or w0.ndim != 2 \
            or w0.shape[0] != width or b0.shape != (w0.shape[1],) \
            or w1.shape != (w0.shape[1], 1) or b1.shape != (1,):
        raise error(f"the MLP decoder's tensors must be float32 ({width}, H), (H,), (H, 1) and "
                    f"(1,), found {[tuple(t.shape) for t in (w0, b0, w1, b1)]}")
    if not all(np.all(np.isfinite(t)) for t in (w0, b0, w1, b1)):
        raise error("the MLP decoder's tensors hold NaN or inf")


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
MATRIX_KEYS = {"format", "tensor", "shape", "pattern", "block"}
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
        """Check the model completely before anything runs: known ops and versions, only the
        attributes each op declares, each of its type, tensor references, the dataflow order,
        and widths chained from the declared ``x`` width through every op
        (``sparsegnn.ops``) to the declared output width; no graph op after pooling; no node
        and no tensor that nothing uses."""
        for spec in [*self.inputs, *self.outputs]:
            if not (isinstance(spec, dict) and isinstance(spec.get("name"), str)
                    and set(spec) <= {"name", "dtype", "shape"}):
                raise error(f"input and output specs are objects with a name, a dtype and a "
                            f"shape, found {str(spec)[:200]}")
        names = [spec["name"] for spec in self.inputs]
        if len(set(names)) != len(names) or not set(names) <= {"x", BATCH_INPUT} \
                or "x" not in names:
            raise error(f"the model's inputs must be 'x' and optionally 'batch', found {names}")
        for spec in self.inputs:
            dtype = "float32" if spec["name"] == "x" else "int64"
            if spec.get("dtype") != dtype:
                raise error(f"input {spec['name']!r} must have dtype {dtype}, found "
                            f"{spec.get('dtype')!r}")
        if BATCH_INPUT in names and self.inputs[names.index(BATCH_INPUT)].get("shape") != [None]:
            raise error("input 'batch' must have shape [null]")
        # value name -> (width, what its rows are: "nodes" or "graphs")
        values = {"x": (_declared_width(self.inputs[names.index("x")], error), "nodes")}
        used: set[str] = set()
        for index, node in enumerate(self.nodes):
            where = f"node {index} ({node.op})"
            spec = OPS.get(node.op) if isinstance(node.op, str) else None
            if spec is None:
                raise error(f"{where}: unknown op {node.op!r}; registered ops: {sorted(OPS)}")
            if type(node.version) is not int or node.version != spec.version:
                raise error(f"{where}: op version {node.version!r} is not supported "
                            f"(this runtime has version {spec.version})")
            if len(node.inputs) != len(spec.inputs) or len(node.outputs) != 1:
                raise error(f"{where}: expected {len(spec.inputs)} inputs and 1 output, got "
                            f"{len(node.inputs)} and {len(node.outputs)}")
            for kind, name in zip(spec.inputs, node.inputs):
                if not isinstance(name, str):
                    raise error(f"{where}: input names must be strings, found {name!r}")
                expected = {"graph": GRAPH_INPUT, "batch": BATCH_INPUT}.get(kind)
                if expected is not None and (name != expected or (
                        expected == BATCH_INPUT and BATCH_INPUT not in names)):
                    raise error(f"{where}: its {kind} input must be the model input "
                                f"{expected!r}, found {name!r}")
                if expected is None and name not in values:
                    raise error(f"{where}: input {name!r} is neither the model input 'x' nor "
                                f"produced by an earlier node")
            width, rows = values[node.inputs[0]]
            if any(values[name] != (width, rows) for name in spec.values(node)):
                raise error(f"{where}: its inputs {spec.values(node)} must be equally wide and "
                            f"hold the same rows, found {[values[n] for n in spec.values(node)]}")
            if rows != "nodes" and (GRAPH_INPUT in spec.inputs or spec.pools):
                raise error(f"{where}: its input holds one row per graph (after pooling); "
                            f"this op needs one row per node")
            self._check_attrs(node, spec, where, error, used)
            try:
                out = spec.out_width(node.attrs, width, self.tensors)
            except WidthError as exc:
                raise error(f"{where}: {exc}") from None
            output = node.outputs[0]
            if not isinstance(output, str) or output in values or output in (GRAPH_INPUT,
                                                                             BATCH_INPUT):
                raise error(f"{where}: output name {output!r} is taken or not a string")
            values[output] = (out, "graphs" if spec.pools else rows)
        if len(self.outputs) != 1 or not isinstance(self.outputs[0], dict):
            raise error(f"the model must declare exactly one output, found {len(self.outputs)}")
        name = self.outputs[0]["name"]
        if self.outputs[0].get("dtype") != "float32":
            raise error(f"output {name!r} must have dtype float32")
        if name not in values:
            raise error(f"output {name!r} is not produced by any node")
        consumed = {value for node in self.nodes for value in node.inputs} | {name}
        dead = [node.outputs[0] for node in self.nodes if node.outputs[0] not in consumed]
        if dead:  # a rewired input leaves the node it bypassed behind
            raise error(f"the values {dead[:5]} are computed but used by no node and are not "
                        f"the output")
        declared = _declared_width(self.outputs[0], error)
        if declared != values[name][0]:
            raise error(f"output {name!r} is declared {declared} wide, its node makes "
                        f"{values[name][0]} columns")
        stored = [name for name in STORED_GRAPH_TENSORS if name in self.tensors]
        if stored and not {f"{STORED_GRAPH}.indptr", f"{STORED_GRAPH}.indices"} <= set(stored):
            raise error(f"a stored graph needs {STORED_GRAPH}.indptr and {STORED_GRAPH}.indices, "
                        f"found {stored}")
        check_decoder(self.metadata, self.tensors, declared, error)
        unused = set(self.tensors) - used - set(STORED_GRAPH_TENSORS) - set(DECODER_TENSORS)
        if unused:
            raise error(f"tensors {sorted(unused)[:5]} are not used by any node")

    def _check_attrs(self, node: Node, spec: OpSpec, where: str, error, used: set) -> None:
        attrs = node.attrs
        if not isinstance(attrs, dict):
            raise error(f"{where}: attrs must be an object")
        for key, value in attrs.items():
            if value is None:  # absent
                continue
            attr = spec.attrs.get(key)
            if attr is None:
                raise error(f"{where}: unknown attribute {key!r}; {node.op} takes "
                            f"{sorted(spec.attrs)}")
            problem = attr.check(value)
            if problem:
                raise error(f"{where}: {key} {problem}")
        for key, attr in spec.attrs.items():
            if attrs.get(key) is None:
                if attr.required:
                    raise error(f"{where}: missing attribute {key!r}")
            elif attr.kind == "matrix":
                _check_matrix_description(attrs[key], f"{where} {key}", error)
                names = matrix_tensors(attrs[key])
            elif attr.kind == "tensor":
                names = [attrs[key]]
            else:
                continue
            if attrs.get(key) is not None:
                for name in names:
                    if name not in self.tensors:
                        raise error(f"{where}: tensor {name!r} of {key} is missing")
                used.update(names)


def _declared_width(spec: dict, error) -> int:
    """The width of an ``x`` or output spec: its shape must be ``[null, width >= 1]``."""
    shape = spec.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and shape[0] is None
            and type(shape[1]) is int and 1 <= shape[1] <= MAX_WIDTH):
        raise error(f"{spec.get('name')!r} must have shape [null, width] with a width in "
                    f"[1, {MAX_WIDTH}], found {shape!r}")
    return shape[1]


def _check_matrix_description(matrix: dict, where: str, error) -> None:
    """The keys of a weight matrix attr (its tensors are checked by the artifact loader)."""
    unknown = set(matrix) - MATRIX_KEYS
    if unknown:
        raise error(f"{where}: unknown matrix keys {sorted(unknown)}; expected {sorted(MATRIX_KEYS)}")
    if matrix.get("format") not in MATRIX_FORMATS or not isinstance(matrix.get("tensor"), str):
        raise error(f"{where}: must be a matrix description with a format in {MATRIX_FORMATS}")
    shape = matrix.get("shape")
    if not (isinstance(shape, (list, tuple)) and len(shape) == 2
            and all(type(side) is int and 1 <= side <= MAX_WIDTH for side in shape)):
        raise error(f"{where}: needs \"shape\": [rows, cols], each in [1, {MAX_WIDTH}], found "
                    f"{shape!r}")
    if ("block" in matrix) != (matrix["format"] == "bsr"):
        raise error(f"{where}: \"block\" goes with the bsr format, and only with it")
