"""Message passing in native torch: gather, scatter-reduce, segment softmax, pooling.

Every aggregation goes through :func:`aggregate`, whose backend is chosen once per process:

* ``"native"`` (default): ``index_add_`` / ``scatter_reduce`` — always available, differentiable
  in every argument, deterministic on CPU;
* ``"sparse"``: sum and mean through ``torch.sparse.mm`` on a CSR matrix built from the graph;
* ``"torch_scatter"``: the optional compiled ``torch_scatter.scatter`` when it is installed.

The tests run every model under each available backend and require identical results.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from .graph_tensors import TorchGraph

__all__ = [
    "BACKENDS", "aggregate", "available_backends", "get_backend", "global_pool", "set_backend",
    "segment_softmax", "use_backend",
]

BACKENDS = ("native", "sparse", "torch_scatter")
REDUCTIONS = ("sum", "mean", "max")
_state = {"backend": "native"}


def available_backends() -> list[str]:
    names = ["native", "sparse"]
    try:
        import torch_scatter  # noqa: F401

        names.append("torch_scatter")
    except ImportError:
        pass
    return names


def set_backend(name: str) -> None:
    """Choose how messages are aggregated (see the module docstring)."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name not in available_backends():
        raise ImportError(f"backend {name!r} needs the optional package torch-scatter")
    _state["backend"] = name


def get_backend() -> str:
    return _state["backend"]


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        _state["backend"] = previous


def _scatter_native(messages: Tensor, index: Tensor, num_nodes: int, reduce: str) -> Tensor:
    shape = (num_nodes,) + tuple(messages.shape[1:])
    if reduce == "max":
        out = messages.new_zeros(shape)
        expanded = index.view(-1, *([1] * (messages.dim() - 1))).expand_as(messages)
        # include_self=False leaves rows without messages at 0, like PyG's max aggregation.
        return out.scatter_reduce(0, expanded, messages, reduce="amax", include_self=False)
    out = messages.new_zeros(shape).index_add_(0, index, messages)
    if reduce == "mean":
        count = torch.bincount(index, minlength=num_nodes).clamp_(min=1).to(messages.dtype)
        out = out / count.view(-1, *([1] * (messages.dim() - 1)))
    return out


def aggregate(x: Tensor, graph: TorchGraph, reduce: str = "sum", edge_weight: Tensor | None = None
              ) -> Tensor:
    """For every node, reduce ``edge_weight * x[src]`` over its incoming edges.

    Shapes: ``x (N, ...)``, ``edge_weight (E,)`` or ``(E, H)`` for per-head weights with
    ``x (N, H, C)``; returns ``(N, ...)``. Nodes without incoming edges get zeros.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    backend = get_backend()
    if backend == "sparse" and reduce != "max" and x.dim() == 2 and (
            edge_weight is None or (edge_weight.dim() == 1 and not edge_weight.requires_grad)):
        return graph.sparse_matrix(edge_weight, mean=reduce == "mean") @ x
    messages = x.index_select(0, graph.src)
    if edge_weight is not None:
        messages = messages * edge_weight.view(-1, *([1] * (messages.dim() - 1))) \
            if edge_weight.dim() == 1 else messages * edge_weight.unsqueeze(-1)
    if backend == "torch_scatter":
        import torch_scatter

        return torch_scatter.scatter(messages, graph.dst, dim=0, dim_size=graph.num_nodes,
                                     reduce=reduce)
    return _scatter_native(messages, graph.dst, graph.num_nodes, reduce)


def segment_softmax(scores: Tensor, graph: TorchGraph) -> Tensor:
    """Softmax of edge scores over the incoming edges of each destination node.

    Shapes: ``scores (E, H)`` -> ``(E, H)``.
    """
    index = graph.dst.view(-1, 1).expand_as(scores)
    peak = scores.new_full((graph.num_nodes, scores.shape[1]), float("-inf"))
    peak = peak.scatter_reduce(0, index, scores, reduce="amax", include_self=True)
    # Subtracting the per-node maximum keeps exp() finite; it does not change the softmax.
    exp = (scores - peak.index_select(0, graph.dst)).exp()
    total = exp.new_zeros(peak.shape).index_add_(0, graph.dst, exp)
    return exp / total.index_select(0, graph.dst).clamp_min(1e-16)


def global_pool(x: Tensor, batch: Tensor | None, reduce: str = "sum",
                num_graphs: int | None = None) -> Tensor:
    """Pool node features per graph. Shapes: ``x (N, F)``, ``batch (N,)`` -> ``(G, F)``."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"pool must be one of {REDUCTIONS}, got {reduce!r}")
    if batch is None:
        pooled = {"sum": x.sum, "mean": x.mean}.get(reduce)
        return pooled(dim=0, keepdim=True) if pooled else x.max(dim=0, keepdim=True).values
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.numel() else 0
    return _scatter_native(x, batch, num_graphs, reduce)
