"""Reference GNN models: GCN, GraphSAGE, GIN, GAT and SGC.

The layer stack follows PyG's ``BasicGNN`` exactly (conv → norm → act → dropout between layers,
the last conv bare), so PyG models convert one to one. Three optional extras make the models
deployable end to end: ``input_norm`` (row-normalised input features, as Kipf & Welling use),
``input_dropout``, and for graph-level tasks a ``pool`` followed by a ``head`` MLP.

``residual_blocks=True`` builds the other common stack instead, the one Platonov et al.
(ICLR 2023) use on heterophilous graphs: a linear map into ``hidden_channels``, then
``num_layers`` pre-norm residual blocks ``h = h + dropout(act(conv(norm(h))))``, then a final
norm and a linear map to ``out_channels``. The skip keeps each node's own features apart from
its neighbours' mix, which is what heterophilous tasks (minesweeper) need.

Every model is fully described by ``model.config`` (JSON-serialisable), and
``build_model(config)`` rebuilds it: that is what checkpoints store.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .functional import global_pool
from .graph_tensors import as_torch_graph
from .layers import (
    MLP,
    NORMS,
    GATConv,
    GCNConv,
    GINConv,
    SAGEConv,
    SGConv,
    is_sparse_input,
    linear,
    make_norm,
    resolve_activation,
    row_normalized,
)

__all__ = ["BasicGNN", "GCN", "GraphSAGE", "GIN", "GAT", "SGC", "MODELS", "build_model", "state_mismatch",
           "plain_state_dict", "plain_copy"]

INPUT_NORMS = (None, "row_sum")
POOLS = (None, "sum", "mean", "max")


class BasicGNN(torch.nn.Module):
    """A stack of ``num_layers`` message-passing layers (see the module docstring).

    Parameters
    ----------
    in_channels, hidden_channels, num_layers : int
        Input width, width between layers, number of convolutions.
    out_channels : int, optional
        Width of the last convolution (``hidden_channels`` if None).
    dropout : float
        Dropout after every convolution but the last.
    act, act_first, norm : str, bool, str
        Activation name; whether it comes before the normalisation; ``None``, ``"batch_norm"``
        or ``"layer_norm"``.
    input_norm : None or "row_sum"
        Divide each input row by its sum before the first layer.
    input_dropout : float
        Dropout on the input features.
    pool : None, "sum", "mean" or "max"
        Pool node embeddings per graph (graph-level tasks).
    head : list of int, optional
        Hidden widths of an MLP after pooling; its output width is ``head_out_channels``.
    head_out_channels : int, optional
    head_dropout : float
    residual_blocks : bool
        The residual stack of the module docstring (``act_first`` does not apply).
    conv_options : dict
        Options of the convolution type (see each subclass).
    """

    kind = "base"

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int,
                 out_channels: int | None = None, *, dropout: float = 0.0, act: str = "relu",
                 act_first: bool = False, norm: str | None = None, input_norm: str | None = None,
                 input_dropout: float = 0.0, pool: str | None = None, head: list[int] | None = None,
                 head_out_channels: int | None = None, head_dropout: float = 0.0,
                 residual_blocks: bool = False, **conv_options: Any):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {INPUT_NORMS}, got {input_norm!r}")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
        if head is not None and (pool is None or head_out_channels is None):
            raise ValueError("a head MLP needs pool and head_out_channels")
        self.in_channels, self.hidden_channels, self.num_layers = in_channels, hidden_channels, num_layers
        self.out_channels = out_channels if out_channels is not None else hidden_channels
        # PyG maps the last conv straight to out_channels only when they are given.
        self.maps_to_out = out_channels is not None
        self.dropout, self.input_dropout = float(dropout), float(input_dropout)
        self.act_name, self.act_first, self.norm_name = act, act_first, norm
        self.input_norm, self.pool = input_norm, pool
        self.act = resolve_activation(act)
        self.conv_options = dict(conv_options)
        self.residual_blocks = bool(residual_blocks)

        if self.residual_blocks:  # every conv inside a block, hidden -> hidden
            self.lin_in = torch.nn.Linear(in_channels, hidden_channels)
            self.convs = torch.nn.ModuleList(
                self.init_conv(hidden_channels, hidden_channels, last=False)
                for _ in range(num_layers))
            self.norms = torch.nn.ModuleList(make_norm(norm, hidden_channels)
                                             for _ in range(num_layers + 1))  # last: the final
            self.lin_out = torch.nn.Linear(hidden_channels, self.out_channels)
        else:
            widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [self.out_channels]
            self.convs = torch.nn.ModuleList(
                self.init_conv(a, b, last=i == num_layers - 1)
                for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
            self.norms = torch.nn.ModuleList(make_norm(norm, hidden_channels)
                                             for _ in range(num_layers - 1))
        self.head = None
        self.head_config = None
        if head is not None:
            self.head_config = {"hidden": list(head), "out_channels": head_out_channels,
                                "dropout": float(head_dropout)}
            self.head = MLP([self.out_channels, *head, head_out_channels], act=act,
                            dropout=head_dropout)

    def init_conv(self, in_channels: int, out_channels: int, last: bool) -> torch.nn.Module:
        raise NotImplementedError

    @property
    def config(self) -> dict:
        """Everything :func:`build_model` needs to rebuild this model (JSON-serialisable)."""
        config = {
            "kind": self.kind, "in_channels": self.in_channels,
            "hidden_channels": self.hidden_channels, "num_layers": self.num_layers,
            "out_channels": self.out_channels if self.maps_to_out else None,
            "dropout": self.dropout, "act": self.act_name,
            "act_first": self.act_first, "norm": self.norm_name, "input_norm": self.input_norm,
            "input_dropout": self.input_dropout, "pool": self.pool,
        }
        if self.residual_blocks:
            config["residual_blocks"] = True
        if self.head_config is not None:
            config.update(head=self.head_config["hidden"],
                          head_out_channels=self.head_config["out_channels"],
                          head_dropout=self.head_config["dropout"])
        config.update(self.conv_options)
        return config

    @property
    def output_channels(self) -> int:
        """Width of the model's output (the head's, when there is one)."""
        return self.head_config["out_channels"] if self.head_config else self.out_channels

    def embed(self, x: Tensor, graph, batch: Tensor | None = None) -> Tensor:
        """Node embeddings after the last convolution. Shapes: ``x (N, F)`` -> ``(N, out)``."""
        graph = as_torch_graph(graph, x.shape[0])
        x = self._prepare_input(x)
        if self.residual_blocks:
            x = F.dropout(self.act(linear(x, self.lin_in)), p=self.dropout, training=self.training)
            for conv, norm in zip(self.convs, self.norms):
                block = self.act(conv(norm(x), graph))
                x = x + F.dropout(block, p=self.dropout, training=self.training)
            return self.lin_out(self.norms[-1](x))
        for i, conv in enumerate(self.convs):
            x = conv(x, graph)
            if i < self.num_layers - 1:
                if self.act_first:
                    x = self.act(x)
                x = self.norms[i](x)
                if not self.act_first:
                    x = self.act(x)
                x = F.dropout(x, p=self.dropout, training=self.training)
        return x

    def _prepare_input(self, x: Tensor) -> Tensor:
        """Row-normalise and drop out input features; a sparse COO or CSR ``x`` stays sparse
        (dropping out only stored values is exact: dropout leaves zeros at zero)."""
        if self.input_norm == "row_sum":
            x = row_normalized(x)
        if not is_sparse_input(x):
            return F.dropout(x, p=self.input_dropout, training=self.training)
        if not self.training or self.input_dropout == 0:
            return x
        if x.layout == torch.sparse_csr:
            return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), F.dropout(
                x.values(), p=self.input_dropout, training=True), x.shape)
        x = x.coalesce()
        return torch.sparse_coo_tensor(x.indices(), F.dropout(x.values(), p=self.input_dropout,
                                                              training=True),
                                       x.shape, is_coalesced=True, check_invariants=False)

    def forward(self, x: Tensor, graph, batch: Tensor | None = None,
                num_graphs: int | None = None) -> Tensor:
        """Logits. Shapes: ``x (N, F)``, ``batch (N,)`` -> ``(N, C)``, or ``(G, C)`` with a pool.

        ``graph`` is a :class:`~sparsegnn.nn.TorchGraph`, a :class:`~sparsegnn.graph.Graph` or
        an ``edge_index`` tensor of shape ``(2, E)``.
        """
        x = self.embed(x, graph, batch)
        if self.pool is not None:
            x = global_pool(x, batch, self.pool, num_graphs)
            if self.head is not None:
                x = self.head(x)
        return x


class GCN(BasicGNN):
    """Graph convolutional network. Conv options: ``improved``, ``add_self_loops``, ``bias``,
    ``normalize`` (see :class:`~sparsegnn.nn.layers.GCNConv`)."""

    kind = "gcn"

    def init_conv(self, in_channels, out_channels, last):
        return GCNConv(in_channels, out_channels, **self.conv_options)


class GraphSAGE(BasicGNN):
    """GraphSAGE with mean aggregation. Conv options: ``aggr``, ``root_weight``, ``normalize``,
    ``bias``."""

    kind = "sage"

    def init_conv(self, in_channels, out_channels, last):
        return SAGEConv(in_channels, out_channels, **self.conv_options)


class GIN(BasicGNN):
    """Graph isomorphism network: each conv's MLP is ``[in, out, out]`` with the model's
    activation and norm (as PyG's ``GIN``). Conv options: ``eps``, ``train_eps``, ``mlp_norm``
    (the MLPs' norm when it differs from the model's)."""

    kind = "gin"

    def init_conv(self, in_channels, out_channels, last):
        options = dict(self.conv_options)
        mlp_norm = options.pop("mlp_norm", self.norm_name)
        mlp = MLP([in_channels, out_channels, out_channels], act=self.act_name, norm=mlp_norm,
                  act_first=self.act_first)
        return GINConv(mlp, **options)


class GAT(BasicGNN):
    """Graph attention network. Hidden convs concatenate ``heads`` heads of
    ``hidden_channels // heads`` channels; the last conv averages its heads (as PyG's ``GAT``).
    The last conv concatenates too when ``out_channels`` is not given.
    Conv options: ``heads``, ``last_heads`` (heads of the last conv, default ``heads``),
    ``concat``, ``negative_slope``, ``add_self_loops``, ``bias``,
    ``residual``, ``attention_dropout`` (defaults to the model's dropout, as in PyG)."""

    kind = "gat"

    def init_conv(self, in_channels, out_channels, last):
        options = dict(self.conv_options)
        heads = options.pop("heads", 1)
        last_heads = options.pop("last_heads", heads)
        if last:
            heads = last_heads
        concat = options.pop("concat", True) and not (last and self.maps_to_out)
        attention_dropout = options.pop("attention_dropout", self.dropout)
        if concat:
            if out_channels % heads:
                raise ValueError(f"GAT width {out_channels} is not divisible by {heads} heads")
            out_channels //= heads
        return GATConv(in_channels, out_channels, heads=heads, concat=concat,
                       dropout=attention_dropout, **options)


class SGC(BasicGNN):
    """Simplified graph convolution (Wu et al.): each conv propagates ``K`` times, then applies
    one linear map (the paper's model is one conv with ``K=2``). Conv options: ``K``,
    ``add_self_loops``, ``bias`` (see :class:`~sparsegnn.nn.layers.SGConv`)."""

    kind = "sgc"

    def init_conv(self, in_channels, out_channels, last):
        return SGConv(in_channels, out_channels, **self.conv_options)


MODELS = {cls.kind: cls for cls in (GCN, GraphSAGE, GIN, GAT, SGC)}
# Models built around the ones above, defined in modules that import this one.
COMPOSITE_MODELS = {"link": (".link", "LinkPredictor"), "lightgcn": (".lightgcn", "LightGCN")}


def build_model(config: dict) -> BasicGNN:
    """Rebuild a model from its ``config`` (as stored in a checkpoint)."""
    config = copy.deepcopy(dict(config))
    kind = config.pop("kind", None)
    if kind in COMPOSITE_MODELS:
        module_name, class_name = COMPOSITE_MODELS[kind]
        module = importlib.import_module(module_name, __package__)
        try:
            return getattr(module, class_name)(**config)
        except TypeError as exc:
            raise ValueError(f"invalid {kind} config: {exc}") from None
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {sorted(MODELS)}")
    try:
        return MODELS[kind](**config)
    except TypeError as exc:
        raise ValueError(f"invalid {kind} config: {exc}") from None


def state_mismatch(model: torch.nn.Module, state: dict[str, Tensor]) -> str | None:
    """Why ``state`` cannot be loaded into ``model`` (names or shapes), or None if it can."""
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        return f"parameters do not match (missing {missing}, unexpected {unexpected})"
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            return f"{name} has shape {tuple(tensor.shape)}, expected {tuple(expected[name].shape)}"
    return None


def plain_state_dict(model: torch.nn.Module) -> dict[str, Tensor]:
    """The state dict with ``torch.nn.utils.prune`` masks multiplied in: ``X.weight`` instead of
    ``X.weight_orig`` and ``X.weight_mask`` (what an unpruned model of the same config loads)."""
    state = {}
    for key, tensor in model.state_dict().items():
        if key.endswith("_mask"):
            continue
        if key.endswith("_orig"):
            base = key[: -len("_orig")]
            state[base] = (tensor * model.state_dict()[base + "_mask"]).detach().clone()
        else:
            state[key] = tensor.detach().clone()
    return state


def plain_copy(model: BasicGNN) -> BasicGNN:
    """An independent copy with masks baked in (``copy.deepcopy`` fails on a reparametrised
    module, whose computed ``weight`` is not a graph leaf)."""
    copied = build_model(model.config)
    copied.load_state_dict(plain_state_dict(model))
    return copied.train(model.training)
