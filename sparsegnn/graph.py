"""Graphs as CSR with rows = destination nodes (numpy only).

Row ``v`` of the CSR lists the *sources* of the edges that point into ``v``, so aggregating
messages into ``v`` reads one contiguous row and parallel rows never write the same output. The
same graph in PyTorch Geometric's convention is ``edge_index = [[src...], [dst...]]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .sparse import SparseFormatError, as_index_array, check_csr

__all__ = ["Graph", "GraphError", "batch_graphs"]


class GraphError(SparseFormatError):
    """Raised for a malformed graph: bad shapes or dtypes, ids out of range, NaN weights."""


def _rows_to_indptr(rows: np.ndarray, num_rows: int) -> np.ndarray:
    indptr = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=indptr[1:])
    return indptr


class Graph:
    """A directed graph with ``num_nodes`` nodes, stored as CSR over destinations.

    Parameters
    ----------
    indptr : array_like of int
        Row pointers. Shape: ``(num_nodes + 1,)``.
    indices : array_like of int
        Source node of each edge, grouped by destination row. Shape: ``(num_edges,)``.
    num_nodes : int, optional
        Defaults to ``len(indptr) - 1``.
    edge_weight : array_like of float, optional
        One finite weight per edge, aligned with ``indices``. Shape: ``(num_edges,)``.
    """

    __slots__ = ("indptr", "indices", "edge_weight", "num_nodes")

    def __init__(self, indptr, indices, num_nodes: int | None = None, edge_weight=None):
        indptr_array = np.asarray(indptr)
        if num_nodes is None:
            if indptr_array.ndim != 1 or indptr_array.shape[0] < 1:
                raise GraphError(f"indptr must be 1-D and non-empty, got shape {indptr_array.shape}")
            num_nodes = indptr_array.shape[0] - 1
        num_nodes = _check_count(num_nodes, "num_nodes")
        self.indptr, self.indices, self.edge_weight = check_csr(
            indptr_array, indices, num_nodes, num_nodes, edge_weight, name="graph", error=GraphError
        )
        self.num_nodes = num_nodes

    # ----------------------------------------------------------------------------- construction
    @classmethod
    def _trusted(cls, indptr, indices, num_nodes: int, edge_weight=None) -> Graph:
        """Wrap arrays already known to be valid (built from validated graphs) unchecked."""
        graph = cls.__new__(cls)
        graph.indptr, graph.indices, graph.edge_weight = indptr, indices, edge_weight
        graph.num_nodes = int(num_nodes)
        return graph

    @classmethod
    def from_edge_index(cls, edge_index, num_nodes: int | None = None, edge_weight=None) -> Graph:
        """Build from PyG-style ``edge_index`` (row 0 = sources, row 1 = destinations).

        Edges keep their multiplicity; within a destination row they are sorted by source.
        Shapes: ``edge_index (2, E)``, ``edge_weight (E,)``.
        """
        edge_index = np.asarray(edge_index)
        if edge_index.ndim != 2 or edge_index.shape[0] != 2:
            raise GraphError(f"edge_index must have shape (2, num_edges), got {edge_index.shape}")
        src = as_index_array(edge_index[0], "edge_index[0] (sources)", GraphError)
        dst = as_index_array(edge_index[1], "edge_index[1] (destinations)", GraphError)
        if src.size and min(src.min(), dst.min()) < 0:
            raise GraphError(f"edge_index holds a negative node id ({min(src.min(), dst.min())})")
        largest = int(max(src.max(), dst.max())) if src.size else -1
        if num_nodes is None:
            num_nodes = largest + 1
        num_nodes = _check_count(num_nodes, "num_nodes")
        if largest >= num_nodes:
            raise GraphError(f"edge_index holds node id {largest}, but num_nodes is {num_nodes}")
        if edge_weight is not None:
            edge_weight = np.asarray(edge_weight)
            if edge_weight.shape != src.shape:
                raise GraphError(
                    f"edge_weight must have shape ({src.shape[0]},), got {edge_weight.shape}"
                )
        order = np.lexsort((src, dst))
        weight = None if edge_weight is None else edge_weight[order]
        return cls(_rows_to_indptr(dst, num_nodes), src[order], num_nodes, weight)

    @classmethod
    def from_csr(cls, indptr, indices, num_nodes: int | None = None, edge_weight=None) -> Graph:
        """Build from CSR arrays whose rows are destinations (same as the constructor)."""
        return cls(indptr, indices, num_nodes, edge_weight)

    @classmethod
    def from_sparse(cls, matrix) -> Graph:
        """Build from anything with a scipy-like ``tocsr()``, without importing scipy.

        ``matrix[i, j] != 0`` is read as an edge ``j -> i`` (rows are destinations: the matrix
        that aggregates, ``out = matrix @ x``). Pass ``adjacency.T`` for a source-row adjacency.
        Stored values become edge weights unless they are all ones.
        """
        if not hasattr(matrix, "tocsr"):
            raise GraphError(f"expected an object with a tocsr() method, got {type(matrix).__name__}")
        csr = matrix.tocsr()
        rows, cols = (int(s) for s in csr.shape)
        if rows != cols:
            raise GraphError(f"a graph's matrix must be square, got shape {csr.shape}")
        data = np.asarray(csr.data)
        weight = None if data.size and np.all(data == 1) else data
        graph = cls(csr.indptr, csr.indices, rows, weight)
        return graph.sort_rows()

    # ----------------------------------------------------------------------------- views
    @property
    def num_edges(self) -> int:
        return int(self.indices.shape[0])

    @property
    def dst(self) -> np.ndarray:
        """Destination of every edge. Shape: ``(num_edges,)``, int64."""
        return np.repeat(np.arange(self.num_nodes, dtype=np.int64), np.diff(self.indptr))

    @property
    def edge_index(self) -> np.ndarray:
        """PyG-style ``[[src...], [dst...]]``. Shape: ``(2, num_edges)``, int64."""
        return np.stack([self.indices.astype(np.int64), self.dst])

    def weights(self, dtype=np.float32) -> np.ndarray:
        """Edge weights, ones when the graph is unweighted. Shape: ``(num_edges,)``."""
        if self.edge_weight is None:
            return np.ones(self.num_edges, dtype=dtype)
        return self.edge_weight.astype(dtype, copy=False)

    def in_degree(self, weighted: bool = False) -> np.ndarray:
        """Incoming edge count (or weight sum) per node. Shape: ``(num_nodes,)``."""
        if weighted and self.edge_weight is not None:
            return np.bincount(self.dst, weights=self.edge_weight, minlength=self.num_nodes)
        return np.diff(self.indptr)

    def out_degree(self, weighted: bool = False) -> np.ndarray:
        """Outgoing edge count (or weight sum) per node. Shape: ``(num_nodes,)``."""
        weights = self.edge_weight if weighted else None
        counts = np.bincount(self.indices, weights=weights, minlength=self.num_nodes)
        return counts if weighted and weights is not None else counts.astype(np.int64)

    @property
    def num_self_loops(self) -> int:
        return int(np.count_nonzero(self.indices == self.dst))

    def is_symmetric(self) -> bool:
        """True when every edge ``u -> v`` has a reverse ``v -> u`` (multiplicities ignored)."""
        forward = self.coalesce(reduce="max")
        backward = Graph.from_edge_index(forward.edge_index[::-1], self.num_nodes).coalesce("max")
        return np.array_equal(forward.indptr, backward.indptr) and np.array_equal(
            forward.indices, backward.indices
        )

    # ----------------------------------------------------------------------------- transforms
    def sort_rows(self) -> Graph:
        """The same graph with sources sorted inside each destination row."""
        order = np.lexsort((self.indices, self.dst))
        weight = None if self.edge_weight is None else self.edge_weight[order]
        return Graph(self.indptr, self.indices[order], self.num_nodes, weight)

    def coalesce(self, reduce: str = "sum") -> Graph:
        """Merge duplicate edges, combining their weights by ``reduce`` ("sum", "max" or "mean").

        An unweighted graph stays unweighted (duplicates simply collapse).
        """
        if reduce not in ("sum", "max", "mean"):
            raise ValueError(f"reduce must be 'sum', 'max' or 'mean', got {reduce!r}")
        graph = self.sort_rows()
        dst, src = graph.dst, graph.indices.astype(np.int64)
        keep = np.ones(graph.num_edges, dtype=bool)
        keep[1:] = (dst[1:] != dst[:-1]) | (src[1:] != src[:-1])
        weight = None
        if graph.edge_weight is not None:
            group = np.cumsum(keep) - 1
            ufunc = np.maximum if reduce == "max" else np.add
            weight = np.full(int(keep.sum()), -np.inf if reduce == "max" else 0.0)
            ufunc.at(weight, group, graph.edge_weight)
            if reduce == "mean":
                weight /= np.bincount(group)
            weight = weight.astype(graph.edge_weight.dtype)
        return Graph(_rows_to_indptr(dst[keep], self.num_nodes), src[keep], self.num_nodes, weight)

    def symmetrize(self) -> Graph:
        """Add every missing reverse edge and merge duplicates (weights: the larger of the two)."""
        edge_index = np.concatenate([self.edge_index, self.edge_index[::-1]], axis=1)
        weight = None if self.edge_weight is None else np.concatenate([self.edge_weight] * 2)
        return Graph.from_edge_index(edge_index, self.num_nodes, weight).coalesce(reduce="max")

    def remove_self_loops(self) -> Graph:
        keep = self.indices != self.dst
        weight = None if self.edge_weight is None else self.edge_weight[keep]
        return Graph(_rows_to_indptr(self.dst[keep], self.num_nodes), self.indices[keep],
                     self.num_nodes, weight)

    def add_self_loops(self, fill_value: float = 1.0, *, remaining: bool = False) -> Graph:
        """Give every node a self loop of weight ``fill_value``.

        By default one loop is added to every node, next to any it already has. With
        ``remaining=True`` the result has exactly one loop per node, and a node that already had
        one keeps its (last) weight: PyG's ``add_remaining_self_loops``, which ``GCNConv`` uses.
        """
        nodes = np.arange(self.num_nodes, dtype=np.int64)
        graph = self
        loop_weight = np.full(self.num_nodes, fill_value, dtype=np.float64)
        if remaining:
            is_loop = self.indices == self.dst
            if self.edge_weight is not None:
                loop_weight[self.dst[is_loop]] = self.edge_weight[is_loop]
            graph = self.remove_self_loops()
        edge_index = np.concatenate([graph.edge_index, np.stack([nodes, nodes])], axis=1)
        weight = None
        if self.edge_weight is not None or fill_value != 1.0:
            dtype = self.edge_weight.dtype if self.edge_weight is not None else np.float32
            weight = np.concatenate([graph.weights(dtype), loop_weight.astype(dtype)])
        return Graph.from_edge_index(edge_index, self.num_nodes, weight)

    def gcn_norm(self, add_self_loops: bool = True, improved: bool = False) -> Graph:
        """Weights ``D^-1/2 (A + I) D^-1/2`` as PyG's ``gcn_norm`` computes them.

        Self loops as ``add_self_loops(remaining=True)``; the degree is the weighted in-degree;
        nodes of degree 0 get weight 0 instead of inf. New loops weigh 2 when ``improved`` and the
        graph is weighted: like PyG, ``improved`` has no effect on an unweighted graph.
        """
        fill = 2.0 if improved and self.edge_weight is not None else 1.0
        graph = self.add_self_loops(fill, remaining=True) if add_self_loops else self
        weight = graph.weights(np.float64)
        degree = np.bincount(graph.dst, weights=weight, minlength=graph.num_nodes).astype(np.float64)
        inv_sqrt = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
        normalized = inv_sqrt[graph.indices] * weight * inv_sqrt[graph.dst]
        return Graph(graph.indptr, graph.indices, graph.num_nodes, normalized.astype(np.float32))

    def subgraph(self, nodes) -> Graph:
        """The induced subgraph on ``nodes`` (relabelled 0..len(nodes)-1 in the given order)."""
        nodes = as_index_array(nodes, "nodes", GraphError)
        relabel = np.full(self.num_nodes, -1, dtype=np.int64)
        relabel[nodes] = np.arange(nodes.shape[0])
        src, dst = relabel[self.indices], relabel[self.dst]
        keep = (src >= 0) & (dst >= 0)
        weight = None if self.edge_weight is None else self.edge_weight[keep]
        return Graph.from_edge_index(np.stack([src[keep], dst[keep]]), nodes.shape[0], weight)

    def __repr__(self) -> str:
        weighted = ", weighted" if self.edge_weight is not None else ""
        return f"Graph(num_nodes={self.num_nodes}, num_edges={self.num_edges}{weighted})"


def _check_count(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise GraphError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise GraphError(f"{name} must be non-negative, got {value}")
    return int(value)


def batch_graphs(graphs: Sequence[Graph]) -> tuple[Graph, np.ndarray]:
    """Join small graphs into one block-diagonal graph.

    Returns the joined graph and ``batch``, the graph id of every node. Shapes: ``batch (N,)``
    with ``N = sum(g.num_nodes)``, int64.
    """
    if len(graphs) == 0:
        return Graph(np.zeros(1, np.int64), np.zeros(0, np.int64), 0), np.zeros(0, np.int64)
    sizes = np.array([g.num_nodes for g in graphs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    edge_counts = np.array([g.num_edges for g in graphs], dtype=np.int64)
    indptr = np.concatenate(
        [[0]] + [g.indptr[1:].astype(np.int64) + start for g, start
                 in zip(graphs, np.concatenate([[0], np.cumsum(edge_counts)]))]
    )
    indices = np.concatenate([g.indices.astype(np.int64) + off for g, off in zip(graphs, offsets)])
    weighted = any(g.edge_weight is not None for g in graphs)
    weight = np.concatenate([g.weights() for g in graphs]) if weighted else None
    batch = np.repeat(np.arange(len(graphs), dtype=np.int64), sizes)
    # Blocks of valid graphs, shifted by their offsets, form a valid graph.
    return Graph._trusted(indptr, indices, int(offsets[-1]), weight), batch
