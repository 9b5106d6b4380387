"""GNN layers in native torch, numerically equivalent to their PyTorch Geometric namesakes.

Parameter names follow PyG (``lin.weight``, ``lin_l``, ``lin_r``, ``att_src``, ...) so that
importing a PyG model is a state-dict copy, and every weight that pruning may touch is the
``weight`` of a ``torch.nn.Linear`` (which ``torch.nn.utils.prune`` understands).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .functional import aggregate, segment_softmax
from .graph_tensors import TorchGraph

__all__ = ["GCNConv", "SAGEConv", "GINConv", "GATConv", "SGConv", "MLP", "resolve_activation",
           "ACTIVATIONS", "with_self_loops", "gcn_normalize", "linear", "densify",
           "is_sparse_input", "row_normalized", "NORMS", "make_norm"]

ACTIVATIONS = ("relu", "elu", "leaky_relu", "gelu", "tanh", "sigmoid", "identity")


def resolve_activation(name: str | None) -> torch.nn.Module:
    """An activation module from its name (``None`` means identity)."""
    name = name or "identity"
    table = {"relu": torch.nn.ReLU, "elu": torch.nn.ELU, "leaky_relu": torch.nn.LeakyReLU,
             "gelu": torch.nn.GELU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
             "identity": torch.nn.Identity}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")
    return table[name]()


def effective_weight(lin: torch.nn.Linear) -> Tensor:
    """``lin``'s weight as its forward would use it.

    Calling ``lin`` runs ``torch.nn.utils.prune``'s hook that recomputes ``weight``; code that
    uses the weight without calling ``lin`` forms a pruned module's masked weight explicitly.
    """
    return lin.weight_orig * lin.weight_mask if hasattr(lin, "weight_mask") else lin.weight


def is_sparse_input(x: Tensor) -> bool:
    """A sparse COO (training: dropout acts on stored values) or CSR (inference: torch's
    fastest sparse x dense product) feature matrix."""
    return x.is_sparse or x.layout == torch.sparse_csr


def product(x: Tensor, lin: torch.nn.Linear) -> Tensor:
    """``x @ lin.weight.T`` without the bias, for dense, sparse COO or CSR ``x``."""
    weight = effective_weight(lin).t()
    return torch.sparse.mm(x, weight) if x.is_sparse else x @ weight.contiguous()


def linear(x: Tensor, lin: torch.nn.Linear) -> Tensor:
    """``lin(x)`` that also accepts sparse COO or CSR ``x`` (bag-of-words input features)."""
    if not is_sparse_input(x):
        return lin(x)
    out = product(x, lin)
    return out + lin.bias if lin.bias is not None else out


def row_normalized(x: Tensor) -> Tensor:
    """``x`` with each row divided by its sum (a zero sum by 1): the ``input_norm``
    of the models, for dense, COO (coalesced) and CSR ``x``, which keep their layout."""
    if not is_sparse_input(x):
        sums = x.sum(dim=1, keepdim=True)
        return x / sums.masked_fill(sums == 0, 1.0)
    if x.is_sparse:
        x = x.coalesce()
        rows, values = x.indices()[0], x.values()
    else:
        rows = torch.repeat_interleave(torch.arange(x.shape[0]), x.crow_indices().diff())
        values = x.values()
    sums = values.new_zeros(x.shape[0]).index_add_(0, rows, values)
    values = values / sums.masked_fill(sums == 0, 1.0).index_select(0, rows)
    if x.is_sparse:
        return torch.sparse_coo_tensor(x.indices(), values, x.shape, is_coalesced=True,
                                       check_invariants=False)
    return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), values, x.shape)


def densify(x: Tensor) -> Tensor:
    """Layers that aggregate raw inputs before transforming them need dense features."""
    return x.to_dense() if is_sparse_input(x) else x


def with_self_loops(graph: TorchGraph, edge_weight: Tensor | None, fill_value: float = 1.0
                    ) -> tuple[TorchGraph, Tensor | None]:
    """Exactly one self loop per node, existing loops keeping their weight (PyG's
    ``add_remaining_self_loops``). Cached on ``graph`` when there are no weights."""

    def build(weight):
        keep = graph.src != graph.dst
        nodes = torch.arange(graph.num_nodes)
        looped = TorchGraph(torch.cat([graph.src[keep], nodes]), torch.cat([graph.dst[keep], nodes]),
                            graph.num_nodes)
        if weight is None and fill_value == 1.0:
            return looped, None
        loop_weight = torch.full((graph.num_nodes,), float(fill_value))
        if weight is not None:
            loop_weight = loop_weight.to(weight.dtype)
            is_loop = ~keep
            loop_weight = loop_weight.index_put((graph.dst[is_loop],), weight[is_loop])
            return looped, torch.cat([weight[keep], loop_weight])
        return looped, torch.cat([torch.ones(int(keep.sum())), loop_weight])

    if edge_weight is None:
        return graph.cached(("self_loops", fill_value), lambda: build(None))
    return build(edge_weight)


def gcn_normalize(graph: TorchGraph, edge_weight: Tensor | None, add_self_loops: bool = True,
                  improved: bool = False) -> tuple[TorchGraph, Tensor]:
    """``D^-1/2 (A + I) D^-1/2`` edge weights, as PyG's ``gcn_norm`` (degree = weighted in-degree,
    degree 0 gives weight 0). Cached on ``graph`` when there are no edge weights."""

    def build(weight):
        target = graph
        if add_self_loops:
            # As PyG: `improved` only changes new loops of weighted graphs.
            fill = 2.0 if improved and weight is not None else 1.0
            target, weight = with_self_loops(graph, weight, fill)
        if weight is None:
            weight = torch.ones(target.num_edges)
        degree = weight.new_zeros(target.num_nodes).index_add_(0, target.dst, weight)
        inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
        return target, inv_sqrt.index_select(0, target.src) * weight * inv_sqrt.index_select(0, target.dst)

    if edge_weight is None:
        return graph.cached(("gcn_norm", add_self_loops, improved), lambda: build(None))
    return build(edge_weight)


def _glorot_(tensor: Tensor) -> None:
    fan_in, fan_out = tensor.shape[-1], tensor.shape[-2]
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    torch.nn.init.uniform_(tensor, -bound, bound)


class GCNConv(torch.nn.Module):
    """``out = Â (x Wᵀ) + b`` with ``Â = D^-1/2 (A + I) D^-1/2`` (Kipf & Welling).

    Shapes: ``x (N, in_channels)`` -> ``(N, out_channels)``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True,
                 normalize: bool = True, add_self_loops: bool = True, improved: bool = False):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.normalize, self.add_self_loops, self.improved = normalize, add_self_loops, improved
        self.lin = torch.nn.Linear(in_channels, out_channels, bias=False)
        self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _glorot_(self.lin.weight)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, graph: TorchGraph, edge_weight: Tensor | None = None) -> Tensor:
        if edge_weight is None:
            edge_weight = graph.edge_weight
        if self.normalize:
            graph, edge_weight = gcn_normalize(graph, edge_weight, self.add_self_loops, self.improved)
        out = aggregate(linear(x, self.lin), graph, "sum", edge_weight)
        return out + self.bias if self.bias is not None else out


class SAGEConv(torch.nn.Module):
    """``out = lin_l(mean_{j→i} x_j) + lin_r(x_i)`` (GraphSAGE, mean aggregator).

    Shapes: ``x (N, in_channels)`` -> ``(N, out_channels)``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True,
                 root_weight: bool = True, normalize: bool = False, aggr: str = "mean"):
        super().__init__()
        if aggr not in ("mean", "sum", "max"):
            raise ValueError(f"SAGEConv aggr must be mean, sum or max, got {aggr!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.root_weight, self.normalize, self.aggr = root_weight, normalize, aggr
        self.lin_l = torch.nn.Linear(in_channels, out_channels, bias=bias)
        self.lin_r = torch.nn.Linear(in_channels, out_channels, bias=False) if root_weight else None
        self.reset_parameters()

    def reset_parameters(self):
        for lin in (self.lin_l, self.lin_r):
            if lin is not None:
                lin.reset_parameters()

    def forward(self, x: Tensor, graph: TorchGraph) -> Tensor:
        if self.aggr in ("sum", "mean") and self.out_channels < self.in_channels:
            # A linear map commutes with a sum or mean over neighbours, so transform first and
            # aggregate the narrower features (6,805 -> 64 on Coauthor CS: 106x less to move,
            # forward and backward). The bias is added once, after aggregating.
            out = aggregate(product(x, self.lin_l), graph, self.aggr)
            if self.lin_l.bias is not None:
                out = out + self.lin_l.bias
        else:
            x = densify(x)
            out = self.lin_l(aggregate(x, graph, self.aggr))
        if self.lin_r is not None:
            out = out + linear(x, self.lin_r)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out


class SGConv(torch.nn.Module):
    """``out = Â^K x Wᵀ + b``: simplified graph convolution (Wu et al.), as PyG's ``SGConv``
    (``Â`` as :class:`GCNConv`'s, without ``improved``).

    Shapes: ``x (N, in_channels)`` -> ``(N, out_channels)``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, K: int = 1,  # noqa: N803 (PyG's name)
                 add_self_loops: bool = True, bias: bool = True):
        super().__init__()
        if not isinstance(K, int) or K < 1:
            raise ValueError(f"SGConv K must be a positive integer, got {K!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.K, self.add_self_loops = K, add_self_loops
        self.lin = torch.nn.Linear(in_channels, out_channels, bias=bias)

    def reset_parameters(self):
        self.lin.reset_parameters()

    def forward(self, x: Tensor, graph: TorchGraph, edge_weight: Tensor | None = None) -> Tensor:
        if edge_weight is None:
            edge_weight = graph.edge_weight
        graph, edge_weight = gcn_normalize(graph, edge_weight, self.add_self_loops)
        if self.out_channels < self.in_channels or is_sparse_input(x):
            # Â^K (x Wᵀ) = (Â^K x) Wᵀ: every round then moves the narrower features.
            out = product(x, self.lin)
            for _ in range(self.K):
                out = aggregate(out, graph, "sum", edge_weight)
            return out + self.lin.bias if self.lin.bias is not None else out
        for _ in range(self.K):
            x = aggregate(x, graph, "sum", edge_weight)
        return self.lin(x)


NORMS = (None, "batch_norm", "layer_norm")


def make_norm(norm: str | None, channels: int) -> torch.nn.Module:
    """The normalisation ``norm`` (one of ``NORMS``) over ``channels`` features: a batch norm,
    a layer norm (each row over its features, as ``torch.nn.LayerNorm``), or Identity."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
    if norm is None:
        return torch.nn.Identity()
    return torch.nn.BatchNorm1d(channels) if norm == "batch_norm" else torch.nn.LayerNorm(channels)


class MLP(torch.nn.Module):
    """Linear layers with normalisation, activation and dropout between them (PyG's ``MLP``
    with ``plain_last=True``: the last linear layer is bare).

    Shapes: ``x (N, channels[0])`` -> ``(N, channels[-1])``.
    """

    def __init__(self, channels: list[int], *, act: str = "relu", norm: str | None = None,
                 dropout: float = 0.0, act_first: bool = False, bias: bool = True):
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"an MLP needs at least an input and an output width, got {channels}")
        self.channels, self.act_name, self.norm_name = list(channels), act, norm
        self.dropout, self.act_first = float(dropout), act_first
        self.act = resolve_activation(act)
        self.lins = torch.nn.ModuleList(
            torch.nn.Linear(a, b, bias=bias) for a, b in zip(channels[:-1], channels[1:]))
        self.norms = torch.nn.ModuleList(make_norm(norm, c) for c in channels[1:-1])

    def reset_parameters(self):
        for module in list(self.lins) + list(self.norms):
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        for lin, norm in zip(self.lins[:-1], self.norms):
            x = lin(x)
            if self.act_first:
                x = self.act(x)
            x = norm(x)
            if not self.act_first:
                x = self.act(x)
            x = F.dropout(x, p=self.dropout, training=self.training)
        return self.lins[-1](x)


class GINConv(torch.nn.Module):
    """``out = mlp((1 + eps) x_i + sum_{j→i} x_j)`` (Xu et al.).

    Shapes: ``x (N, mlp.channels[0])`` -> ``(N, mlp.channels[-1])``.
    """

    def __init__(self, mlp: MLP, *, eps: float = 0.0, train_eps: bool = False):
        super().__init__()
        self.nn = mlp
        self.in_channels, self.out_channels = mlp.channels[0], mlp.channels[-1]
        self.initial_eps = float(eps)
        if train_eps:
            self.eps = torch.nn.Parameter(torch.tensor([float(eps)]))
        else:
            self.register_buffer("eps", torch.tensor([float(eps)]))
        self.train_eps = train_eps

    def reset_parameters(self):
        self.nn.reset_parameters()
        self.eps.data.fill_(self.initial_eps)

    def forward(self, x: Tensor, graph: TorchGraph) -> Tensor:
        x = densify(x)
        return self.nn(aggregate(x, graph, "sum") + (1 + self.eps) * x)


class GATConv(torch.nn.Module):
    """Multi-head graph attention (Veličković et al.), as PyG's ``GATConv``.

    Per head h: ``α_ij = softmax_j(leaky_relu(a_srcᵀ W x_j + a_dstᵀ W x_i))`` over incoming edges
    plus one self loop; ``out_i = Σ_j α_ij W x_j``; heads are concatenated or averaged.

    Shapes: ``x (N, in_channels)`` -> ``(N, heads * out_channels)`` if ``concat`` else
    ``(N, out_channels)``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True,
                 bias: bool = True, residual: bool = False):
        super().__init__()
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, float(dropout)
        self.add_self_loops = add_self_loops
        total = heads * out_channels if concat else out_channels
        self.lin = torch.nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.res = torch.nn.Linear(in_channels, total, bias=False) if residual else None
        self.bias = torch.nn.Parameter(torch.zeros(total)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        for tensor in (self.lin.weight, self.att_src, self.att_dst):
            _glorot_(tensor)
        if self.res is not None:
            _glorot_(self.res.weight)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, graph: TorchGraph) -> Tensor:
        heads, channels = self.heads, self.out_channels
        projected = linear(x, self.lin).view(-1, heads, channels)
        score_src = (projected * self.att_src).sum(dim=-1)
        score_dst = (projected * self.att_dst).sum(dim=-1)
        if self.add_self_loops:
            graph, _ = with_self_loops(graph, None)
        scores = score_src.index_select(0, graph.src) + score_dst.index_select(0, graph.dst)
        alpha = segment_softmax(F.leaky_relu(scores, self.negative_slope), graph)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = aggregate(projected, graph, "sum", alpha)
        out = out.reshape(-1, heads * channels) if self.concat else out.mean(dim=1)
        if self.res is not None:
            out = out + linear(x, self.res)
        return out + self.bias if self.bias is not None else out
