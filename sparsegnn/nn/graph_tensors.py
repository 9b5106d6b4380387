"""The torch-side view of a graph: edge endpoints as tensors, plus per-graph caches."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..graph import Graph

__all__ = ["TorchGraph", "as_torch_graph"]


class TorchGraph:
    """Edges ``src -> dst`` as int64 tensors, with cached derived forms.

    Build one per graph and reuse it across forward passes: GCN normalisation, self-loop variants
    and the sparse matrix are computed once and cached on the object.

    Shapes: ``src (E,)``, ``dst (E,)``, ``edge_weight (E,)`` or None.
    """

    def __init__(self, src: Tensor, dst: Tensor, num_nodes: int, edge_weight: Tensor | None = None):
        self.src, self.dst = src.long(), dst.long()
        self.num_nodes = int(num_nodes)
        self.edge_weight = edge_weight
        self._cache: dict = {}

    @classmethod
    def from_graph(cls, graph: Graph) -> TorchGraph:
        weight = None if graph.edge_weight is None else torch.from_numpy(
            graph.edge_weight.astype(np.float32))
        return cls(torch.from_numpy(graph.indices.astype(np.int64)), torch.from_numpy(graph.dst),
                   graph.num_nodes, weight)

    @classmethod
    def from_edge_index(cls, edge_index: Tensor, num_nodes: int,
                        edge_weight: Tensor | None = None) -> TorchGraph:
        if edge_index.dim() != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")
        if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
            raise ValueError(f"edge_index holds ids outside [0, {num_nodes})")
        return cls(edge_index[0], edge_index[1], num_nodes, edge_weight)

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    def to_graph(self) -> Graph:
        weight = None if self.edge_weight is None else self.edge_weight.detach().numpy()
        edge_index = torch.stack([self.src, self.dst]).numpy()
        return Graph.from_edge_index(edge_index, self.num_nodes, weight)

    def cached(self, key, build):
        """Return ``self._cache[key]``, building it with ``build()`` the first time."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def sparse_matrix(self, edge_weight: Tensor | None = None, mean: bool = False) -> Tensor:
        """The ``(N, N)`` CSR matrix with ``M[dst, src] = weight`` (``1/in-degree`` if mean).

        Cached without weights, and with a weight tensor that needs no gradient (the GCN
        normalisation, itself cached on the graph), for as long as that same tensor comes back:
        rebuilding it took most of a Cora GCN's inference with ``torch.sparse.mm``."""
        if edge_weight is None:
            key = ("sparse", mean)
            return self.cached(key, lambda: self._build_sparse(None, mean))
        if edge_weight.requires_grad:
            return self._build_sparse(edge_weight, mean)
        weight, matrix = self._cache.get(("sparse-weighted", mean), (None, None))
        if weight is not edge_weight:
            matrix = self._build_sparse(edge_weight, mean)
            self._cache[("sparse-weighted", mean)] = (edge_weight, matrix)
        return matrix

    def _build_sparse(self, edge_weight: Tensor | None, mean: bool) -> Tensor:
        values = torch.ones(self.num_edges) if edge_weight is None else edge_weight
        if mean:
            degree = torch.bincount(self.dst, minlength=self.num_nodes).clamp_(min=1)
            values = values / degree.index_select(0, self.dst).to(values.dtype)
        coo = torch.sparse_coo_tensor(torch.stack([self.dst, self.src]), values,
                                      (self.num_nodes, self.num_nodes))
        return coo.coalesce().to_sparse_csr()

    def __repr__(self) -> str:
        return f"TorchGraph(num_nodes={self.num_nodes}, num_edges={self.num_edges})"


def as_torch_graph(graph, num_nodes: int, edge_weight: Tensor | None = None) -> TorchGraph:
    """Accept a :class:`TorchGraph`, a :class:`~sparsegnn.graph.Graph` or an ``edge_index``."""
    if isinstance(graph, TorchGraph):
        if graph.num_nodes != num_nodes:
            raise ValueError(f"graph has {graph.num_nodes} nodes but x has {num_nodes} rows")
        return graph
    if isinstance(graph, Graph):
        if graph.num_nodes != num_nodes:
            raise ValueError(f"graph has {graph.num_nodes} nodes but x has {num_nodes} rows")
        return TorchGraph.from_graph(graph)
    if isinstance(graph, Tensor):
        return TorchGraph.from_edge_index(graph, num_nodes, edge_weight)
    raise TypeError(f"expected a TorchGraph, Graph or edge_index tensor, got {type(graph).__name__}")
