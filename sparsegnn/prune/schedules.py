"""Pruning schedules over the training loop: one-shot then fine-tune; iterative (prune a share,
retrain, repeat; optionally rewinding kept weights to their initial values as in lottery
tickets); gradual (Zhu & Gupta's cubic ramp ``s_k = s (1 - (1 - k/n)^3)``, a few epochs of
training between steps, then a final fine-tune). Training always runs with the masks applied,
so pruned weights stay exactly zero.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import Dataset
from ..graph import Graph
from ..nn.train import TrainConfig, evaluate, fit, graph_batches, node_inputs
from ..patterns import Pattern
from .edges import edge_scores, prune_edges
from .explain import explain_masks, explainer_scores, integrated_gradients
from .masks import MaskSet
from .unstructured import (
    CRITERIA,
    MIN_LAYER_DENSITY,
    GradientSaliency,
    magnitude,
    prune_weights,
    random_scores,
)

__all__ = ["PruneResult", "PruningWarning", "prune_model", "resolve_sparsity", "training_loss",
           "SCHEDULES", "LabelTask"]


class PruningWarning(UserWarning):
    """A pruning result that is probably not what was meant (a weight matrix nearly gone)."""

SCHEDULES = ("oneshot", "iterative", "gradual")


def training_loss(dataset: Dataset, split: int = 0, batch_size: int = 128, seed: int = 0):
    """``loss_fn(model)`` on the training part of a split (one random batch for graph tasks)."""
    chosen = dataset.splits[split]
    if not dataset.is_graph_task:
        x, graph, y = node_inputs(dataset)
        train = torch.from_numpy(chosen.train)
        return lambda model: F.cross_entropy(model(x, graph)[train], y[train])
    rng = np.random.default_rng(seed)

    def loss(model):
        bx, bgraph, bbatch, by, count = next(graph_batches(dataset, chosen.train, batch_size, rng))
        return F.cross_entropy(model(bx, bgraph, bbatch, num_graphs=count), by)

    return loss


# L1 coefficient of the sparsity-inducing training that precedes magnitude scoring ("l1"):
# large enough to shrink unimportant weights within the fine-tuning budget, small next to the
# cross-entropy of a trained model (a 2-layer Cora GCN has ~23k weights of |w| ~ 0.05).
L1_STRENGTH = 1e-4


def _scores(criterion: str, model, dataset: Dataset, split: int, seed: int,
            finetune: TrainConfig | None = None):
    if criterion == "magnitude":
        return magnitude(model)
    if criterion == "random":
        return random_scores(seed)(model)
    if criterion == "saliency":
        return GradientSaliency(training_loss(dataset, split, seed=seed), steps=10)(model)
    if criterion == "ig":
        return {key: np.abs(value) for key, value in
                integrated_gradients(model, dataset, split, seed=seed).items()}
    if criterion == "explainer":
        return explainer_scores(model, explain_masks(model, dataset, split, seed=seed))
    if criterion == "l1":  # L1-regularised training, then magnitude
        config = finetune or TrainConfig(epochs=100, patience=None, progress=False)
        fit(model, dataset, split, replace(config, l1=L1_STRENGTH, seed=seed))
        return magnitude(model)
    raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")


def resolve_sparsity(sparsity: float | None, pattern: str) -> float:
    """The weight sparsity to reach: ``sparsity``, or the one an N:M ``pattern`` fixes (given
    both, they must agree). Raises ``ValueError`` (a bad pattern: ``PatternError``)."""
    fixed = Pattern.parse(pattern).sparsity
    if fixed is None:
        if sparsity is None:
            raise ValueError(f"pattern {pattern!r} needs a weight sparsity")
        return float(sparsity)
    if sparsity is not None and abs(float(sparsity) - fixed) > 1e-6:
        raise ValueError(f"pattern {pattern} fixes the weight sparsity at {fixed:.4f}, "
                         f"asked {sparsity}")
    return fixed


@dataclass
class PruneResult:
    """Masks reached, scores before/after, and the pruned graph when edges were pruned."""

    masks: MaskSet
    before: dict
    after: dict
    seconds: float
    rounds: list[dict] = field(default_factory=list)
    graph: Graph | None = None
    edges_kept: float = 1.0

    def report(self) -> dict:
        report = {"before": self.before, "after": self.after, "seconds": self.seconds,
                  "rounds": self.rounds, "pattern": self.masks.pattern,
                  "masks": self.masks.summary()}
        if self.graph is not None:
            report["edges"] = {"kept_edges": self.graph.num_edges,
                               "fraction_kept": self.edges_kept,
                               "fraction_pruned": 1 - self.edges_kept}
        return report


@dataclass(frozen=True)
class LabelTask:
    """What a schedule trains and scores: the labels of ``dataset.splits[split]`` (node or
    graph classification, regression). Link prediction has its own (``prune.links``)."""

    dataset: Dataset
    split: int = 0

    @property
    def graph(self) -> Graph:
        return self.dataset.graph

    def with_graph(self, graph: Graph) -> LabelTask:
        return replace(self, dataset=replace(self.dataset, graph=graph))

    def fit(self, model, config: TrainConfig):
        return fit(model, self.dataset, self.split, config)

    def evaluate(self, model) -> dict:
        return evaluate(model, self.dataset, self.split)

    def weight_scores(self, criterion: str, model, seed: int, finetune: TrainConfig):
        return _scores(criterion, model, self.dataset, self.split, seed, finetune)

    def edge_scores(self, criterion: str, model, fraction: float, seed: int) -> np.ndarray:
        if self.dataset.is_graph_task:
            raise ValueError("edge sparsification is for node classification (one stored graph)")
        return edge_scores(criterion, model, self.dataset, fraction=fraction, split=self.split,
                           seed=seed)


def prune_model(model, dataset: Dataset, sparsity: float | None, *,
                criterion: str = "magnitude", scope: str = "global", schedule: str = "oneshot",
                rounds: int = 3, rewind: bool = False, split: int = 0,
                finetune: TrainConfig | None = None, seed: int = 0, edge_sparsity: float = 0.0,
                edge_criterion: str = "auto", distill: bool = False,
                pattern: str = "unstructured",
                min_layer_density: float = MIN_LAYER_DENSITY, task=None) -> PruneResult:
    """Prune ``model``'s weights to ``sparsity`` in ``pattern`` (``prune.patterns``) and
    fine-tune it with the masks fixed. An N:M pattern fixes the sparsity (``sparsity`` None,
    or ``1 - N/M``); every schedule's steps ramp towards it.

    With ``edge_sparsity`` (node tasks), that fraction of undirected edges is removed first,
    scored by ``edge_criterion`` (see ``prune.edges``); fine-tuning and the scores ``after``
    then use the pruned graph, returned as ``result.graph``. The model is left reparametrised
    (``MaskSet.bake`` makes the zeros permanent). ``before``/``after`` are evaluation scores on
    ``dataset.splits[split]``. ``distill`` fine-tunes against the dense model's outputs as well
    as the labels (knowledge distillation, see ``TrainConfig.teacher``). Under global scope
    each weight matrix keeps at least ``min_layer_density`` of its weights (``prune_weights``);
    a matrix left with less than ``MIN_LAYER_DENSITY`` is named in a ``PruningWarning``.
    ``task`` replaces what is trained and scored (default: ``LabelTask(dataset, split)``;
    ``prune.links.LinkTask`` for link prediction).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    sparsity = resolve_sparsity(sparsity, pattern)
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    task = task or LabelTask(dataset, split)
    finetune = finetune or TrainConfig(epochs=100, patience=None, progress=False)
    if distill:
        teacher = copy.deepcopy(model).eval()
        for parameter in teacher.parameters():
            parameter.requires_grad_(False)
        finetune = replace(finetune, teacher=teacher)
    started = time.perf_counter()
    before = task.evaluate(model)
    pruned_graph, edges_kept = None, 1.0
    if edge_sparsity:
        scores = task.edge_scores(edge_criterion, model, edge_sparsity, seed)
        full = task.graph
        pruned_graph = prune_edges(full, scores, edge_sparsity)
        edges_kept = (pruned_graph.num_edges - pruned_graph.num_self_loops) / max(
            full.num_edges - full.num_self_loops, 1)
        task = task.with_graph(pruned_graph)
    initial = copy.deepcopy(model.state_dict()) if rewind else None
    if schedule == "oneshot":
        steps = [sparsity]
    elif schedule == "iterative":  # the same share of the remaining weights every round
        steps = [1 - (1 - sparsity) ** (r / rounds) for r in range(1, rounds + 1)]
    else:  # gradual: cubic ramp, short training between steps, full fine-tune after the last
        steps = [sparsity * (1 - (1 - r / rounds) ** 3) for r in range(1, rounds + 1)]
    between = replace(finetune, epochs=max(1, finetune.epochs // (2 * rounds)), patience=None)
    masks, history = MaskSet.ones(model, pattern=Pattern.parse(pattern).name), []
    for step, target in enumerate(steps):
        scores = task.weight_scores(criterion, model, seed + step, replace(finetune, teacher=None))
        masks = prune_weights(model, scores, target, scope=scope, prior=masks, pattern=pattern,
                              min_layer_density=min_layer_density)
        if initial is not None:
            MaskSet.bake(model)
            model.load_state_dict(initial)
        masks.apply(model)
        last = step == len(steps) - 1
        config = finetune if schedule != "gradual" or last else between
        result = task.fit(model, replace(config, seed=finetune.seed + step))
        history.append({"round": step + 1, "sparsity": masks.sparsity,
                        "val": result.val_score, "test": result.test_score})
    thin = masks.thin_layers(MIN_LAYER_DENSITY)
    if thin:
        warnings.warn(f"{', '.join(thin)} keep less than {MIN_LAYER_DENSITY:.0%} of their weights "
                      f"(accuracy may have collapsed there)", PruningWarning, stacklevel=2)
    return PruneResult(masks=masks, before=before, after=task.evaluate(model),
                       seconds=time.perf_counter() - started, rounds=history,
                       graph=pruned_graph, edges_kept=edges_kept)
