"""Unstructured weight pruning: importance criteria, the pruning method, and the driver.

Criteria are callables ``criterion(model) -> {param_key: scores}`` (one score per weight, higher
= more important), so criteria and methods combine freely. ``Unstructured`` turns scores into a
mask, keeping every earlier zero. ``prune_weights`` reaches a target sparsity exactly, per layer
or globally.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .masks import MaskSet, prunable_weights

__all__ = ["PruningMethod", "Unstructured", "magnitude", "random_scores", "GradientSaliency",
           "prune_weights", "resolve_amount", "CRITERIA"]

Scores = dict[str, np.ndarray]


def resolve_amount(amount, available: int) -> int:
    """``amount`` as a count of units: an int is a count, a float a fraction of ``available``.

    Raises ``ValueError`` for negatives, fractions above 1, bools and counts above
    ``available``.
    """
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.integer, np.floating)):
        raise ValueError(f"amount must be an int (count) or a float (fraction), got {amount!r}")
    if isinstance(amount, (float, np.floating)):
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"a fractional amount must lie in [0, 1], got {amount}")
        return int(round(float(amount) * available))
    if amount < 0:
        raise ValueError(f"amount must be non-negative, got {amount}")
    if amount > available:
        raise ValueError(f"cannot prune {amount} units: only {available} remain")
    return int(amount)


class PruningMethod:
    """Turns importance scores into a keep-mask. Subclasses declare ``KIND`` and implement
    ``compute_mask(scores, prior_mask)``; they never touch a model."""

    KIND: str

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "KIND", None) not in ("unstructured", "structured"):
            raise TypeError(f"{cls.__name__}.KIND must be 'unstructured' or 'structured', got "
                            f"{getattr(cls, 'KIND', None)!r}")

    def __init__(self, *, amount):
        resolve_amount(amount, np.iinfo(np.int64).max)  # validate early: type, sign, range
        self.amount = amount

    def compute_mask(self, scores: np.ndarray, prior_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Unstructured(PruningMethod):
    """Prune ``amount`` of the still-kept entries with the lowest scores (exact count; ties go
    to the lower flat index)."""

    KIND = "unstructured"

    def compute_mask(self, scores: np.ndarray, prior_mask: np.ndarray) -> np.ndarray:
        if scores.shape != prior_mask.shape:
            raise ValueError(f"scores {scores.shape} and mask {prior_mask.shape} differ in shape")
        kept = np.flatnonzero(prior_mask)
        count = resolve_amount(self.amount, kept.size)
        mask = prior_mask.copy()
        if count:
            order = np.lexsort((kept, scores.reshape(-1)[kept]))  # by score, then by index
            mask.reshape(-1)[kept[order[:count]]] = False
        return mask


# ----------------------------------------------------------------------------- criteria
def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{name}.weight": module.weight for name, module in prunable_weights(model).items()}


def magnitude(model: torch.nn.Module) -> Scores:
    """|w| of the effective (masked) weights."""
    return {key: weight.detach().abs().cpu().numpy() for key, weight in _weights(model).items()}


def random_scores(seed: int = 0) -> Callable[[torch.nn.Module], Scores]:
    """Uniform random scores: the baseline every pruning paper compares against."""

    def criterion(model: torch.nn.Module) -> Scores:
        rng = np.random.default_rng(seed)
        return {key: rng.random(tuple(weight.shape)) for key, weight in _weights(model).items()}

    return criterion


class GradientSaliency:
    """``|w * dL/dw|`` accumulated over ``steps`` training-mode passes of ``loss_fn(model)``
    (first-order Taylor estimate of the loss change when a weight is removed)."""

    def __init__(self, loss_fn: Callable[[torch.nn.Module], torch.Tensor], steps: int = 10):
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.loss_fn, self.steps = loss_fn, steps

    def __call__(self, model: torch.nn.Module) -> Scores:
        was_training = model.training
        model.train()
        totals: Scores = {}
        params = dict(model.named_parameters())
        for _ in range(self.steps):
            model.zero_grad()
            self.loss_fn(model).backward()
            for key, weight in _weights(model).items():
                # the gradient lives on weight_orig when the module is reparametrised
                source = params.get(key) if key in params else params[key + "_orig"]
                value = (weight.detach() * source.grad.detach()).abs().cpu().numpy()
                totals[key] = totals.get(key, 0) + value
        model.zero_grad()
        model.train(was_training)
        return totals


CRITERIA = ("magnitude", "random", "saliency", "l1")  # l1: L1-regularised training, then magnitude


# ----------------------------------------------------------------------------- driver
def prune_weights(model: torch.nn.Module, scores: Scores, sparsity: float, *,
                  scope: str = "layer", prior: MaskSet | None = None) -> MaskSet:
    """Masks reaching ``sparsity`` (fraction of prunable weights pruned) exactly.

    ``scope="layer"`` prunes every weight matrix to the same sparsity; ``"global"`` ranks all
    weights together. Every zero of ``prior`` stays zero; a target below the prior's sparsity
    raises ``ValueError``.
    """
    if scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    if isinstance(sparsity, bool) or not 0.0 <= float(sparsity) <= 1.0:
        raise ValueError(f"sparsity must lie in [0, 1], got {sparsity!r}")
    prior = prior or MaskSet.ones(model)
    prior.check(model)
    if set(scores) != set(prior.weights):
        raise ValueError(f"scores cover {sorted(scores)}, masks cover {sorted(prior.weights)}")
    masks = {}
    if scope == "layer":
        for key, mask in prior.weights.items():
            target = int(round(sparsity * mask.size))
            already = int(mask.size - mask.sum())
            if target < already:
                raise ValueError(f"{key} is already {already / mask.size:.3f} sparse, more than "
                                 f"the target {sparsity}")
            masks[key] = Unstructured(amount=target - already).compute_mask(scores[key], mask)
        return MaskSet(masks)
    keys = sorted(prior.weights)
    flat_scores = np.concatenate([np.asarray(scores[k], np.float64).reshape(-1) for k in keys])
    flat_mask = np.concatenate([prior.weights[k].reshape(-1) for k in keys])
    target = int(round(sparsity * flat_mask.size))
    already = int(flat_mask.size - flat_mask.sum())
    if target < already:
        raise ValueError(f"the model is already {already / flat_mask.size:.3f} sparse, more than "
                         f"the target {sparsity}")
    flat = Unstructured(amount=target - already).compute_mask(flat_scores, flat_mask)
    offset = 0
    for key in keys:
        size = prior.weights[key].size
        masks[key] = flat[offset:offset + size].reshape(prior.weights[key].shape)
        offset += size
    return MaskSet(masks)
