"""``Session``: load an artifact once, run it many times (numpy + numba only).

Execution is a flat loop over the IR nodes. Each op picks its kernels from the stored weight
format and the widths involved (e.g. transform-then-aggregate when the layer narrows the
features, so the sparse product moves the fewer columns).
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass

import numpy as np

from ..artifact import load_artifact
from ..graph import Graph, GraphError
from ..ir import MATRIX_FORMATS, STORED_GRAPH, Model, matrix_block, matrix_shape, matrix_to_dense
from ..kernels import coo_to_csr, gcn_norm_csr, layer_norm
from ..kernels._attention import attention_scores, gat_aggregate_unchecked
from ..kernels._checks import KernelArgumentError, all_finite, valid_csr_structure
from ..kernels._config import ACTIVATIONS, LEAKY_RELU_SLOPE
from ..kernels._convert import (
    csr_to_dense,
    gcn_degree_scales,
    row_normalized_values,
    with_self_loops,
)
from ..kernels._pool import pool_segments, sorted_batch_offsets
from ..kernels._program import run_program
from ..kernels._sparse_linear import PANEL_MAJOR_ACTIVATIONS, PanelMajor
from ..kernels._spmm import GCN_SYMMETRIC, REDUCTIONS, VALUE_MEAN, spmm_csr_unchecked
from ..ops import OPS
from ..sparse import CSRMatrix, SparseFormatError, canonical_index_arrays
from .allocator import keep_freed_memory
from .planner import MatrixPlan, apply_activation, plan_matrix
from .program import build_program, program_rows
from .tuning import Tuning, load_tuning

__all__ = ["Session", "InputError", "TensorInfo", "RunContext"]


# The kernels' reductions, with the runtime's internal ones (see kernels/_spmm.py).
_REDUCE_CODES = {**REDUCTIONS, "value_mean": VALUE_MEAN, "gcn_symmetric": GCN_SYMMETRIC}


def _input_run(matrix: dict) -> int:
    """How many consecutive inputs the pruner kept together in ``matrix`` (blocks of ``R x 1``),
    else 1."""
    rows, cols = matrix_block(matrix)
    return rows if cols == 1 else 1


class InputError(ValueError):
    """An input given to ``Session.run`` has the wrong type, shape, dtype or values."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple


class _RowNormalized:
    """Features whose rows are to be divided by their sums (``input_norm``), kept unnormalised:
    a product with a weight matrix divides its output rows instead (``(D^-1 X) W = D^-1 (X W)``),
    for sparse features in the same pass (``VALUE_MEAN``). Other consumers get the normalised
    copy from ``materialize``. For dense features that saves writing a normalised copy of ``x``,
    a full pass over the largest array of a wide-feature model (bench/kernel_parts.py)."""

    def __init__(self, features):
        self.features = features
        if isinstance(features, np.ndarray):  # a zero sum divides by 1 (sparsegnn.ops.input_norm)
            sums = features.sum(axis=1, keepdims=True)
            self.row_scale = np.divide(1, sums, out=np.ones_like(sums), where=sums != 0)

    def materialize(self):
        x = self.features
        if isinstance(x, np.ndarray):
            return x * self.row_scale
        return x.with_data(row_normalized_values(x.indptr, x.data))


def _as_output(value) -> np.ndarray:
    """A value as the dense array that ``run`` returns (an input_norm or the sparse input
    itself may be the declared output)."""
    if isinstance(value, _RowNormalized):
        value = value.materialize()
    if isinstance(value, CSRMatrix):
        value = csr_to_dense(value)
    return value


class _Graph:
    """A CSR graph with per-run caches (GCN normalisation, self loops)."""

    def __init__(self, indptr, indices, weight, num_nodes):
        self.indptr, self.indices = canonical_index_arrays(indptr, indices, num_nodes)
        self.weight, self.num_nodes = weight, num_nodes
        self.cache: dict = {}

    def gcn(self, add_self_loops: bool, improved: bool):
        """``((indptr, indices, values), reduce)`` that aggregate with GCN's normalisation: for
        an unweighted graph without self loops, the graph itself with ``D^-1/2`` per node
        (``gcn_symmetric``: no normalised copy of the graph is written per run, the costliest
        part of a large graph's GCN otherwise; bench/kernel_parts.py); otherwise a normalised
        copy, summed."""
        key = ("gcn", add_self_loops, improved)
        if key not in self.cache:
            scales = gcn_degree_scales(self.indptr, self.indices) \
                if add_self_loops and self.weight is None else None
            if scales is not None:  # improved does not change an unweighted graph (as PyG)
                self.cache[key] = ((self.indptr, self.indices, scales), "gcn_symmetric")
                return self.cache[key]
            if add_self_loops:
                indptr, indices, values = gcn_norm_csr(self.indptr, self.indices, self.weight,
                                                       num_nodes=self.num_nodes, improved=improved)
                indptr, indices = canonical_index_arrays(indptr, indices, self.num_nodes)
            else:
                weight = np.ones(self.indices.shape[0]) if self.weight is None else self.weight
                degree = np.zeros(self.num_nodes)
                np.add.at(degree, np.repeat(np.arange(self.num_nodes), np.diff(self.indptr)), weight)
                inv = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
                rows = np.repeat(np.arange(self.num_nodes), np.diff(self.indptr))
                indptr, indices, values = self.indptr, self.indices, inv[self.indices] * weight * inv[rows]
            self.cache[key] = ((indptr, indices, values.astype(np.float32)), "sum")
        return self.cache[key]

    def plain(self):
        """``(indptr, indices, None)``: the graph with its edge weights ignored."""
        return self.indptr, self.indices, None

    def weighted(self):
        """``(indptr, indices, weight or None)``: the graph as it is."""
        return self.indptr, self.indices, self.weight

    def looped(self):
        """``(indptr, indices, None)`` with one self loop per node, no weights (GAT's
        ``add_self_loops``)."""
        if "looped" not in self.cache:
            indptr, indices = with_self_loops(self.indptr, self.indices)
            self.cache["looped"] = (*canonical_index_arrays(indptr, indices, self.num_nodes), None)
        return self.cache["looped"]


class RunContext:
    """What an op's ``run`` (``sparsegnn.ops``) may use during one ``Session.run``: the graph
    (with its per-run caches), the session's tensors, and its kernels, each of which picks its
    implementation from the operands' formats and the session's plans."""

    def __init__(self, session: Session, graph: _Graph, graph_ptr: np.ndarray | None):
        self.session, self.graph, self.graph_ptr = session, graph, graph_ptr
        self.threads = session.num_threads
        self.matmul, self.linear = session._matmul, session._linear
        self.aggregate = session._aggregate

    def tensor(self, name: str) -> np.ndarray:
        return self.session._tensors[name]

    def optional(self, name: str | None) -> np.ndarray | None:
        return self.session._tensors[name] if name else None

    @staticmethod
    def activate(values: np.ndarray, name: str) -> np.ndarray:
        """``values`` activated in place (float32 rows)."""
        return apply_activation(values, ACTIVATIONS[name], LEAKY_RELU_SLOPE)

    @staticmethod
    def row_scaled(x) -> _RowNormalized:
        """``x`` with its rows to be divided by their sums, kept unnormalised (see
        ``_RowNormalized``)."""
        return _RowNormalized(x)

    @staticmethod
    def materialized(x):
        """``x`` with a pending row scaling applied (dense or CSR)."""
        return x.materialize() if isinstance(x, _RowNormalized) else x

    @staticmethod
    def rows(x) -> np.ndarray:
        """``x`` as dense float32 rows."""
        return csr_to_dense(x) if isinstance(x, CSRMatrix) else x

    def layer_norm(self, x, scale, shift, eps: float, activation: str | None) -> np.ndarray:
        """Rows normalised, scaled, shifted and activated in one fused kernel: ``(N, F)``."""
        return layer_norm(x, scale, shift, eps=eps, activation=activation, threads=self.threads)

    def attend(self, indptr, indices, projected, att_src, att_dst, negative_slope):
        """GAT's softmax-weighted sum over in-edges of ``projected (N, heads, channels)``, each
        edge scored with ``att_src, att_dst (heads, channels)``: ``(N, heads, channels)``. The
        graph was checked once per run, the rest is the session's own: no checks here."""
        projected = np.ascontiguousarray(projected, dtype=np.float32)
        score_src, score_dst = attention_scores(
            projected, np.ascontiguousarray(att_src, np.float32),
            np.ascontiguousarray(att_dst, np.float32), self.threads)
        return gat_aggregate_unchecked(indptr, indices, score_src, score_dst, projected,
                                       negative_slope, self.threads)

    def pool(self, x, reduce: str) -> np.ndarray:
        """Each graph's rows reduced into one: ``(G, F)`` (graph offsets were computed once,
        from the checked batch)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros((self.graph_ptr.shape[0] - 1, x.shape[1]), dtype=np.float32)
        pool_segments(x, self.graph_ptr, REDUCTIONS[reduce], out)
        return out


class Session:
    """Run a ``.sgnn`` artifact.

    Parameters
    ----------
    path : str or path
        The artifact; it is validated completely before anything runs.
    num_threads : int, optional
        Threads the kernels may use (default: every CPU available to the process).
    tuning : Tuning, optional
        Kernel prices and thresholds for this machine (default: the ones ``sparsegnn tune``
        cached for it, else the built-in defaults; see ``runtime.tuning``).
    warmup : bool
        Compile (or load from the kernel cache) everything the model runs in a background
        thread now (:meth:`warm_up`), so that the first ``run`` finds it ready; ``run`` may be
        called meanwhile (it then waits for the kernels it needs).

    Attributes
    ----------
    csr_input_max_density : float
        Sparse features up to this density run faster given as CSR than dense, priced for
        the model's first weights by this machine's tuning (worked out at its first use); an
        app with denser features should keep them dense. (A CSR ``x`` denser than
        ``tuning.csr_input_expand_density`` is expanded on arrival.)

    Examples
    --------
    >>> sess = Session("model.sgnn")                        # doctest: +SKIP
    >>> logits = sess.run(x, edge_index)                    # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None,
                 tuning: Tuning | None = None, warmup: bool = False):
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
        if tuning is not None and not isinstance(tuning, Tuning):
            raise TypeError(f"tuning must be a sparsegnn.runtime.Tuning, got {type(tuning)}")
        self.tuning = tuning if tuning is not None else load_tuning()
        keep_freed_memory()  # once per process: runs reuse freed pages (runtime.allocator)
        self.path = str(path)
        self.model: Model = load_artifact(path)
        # Narrow (int16) index arrays keep the file small; widen them once for the kernels. The
        # loader's arrays are read-only; the session's own copies are writable like every
        # array it makes, because Numba compiles a kernel once per read-only flag too.
        self._tensors = {name: array.astype(np.int32) if array.dtype.kind in "iu"
                         and array.dtype.itemsize < 4 else np.array(array)
                         for name, array in self.model.tensors.items()}
        self.model.tensors = self._tensors  # the loader's buffer is not kept twice
        self.num_threads = num_threads
        x_spec = next(spec for spec in self.model.inputs if spec["name"] == "x")
        self._feature_width = int(x_spec["shape"][1])
        self._needs_batch = any(spec["name"] == "batch" for spec in self.model.inputs)
        self._pools = any(OPS[node.op].pools for node in self.model.nodes)
        self._dense_weights: dict[str, np.ndarray] = {}
        self._plans: dict[str, MatrixPlan] = {}
        self._lock = threading.Lock()
        self._chained = self._linear_chains()
        # built at the first small input, one per pricing of its node rows and, in a model
        # that pools, its graph rows (runtime.program.program_rows)
        self._programs: dict[tuple, tuple | None] = {}
        self._stored = None
        if self.model.has_stored_graph:
            tensors = self._tensors
            indptr = tensors[f"{STORED_GRAPH}.indptr"]
            self._stored = _Graph(indptr, tensors[f"{STORED_GRAPH}.indices"],
                                  tensors.get(f"{STORED_GRAPH}.weight"), indptr.shape[0] - 1)
        self.warmup_thread: threading.Thread | None = None
        if warmup:
            self.warmup_thread = threading.Thread(target=self.warm_up, name="sparsegnn-warmup",
                                                  daemon=True)
            self.warmup_thread.start()

    def _linear_chains(self) -> dict:
        """``{value: the linear node that alone consumes it}`` for values a linear node makes
        with an activation the node panels fuse: such a pair can pass its activations
        panel-major, the node panels' own layout (no transposes between them)."""
        consumers: dict = {}
        for node in self.model.nodes:
            for name in node.inputs:
                consumers.setdefault(name, []).append(node)
        outputs = {spec["name"] for spec in self.model.outputs}
        return {node.outputs[0]: consumers[node.outputs[0]][0] for node in self.model.nodes
                if node.op == "linear" and ACTIVATIONS[node.attrs.get("activation") or "identity"]
                in PANEL_MAJOR_ACTIVATIONS and node.outputs[0] not in outputs
                and len(consumers.get(node.outputs[0], [])) == 1
                and consumers[node.outputs[0]][0].op == "linear"}

    def warm_up(self, seed: int = 0) -> None:
        """Run the model once on every kind of input its kernels specialise on, so that each
        kernel is compiled (or loaded from the cache) before real inputs arrive: a small graph
        (the compiled path) and one above ``tuning.program_max_nodes`` (op by op), or the
        stored graph; dense and CSR features (sparse and denser); CSR graphs, unweighted and
        weighted, and ``edge_index`` arrays of int64 and int32. Outputs are discarded.
        ``sparsegnn compile`` bundles what this compiles."""
        rng = np.random.default_rng(seed)
        width = self._feature_width
        sizes = [self._stored.num_nodes] if self._stored is not None else \
            [32, self.tuning.program_max_nodes + 1]
        for num_nodes in sizes:
            dense = rng.random((num_nodes, width), dtype=np.float32)
            # CSR features at two densities: the planner runs them as a sparse product, or
            # expands their rows into the weight kernels, by density
            sparse = [CSRMatrix.from_dense(dense * (rng.random(dense.shape) < density))
                      for density in (0.02, 0.3)]
            batch = np.arange(num_nodes) * 4 // max(num_nodes, 1) if self._needs_batch else None
            if self._stored is not None:
                graphs = [None]
            else:
                source, target = rng.integers(0, num_nodes, (2, 4 * num_nodes))
                plain = Graph.from_edge_index(np.stack([source, target]), num_nodes)
                weights = rng.uniform(0.5, 2.0, plain.num_edges).astype(np.float32)
                graphs = [plain, Graph(plain.indptr, plain.indices, num_nodes, weights),
                          plain.edge_index, plain.edge_index.astype(np.int32)]
            for features in (dense, *sparse):
                for graph in graphs:
                    self.run(features, graph, batch)

    # ----------------------------------------------------------------------------- metadata
    @property
    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(s["name"], s["dtype"], tuple(s["shape"])) for s in self.model.inputs]

    @property
    def outputs(self) -> list[TensorInfo]:
        return [TensorInfo(s["name"], s["dtype"], tuple(s["shape"])) for s in self.model.outputs]

    @property
    def metadata(self) -> dict:
        return self.model.metadata

    @property
    def decoder(self) -> str | None:
        """A link predictor's pair decoder (``"dot"`` or ``"mlp"``), or None."""
        decoder = self.model.metadata.get("decoder")
        return decoder["kind"] if decoder else None

    def score_pairs(self, embeddings: np.ndarray, pairs) -> np.ndarray:
        """A link predictor's scores (logits) of ``pairs (2, P)`` of node ids, from the
        ``embeddings (N, D)`` that ``run`` returned. Shape ``(P,)`` float32."""
        if self.decoder is None:
            raise InputError("this model has no pair decoder (export a link predictor)")
        embeddings = np.asarray(embeddings)
        width = self.model.outputs[0]["shape"][1]
        if embeddings.ndim != 2 or embeddings.shape[1] != width or embeddings.dtype != np.float32:
            raise InputError(f"embeddings must be float32 of shape (N, {width}) as run returns "
                             f"them, got {embeddings.dtype} {embeddings.shape}")
        pairs = np.asarray(pairs)
        if pairs.ndim != 2 or pairs.shape[0] != 2 or (pairs.size and pairs.dtype.kind not in "iu"):
            raise InputError(f"pairs must be integer node ids of shape (2, P), got {pairs.dtype} "
                             f"{pairs.shape}")
        if pairs.size and (pairs.min() < 0 or pairs.max() >= embeddings.shape[0]):
            raise InputError(f"pair node ids must lie in [0, {embeddings.shape[0]})")
        product = embeddings[pairs[0]] * embeddings[pairs[1]]
        if self.decoder == "dot":
            return product.sum(axis=1, dtype=np.float32)
        tensors = self.model.tensors
        hidden = np.maximum(product @ tensors["decoder.0.weight"] + tensors["decoder.0.bias"], 0)
        return (hidden @ tensors["decoder.1.weight"] + tensors["decoder.1.bias"])[:, 0]

    @functools.cached_property
    def csr_input_max_density(self) -> float:
        """Densest sparse ``x`` worth keeping in CSR, priced by this machine's tuning for the
        first weights applied to ``x`` (every matrix of the first node that holds one as wide
        as ``x``, such as GraphSAGE's two): the density at which the CSR features' product
        (``MatrixPlan.csr_kind``'s cheaper of ``spmm`` and ``live``) costs as much per row as
        the cheapest kernel on dense rows. BLAS is left out of that price: on a graph large
        enough for the choice to matter, the session keeps products off BLAS's threads
        (``Tuning.blas_threaded_work``). At most ``csr_input_expand_density`` (a denser CSR
        ``x`` is expanded on arrival); ``tuning.csr_input_max_density`` for a model whose
        first op takes no weight."""
        tuning, width = self.tuning, self._feature_width
        for node in self.model.nodes:
            matrices = [value for value in node.attrs.values()
                        if isinstance(value, dict) and value.get("format") in MATRIX_FORMATS
                        and matrix_shape(value)[0] == width]
            if not matrices or width == 0:
                continue
            plan = plan_matrix(np.hstack([matrix_to_dense(m, self._tensors) for m in matrices]),
                               tuning)
            dense_row = min(cost for kind, cost in plan.costs.items() if kind != "blas")
            per_entry = min(plan.csr_entry_prices().values())
            return min(dense_row / (width * per_entry), tuning.csr_input_expand_density)
        return tuning.csr_input_max_density

    # ----------------------------------------------------------------------------- inputs
    def _features(self, x):
        if isinstance(x, CSRMatrix):  # re-checked: its arrays are the caller's, and mutable
            features = self._checked_csr_features(x)
        elif hasattr(x, "tocsr"):
            try:
                features = CSRMatrix.from_scipy_like(x)
            except SparseFormatError as exc:
                raise InputError(f"x: {exc}") from None
        else:
            features = np.asarray(x)
            if features.ndim != 2:
                raise InputError(f"x must be 2-D (num_nodes, {self._feature_width}), got shape "
                                 f"{features.shape}")
            if features.dtype.kind not in "fiub":
                raise InputError(f"x must be numeric, got dtype {features.dtype}")
            features = np.ascontiguousarray(features, dtype=np.float32)
            if not features.flags.writeable:  # one kernel signature: writable arrays
                features = features.copy()
            if not all_finite(features, self.num_threads):
                raise InputError("x holds NaN or inf")
        if features.shape[1] != self._feature_width:
            raise InputError(f"x has {features.shape[1]} features, the model expects "
                             f"{self._feature_width}")
        if isinstance(features, CSRMatrix):
            try:
                with np.errstate(over="ignore"):  # values beyond float32 fail the finite check
                    features = features.astype(np.float32).canonical()
            except SparseFormatError as exc:
                raise InputError(f"x: {exc}") from None
            if features.density > self.tuning.csr_input_expand_density:
                features = csr_to_dense(features)
        return features

    def _checked_csr_features(self, x: CSRMatrix) -> CSRMatrix:
        """``x`` re-checked, with float32 values: one compiled pass over the structure and one
        over the values where its arrays have the runtime's types already (the common case),
        else ``CSRMatrix``'s own validation, which converts them or names what is wrong."""
        shape = x.shape
        data = x.data
        if type(data) is np.ndarray and data.dtype.kind == "f" and data.ndim == 1 \
                and isinstance(shape, tuple) and len(shape) == 2 \
                and all(type(n) is int and n >= 0 for n in shape) \
                and valid_csr_structure(x.indptr, x.indices, *shape) \
                and data.shape == x.indices.shape:
            with np.errstate(over="ignore"):  # values beyond float32 fail the finite check
                data = np.ascontiguousarray(data, dtype=np.float32)
            if not all_finite(data, self.num_threads):
                raise InputError("x: CSRMatrix: values must be finite (found NaN or inf)")
            return CSRMatrix._trusted(x.indptr, x.indices, data, shape)
        try:
            return CSRMatrix(x.indptr, x.indices, x.data, shape)
        except (SparseFormatError, TypeError, ValueError) as exc:
            raise InputError(f"x: {exc}") from None

    def _graph(self, graph, num_nodes: int) -> _Graph:
        if graph is None:
            if self._stored is None:
                raise InputError("this model stores no graph: pass one (edge_index, CSR arrays "
                                 "or a sparsegnn Graph)")
            if self._stored.num_nodes != num_nodes:
                raise InputError(f"the stored graph has {self._stored.num_nodes} nodes, x has "
                                 f"{num_nodes} rows")
            return self._stored
        try:
            if isinstance(graph, Graph):
                if graph.num_nodes != num_nodes:
                    raise InputError(f"graph has {graph.num_nodes} nodes, x has {num_nodes} rows")
                # re-checked: its arrays are the caller's and may have changed since it was built
                return self._checked_graph(graph.indptr, graph.indices, graph.edge_weight,
                                           num_nodes)
            if isinstance(graph, tuple):
                if len(graph) not in (2, 3):
                    raise InputError("a CSR graph is (indptr, indices) or (indptr, indices, weights)")
                return self._checked_graph(graph[0], graph[1],
                                           graph[2] if len(graph) == 3 else None, num_nodes)
            edge_index = np.asarray(graph)
            if edge_index.ndim != 2 or edge_index.shape[0] != 2:
                raise InputError(f"edge_index must have shape (2, num_edges), got {edge_index.shape}")
            if edge_index.dtype.kind not in "iu":
                raise InputError(f"edge_index must be integers, got {edge_index.dtype}")
            indptr, indices, _ = coo_to_csr(edge_index[0], edge_index[1], num_nodes)
            return _Graph(indptr, indices, None, num_nodes)
        except (GraphError, KernelArgumentError) as exc:
            raise InputError(f"graph: {exc}") from None

    def _checked_graph(self, indptr, indices, weight, num_nodes: int) -> _Graph:
        """A CSR graph from the caller's arrays, checked in one compiled pass where they are
        index arrays already and the weights (if any) floats of the right shape; otherwise by
        ``Graph``, which converts them or names what is wrong. (On a molecule, ``Graph``'s numpy
        checks took longer than the model.)"""
        if valid_csr_structure(indptr, indices, num_nodes, num_nodes) and (
                weight is None or (type(weight) is np.ndarray and weight.dtype.kind == "f"
                                   and weight.shape == indices.shape
                                   and weight.flags.c_contiguous
                                   and all_finite(weight, self.num_threads))):
            return _Graph(indptr, indices, weight, num_nodes)
        checked = Graph(indptr, indices, num_nodes, weight)
        return _Graph(checked.indptr, checked.indices, checked.edge_weight, num_nodes)

    def _batch(self, batch, num_nodes: int):
        if not self._needs_batch:
            if batch is not None:
                raise InputError("this model makes node-level predictions: it takes no batch")
            return None
        if batch is None:
            return np.array([0, num_nodes], dtype=np.int64)  # one graph
        batch = np.asarray(batch)
        if batch.shape != (num_nodes,) or batch.dtype.kind not in "iu":
            raise InputError(f"batch must be {num_nodes} integers, got {batch.dtype} {batch.shape}")
        batch = batch.astype(np.int64, copy=False)
        if num_nodes and int(batch[-1]) >= num_nodes:  # checked before the offsets are allocated
            raise InputError(f"batch holds graph id {int(batch[-1])}, but there are only "
                             f"{num_nodes} nodes (ids must be below the node count)")
        ptr = sorted_batch_offsets(batch, 0)
        if ptr.shape[0] == 0:
            raise InputError("batch must be non-negative and sorted (graphs as contiguous blocks)")
        return ptr

    # ----------------------------------------------------------------------------- ops
    def _dense(self, name: str, matrix: dict) -> np.ndarray:
        """A matrix as a dense ``(in, out)`` float32 array (cached per session)."""
        if matrix["format"] == "dense":
            return self._tensors[matrix["tensor"]]
        with self._lock:
            if name not in self._dense_weights:
                self._dense_weights[name] = matrix_to_dense(matrix, self._tensors)
            return self._dense_weights[name]

    def _plan(self, key: str, matrices: tuple[dict, ...]) -> MatrixPlan:
        """The plan for ``x @ [M1 | M2 ...]`` (cached under ``key``): matrices applied to the
        same input are priced and run as one, their outputs split afterwards."""
        plan = self._plans.get(key)
        if plan is None:
            parts = [self._dense(f"{key}.{i}", matrix) for i, matrix in enumerate(matrices)]
            run = min(_input_run(matrix) for matrix in matrices)
            split = parts[0].shape[1] if len(parts) > 1 else None
            plan = plan_matrix(np.hstack(parts) if split else parts[0], self.tuning, run=run,
                               split=split)
            with self._lock:
                plan = self._plans.setdefault(key, plan)
        return plan

    def _matmul(self, x, matrix: dict, key: str, bias=None, activation: str = "identity",
                second: dict | None = None):
        """``act(x @ M + bias)`` for dense, CSR or row-normalised ``x``, by the kernel the
        matrix's plan prices cheapest. With ``second``, ``(x @ M, x @ M2)`` in one pass (no
        bias or activation)."""
        matrices = (matrix,) if second is None else (matrix, second)
        plan = self._plan(key, matrices)
        split = matrix["shape"][1] if second is not None else None
        epilogue = self._epilogue(bias, activation)
        threads = self.num_threads
        if isinstance(x, _RowNormalized):
            if isinstance(x.features, np.ndarray):
                return plan.dense_input(x.features, epilogue, threads,
                                        row_scale=x.row_scale.reshape(-1), split=split)
            return plan.csr_input(x.features, epilogue, threads, row_normalize=True, split=split)
        if isinstance(x, CSRMatrix):  # validated once, not again per layer
            return plan.csr_input(x, epilogue, threads, split=split)
        return plan.dense_input(np.ascontiguousarray(x, dtype=np.float32), epilogue, threads,
                                split=split)

    def _linear(self, node, x, bias, activation: str):
        """A linear node. Two linear nodes in a row (an MLP's layers) whose products both run
        as node panels pass the activations between them panel-major: the first skips the
        transposes back to rows, the second the transposes into panels."""
        key = node.outputs[0]
        if isinstance(x, _RowNormalized):  # the product divides its rows (no normalised copy)
            return self._matmul(x, node.attrs["weight"], key, bias, activation)
        plan = self._plan(key, (node.attrs["weight"],))
        epilogue = self._epilogue(bias, activation)
        rows = x.nodes if isinstance(x, PanelMajor) else x.shape[0]
        chained_in = isinstance(x, PanelMajor) and plan.can_chain(rows)
        if isinstance(x, PanelMajor) and not chained_in:
            x = x.to_rows()
        following = self._chained.get(key)
        chained_out = following is not None and isinstance(x, (np.ndarray, PanelMajor)) \
            and plan.can_chain(rows) and self._plan(
                following.outputs[0], (following.attrs["weight"],)).can_chain(rows)
        if chained_in or chained_out:
            return plan.panels_input(x, epilogue, self.num_threads, panel_major_out=chained_out)
        return self._matmul(x, node.attrs["weight"], key, bias, activation)

    @staticmethod
    def _epilogue(bias, activation: str):
        """The fused epilogue of a kernel: ``(bias, has_bias, act_code, slope)``."""
        return (np.empty(0, np.float32) if bias is None else np.asarray(bias, np.float32),
                bias is not None, ACTIVATIONS[activation], LEAKY_RELU_SLOPE)

    def _aggregate(self, graph_csr, x, reduce: str, bias=None, activation="identity",
                   residual=None, self_weight: float = 0.0):
        """``act(reduce_rows(graph_csr) @ x + self_weight * x + bias + residual)`` (``residual``,
        an array the session owns, becomes the output). The CSR operand (a graph, or sparse features) was
        validated once per run: skip the kernel's per-call checks (they cost more than a
        small graph's whole aggregation)."""
        indptr, indices, values = graph_csr
        x = np.ascontiguousarray(x, dtype=np.float32)
        values = np.empty(0, np.float32) if values is None else values.astype(np.float32, copy=False)
        return spmm_csr_unchecked(indptr, indices, values, x, indptr.shape[0] - 1,
                                  _REDUCE_CODES[reduce], self._epilogue(bias, activation),
                                  self.num_threads, residual, self_weight)

    def _run_node(self, rt: RunContext, node, values: dict):
        """One node: its inputs brought into a form the op takes, then the op's ``run``."""
        spec = OPS[node.op]
        inputs = []
        for x in (values[name] for name in spec.values(node)):
            if isinstance(x, _RowNormalized) and "row_scaled" not in spec.takes:
                x = x.materialize()
            if isinstance(x, PanelMajor) and "panels" not in spec.takes:
                x = x.to_rows()
            if isinstance(x, CSRMatrix) and "csr" not in spec.takes:
                x = csr_to_dense(x)
            inputs.append(x)
        return spec.run(rt, node, *inputs)

    # ----------------------------------------------------------------------------- compiled
    def _compiled_program(self, rows: int = 1, graphs: int = 1):
        """The model as one op table (``runtime.program``) with kernels priced for ``rows``
        input rows, and for ``graphs`` rows after a pooling op; None if it holds an op the
        compiled path lacks."""
        key = (program_rows(rows), program_rows(graphs) if self._pools else None)
        if key not in self._programs:
            program = build_program(self.model, self._tensors, self._plan, *key)
            # molecules of each size get a program priced for them, mostly the same one:
            # keep one copy of each (a program holds the model's weights)
            for other in list(self._programs.values()):
                if program is not None and other is not None and all(
                        np.array_equal(mine, theirs) for mine, theirs in zip(program, other)):
                    program = other
                    break
            with self._lock:
                self._programs[key] = program
        return self._programs[key]

    def _run_program(self, program, features, graph: _Graph, graph_ptr) -> np.ndarray:
        if isinstance(features, CSRMatrix):
            features = csr_to_dense(features)
        weight = np.empty(0) if graph.weight is None else np.asarray(graph.weight, np.float64)
        ptr = graph_ptr if graph_ptr is not None else np.zeros(1, np.int64)
        out = run_program(*program, features, graph.indptr, graph.indices, weight, ptr)
        return out if out is not features else out.copy()

    # ----------------------------------------------------------------------------- run
    def run(self, x, graph=None, batch=None) -> np.ndarray:
        """Predict. Returns the model's output (logits): ``(N, C)``, or ``(G, C)`` when pooled.

        Parameters
        ----------
        x : array (N, F) or CSR matrix
            Node features (dense, a :class:`~sparsegnn.sparse.CSRMatrix` or scipy-like sparse).
        graph : optional
            ``edge_index`` (2, E) array, ``(indptr, indices[, weights])`` CSR over destinations,
            or a :class:`~sparsegnn.graph.Graph`; None uses the graph stored in the model.
        batch : array (N,), optional
            Graph id of each node (sorted) for graph-level models; None means one graph.
        """
        features = self._features(x)
        num_nodes = features.shape[0]
        csr_graph = self._graph(graph, num_nodes)
        graph_ptr = self._batch(batch, num_nodes)
        if num_nodes <= self.tuning.program_max_nodes \
                and csr_graph.indices.shape[0] <= self.tuning.program_max_edges:
            program = self._compiled_program(
                num_nodes, graph_ptr.shape[0] - 1 if graph_ptr is not None else 1)
            if program is not None:
                return self._run_program(program, features, csr_graph, graph_ptr)
        rt = RunContext(self, csr_graph, graph_ptr)
        values = {"x": features}
        for node in self.model.nodes:
            values[node.outputs[0]] = self._run_node(rt, node, values)
        return _as_output(values[self.model.outputs[0]["name"]])
