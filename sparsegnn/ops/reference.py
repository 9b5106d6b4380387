"""The IR's reference semantics: every op's ``reference`` (in its module), run one dense float64
step at a time. Slow and plain on purpose: it is what the runtime's kernels, the compiled path
and the ONNX lowering are checked against (tests/ops), and it shares no code with them.

>>> from sparsegnn.ops.reference import run_reference      # doctest: +SKIP
>>> logits = run_reference(model, x, graph, batch)          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph

__all__ = ["Reference", "run_reference"]


class Reference:
    """What an op's ``reference`` may use: the model's tensors in float64, its matrices dense,
    the graph (``graph``, a :class:`~sparsegnn.graph.Graph`) as a dense adjacency, and the
    graph id of each node (``batch (N,)``)."""

    def __init__(self, model, graph: Graph | None, batch: np.ndarray | None):
        self.model, self.graph, self.batch = model, graph, batch

    def tensor(self, name: str) -> np.ndarray:
        return np.asarray(self.model.tensors[name], np.float64)

    def optional(self, name: str | None):
        """A bias-like tensor, or 0 when the attribute is absent."""
        return self.tensor(name) if name else 0.0

    def matrix(self, matrix: dict) -> np.ndarray:
        """A matrix attribute as a dense ``(in, out)`` float64 array."""
        from ..ir import matrix_to_dense  # sparsegnn.ir imports this package

        return matrix_to_dense(matrix, self.model.tensors, np.float64)

    def adjacency(self, graph: Graph | None = None, weighted: bool = True) -> np.ndarray:
        """``A (N, N)`` with ``A[i, j]`` the summed weight of the edges ``j -> i`` (1 each when
        unweighted): ``A @ h`` sums each node's in-neighbours."""
        graph = self.graph if graph is None else graph
        out = np.zeros((graph.num_nodes, graph.num_nodes))
        weights = graph.weights(np.float64) if weighted else np.ones(graph.num_edges)
        np.add.at(out, (graph.dst, graph.indices), weights)
        return out

    def neighbours(self, node: int, graph: Graph | None = None) -> np.ndarray:
        """The sources of ``node``'s in-edges."""
        graph = self.graph if graph is None else graph
        return graph.indices[graph.indptr[node]:graph.indptr[node + 1]]


def run_reference(model, x, graph: Graph | None = None, batch=None) -> np.ndarray:
    """The model's output on ``x (N, F)`` (dense), in float64. ``graph`` None: the stored one;
    ``batch (N,)``: each node's graph id (graph-level models; None: one graph)."""
    from ..ir import STORED_GRAPH

    t = model.tensors
    if graph is None and model.has_stored_graph:
        graph = Graph(t[f"{STORED_GRAPH}.indptr"], t[f"{STORED_GRAPH}.indices"],
                      edge_weight=t.get(f"{STORED_GRAPH}.weight"))
    x = np.asarray(x, np.float64)
    if batch is None:
        batch = np.zeros(x.shape[0], np.int64)
    from . import OPS

    ref = Reference(model, graph, np.asarray(batch))
    values = {"x": x}
    for node in model.nodes:
        spec = OPS[node.op]
        values[node.outputs[0]] = spec.reference(ref, node, *[values[name]
                                                              for name in spec.values(node)])
    return values[model.outputs[0]["name"]]
