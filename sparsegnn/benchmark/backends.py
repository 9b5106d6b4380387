"""The backends ``sparsegnn bench`` compares, behind one interface.

A backend loads one model (``load``), turns a workload into its own input format once
(``prepare``, not timed) and returns a zero-argument callable that runs inference and returns
the output as numpy. Libraries are imported inside ``load``, so a backend's import cost is part
of its cold start, and this module itself needs numpy only (the runtime-only benchmark imports
it where torch is not installed). A backend that cannot run here raises :class:`Absent` with
the reason.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..graph import Graph
from ..sparse import CSRMatrix

__all__ = ["Absent", "Workload", "ModelFiles", "Backend", "BACKENDS", "RUNTIME_BACKENDS",
           "make_backend"]


class Absent(RuntimeError):
    """The backend cannot run here (a library is not installed, the model does not apply)."""


@dataclass
class Workload:
    """One inference call's inputs. ``x (N, F)`` as the dataset stores it (dense or CSR),
    ``graph`` with N nodes, ``batch (N,)`` for graph-level models."""

    x: np.ndarray | CSRMatrix
    graph: Graph
    batch: np.ndarray | None = None
    num_graphs: int | None = None

    def dense_x(self) -> np.ndarray:
        if isinstance(self.x, CSRMatrix):
            return self.x.toarray(np.float32)
        return np.ascontiguousarray(self.x, dtype=np.float32)

    def torch_x(self, sparse: bool):
        """``x`` as a torch tensor: CSR when ``sparse`` and the dataset stores it sparse (the
        fastest sparse x dense product torch has on CPU), else dense."""
        import warnings

        import torch

        if sparse and isinstance(self.x, CSRMatrix):
            with warnings.catch_warnings():  # "sparse CSR support is in beta state"
                warnings.simplefilter("ignore", UserWarning)
                return torch.sparse_csr_tensor(
                    torch.from_numpy(self.x.indptr.astype(np.int64)),
                    torch.from_numpy(self.x.indices.astype(np.int64)),
                    torch.from_numpy(self.x.data.astype(np.float32)), self.x.shape)
        return torch.from_numpy(self.dense_x())


@dataclass
class ModelFiles:
    """Everything the backends load one model from. ``dense_checkpoint`` is the unpruned model
    (``None``: time the pruned weights stored dense); ``graph`` is an edge-pruned graph the
    pruned model runs on (``None``: the dataset's)."""

    label: str
    kind: str
    artifact: str
    checkpoint: str | None = None
    dense_checkpoint: str | None = None
    dense_artifact: str | None = None
    onnx: str | None = None
    graph: Graph | None = None
    info: dict = field(default_factory=dict)


def _file_bytes(path: str | None) -> int | None:
    return os.path.getsize(path) if path and os.path.isfile(path) else None


def _require(module: str, extra: str) -> None:
    """Import ``module`` (its cost belongs to the backend's cold start) or raise Absent."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise Absent(f"{module} is not installed ({extra})") from exc


class Backend:
    """Base class: ``name``, ``threads`` (what the backend may use), ``pruned`` (whether it runs
    the pruned model, hence on the pruned graph), the file it loads from, and ``input`` (what
    form of features and graph ``prepare`` gave it, for the tables)."""

    name = "base"
    pruned = True

    def __init__(self):
        self.file_bytes: int | None = None
        self.threads: int | str = "all"
        self.input = ""

    def load(self, files: ModelFiles) -> None:
        raise NotImplementedError

    def prepare(self, workload: Workload) -> Callable[[], np.ndarray]:
        raise NotImplementedError


# ----------------------------------------------------------------------------- torch eager
class _TorchBackend(Backend):
    aggregation = "native"
    sparse_features = False  # CSR features where the dataset stores them sparse

    def _checkpoint(self, files: ModelFiles) -> str:
        if files.checkpoint is None:
            raise Absent("needs the torch checkpoint (only the artifact was given)")
        return files.checkpoint

    def load(self, files: ModelFiles) -> None:
        _require("torch", "pip install torch==2.13.0")
        import torch

        from ..nn import load_checkpoint

        path = self._checkpoint(files)
        checkpoint = load_checkpoint(path)
        self.model = self.adapt(checkpoint)
        self.file_bytes = _file_bytes(path)
        self.threads = torch.get_num_threads()

    def adapt(self, checkpoint):
        return checkpoint.model

    def prepare(self, workload: Workload) -> Callable[[], np.ndarray]:
        import torch

        from ..nn.functional import use_backend
        from ..nn.graph_tensors import TorchGraph

        x = workload.torch_x(self.sparse_features)
        graph = TorchGraph.from_graph(workload.graph)
        batch = None if workload.batch is None else torch.from_numpy(workload.batch)
        model, aggregation, num_graphs = self.model, self.aggregation, workload.num_graphs
        adjacency = "CSR adjacency (torch.sparse.mm)" if aggregation == "sparse" else \
            f"edge lists ({aggregation} scatter)"
        self.input = f"{'CSR' if x.layout == torch.sparse_csr else 'dense'} x, {adjacency}"

        def run() -> np.ndarray:
            with torch.inference_mode(), use_backend(aggregation):
                return model(x, graph, batch, num_graphs=num_graphs).numpy()

        return run


class TorchDense(_TorchBackend):
    """The unpruned model in PyTorch eager: the baseline everything is compared with."""

    name = "torch-dense"
    pruned = False

    def _checkpoint(self, files: ModelFiles) -> str:
        if files.dense_checkpoint is not None:
            return files.dense_checkpoint
        return super()._checkpoint(files)


class TorchMasked(_TorchBackend):
    """The pruned model as ``torch.nn.utils.prune`` leaves it: dense weights times masks."""

    name = "torch-masked"

    def adapt(self, checkpoint):
        from ..prune import MaskSet

        masks = checkpoint.masks
        if not masks:
            raise Absent("the checkpoint carries no pruning masks")
        # torch.nn.utils.prune recomputes weight = weight_orig * weight_mask on every forward
        return MaskSet(masks).apply(checkpoint.model).eval()


class TorchSparse(_TorchBackend):
    """The pruned model in PyTorch eager with sparse inputs: CSR features (where the dataset
    stores them sparse) and a CSR adjacency for every aggregation (``torch.sparse.mm``): the
    input a sparse-aware torch app would give it."""

    name = "torch-sparse"
    aggregation = "sparse"
    sparse_features = True


class TorchScatter(_TorchBackend):
    """The pruned model in PyTorch eager with torch-scatter's aggregation kernels."""

    name = "torch-scatter"
    aggregation = "torch_scatter"

    def load(self, files: ModelFiles) -> None:
        _require("torch_scatter", "optional: pip install --no-build-isolation torch-scatter")
        super().load(files)


# ----------------------------------------------------------------------------- PyG
class _PyGBackend(_TorchBackend):
    graph_kind = ""

    def load(self, files: ModelFiles) -> None:
        _require("torch_geometric", "pip install 'sparsegnn[pyg]'")
        super().load(files)

    def adapt(self, checkpoint):
        from ..nn.pyg import to_pyg

        return to_pyg(checkpoint.model)

    def graph_input(self, graph: Graph):
        raise NotImplementedError

    def prepare(self, workload: Workload) -> Callable[[], np.ndarray]:
        import torch

        graph = self.graph_input(workload.graph)
        batch = None if workload.batch is None else torch.from_numpy(workload.batch)
        model, num_graphs = self.model, workload.num_graphs

        def runner(x):
            def run() -> np.ndarray:
                with torch.inference_mode():
                    return model(x, graph, batch, num_graphs).numpy()

            return run

        # CSR features where the model takes them (its first layer transforms before it
        # aggregates, as PyG's GCN does), else dense: tried once, here, not timed.
        x = workload.torch_x(sparse=True)
        if x.layout == torch.sparse_csr:
            try:
                runner(x)()
            except (RuntimeError, NotImplementedError, TypeError, ValueError):
                x = workload.torch_x(sparse=False)
        self.input = f"{'CSR' if x.layout == torch.sparse_csr else 'dense'} x, {self.graph_kind}"
        return runner(x)


class PyGEdgeIndex(_PyGBackend):
    """PyTorch Geometric's models on ``edge_index`` (gather/scatter message passing)."""

    name = "pyg-edge_index"
    graph_kind = "edge_index"

    def graph_input(self, graph: Graph):
        import torch

        return torch.from_numpy(graph.edge_index)


class PyGCSR(_PyGBackend):
    """PyTorch Geometric on a ``torch.sparse`` CSR ``adj_t`` (its SpMM path)."""

    name = "pyg-csr"
    graph_kind = "CSR adj_t"

    def load(self, files: ModelFiles) -> None:
        if files.kind == "gat":
            raise Absent("PyG's GATConv cannot add self loops to a torch.sparse adj_t")
        super().load(files)

    def graph_input(self, graph: Graph):
        import torch

        return torch.sparse_csr_tensor(torch.from_numpy(graph.indptr),
                                       torch.from_numpy(graph.indices.astype(np.int64)),
                                       torch.ones(graph.num_edges), (graph.num_nodes,) * 2,
                                       check_invariants=True)


class PyGSparseTensor(_PyGBackend):
    """PyTorch Geometric on a ``torch_sparse.SparseTensor`` (needs torch-sparse)."""

    name = "pyg-sparsetensor"
    graph_kind = "SparseTensor adj_t"

    def load(self, files: ModelFiles) -> None:
        _require("torch_sparse", "optional: pip install --no-build-isolation torch-sparse")
        super().load(files)

    def graph_input(self, graph: Graph):
        import torch
        from torch_sparse import SparseTensor

        return SparseTensor(rowptr=torch.from_numpy(graph.indptr),
                            col=torch.from_numpy(graph.indices.astype(np.int64)),
                            sparse_sizes=(graph.num_nodes, graph.num_nodes))


# ----------------------------------------------------------------------------- ONNX Runtime
class OnnxRuntime(Backend):
    """ONNX Runtime (CPU provider, default threading) on the exported ONNX model."""

    name = "onnxruntime"

    def load(self, files: ModelFiles) -> None:
        _require("onnxruntime", "pip install onnxruntime")
        if files.onnx is None:
            raise Absent("no ONNX model was exported for this model")
        import onnxruntime as ort

        self.session = ort.InferenceSession(files.onnx, providers=["CPUExecutionProvider"])
        # edge_weight is an overridable initializer (its default: unweighted)
        self.input_names = {i.name for i in [*self.session.get_inputs(),
                                             *self.session.get_overridable_initializers()]}
        self.file_bytes = _file_bytes(files.onnx)
        threads = self.session.get_session_options().intra_op_num_threads
        self.threads = threads if threads > 0 else "all"

    def prepare(self, workload: Workload) -> Callable[[], np.ndarray]:
        feed = {"x": workload.dense_x(), "edge_index": workload.graph.edge_index.astype(np.int64)}
        if "batch" in self.input_names:
            feed["batch"] = workload.batch.astype(np.int64)
        weighted = workload.graph.edge_weight is not None and "edge_weight" in self.input_names
        if weighted:
            feed["edge_weight"] = workload.graph.edge_weight.astype(np.float32)
        session = self.session
        self.input = (f"dense x, edge_index{', edge_weight' if weighted else ''} (ONNX has no "
                      f"sparse inputs)")
        return lambda: session.run(None, feed)[0]


# ----------------------------------------------------------------------------- sparsegnn
class SparsegnnRuntime(Backend):
    """The sparsegnn runtime on the artifact, at ``num_threads`` (None: all CPUs)."""

    name = "sparsegnn"

    def __init__(self, num_threads: int | None = None):
        super().__init__()
        self.num_threads = num_threads
        self.threads = num_threads or "all"
        self.name = "sparsegnn-1t" if num_threads == 1 else "sparsegnn"

    def artifact(self, files: ModelFiles) -> str:
        return files.artifact

    def load(self, files: ModelFiles) -> None:
        from ..runtime import Session

        path = self.artifact(files)
        self.session = Session(path, num_threads=self.num_threads)
        self.file_bytes = _file_bytes(path)
        self.stored_graph = self.session.model.has_stored_graph

    def prepare(self, workload: Workload) -> Callable[[], np.ndarray]:
        from ..runtime.tuning import median_seconds

        session, x, batch = self.session, workload.x, workload.batch
        # A model exported with its (edge-pruned) graph runs on it, as an app would.
        graph = None if self.stored_graph and batch is None else workload.graph
        measured = isinstance(x, CSRMatrix) and x.density > session.csr_input_max_density / 4
        if measured:
            # Features near the session's advice (which prices the first layer alone, not the
            # dense features' own passes) run in the form this model ran faster in here, as
            # an app would settle it; far sparser ones stay CSR (a dense copy of Coauthor CS's
            # features is 0.5 GB).
            candidates = (x, workload.dense_x())
            x = min(candidates, key=lambda features: median_seconds(
                lambda: session.run(features, graph, batch), repeat=5))
        self.input = f"{'CSR' if isinstance(x, CSRMatrix) else 'dense'} x, CSR graph" + \
            (" (stored)" if graph is None else "") + \
            (", the faster of CSR and dense here" if measured else "")
        return lambda: session.run(x, graph, batch)


class SparsegnnDense(SparsegnnRuntime):
    """The unpruned model in the sparsegnn runtime at ``num_threads``: what the pruned model's
    speed-up over its dense self is measured against (same runtime, same machine, same threads,
    its own best kernels)."""

    pruned = False

    def __init__(self, num_threads: int | None = None):
        super().__init__(num_threads)
        self.name = "sparsegnn-dense-1t" if num_threads == 1 else "sparsegnn-dense"

    def artifact(self, files: ModelFiles) -> str:
        if files.dense_artifact is None:
            raise Absent("no unpruned model to compare with (the checkpoint names no "
                         "pruned_from, or only artifacts were given)")
        return files.dense_artifact


BACKENDS: dict[str, Callable[[], Backend]] = {
    "torch-dense": TorchDense,
    "torch-masked": TorchMasked,
    "torch-sparse": TorchSparse,
    "torch-scatter": TorchScatter,
    "pyg-edge_index": PyGEdgeIndex,
    "pyg-csr": PyGCSR,
    "pyg-sparsetensor": PyGSparseTensor,
    "onnxruntime": OnnxRuntime,
    "sparsegnn-dense-1t": lambda: SparsegnnDense(1),
    "sparsegnn-dense": lambda: SparsegnnDense(None),
    "sparsegnn-1t": lambda: SparsegnnRuntime(1),
    "sparsegnn": lambda: SparsegnnRuntime(None),
}
RUNTIME_BACKENDS = ("sparsegnn-dense-1t", "sparsegnn-dense", "sparsegnn-1t", "sparsegnn")


def make_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected some of {sorted(BACKENDS)}")
    return BACKENDS[name]()
