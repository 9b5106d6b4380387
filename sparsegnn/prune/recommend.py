"""Pruning a LightGCN recommender: interactions of the propagation graph and entries of the
embedding tables (the setting of LightGNN, WSDM 2025), then BPR fine-tuning with both fixed.

- Edges: a share of the training interactions leaves the graph that embeddings propagate
  over. They stay training positives for BPR, and seen items for serving (users did interact
  with them). Criteria: ``score`` (the default: the interactions the model scores lowest go
  first), ``degree`` (``1 / sqrt(deg u * deg i)``: interactions between very active users and
  popular items go first, as GCN normalisation already weighs them least; it loses far more
  recall on gowalla, see docs/pruning-results.md) and ``random``.
- Embedding entries: the smallest-magnitude entries are masked to zero (``LightGCN.set_mask``),
  per row by default (each user and item keeps its strongest dimensions) or over both tables
  at once (see ``embedding_keep``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..data.recsys import Interactions
from ..nn.lightgcn import (
    LightGCN,
    RecommenderConfig,
    bipartite_adjacency,
    evaluate_ranking,
    fit_recommender,
)
from ..sparse import CSRMatrix

__all__ = ["RECOMMENDER_EDGE_CRITERIA", "EMBEDDING_SCOPES", "RecommenderPruneResult",
           "prune_recommender", "interaction_scores", "drop_interactions", "embedding_keep"]

RECOMMENDER_EDGE_CRITERIA = ("degree", "score", "random")
EMBEDDING_SCOPES = ("row", "global")


@dataclass
class RecommenderPruneResult:
    before: dict  # {"valid": {...}, "test": {...}} Recall@k and NDCG@k
    after: dict
    graph: CSRMatrix  # the interactions the embeddings propagate over
    edges_kept: float
    embedding_kept: float
    seconds: float

    def report(self) -> dict:
        return {"before": self.before, "after": self.after, "seconds": self.seconds,
                "edges": {"kept": int(self.graph.nnz), "fraction_kept": self.edges_kept,
                          "fraction_pruned": 1 - self.edges_kept},
                "embedding_entries": {"fraction_kept": self.embedding_kept,
                                      "fraction_pruned": 1 - self.embedding_kept}}


def interaction_scores(criterion: str, model: LightGCN, train: CSRMatrix, seed: int = 0
                       ) -> np.ndarray:
    """One score per stored interaction of ``train`` (CSR order); the lowest go first."""
    users = train.row_ids().astype(np.int64)
    items = train.indices.astype(np.int64)
    if criterion == "degree":
        user_degree = np.diff(train.indptr).astype(np.float64)
        item_degree = np.bincount(items, minlength=train.shape[1]).astype(np.float64)
        return 1 / np.sqrt(user_degree[users] * item_degree[items])
    if criterion == "score":
        model.eval()
        with torch.no_grad():
            user_final, item_final = model.propagate(bipartite_adjacency(train))
        return (user_final[torch.from_numpy(users)] * item_final[torch.from_numpy(items)]
                ).sum(-1).double().numpy()
    if criterion == "random":
        return np.random.default_rng(seed).random(train.nnz)
    raise ValueError(f"edge criterion must be one of {RECOMMENDER_EDGE_CRITERIA}, got {criterion!r}")


def drop_interactions(train: CSRMatrix, scores: np.ndarray, fraction: float) -> CSRMatrix:
    """``train`` without its ``fraction`` lowest-scored interactions (exact count; ties by
    position)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must lie in [0, 1), got {fraction}")
    order = np.lexsort((np.arange(train.nnz), scores))
    keep = np.ones(train.nnz, dtype=bool)
    keep[order[: int(round(fraction * train.nnz))]] = False
    rows = train.row_ids()[keep]
    indptr = np.zeros(train.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=train.shape[0]), out=indptr[1:])
    return CSRMatrix(indptr, train.indices[keep], train.data[keep], train.shape)


def embedding_keep(model: LightGCN, sparsity: float, scope: str = "row") -> torch.Tensor:
    """Which entries of ``E0 (U + I, D)`` to keep: the largest in magnitude, ``1 - sparsity``
    of them in every row (``row``: each user and item keeps its strongest dimensions) or
    over both tables (``global``: rows of small norm, such as rarely seen users, may lose
    every entry). Entries pruned before stay pruned."""
    if scope not in EMBEDDING_SCOPES:
        raise ValueError(f"embedding scope must be one of {EMBEDDING_SCOPES}, got {scope!r}")
    with torch.no_grad():
        magnitudes = model.initial_embeddings().abs()
        keep = torch.ones(magnitudes.shape, dtype=torch.bool)
        if scope == "global":
            count = int(round(sparsity * magnitudes.numel()))
            order = torch.argsort(magnitudes.flatten(), stable=True)
            keep.view(-1)[order[:count]] = False
        else:
            count = int(round(sparsity * magnitudes.shape[1]))
            order = torch.argsort(magnitudes, dim=1, stable=True)
            keep.scatter_(1, order[:, :count], False)
        if model.masked:
            keep &= model.embedding_mask.bool()
    return keep


def _kept(train: CSRMatrix, graph: CSRMatrix) -> np.ndarray:
    """Per interaction of ``train`` (CSR order), whether ``graph`` (a subset of it) kept it."""
    width = np.int64(train.shape[1])
    full = train.row_ids().astype(np.int64) * width + train.indices
    kept = graph.row_ids().astype(np.int64) * width + graph.indices
    return np.isin(full, kept)


def _both_parts(model: LightGCN, adjacency, interactions: Interactions, k: int) -> dict:
    return {part: evaluate_ranking(model, adjacency, interactions, part, k)
            for part in ("valid", "test")}


def prune_recommender(model: LightGCN, interactions: Interactions, *, edge_sparsity: float = 0.0,
                      embedding_sparsity: float = 0.0, edge_criterion: str = "score",
                      embedding_scope: str = "row", finetune: RecommenderConfig | None = None,
                      seed: int = 0, rounds: int = 1) -> RecommenderPruneResult:
    """Prune ``model`` in place (edges first, scored on the current model, then embedding
    entries by magnitude) and fine-tune it with BPR, masks and graph fixed. With ``rounds``
    > 1, iteratively: round ``r`` prunes to ``r / rounds`` of each target (what was pruned
    stays pruned) and fine-tunes ``finetune.epochs`` epochs. ``finetune.distill`` > 0 also
    pulls the pruned model's score margins towards the dense model's (distillation)."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    for name, value in (("edge_sparsity", edge_sparsity), ("embedding_sparsity", embedding_sparsity)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {value}")
    if edge_criterion not in RECOMMENDER_EDGE_CRITERIA:
        raise ValueError(f"edge criterion must be one of {RECOMMENDER_EDGE_CRITERIA}, got "
                         f"{edge_criterion!r}")
    finetune = finetune or RecommenderConfig(progress=False, seed=seed)
    started = time.perf_counter()
    train = interactions.train
    before = _both_parts(model, bipartite_adjacency(train), interactions, finetune.k)
    teacher = None
    if finetune.distill:  # the dense model's final embeddings, fixed
        model.eval()
        with torch.no_grad():
            teacher = tuple(t.detach().clone() for t in model.propagate(bipartite_adjacency(train)))
    graph = train
    for round_ in range(1, rounds + 1):
        share = round_ / rounds
        if edge_sparsity:  # scored on the whole training graph; the lowest dropped so far stay
            scores = interaction_scores(edge_criterion, model, train, seed)
            if round_ > 1:  # interactions dropped in earlier rounds go first again
                scores = np.where(_kept(train, graph), scores, -np.inf)
            graph = drop_interactions(train, scores, edge_sparsity * share)
        if embedding_sparsity:
            model.set_mask(embedding_keep(model, embedding_sparsity * share, embedding_scope))
        adjacency = bipartite_adjacency(graph)
        fit_recommender(model, interactions, finetune, adjacency=adjacency, teacher=teacher)
    after = _both_parts(model, adjacency, interactions, finetune.k)
    kept = float(model.embedding_mask.mean()) if model.masked else 1.0
    return RecommenderPruneResult(before, after, graph, graph.nnz / max(train.nnz, 1), kept,
                                  time.perf_counter() - started)
