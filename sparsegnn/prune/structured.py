"""Structured pruning on dependency groups: hidden channels (GCN, GraphSAGE, GIN) and attention
heads (GAT).

Hidden channel ``j`` after conv ``l`` is one group: row ``j`` of every weight that produces it
(GCN: ``lin``; SAGE: ``lin_l`` and ``lin_r``; GAT: ``lin`` and ``res``; GIN: its MLP's last
Linear), its bias and batch-norm entries, and column ``j`` of every weight of conv ``l + 1`` that
consumes it. A GIN conv also has an inner boundary inside its MLP (first Linear's rows, its bias
and norm entries, second Linear's columns), pruned the same way. In a GAT the unit removed is a
whole head of a hidden conv: its ``C`` channels together with its attention vectors.
Pruning a group zeroes its producer rows and consumer columns (through ``MaskSet``, so fine-tuning
keeps them zero; a GAT head whose projection is zero contributes exactly zero); ``slice_channels``
then removes the groups physically, giving a narrower model whose outputs equal the masked one's.
"""

from __future__ import annotations

import numpy as np
import torch

from ..nn.layers import GATConv
from ..nn.models import BasicGNN, build_model, plain_copy
from .masks import MaskSet
from .unstructured import resolve_amount

__all__ = ["channel_groups", "channel_scores", "taylor_channel_scores", "channel_masks",
           "slice_channels", "prune_channels", "unit_width", "STRUCTURED_KINDS"]

STRUCTURED_KINDS = ("gcn", "sage", "gin", "gat")


def _producers(conv) -> list[torch.nn.Linear]:
    if isinstance(conv, GATConv):
        return [m for m in (conv.lin, conv.res) if m is not None]
    return [conv.lin] if hasattr(conv, "lin") else [m for m in (conv.lin_l, conv.lin_r) if m is not None]


def unit_width(model: BasicGNN) -> int:
    """Channels removed together: 1, or a GAT head's width (its hidden convs concatenate heads)."""
    if model.kind != "gat":
        return 1
    if model.num_layers > 1 and not model.convs[0].concat:
        raise ValueError("head pruning needs hidden GAT convs that concatenate their heads")
    return model.convs[0].out_channels


def channel_groups(model: BasicGNN) -> list[dict]:
    """The model's dependency groups, in order. Each has an ``id`` (its key in score and keep
    dicts), the conv ``layer`` it follows, ``producers`` (Linear names whose rows and biases it
    owns), ``consumers`` (Linear names whose columns it owns), ``vectors`` (prefixes of 1-D
    parameters it owns: conv biases, batch norms) and ``attention`` (GAT attention vectors)."""
    if model.kind not in STRUCTURED_KINDS:
        raise ValueError(f"channel pruning supports {STRUCTURED_KINDS}, got {model.kind!r}")
    unit_width(model)  # validates a GAT's layout
    if model.residual_blocks or "layer_norm" in (model.norm_name,
                                                 model.conv_options.get("mlp_norm")):
        # a residual stream ties every block's channels together, and a layer norm mixes a
        # node's channels: removing one is no longer exact, so no group is defined for them
        raise ValueError("channel pruning does not support residual blocks or layer norms; "
                         "prune weights or edges instead")
    names = {module: name for name, module in model.named_modules()}
    groups: list[dict] = []

    def add(layer, producers, consumers, vectors, attention=()):
        groups.append({"id": len(groups), "layer": layer,
                       "producers": [names[m] for m in producers],
                       "consumers": [names[m] for m in consumers],
                       "vectors": list(vectors), "attention": list(attention)})

    for layer in range(model.num_layers - 1):
        conv, following = model.convs[layer], model.convs[layer + 1]
        if model.kind == "gin":
            lins = conv.nn.lins
            add(layer, [lins[0]], [lins[1]], [names[conv.nn.norms[0]]])
            add(layer, [lins[-1]], [following.nn.lins[0]], [f"norms.{layer}"])
        else:
            attention = ([f"convs.{layer}.att_src", f"convs.{layer}.att_dst"]
                         if isinstance(conv, GATConv) else [])
            add(layer, _producers(conv), _producers(following),
                [f"convs.{layer}.bias", f"norms.{layer}"], attention)
    return groups


def _weight(model, name: str) -> torch.Tensor:
    module = dict(model.named_modules())[name]
    if hasattr(module, "weight_orig"):
        return (module.weight_orig * module.weight_mask).detach()
    return module.weight.detach()


def _per_unit(per_channel: torch.Tensor, width: int) -> torch.Tensor:
    return per_channel.reshape(-1, width).sum(dim=1)


def channel_scores(model: BasicGNN, norm: str = "l2") -> dict[int, np.ndarray]:
    """Per hidden boundary, the L1 or L2 norm of each unit's group (producer rows, consumer
    columns and, for GAT heads, attention vectors together). Shapes: ``(units,)`` per layer,
    where units are channels, or heads for a GAT."""
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    order = 1 if norm == "l1" else 2
    width = unit_width(model)
    scores = {}
    for group in channel_groups(model):
        total = 0.0
        for name in group["producers"]:
            total = total + _weight(model, name).abs().pow(order).sum(dim=1)
        for name in group["consumers"]:
            total = total + _weight(model, name).abs().pow(order).sum(dim=0)
        total = _per_unit(total, width)
        parameters = dict(model.named_parameters())
        for key in group["attention"]:
            total = total + parameters[key].detach()[0].abs().pow(order).sum(dim=1)
        scores[group["id"]] = total.pow(1.0 / order).numpy()
    return scores


def taylor_channel_scores(model: BasicGNN, loss_fn, steps: int = 1) -> dict[int, np.ndarray]:
    """First-order Taylor importance of each unit (Molchanov et al., 2019): ``(Σ_g w · dL/dw)²``
    over the group's weights, summed over ``steps`` training-mode passes of ``loss_fn(model)``
    (the estimated squared change of the loss when the whole group is zeroed).
    Shapes: ``(units,)`` per hidden boundary."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    width = unit_width(model)
    groups = channel_groups(model)
    modules = dict(model.named_modules())
    was_training = model.training
    model.train()
    scores = {group["id"]: 0.0 for group in groups}
    for _ in range(steps):
        model.zero_grad()
        loss_fn(model).backward()
        for group in groups:
            total = 0.0
            for name, dim in [(n, 1) for n in group["producers"]] + [(n, 0) for n in group["consumers"]]:
                module = modules[name]
                source = module.weight_orig if hasattr(module, "weight_orig") else module.weight
                product = _weight(model, name) * source.grad.detach()
                total = total + product.sum(dim=dim)
            scores[group["id"]] = scores[group["id"]] + _per_unit(total, width).pow(2)
    model.zero_grad()
    model.train(was_training)
    return {key: value.numpy() for key, value in scores.items()}


def channel_masks(model: BasicGNN, amount, scores: dict[int, np.ndarray] | None = None
                  ) -> tuple[dict[int, np.ndarray], MaskSet]:
    """Remove ``amount`` (count or fraction) of the units (channels; heads for a GAT) at every
    hidden boundary, lowest score first. Returns per-channel keep-masks ``(hidden_channels,)``
    and the weight ``MaskSet`` that zeroes the removed channels."""
    scores = scores or channel_scores(model)
    width = unit_width(model)
    keep, masks = {}, MaskSet.ones(model)
    for group in channel_groups(model):
        layer_scores = scores[group["id"]]
        count = resolve_amount(amount, layer_scores.shape[0])
        if count >= layer_scores.shape[0]:
            raise ValueError("cannot remove every channel (or head) of a layer")
        order = np.lexsort((np.arange(layer_scores.shape[0]), layer_scores))
        kept_units = np.ones(layer_scores.shape[0], dtype=bool)
        kept_units[order[:count]] = False
        kept = np.repeat(kept_units, width)
        keep[group["id"]] = kept
        for name in group["producers"]:
            masks.weights[f"{name}.weight"][~kept, :] = False
        for name in group["consumers"]:
            masks.weights[f"{name}.weight"][:, ~kept] = False
    return keep, masks


def slice_channels(model: BasicGNN, keep: dict[int, np.ndarray]) -> BasicGNN:
    """A new, narrower model without the removed channels (masks baked first). Every hidden
    boundary must keep the same number of channels (the model has one hidden width)."""
    widths = {int(k.sum()) for k in keep.values()}
    if len(widths) != 1:
        raise ValueError(f"every hidden layer must keep the same width, got {sorted(widths)}")
    source = plain_copy(model)
    width = unit_width(source)
    config = dict(source.config, hidden_channels=widths.pop())
    if not source.maps_to_out:
        if source.kind == "gat":  # its last conv would switch from concatenating to averaging
            raise ValueError("slicing a GAT needs a model with explicit out_channels")
        config["out_channels"] = source.out_channels  # the last conv keeps its width
    if source.kind == "gat":  # fewer hidden heads of the same width; the output heads stay
        config.update(heads=config["hidden_channels"] // width, last_heads=source.convs[-1].heads)
    target = build_model(config)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    for group in channel_groups(source):
        kept = keep[group["id"]]
        index = torch.from_numpy(np.flatnonzero(kept))
        heads = torch.from_numpy(np.flatnonzero(kept.reshape(-1, width)[:, 0]))
        for key in group["attention"]:
            state[key] = state[key][:, heads]
        for name in group["producers"]:
            state[f"{name}.weight"] = state[f"{name}.weight"][index]
            if f"{name}.bias" in state:
                state[f"{name}.bias"] = state[f"{name}.bias"][index]
        for prefix in group["vectors"]:
            for key in [k for k in state if k == prefix or k.startswith(prefix + ".")]:
                if state[key].dim() == 1:
                    state[key] = state[key][index]
        for name in group["consumers"]:
            state[f"{name}.weight"] = state[f"{name}.weight"][:, index]
    target.load_state_dict(state)
    return target.eval()


def prune_channels(model: BasicGNN, dataset, sparsity: float, criterion: str = "l2", *,
                   split: int = 0, seed: int = 0, finetune=None) -> tuple[BasicGNN, dict]:
    """Remove ``sparsity`` of the hidden channels (heads for GAT) by ``criterion`` ("l1",
    "l2", "taylor" or "ig"), fine-tune with the channels masked, then slice them out: a narrower
    model of the same kind. Returns the new model and ``{"hidden_before", "hidden_after"}``."""
    from ..nn import fit
    from .schedules import training_loss

    before = model.hidden_channels
    if criterion == "taylor":
        scores = taylor_channel_scores(model, training_loss(dataset, split, seed=seed), steps=10)
    elif criterion == "ig":
        from .explain import ig_channel_scores

        scores = ig_channel_scores(model, dataset, split, seed=seed)
    else:
        scores = channel_scores(model, criterion)
    keep, mask = channel_masks(model, sparsity, scores)
    mask.apply(model)
    if finetune is not None:
        fit(model, dataset, split, finetune)
    model = slice_channels(model, keep)
    return model, {"hidden_before": before, "hidden_after": model.hidden_channels}
