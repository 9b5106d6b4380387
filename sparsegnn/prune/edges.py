"""Edge sparsification for transductive node classification.

Edges are pruned as undirected pairs, so the graph stays symmetric; self loops are never pruned
(GCN adds its own). Two ways to score pairs:

* ``learn_edge_scores``: the unified graph sparsification of the graph-lottery-ticket work
  (Chen et al., 2021): a learnable weight per pair multiplies the edge weights, trained jointly
  with the model under an L1 penalty on the pair weights (and optionally on the model's weights);
  the pairs with the smallest learned magnitude go first. It needs a model that uses edge
  weights (GCN).
* ``degree_scores``: a one-shot heuristic for comparison: a pair scores its GCN normalisation
  weight ``1 / sqrt(deg u * deg v)``, so edges between hubs, which carry the least weight each,
  go first.
* ``agreement_scores``: one-shot, from the trained model's own predictions: the edges whose
  ends the model puts in different classes go first, then the rest by degree weight. Message
  passing averages neighbours, and edges between classes are the ones that blur a node's
  representation (homophily); no labels are read, only the model's outputs on the graph.
  Scoring by the product of the two ends' softmax outputs instead did worse than degree: it
  also removes the edges of uncertain nodes, which need their neighbours most.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import Dataset
from ..graph import Graph
from ..nn.graph_tensors import TorchGraph
from ..nn.train import node_inputs, seed_everything
from .masks import prunable_weights

__all__ = ["EdgePairs", "learn_edge_scores", "degree_scores", "random_edge_scores", "prune_edges",
           "EDGE_CRITERIA", "edge_scores", "agreement_scores"]

EDGE_CRITERIA = ("learned", "degree", "random", "agreement")


class EdgePairs:
    """The undirected pairs of a graph: ``pair[e]`` for every directed edge, -1 for loops.

    Shapes: ``pair (E,)``; ``num_pairs`` distinct unordered ``{u, v}`` with ``u != v``.
    """

    def __init__(self, graph: Graph):
        src, dst = graph.indices.astype(np.int64), graph.dst
        low, high = np.minimum(src, dst), np.maximum(src, dst)
        loops = src == dst
        keys = low * graph.num_nodes + high
        unique, inverse = np.unique(keys[~loops], return_inverse=True)
        self.pair = np.full(graph.num_edges, -1, dtype=np.int64)
        self.pair[~loops] = inverse
        self.num_pairs = int(unique.shape[0])
        self.graph = graph


def _pair_scores(graph: Graph, edge_score: np.ndarray) -> np.ndarray:
    """Per-pair scores from a symmetric per-edge score. Shapes: ``(E,)`` -> ``(num_pairs,)``."""
    pairs = EdgePairs(graph)
    scores = np.zeros(pairs.num_pairs)
    valid = pairs.pair >= 0
    scores[pairs.pair[valid]] = edge_score[valid]
    return scores


def degree_scores(graph: Graph) -> np.ndarray:
    """``1 / sqrt(deg u * deg v)`` per undirected pair (higher = keep). Shape: ``(num_pairs,)``."""
    degree = graph.in_degree().astype(np.float64) + 1  # + the self loop GCN adds
    src, dst = graph.indices.astype(np.int64), graph.dst
    return _pair_scores(graph, 1 / np.sqrt(degree[src] * degree[dst]))


def agreement_scores(model, dataset: Dataset) -> np.ndarray:
    """Per undirected pair: 1 if ``model`` predicts the same class for both ends (on the full
    graph), plus the pair's degree weight in (0, 1], which orders the pairs within each group
    (higher = keep). Shape: ``(num_pairs,)``."""
    if dataset.is_graph_task:
        raise ValueError("edge sparsification is for transductive node classification")
    x, graph, _ = node_inputs(dataset)
    model.eval()
    with torch.no_grad():
        predicted = model(x, graph).argmax(dim=-1).numpy()
    src, dst = dataset.graph.indices.astype(np.int64), dataset.graph.dst
    same_class = (predicted[src] == predicted[dst]).astype(np.float64)
    return _pair_scores(dataset.graph, same_class) + degree_scores(dataset.graph)


def random_edge_scores(graph: Graph, seed: int = 0) -> np.ndarray:
    """Uniform random pair scores (the baseline). Shape: ``(num_pairs,)``."""
    return np.random.default_rng(seed).random(EdgePairs(graph).num_pairs)


def edge_scores(criterion: str, model, dataset: Dataset, *, split: int = 0, seed: int = 0,
                epochs: int = 100) -> np.ndarray:
    """Pair scores by ``criterion`` ("learned", "degree", "random" or "agreement")."""
    if criterion == "learned":
        return learn_edge_scores(model, dataset, epochs=epochs, split=split, seed=seed)
    if criterion == "degree":
        return degree_scores(dataset.graph)
    if criterion == "random":
        return random_edge_scores(dataset.graph, seed)
    if criterion == "agreement":
        return agreement_scores(model, dataset)
    raise ValueError(f"edge criterion must be one of {EDGE_CRITERIA}, got {criterion!r}")


def learn_edge_scores(model, dataset: Dataset, *, epochs: int = 200, lr: float = 0.01,
                      edge_l1: float = 1.0, weight_l1: float = 1e-4, split: int = 0,
                      seed: int = 0) -> np.ndarray:
    """Train ``model`` jointly with one weight per undirected pair under L1 penalties and
    return the pairs' learned magnitudes (higher = keep). The model's weights are updated too
    (as in UGS, the next step prunes and fine-tunes from them). Shape: ``(num_pairs,)``.
    """
    if model.kind != "gcn":
        raise ValueError(f"learned edge masks need a model that weighs edges (gcn), got "
                         f"{model.kind!r}; use the degree heuristic for other models")
    if dataset.is_graph_task:
        raise ValueError("edge sparsification is for transductive node classification")
    seed_everything(seed)
    pairs = EdgePairs(dataset.graph)
    x, graph, y = node_inputs(dataset)
    train = torch.from_numpy(dataset.splits[split].train)
    pair_index = torch.from_numpy(np.where(pairs.pair >= 0, pairs.pair, pairs.num_pairs))
    base = torch.from_numpy(dataset.graph.weights(np.float32))
    mask = torch.nn.Parameter(torch.ones(pairs.num_pairs))
    weights = [module.weight for module in prunable_weights(model).values()]
    optimizer = torch.optim.Adam([{"params": model.parameters(), "weight_decay": 5e-4},
                                  {"params": [mask], "weight_decay": 0.0}], lr=lr)
    model.train()
    for _ in range(epochs):
        optimizer.zero_grad()
        # loops (index num_pairs) keep weight 1: the padded entry of the mask
        edge_weight = base * torch.cat([mask, torch.ones(1)])[pair_index]
        weighted = TorchGraph(graph.src, graph.dst, graph.num_nodes, edge_weight)
        loss = F.cross_entropy(model(x, weighted)[train], y[train])
        loss = loss + edge_l1 * mask.abs().mean()
        if weight_l1:
            loss = loss + weight_l1 * sum(w.abs().sum() for w in weights)
        loss.backward()
        optimizer.step()
    model.eval()
    return mask.detach().abs().numpy().astype(np.float64)


def prune_edges(graph: Graph, scores: np.ndarray, fraction: float) -> Graph:
    """Remove ``fraction`` of the undirected pairs (exact count, lowest scores first, both
    directions together); self loops stay. The result is unweighted if ``graph`` was."""
    if isinstance(fraction, bool) or not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"edge fraction must lie in [0, 1], got {fraction!r}")
    pairs = EdgePairs(graph)
    if scores.shape != (pairs.num_pairs,):
        raise ValueError(f"scores must have shape ({pairs.num_pairs},), got {scores.shape}")
    count = int(round(fraction * pairs.num_pairs))
    order = np.lexsort((np.arange(pairs.num_pairs), scores))
    keep_pair = np.ones(pairs.num_pairs, dtype=bool)
    keep_pair[order[:count]] = False
    keep = (pairs.pair < 0) | keep_pair[np.maximum(pairs.pair, 0)]
    weight = None if graph.edge_weight is None else graph.edge_weight[keep]
    dst = graph.dst[keep]
    indptr = np.zeros(graph.num_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=graph.num_nodes), out=indptr[1:])
    return Graph(indptr, graph.indices[keep], graph.num_nodes, weight)
