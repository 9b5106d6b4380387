"""Structured pruning of hidden channels on dependency groups (GCN and GraphSAGE).

Hidden channel ``j`` after conv ``l`` is one group: row ``j`` of every weight that produces it
(GCN: ``lin``; SAGE: ``lin_l`` and ``lin_r``), its bias and batch-norm entries, and column ``j``
of every weight of conv ``l + 1`` that consumes it. Pruning a group zeroes its producer rows and
consumer columns (through ``MaskSet``, so fine-tuning keeps them zero); ``slice_channels`` then
removes the groups physically, giving a narrower model whose outputs equal the masked model's.
"""

from __future__ import annotations

import numpy as np
import torch

from ..nn.models import BasicGNN, build_model, plain_copy
from .masks import MaskSet
from .unstructured import resolve_amount

__all__ = ["channel_groups", "channel_scores", "channel_masks", "slice_channels",
           "STRUCTURED_KINDS"]

STRUCTURED_KINDS = ("gcn", "sage")


def _producers(conv) -> list[torch.nn.Linear]:
    return [conv.lin] if hasattr(conv, "lin") else [m for m in (conv.lin_l, conv.lin_r) if m is not None]


def channel_groups(model: BasicGNN) -> list[dict]:
    """One entry per hidden boundary ``l``: producer and consumer Linear modules (by name)."""
    if model.kind not in STRUCTURED_KINDS:
        raise ValueError(f"channel pruning supports {STRUCTURED_KINDS}, got {model.kind!r}")
    names = {module: name for name, module in model.named_modules()}
    groups = []
    for layer in range(model.num_layers - 1):
        groups.append({
            "layer": layer,
            "producers": [names[m] for m in _producers(model.convs[layer])],
            "consumers": [names[m] for m in _producers(model.convs[layer + 1])],
        })
    return groups


def _weight(model, name: str) -> torch.Tensor:
    module = dict(model.named_modules())[name]
    if hasattr(module, "weight_orig"):
        return (module.weight_orig * module.weight_mask).detach()
    return module.weight.detach()


def channel_scores(model: BasicGNN, norm: str = "l2") -> dict[int, np.ndarray]:
    """Per hidden boundary, the L1 or L2 norm of each channel's group (producer rows and
    consumer columns together). Shapes: ``(hidden_channels,)`` per layer."""
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    order = 1 if norm == "l1" else 2
    scores = {}
    for group in channel_groups(model):
        total = 0.0
        for name in group["producers"]:
            total = total + _weight(model, name).abs().pow(order).sum(dim=1)
        for name in group["consumers"]:
            total = total + _weight(model, name).abs().pow(order).sum(dim=0)
        scores[group["layer"]] = total.pow(1.0 / order).numpy()
    return scores


def channel_masks(model: BasicGNN, amount, scores: dict[int, np.ndarray] | None = None
                  ) -> tuple[dict[int, np.ndarray], MaskSet]:
    """Remove ``amount`` (count or fraction) of the channels at every hidden boundary, lowest
    score first. Returns the channel keep-masks and the weight ``MaskSet`` that zeroes them."""
    scores = scores or channel_scores(model)
    keep, masks = {}, MaskSet.ones(model)
    for group in channel_groups(model):
        layer_scores = scores[group["layer"]]
        count = resolve_amount(amount, layer_scores.shape[0])
        if count >= layer_scores.shape[0]:
            raise ValueError("cannot remove every channel of a layer")
        order = np.lexsort((np.arange(layer_scores.shape[0]), layer_scores))
        kept = np.ones(layer_scores.shape[0], dtype=bool)
        kept[order[:count]] = False
        keep[group["layer"]] = kept
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
    config = dict(source.config, hidden_channels=widths.pop())
    if not source.maps_to_out:
        raise ValueError("slicing needs a model with explicit out_channels")
    target = build_model(config)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    for group in channel_groups(source):
        index = torch.from_numpy(np.flatnonzero(keep[group["layer"]]))
        layer = group["layer"]
        for name in group["producers"]:
            state[f"{name}.weight"] = state[f"{name}.weight"][index]
            if f"{name}.bias" in state:
                state[f"{name}.bias"] = state[f"{name}.bias"][index]
        conv_bias = f"convs.{layer}.bias"
        if conv_bias in state:
            state[conv_bias] = state[conv_bias][index]
        for key in [k for k in state if k.startswith(f"norms.{layer}.")]:
            if state[key].dim() == 1:
                state[key] = state[key][index]
        for name in group["consumers"]:
            state[f"{name}.weight"] = state[f"{name}.weight"][:, index]
    target.load_state_dict(state)
    return target.eval()
