"""The per-op parity harness: one op alone in a model, run by every backend on the same inputs
and compared with torch (PyTorch Geometric's layer where PyG has one), which shares no code
with sparsegnn: the numpy reference (``sparsegnn.ops.reference``), the runtime op by op on
dense and CSR features, the compiled small-graph path, and ONNX Runtime.

Each ``tests/ops/test_<op>.py`` builds its op's cases and its torch counterpart, and calls
:func:`check_parity`.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from sparsegnn.artifact import save_artifact
from sparsegnn.export.onnx_writer import to_onnx
from sparsegnn.graph import Graph
from sparsegnn.ir import Model, Node
from sparsegnn.ops import OPS
from sparsegnn.ops.reference import run_reference
from sparsegnn.runtime import Session
from sparsegnn.runtime.tuning import Tuning
from sparsegnn.sparse import CSRMatrix

PER_OP, COMPILED = Tuning(program_max_nodes=0), Tuning()
FORMATS = ("dense", "csr", "csr_t", "bsr")
TOLERANCE = {"atol": 1e-4, "rtol": 1e-4}

TORCH_ACTIVATIONS = {"identity": lambda v: v, "relu": F.relu, "elu": F.elu,
                     "leaky_relu": F.leaky_relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                     "gelu": F.gelu}


def store(name: str, matrix: np.ndarray, fmt: str, tensors: dict, block=(1, 4)) -> dict:
    """``matrix (in, out)`` as a matrix attr in ``fmt``, its arrays built with scipy
    (independently of the exporter) and put in ``tensors``."""
    matrix = np.asarray(matrix, np.float32)
    rows, cols = matrix.shape
    description = {"format": fmt, "tensor": name, "shape": [rows, cols]}
    if fmt == "dense":
        tensors[name] = matrix
        return description
    if fmt == "bsr":
        padded = np.zeros((-(-rows // block[0]) * block[0], -(-cols // block[1]) * block[1]),
                          np.float32)
        padded[:rows, :cols] = matrix
        stored = sp.bsr_matrix(padded, blocksize=block)
        description["block"] = list(block)
    else:
        stored = sp.csr_matrix(matrix if fmt == "csr" else matrix.T)
    stored.sort_indices()
    tensors[f"{name}.indptr"] = stored.indptr.astype(np.int32)
    tensors[f"{name}.indices"] = stored.indices.astype(np.int32)
    tensors[f"{name}.values"] = stored.data.astype(np.float32)
    return description


def pruned(rng, rows: int, cols: int, keep: float = 0.4) -> np.ndarray:
    """A random ``(rows, cols)`` float32 weight with about ``1 - keep`` of it zero."""
    weight = rng.standard_normal((rows, cols)) / np.sqrt(rows)
    return (weight * (rng.random((rows, cols)) < keep)).astype(np.float32)


def graph(weighted: bool, num_nodes: int = 9, seed: int = 0) -> Graph:
    """A random graph with a self loop, a duplicated edge and an isolated node (the cases where
    normalisations and softmaxes differ), weighted or not."""
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, num_nodes - 1, (2, 3 * num_nodes))
    src = np.r_[src, 2, src[0]]
    dst = np.r_[dst, 2, dst[0]]  # node num_nodes - 1 has no edges
    weights = rng.uniform(0.25, 2.0, src.shape[0]).astype(np.float32) if weighted else None
    return Graph.from_edge_index(np.stack([src, dst]), num_nodes, weights)


def torch_graph(g: Graph) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(edge_index (2, E) int64, edge_weight (E,) or None)`` for a PyG layer."""
    weight = torch.from_numpy(g.edge_weight) if g.edge_weight is not None else None
    return torch.from_numpy(g.edge_index.astype(np.int64)), weight


def check_parity(tmp_path, op: str, attrs: dict, tensors: dict, x: np.ndarray, g: Graph,
                 expected: np.ndarray, batch: np.ndarray | None = None) -> None:
    """Run ``op`` with ``attrs`` alone on ``x (N, F)`` over ``g`` on every backend; each must
    give ``expected`` (torch's output). The compiled path must run it when the op encodes
    itself for it."""
    spec = OPS[op]
    node = Node(op, ["x", *spec.inputs[1:]], ["y"], attrs)
    width = spec.out_width(attrs, x.shape[1], tensors)
    inputs = [{"name": "x", "dtype": "float32", "shape": [None, x.shape[1]]}]
    if "batch" in spec.inputs:
        inputs.append({"name": "batch", "dtype": "int64", "shape": [None]})
    model = Model([node], tensors, inputs, [{"name": "y", "dtype": "float32",
                                             "shape": [None, width]}],
                  {"task": "graph" if spec.pools else "node"})
    path = save_artifact(model, tmp_path / f"{op}.sgnn")

    np.testing.assert_allclose(run_reference(model, x, g, batch), expected, **TOLERANCE,
                               err_msg="numpy reference")
    for label, tuning in (("per-op", PER_OP), ("compiled", COMPILED)):
        session = Session(path, tuning=tuning)
        for features in (x, CSRMatrix.from_dense(x)):
            np.testing.assert_allclose(session.run(features, g, batch), expected, **TOLERANCE,
                                       err_msg=f"{label} runtime, {type(features).__name__} x")
        if label == "compiled":
            encodes = spec.encode is not None and spec.encode(_NullEncoder(), node) is not None
            assert (session._compiled_program() is not None) == encodes

    ort_session = ort.InferenceSession(to_onnx(model).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
    names = {i.name for i in [*ort_session.get_inputs(),
                              *ort_session.get_overridable_initializers()]}
    feed = {"x": x, "edge_index": g.edge_index.astype(np.int64)}
    if "batch" in names:
        feed["batch"] = batch
    if "edge_weight" in names and g.edge_weight is not None:
        feed["edge_weight"] = g.edge_weight
    np.testing.assert_allclose(ort_session.run(None, feed)[0], expected, **TOLERANCE,
                               err_msg="ONNX Runtime")


class _NullEncoder:
    """Answers an op's ``encode`` without building anything: whether it encodes at all."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: 0
