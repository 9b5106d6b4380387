"""Weight pruning: importance criteria, the pruning methods, and the driver.

Criteria are callables ``criterion(model) -> {param_key: scores}`` (one score per weight, higher
= more important), so criteria and methods combine freely. ``Unstructured`` turns scores into a
mask, keeping every earlier zero; ``Blocks`` and ``NOfM`` do the same for the semi-structured
patterns of ``prune.patterns``. ``prune_weights`` reaches a target sparsity, per layer or
globally, in any pattern: exactly for unstructured weights, to the nearest whole block for
blocks, and as ``1 - N/M`` for N:M.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..patterns import Pattern, block_scores, expand_blocks, n_of_m_mask
from .masks import MaskSet, prunable_weights

__all__ = ["PruningMethod", "Unstructured", "Blocks", "NOfM", "magnitude", "random_scores",
           "GradientSaliency", "prune_weights", "resolve_amount", "CRITERIA", "MIN_LAYER_DENSITY",
           "max_global_sparsity"]

Scores = dict[str, np.ndarray]


# The share of each weight matrix that global pruning keeps unless told otherwise (see
# prune_weights), and below which a pruned matrix is named in a warning.
MIN_LAYER_DENSITY = 0.01


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


KINDS = ("unstructured", "semi-structured", "structured")


class PruningMethod:
    """Turns importance scores into a keep-mask. Subclasses declare ``KIND`` (one of
    ``KINDS``) and implement ``compute_mask(scores, prior_mask)``; they never touch a model."""

    KIND: str

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "KIND", None) not in KINDS:
            raise TypeError(f"{cls.__name__}.KIND must be one of {KINDS}, got "
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


class Blocks(PruningMethod):
    """Prune ``amount`` of the still-kept blocks of ``pattern`` (an ``RxC`` name) with the
    lowest mean score; a pruned block loses all its weights. Masks are ``(out, in)``."""

    KIND = "semi-structured"

    def __init__(self, *, amount, pattern):
        super().__init__(amount=amount)
        self.pattern = Pattern.parse(pattern)
        if self.pattern.kind != "block":
            raise ValueError(f"Blocks needs an RxC pattern, got {self.pattern.name!r}")

    def compute_mask(self, scores: np.ndarray, prior_mask: np.ndarray) -> np.ndarray:
        if scores.shape != prior_mask.shape:
            raise ValueError(f"scores {scores.shape} and mask {prior_mask.shape} differ in shape")
        means, _, kept = block_scores(scores, prior_mask, self.pattern)
        candidates = np.flatnonzero(kept)
        count = resolve_amount(self.amount, candidates.size)
        keep = kept.copy()
        order = np.lexsort((candidates, means.reshape(-1)[candidates]))
        keep.reshape(-1)[candidates[order[:count]]] = False
        return expand_blocks(keep, scores.shape, self.pattern) & prior_mask


class NOfM(PruningMethod):
    """Keep the ``keep`` best-scored of every ``group`` consecutive inputs of each output (of
    those still kept). Masks are ``(out, in)``."""

    KIND = "semi-structured"

    def __init__(self, *, keep: int, group: int):
        if not 1 <= keep <= group:
            raise ValueError(f"N:M needs 1 <= N <= M, got {keep}:{group}")
        self.keep, self.group = int(keep), int(group)

    def compute_mask(self, scores: np.ndarray, prior_mask: np.ndarray) -> np.ndarray:
        if scores.shape != prior_mask.shape:
            raise ValueError(f"scores {scores.shape} and mask {prior_mask.shape} differ in shape")
        return n_of_m_mask(scores, prior_mask, self.keep, self.group)


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


# l1: L1-regularised training, then magnitude; ig and explainer: prune.explain
CRITERIA = ("magnitude", "random", "saliency", "l1", "ig", "explainer")


# ----------------------------------------------------------------------------- driver
def prune_weights(model: torch.nn.Module, scores: Scores, sparsity: float, *,
                  scope: str = "layer", prior: MaskSet | None = None,
                  pattern: str | Pattern = "unstructured",
                  min_layer_density: float = MIN_LAYER_DENSITY) -> MaskSet:
    """Masks reaching ``sparsity`` (fraction of prunable weights pruned) in ``pattern``.

    ``scope="layer"`` prunes every weight matrix to the same sparsity; ``"global"`` ranks all
    weights (or blocks, by their mean score) together, except that each matrix keeps its
    ``min_layer_density`` best-scored weights (at least one; 0: a matrix may vanish), and a
    target that cannot be met so raises ``ValueError`` (ranked globally, a small output layer
    can otherwise lose every weight: a GIN head at 90 % did, and the model fell to chance).
    Unstructured targets are met exactly, block targets to the nearest whole block; an N:M
    pattern keeps ``max(N, ceil((1 - sparsity) M))`` of every M inputs, so a schedule's steps
    ramp towards it and its last step (``sparsity = 1 - N/M``) lands on it, whatever the scope.
    Every zero of ``prior`` stays zero; a target below the prior's sparsity raises
    ``ValueError``.
    """
    if scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    if isinstance(min_layer_density, bool) or not 0.0 <= float(min_layer_density) <= 1.0:
        raise ValueError(f"min_layer_density must lie in [0, 1], got {min_layer_density!r}")
    if isinstance(sparsity, bool) or not 0.0 <= float(sparsity) <= 1.0:
        raise ValueError(f"sparsity must lie in [0, 1], got {sparsity!r}")
    pattern = Pattern.parse(pattern)
    prior = prior or MaskSet.ones(model)
    prior.check(model)
    if set(scores) != set(prior.weights):
        raise ValueError(f"scores cover {sorted(scores)}, masks cover {sorted(prior.weights)}")
    keys = sorted(prior.weights)
    if pattern.kind == "n:m":
        if sparsity > pattern.sparsity + 1e-9:
            raise ValueError(f"{pattern.name} keeps {pattern.keep} of every {pattern.group} "
                             f"weights: at most {pattern.sparsity:.4f} sparse, asked {sparsity}")
        keep = max(pattern.keep, int(np.ceil(round((1 - sparsity) * pattern.group, 9))))
        method = NOfM(keep=keep, group=pattern.group)
        return MaskSet({key: method.compute_mask(np.asarray(scores[key], np.float64),
                                                 prior.weights[key]) for key in keys},
                       pattern=pattern.name)
    block = pattern.kind == "block"
    if scope == "layer":
        masks = {}
        for key in keys:
            mask = prior.weights[key]
            target = int(round(sparsity * mask.size))
            already = int(mask.size - mask.sum())
            if target < already:
                raise ValueError(f"{key} is already {already / mask.size:.3f} sparse, more than "
                                 f"the target {sparsity}")
            if block:
                masks[key] = _prune_blocks([scores[key]], [mask], target, pattern)[0]
            else:
                masks[key] = Unstructured(amount=target - already).compute_mask(scores[key], mask)
        return MaskSet(masks, pattern=pattern.name)
    total = sum(prior.weights[k].size for k in keys)
    target = int(round(sparsity * total))
    already = total - sum(int(prior.weights[k].sum()) for k in keys)
    if target < already:
        raise ValueError(f"the model is already {already / total:.3f} sparse, more than the "
                         f"target {sparsity}")
    scores, protected = _protect_layers(scores, prior, keys, min_layer_density, pattern)
    if target - already > total - already - protected:
        raise ValueError(f"global sparsity {sparsity} would leave a weight matrix with less than "
                         f"{min_layer_density:.0%} of its weights (min_layer_density); lower "
                         f"the sparsity, or pass min_layer_density=0 to let matrices vanish")
    if block:
        pruned = _prune_blocks([scores[k] for k in keys], [prior.weights[k] for k in keys],
                               target, pattern)
        return MaskSet(dict(zip(keys, pruned)), pattern=pattern.name)
    flat_scores = np.concatenate([np.asarray(scores[k], np.float64).reshape(-1) for k in keys])
    flat_mask = np.concatenate([prior.weights[k].reshape(-1) for k in keys])
    flat = Unstructured(amount=target - already).compute_mask(flat_scores, flat_mask)
    masks, offset = {}, 0
    for key in keys:
        size = prior.weights[key].size
        masks[key] = flat[offset:offset + size].reshape(prior.weights[key].shape)
        offset += size
    return MaskSet(masks, pattern=pattern.name)


def max_global_sparsity(model: torch.nn.Module,
                        min_layer_density: float = MIN_LAYER_DENSITY) -> float:
    """The highest unstructured sparsity global pruning can reach while each weight matrix keeps
    ``min_layer_density`` of its weights (at least one; see ``prune_weights``)."""
    sizes = [module.weight.numel() for module in prunable_weights(model).values()]
    if min_layer_density <= 0:
        return 1.0
    kept = sum(max(1, int(np.ceil(min_layer_density * size))) for size in sizes)
    return 1.0 - kept / max(sum(sizes), 1)


def _protect_layers(scores: Scores, prior: MaskSet, keys: list, min_density: float,
                    pattern: Pattern) -> tuple[Scores, int]:
    """``scores`` with each matrix's best ``min_density`` share of kept units (weights, or the
    pattern's blocks by mean score; at least one) raised to +inf, so a global ranking prunes
    them last; and how many weights that protects. (Protecting the best weights of a block
    pattern instead would protect every block holding one: up to a block's size times more.)"""
    if min_density <= 0:
        return scores, 0
    protected_scores, protected = dict(scores), 0
    for key in keys:
        mask = prior.weights[key]
        layer = np.array(scores[key], np.float64)
        if pattern.kind == "block":
            means, _, kept = block_scores(layer, mask, pattern)
            units = np.where(kept.reshape(-1), means.reshape(-1), -np.inf)
            count = min(int(kept.sum()), max(1, int(np.ceil(min_density * kept.size))))
        else:
            units = np.where(mask.reshape(-1), layer.reshape(-1), -np.inf)
            count = min(int(mask.sum()), max(1, int(np.ceil(min_density * mask.size))))
        best = np.zeros(units.size, bool)
        best[np.argsort(units, kind="stable")[units.size - count:]] = True
        if pattern.kind == "block":
            best = expand_blocks(best.reshape(kept.shape), mask.shape, pattern).reshape(-1)
        best &= mask.reshape(-1).astype(bool)
        layer.reshape(-1)[best] = np.inf
        protected_scores[key] = layer
        protected += int(best.sum())
    return protected_scores, protected


def _prune_blocks(scores: list, priors: list, target: int, pattern: Pattern) -> list:
    """Prune whole blocks of ``pattern`` across the given matrices, lowest mean score first,
    until the pruned weights come nearest to ``target`` (whole blocks only)."""
    means, counts, kept = zip(*(block_scores(np.asarray(s, np.float64), p, pattern)
                                for s, p in zip(scores, priors)))
    flat_means = np.concatenate([m.reshape(-1) for m in means])
    flat_kept = np.concatenate([k.reshape(-1) for k in kept])
    # pruning a block frees its still-kept weights (a prior zero inside it is already counted)
    flat_free = np.concatenate([c.reshape(-1) for c in counts])
    already = sum(p.size - int(p.sum()) for p in priors)
    candidates = np.flatnonzero(flat_kept)
    order = candidates[np.lexsort((candidates, flat_means[candidates]))]
    reached = already + np.concatenate([[0], np.cumsum(flat_free[order])])
    count = int(np.argmin(np.abs(reached - target)))
    flat_kept = flat_kept.copy()
    flat_kept[order[:count]] = False
    out, offset = [], 0
    for prior, block_mask in zip(priors, kept):
        size = block_mask.size
        keep = flat_kept[offset:offset + size].reshape(block_mask.shape)
        out.append(expand_blocks(keep, prior.shape, pattern) & prior)
        offset += size
    return out

