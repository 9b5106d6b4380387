"""Import trained PyTorch Geometric models: ``from_pyg(model)``.

Accepted:

* ``torch_geometric.nn.models.GCN``, ``GraphSAGE``, ``GIN`` and ``GAT`` (``jk=None``);
* a plain ``torch.nn.Module`` whose parameterised layers are, in registration order, convs of
  one supported type (``GCNConv``, ``SAGEConv``, ``GINConv``, ``GATConv``, ``SGConv``), optionally
  ``BatchNorm`` layers between them, and optionally a trailing ``Linear`` or ``MLP`` head. Its
  ``forward`` cannot be read, so the activation, dropout and pooling it applies are given as
  arguments (the usual form: ``act`` after every conv but the last).

Anything else raises :class:`UnsupportedLayerError` naming the layer. The conversion copies
the weights into a sparsegnn model built from the same hyper-parameters; the tests require
both models' outputs to agree to 1e-5 on real graphs.
"""

from __future__ import annotations

import functools

import torch

from .layers import row_normalized
from .models import BasicGNN, build_model, state_mismatch

__all__ = ["UnsupportedLayerError", "from_pyg", "to_pyg", "PyGModel"]


class UnsupportedLayerError(TypeError):
    """A layer or setting of the PyG model has no sparsegnn equivalent."""


def _pyg():
    try:
        import torch_geometric.nn as pyg_nn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("from_pyg needs torch_geometric (pip install 'sparsegnn[pyg]')") from exc
    return pyg_nn


def _activation_name(act) -> str | None:
    if act is None:
        return None
    names = {torch.nn.ReLU: "relu", torch.nn.ELU: "elu", torch.nn.LeakyReLU: "leaky_relu",
             torch.nn.GELU: "gelu", torch.nn.Tanh: "tanh", torch.nn.Sigmoid: "sigmoid",
             torch.nn.Identity: "identity"}
    name = names.get(type(act))
    if name is None:
        raise UnsupportedLayerError(f"activation {act!r} is not supported")
    defaults = {"leaky_relu": ("negative_slope", 0.01), "elu": ("alpha", 1.0),
                "gelu": ("approximate", "none")}
    if name in defaults:
        attribute, expected = defaults[name]
        if getattr(act, attribute) != expected:
            raise UnsupportedLayerError(f"activation {act!r}: only {attribute}={expected} is supported")
    return name


def _norm_name(norm, where: str) -> str | None:
    pyg_nn = _pyg()
    if isinstance(norm, torch.nn.Identity) or norm is None:
        return None
    module = norm.module if isinstance(norm, pyg_nn.BatchNorm) else norm
    if isinstance(module, torch.nn.BatchNorm1d):
        if module.eps != 1e-5 or not module.affine or not module.track_running_stats:
            raise UnsupportedLayerError(f"{where}: only BatchNorm1d(eps=1e-5, affine, "
                                        f"track_running_stats) is supported, got {module!r}")
        return "batch_norm"
    raise UnsupportedLayerError(f"{where}: normalisation {type(norm).__name__} is not supported")


def _conv_kind_and_options(conv, index: int, model_dropout: float) -> tuple[str, dict]:
    pyg_nn = _pyg()
    where = f"conv {index} ({type(conv).__name__})"
    if isinstance(conv, pyg_nn.GCNConv):
        if conv.cached:
            pass  # caching only skips recomputing the normalisation; the result is the same
        return "gcn", {"improved": bool(conv.improved), "add_self_loops": bool(conv.add_self_loops),
                       "normalize": bool(conv.normalize), "bias": conv.bias is not None}
    if isinstance(conv, pyg_nn.SAGEConv):
        aggr = conv.aggr if isinstance(conv.aggr, str) else None
        if aggr not in ("mean", "add", "sum", "max"):
            raise UnsupportedLayerError(f"{where}: aggregation {conv.aggr!r} is not supported")
        if conv.project:
            raise UnsupportedLayerError(f"{where}: project=True is not supported")
        if isinstance(conv.in_channels, (tuple, list)) and conv.in_channels[0] != conv.in_channels[1]:
            raise UnsupportedLayerError(f"{where}: bipartite input widths are not supported")
        return "sage", {"aggr": "sum" if aggr == "add" else aggr, "root_weight": conv.root_weight,
                        "normalize": conv.normalize, "bias": conv.lin_l.bias is not None}
    if isinstance(conv, pyg_nn.GINConv):
        return "gin", {"eps": float(conv.initial_eps), "train_eps": isinstance(conv.eps,
                                                                               torch.nn.Parameter)}
    if isinstance(conv, pyg_nn.GATConv):
        if conv.lin is None:
            raise UnsupportedLayerError(f"{where}: separate source/target projections are not supported")
        if conv.edge_dim is not None:
            raise UnsupportedLayerError(f"{where}: edge features (edge_dim) are not supported")
        return "gat", {"heads": conv.heads, "concat": conv.concat,
                       "negative_slope": float(conv.negative_slope),
                       "add_self_loops": conv.add_self_loops, "bias": conv.bias is not None,
                       "residual": conv.res is not None, "attention_dropout": float(conv.dropout)}
    if isinstance(conv, pyg_nn.SGConv):
        if conv.cached:
            pass  # caching only skips recomputing the propagation; the result is the same
        return "sgc", {"K": int(conv.K), "add_self_loops": bool(conv.add_self_loops),
                       "bias": conv.lin.bias is not None}
    raise UnsupportedLayerError(f"{where}: unsupported layer {type(conv).__name__}; supported "
                                f"convolutions are GCNConv, SAGEConv, GINConv, GATConv and SGConv")


def _gin_mlp(conv, index: int) -> tuple[str | None, str | None, bool]:
    """The (act, norm, act_first) of a GINConv's MLP, which must be ``[in, out, out]``."""
    pyg_nn = _pyg()
    mlp = conv.nn
    where = f"conv {index} (GINConv) nn"
    if isinstance(mlp, pyg_nn.MLP):
        lins = list(mlp.lins)
        if len(lins) != 2 or not mlp.plain_last or any(d != 0.0 for d in mlp.dropout):
            raise UnsupportedLayerError(f"{where}: only a 2-layer MLP without dropout is supported")
        return _activation_name(mlp.act), _norm_name(mlp.norms[0], where), mlp.act_first
    if isinstance(mlp, torch.nn.Sequential):
        layers = list(mlp)
        kinds = [type(layer) for layer in layers]
        if len(layers) == 3 and kinds[0] is kinds[2] is torch.nn.Linear:
            return _activation_name(layers[1]), None, False
        if len(layers) == 4 and kinds[0] is kinds[3] is torch.nn.Linear \
                and isinstance(layers[1], torch.nn.BatchNorm1d):
            return _activation_name(layers[2]), _norm_name(layers[1], where), False
    raise UnsupportedLayerError(f"{where}: expected an MLP or Sequential(Linear, [BatchNorm1d], "
                                f"activation, Linear), got {mlp!r}")


def _gin_widths(conv) -> list[int]:
    """Input width, then each linear layer's output width, of a GINConv's MLP."""
    weights = [m.weight for m in conv.nn.modules() if isinstance(m, torch.nn.Linear)
               or type(m).__name__ == "Linear" and hasattr(m, "weight")]
    return [weights[0].shape[1]] + [w.shape[0] for w in weights]


def _state_from(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    # PyG's BatchNorm wraps torch's as `.module`; MLP/Sequential layer names differ from ours.
    return {name.replace(".module.", "."): tensor for name, tensor in module.state_dict().items()}


def _sequential_to_mlp_names(state: dict, prefix: str, batch_norm: bool) -> dict:
    """Rename ``{prefix}nn.0/1/3`` of a Sequential GIN MLP to our ``nn.lins.k`` / ``nn.norms.0``."""
    mapping = {"0": "lins.0", "2": "lins.1"} if not batch_norm else \
        {"0": "lins.0", "1": "norms.0", "3": "lins.1"}
    renamed = {}
    for name, tensor in state.items():
        if name.startswith(prefix + "nn."):
            rest = name[len(prefix + "nn."):]
            layer, _, attribute = rest.partition(".")
            if layer in mapping:
                name = f"{prefix}nn.{mapping[layer]}.{attribute}"
        renamed[name] = tensor
    return renamed


def _copy_weights(target: BasicGNN, state: dict[str, torch.Tensor], source_name: str) -> BasicGNN:
    problem = state_mismatch(target, state)
    if problem:
        raise UnsupportedLayerError(f"{source_name}: does not map onto a sparsegnn model: {problem}")
    target.load_state_dict(state)
    return target.eval()


def _convert_basic_gnn(model) -> BasicGNN:
    pyg_nn = _pyg()
    name = type(model).__name__
    if getattr(model, "jk_mode", None) is not None:
        raise UnsupportedLayerError(f"{name}: jumping knowledge (jk={model.jk_mode!r}) is not supported")
    if isinstance(model, pyg_nn.models.GAT) and any(
            isinstance(conv, pyg_nn.GATv2Conv) for conv in model.convs):
        raise UnsupportedLayerError(f"{name}: GATv2Conv is not supported")
    kinds = {pyg_nn.models.GCN: "gcn", pyg_nn.models.GraphSAGE: "sage", pyg_nn.models.GIN: "gin",
             pyg_nn.models.GAT: "gat"}
    kind = kinds[type(model)]
    _, options = _conv_kind_and_options(model.convs[0], 0, model.dropout.p)
    norm_names = {_norm_name(norm, f"norm {i}") for i, norm in enumerate(model.norms[:-1])}
    config = {
        "kind": kind, "in_channels": model.in_channels, "hidden_channels": model.hidden_channels,
        "num_layers": model.num_layers,
        "out_channels": model.out_channels if getattr(model, "_is_conv_to_out", False) else None,
        "dropout": float(model.dropout.p), "act": _activation_name(model.act),
        "act_first": bool(model.act_first), "norm": norm_names.pop() if norm_names else None,
    }
    if kind == "gat":
        options.pop("concat")
        if model.convs[0].concat is False:
            options["concat"] = False
    if kind == "gin":
        mlp_act, mlp_norm, _ = _gin_mlp(model.convs[0], 0)
        if mlp_norm != config["norm"]:
            options["mlp_norm"] = mlp_norm
    config.update(options)
    return _copy_weights(build_model(config), _state_from(model), name)


def _is_conv(module) -> bool:
    pyg_nn = _pyg()
    return isinstance(module, pyg_nn.conv.MessagePassing)


def _convert_layer_list(model: torch.nn.Module, act: str | None, dropout: float,
                        pool: str | None) -> BasicGNN:
    pyg_nn = _pyg()
    name = type(model).__name__
    convs, norms, head = [], [], None
    for path, module in model.named_modules():
        if module is model or not any(True for _ in module.parameters(recurse=False)) and \
                not _is_conv(module) and not isinstance(module, (pyg_nn.BatchNorm, pyg_nn.MLP)):
            continue
        if any(path.startswith(p + ".") for p, _ in convs) or \
                (head is not None and path.startswith(head[0] + ".")) or \
                any(path.startswith(p + ".") for p, _ in norms):
            continue  # inside a layer we already took whole
        if _is_conv(module):
            if head is not None:
                raise UnsupportedLayerError(f"{name}.{path}: a conv after the head is not supported")
            convs.append((path, module))
        elif isinstance(module, (pyg_nn.BatchNorm, torch.nn.BatchNorm1d)) and head is None:
            norms.append((path, module))
        elif isinstance(module, (torch.nn.Linear, pyg_nn.Linear, pyg_nn.MLP)) and convs and head is None:
            head = (path, module)
        else:
            raise UnsupportedLayerError(f"{name}.{path}: unsupported layer {type(module).__name__}")
    if not convs:
        raise UnsupportedLayerError(f"{name}: no supported convolution found")
    described = [_conv_kind_and_options(conv, i, dropout) for i, (_, conv) in enumerate(convs)]
    kinds = {kind for kind, _ in described}
    if len(kinds) != 1:
        raise UnsupportedLayerError(f"{name}: mixes convolution types {sorted(kinds)}")
    kind, options = described[0]
    for i, (_, conv_options) in enumerate(described):
        differing = {k for k in options if conv_options[k] != options[k]}
        if kind == "gat" and i == len(convs) - 1:
            differing -= {"heads", "concat"}  # the output layer may average its own heads
        if kind == "gin" and _gin_mlp(convs[i][1], i) != _gin_mlp(convs[0][1], 0):
            differing.add("nn")
        if differing:
            raise UnsupportedLayerError(f"{name}.{convs[i][0]}: settings {sorted(differing)} "
                                        f"differ from the first conv's")
    if norms and len(norms) != len(convs) - 1:
        raise UnsupportedLayerError(f"{name}: expected {len(convs) - 1} norms between "
                                    f"{len(convs)} convs, found {len(norms)}")
    first, last = convs[0][1], convs[-1][1]
    in_channels = _gin_widths(first)[0] if kind == "gin" else first.in_channels
    widths = []
    for _, conv in convs:
        if kind == "gin":
            widths.append(_gin_widths(conv)[-1])
        elif kind == "gat":
            widths.append(conv.out_channels * (conv.heads if conv.concat else 1))
        else:
            widths.append(conv.out_channels)
    hidden = widths[0] if len(convs) > 1 else widths[-1]
    if any(w != hidden for w in widths[:-1]):
        raise UnsupportedLayerError(f"{name}: hidden widths differ between convs ({widths})")
    config = {"kind": kind, "in_channels": in_channels, "hidden_channels": hidden,
              "num_layers": len(convs), "out_channels": widths[-1], "dropout": float(dropout),
              "act": act, "norm": _norm_name(norms[0][1], norms[0][0]) if norms else None,
              "pool": pool}
    if kind == "gat":
        heads = options.pop("heads")
        options.pop("concat")
        options["heads"] = heads
        if len(convs) > 1 and not first.concat:
            raise UnsupportedLayerError(f"{name}: hidden GAT layers must concatenate their heads")
        if last.heads != heads:
            options["last_heads"] = last.heads
        if last.concat:
            config["out_channels"] = None  # the last conv concatenates: PyG's out_channels=None
            if widths[-1] != hidden:
                raise UnsupportedLayerError(f"{name}: a concatenating last GAT conv must keep the "
                                            f"hidden width")
    if kind == "gin":
        mlp_act, mlp_norm, act_first = _gin_mlp(first, 0)
        if mlp_act != act:
            raise UnsupportedLayerError(f"{name}: GIN MLP activation {mlp_act!r} differs from "
                                        f"act={act!r}; pass act={mlp_act!r}")
        if mlp_norm != config["norm"]:
            options["mlp_norm"] = mlp_norm
        config["act_first"] = act_first
    config.update(options)

    state = {}
    for i, (_, conv) in enumerate(convs):
        conv_state = {f"convs.{i}.{k}": v for k, v in _state_from(conv).items()}
        if kind == "gin" and isinstance(conv.nn, torch.nn.Sequential):
            conv_state = _sequential_to_mlp_names(conv_state, f"convs.{i}.",
                                                  options.get("mlp_norm", config["norm"]) is not None)
        state.update(conv_state)
    for i, (_, norm) in enumerate(norms):
        state.update({f"norms.{i}.{k}": v for k, v in _state_from(norm).items()})
    if head is not None:
        if pool is None:
            raise UnsupportedLayerError(f"{name}.{head[0]}: a head after the convs needs pool=")
        module = head[1]
        if isinstance(module, pyg_nn.MLP):
            if not module.plain_last:
                raise UnsupportedLayerError(f"{name}.{head[0]}: only plain_last MLP heads")
            if any(_norm_name(n, head[0]) for n in module.norms):
                raise UnsupportedLayerError(f"{name}.{head[0]}: normalised heads are not supported")
            widths = module.channel_list
            config.update(head=list(widths[1:-1]), head_out_channels=widths[-1],
                          head_dropout=float(module.dropout[0]) if widths[1:-1] else 0.0)
            head_state = {k: v for k, v in _state_from(module).items() if k.startswith("lins.")}
        else:
            config.update(head=[], head_out_channels=module.out_features)
            head_state = {f"lins.0.{k}": v for k, v in module.state_dict().items()}
        state.update({f"head.{k}": v for k, v in head_state.items()})
    return _copy_weights(build_model(config), state, name)


def from_pyg(model: torch.nn.Module, *, act: str | None = "relu", dropout: float = 0.0,
             pool: str | None = None) -> BasicGNN:
    """Convert a PyG model into an equivalent sparsegnn model (in eval mode).

    Parameters
    ----------
    model : torch.nn.Module
        A PyG ``GCN``/``GraphSAGE``/``GIN``/``GAT``, or a plain module in layer-list form.
    act, dropout, pool :
        For plain modules only (PyG's models carry their own): the activation between convs,
        the dropout after it, and the graph pooling before a head.
    """
    pyg_nn = _pyg()
    if isinstance(model, (pyg_nn.models.GCN, pyg_nn.models.GraphSAGE, pyg_nn.models.GIN,
                          pyg_nn.models.GAT)):
        return _convert_basic_gnn(model)
    if isinstance(model, pyg_nn.models.basic_gnn.BasicGNN):
        raise UnsupportedLayerError(f"{type(model).__name__} is not supported; supported PyG "
                                    f"models are GCN, GraphSAGE, GIN and GAT")
    if _is_conv(model):
        raise UnsupportedLayerError(f"{type(model).__name__}: pass a model, not a single layer")
    return _convert_layer_list(model, act, dropout, pool)


# ----------------------------------------------------------------------------- export to PyG
_CONV_OPTIONS = {"gcn": ("improved", "add_self_loops", "normalize", "bias"),
                 "sage": ("aggr", "root_weight", "normalize", "bias"),
                 "gin": ("eps", "train_eps"),
                 "gat": ("heads", "concat", "negative_slope", "add_self_loops", "bias", "residual"),
                 "sgc": ("K", "add_self_loops", "bias")}


@functools.cache
def _pyg_sgc():
    """PyG has no ``BasicGNN`` of ``SGConv``s: this one, built the way PyG builds its own (the
    same layer stack, so it loads our state dict as GCN's does)."""
    pyg_nn = _pyg()

    class SGC(pyg_nn.models.basic_gnn.BasicGNN):
        supports_edge_weight = True
        supports_edge_attr = False

        def init_conv(self, in_channels, out_channels, **kwargs):
            return pyg_nn.SGConv(in_channels, out_channels, **kwargs)

    return SGC


class PyGModel(torch.nn.Module):
    """A PyG ``BasicGNN`` plus the extras a sparsegnn model may have around it: input
    row-normalisation, graph pooling and a head MLP. ``forward(x, edge_index_or_adj_t, batch)``
    accepts whatever the PyG convs accept (``edge_index``, a ``torch.sparse`` CSR ``adj_t``, or
    a ``torch_sparse.SparseTensor``)."""

    def __init__(self, gnn: torch.nn.Module, input_norm: str | None, pool: str | None,
                 head: torch.nn.Module | None):
        super().__init__()
        self.gnn, self.input_norm, self.pool, self.head = gnn, input_norm, pool, head

    def forward(self, x, edge_index, batch=None, num_graphs: int | None = None):
        pyg_nn = _pyg()
        if self.input_norm == "row_sum":
            x = row_normalized(x)  # dense or CSR, as the features come
        x = self.gnn(x, edge_index)
        if self.pool is not None:
            pool = {"sum": pyg_nn.global_add_pool, "mean": pyg_nn.global_mean_pool,
                    "max": pyg_nn.global_max_pool}[self.pool]
            x = pool(x, batch, size=num_graphs)
            if self.head is not None:
                x = self.head(x)
        return x


def to_pyg(model: BasicGNN) -> PyGModel:
    """The equivalent PyG model (``torch_geometric.nn.models.GCN`` / ``GraphSAGE`` / ``GIN`` /
    ``GAT``, or a ``BasicGNN`` of ``SGConv``s, with the same weights, in eval mode): what a PyG
    user would run. Prune masks are baked in (a model under ``torch.nn.utils.prune`` is read
    through its effective weights)."""
    import copy

    from .models import plain_copy

    pyg_nn = _pyg()
    source = plain_copy(model).eval()
    config = source.config
    options = {key: config[key] for key in _CONV_OPTIONS[source.kind] if key in config}
    if source.residual_blocks:
        raise UnsupportedLayerError("PyG's BasicGNN models have no residual blocks")
    if source.norm_name == "layer_norm":  # PyG's "layer_norm" normalises whole graphs
        raise UnsupportedLayerError("PyG's norm='layer_norm' normalises over each graph by "
                                    "default, not over each node's features as this model does")
    if source.kind == "gin" and config.get("mlp_norm", source.norm_name) != source.norm_name:
        raise UnsupportedLayerError("PyG's GIN uses the model's norm inside its MLPs; this model's "
                                    f"mlp_norm={config['mlp_norm']!r} differs")
    classes = {"gcn": pyg_nn.models.GCN, "sage": pyg_nn.models.GraphSAGE,
               "gin": pyg_nn.models.GIN, "gat": pyg_nn.models.GAT, "sgc": _pyg_sgc()}
    gnn = classes[source.kind](source.in_channels, source.hidden_channels, source.num_layers,
                              source.out_channels if source.maps_to_out else None,
                              dropout=source.dropout, act=source.act_name, act_first=source.act_first,
                              norm=source.norm_name, **options)
    last = source.convs[-1]
    if source.kind == "gat" and last.heads != source.convs[0].heads:  # PyG's GAT has one `heads`
        gnn.convs[-1] = pyg_nn.GATConv(last.in_channels, last.out_channels, heads=last.heads,
                                       concat=last.concat, negative_slope=last.negative_slope,
                                       add_self_loops=last.add_self_loops,
                                       bias=last.bias is not None, residual=last.res is not None)
    ours = source.state_dict()
    state = {}
    for name in gnn.state_dict():
        key = name.replace(".module.", ".")
        if key not in ours:
            raise UnsupportedLayerError(f"PyG parameter {name} has no counterpart in this model")
        state[name] = ours[key]
    gnn.load_state_dict(state)
    head = copy.deepcopy(source.head) if source.head is not None else None
    return PyGModel(gnn, source.input_norm, source.pool, head).eval()
