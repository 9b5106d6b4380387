"""Pruning: masks as data, importance criteria, the unstructured method and schedules.

>>> from sparsegnn.prune import MaskSet, magnitude, prune_weights   # doctest: +SKIP
>>> masks = prune_weights(model, magnitude(model), 0.9)              # doctest: +SKIP
>>> masks.apply(model); ...fine-tune...; MaskSet.bake(model)          # doctest: +SKIP
"""

from ..patterns import PATTERN_EXAMPLES, Pattern, PatternError
from .edges import (
    EDGE_CRITERIA,
    EdgePairs,
    agreement_scores,
    degree_scores,
    edge_scores,
    influence_scores,
    learn_edge_scores,
    prune_edges,
    resolve_edge_criterion,
)
from .masks import MaskError, MaskSet, prunable_weights
from .schedules import (
    SCHEDULES,
    PruneResult,
    PruningWarning,
    prune_model,
    resolve_sparsity,
    training_loss,
)
from .unstructured import (
    CRITERIA,
    Blocks,
    GradientSaliency,
    NOfM,
    PruningMethod,
    Unstructured,
    magnitude,
    prune_weights,
    random_scores,
    resolve_amount,
)

__all__ = [
    "Blocks", "CRITERIA", "EDGE_CRITERIA", "EdgePairs", "GradientSaliency", "NOfM",
    "PATTERN_EXAMPLES", "Pattern", "PatternError", "agreement_scores",
    "degree_scores", "edge_scores", "influence_scores", "resolve_edge_criterion",
    "learn_edge_scores", "prune_edges", "MaskError", "MaskSet", "PruneResult", "PruningMethod",
    "PruningWarning",
    "SCHEDULES", "Unstructured", "magnitude", "prunable_weights", "prune_model", "prune_weights",
    "random_scores", "resolve_amount", "resolve_sparsity", "training_loss",
]
