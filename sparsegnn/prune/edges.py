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
* ``explainer``: the edge mask of ``prune.explain.explain_masks`` (GNNExplainer-style, learned
  to keep the model's predictions on the training nodes under size and entropy penalties).
  Needs a model that weighs edges (GCN).
* ``influence_scores``: greedy and first-order, from the trained model itself: in 25 steps,
  the pairs whose removal raises the model's cross-entropy against its full-graph predictions
  (all nodes, no labels) the least go first, the gradient taken again on the thinned graph
  after each step, and no node loses its last neighbour while another pair can go. Needs a
  model that weighs edges (GCN).

``"auto"`` (the default) picks influence for models that weigh edges and agreement otherwise:
on Cora and CiteSeer GCNs it kept the most accuracy from 40 % of edges on (the criteria's
accuracies, and how influence got there, are in docs/pruning-results.md).
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
           "EDGE_CRITERIA", "edge_scores", "agreement_scores", "influence_scores",
           "resolve_edge_criterion"]

EDGE_CRITERIA = ("auto", "influence", "agreement", "learned", "explainer", "degree", "random")

# Models whose layers multiply messages by edge weights, so a mask over edges has a gradient.
EDGE_WEIGHTED_KINDS = ("gcn",)

INFLUENCE_STEPS = 25


class EdgePairs:
    """The undirected pairs of a graph: ``pair[e]`` for every directed edge, -1 for loops, and
    each pair's two nodes.

    Shapes: ``pair (E,)``, ``ends (2, num_pairs)`` (smaller id first); ``num_pairs`` distinct
    unordered ``{u, v}`` with ``u != v``.
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
        self.ends = np.stack([unique // max(graph.num_nodes, 1), unique % max(graph.num_nodes, 1)])
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


def _pair_weighting(dataset: Dataset):
    """``weigh(pair_weight) -> (x, graph)``: the model's inputs with every directed edge
    weighted by its pair's entry of ``pair_weight`` (shape ``(num_pairs,)``), differentiably;
    self loops keep their weight."""
    pairs = EdgePairs(dataset.graph)
    x, graph, _ = node_inputs(dataset)
    # loops (index num_pairs) keep weight 1: the padded entry
    pair_index = torch.from_numpy(np.where(pairs.pair >= 0, pairs.pair, pairs.num_pairs))
    base = torch.from_numpy(dataset.graph.weights(np.float32))

    def weigh(pair_weight: torch.Tensor):
        edge_weight = base * torch.cat([pair_weight, torch.ones(1)])[pair_index]
        return x, TorchGraph(graph.src, graph.dst, graph.num_nodes, edge_weight)

    return weigh


def _check_edge_weighted(model, criterion: str) -> None:
    if model.kind not in EDGE_WEIGHTED_KINDS:
        raise ValueError(f"{criterion} edge scores need a model that weighs edges (gcn), got "
                         f"{model.kind!r}; use the agreement or degree criterion for it")


def influence_scores(model, dataset: Dataset, fraction: float, *,
                     steps: int = INFLUENCE_STEPS) -> np.ndarray:
    """Pair scores (higher = keep) whose lowest ``fraction`` is a greedy removal in ``steps``.

    The loss is the model's summed cross-entropy, on all nodes, against its own argmax
    predictions on the full graph (no labels are read). Each step weighs every pair by a mask
    (1 kept, 0 removed), takes the loss's gradient ``dL/dm`` on the thinned graph, and removes
    the kept pairs whose removal raises the loss least to first order (largest ``dL/dm`` first),
    except a pair whose removal would leave one of its nodes without neighbours, which goes
    only when nothing else is left. The model is not changed. Removed pairs score their removal
    rank (``0 ..``), kept pairs rank above all of them. Shape: ``(num_pairs,)``.
    """
    if dataset.is_graph_task:
        raise ValueError("edge sparsification is for transductive node classification")
    _check_edge_weighted(model, "influence")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"edge fraction must lie in [0, 1], got {fraction!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    pairs = EdgePairs(dataset.graph)
    weigh = _pair_weighting(dataset)
    target = int(round(fraction * pairs.num_pairs))
    alive = np.ones(pairs.num_pairs, dtype=bool)
    degree = np.bincount(pairs.ends.ravel(), minlength=dataset.num_nodes)
    scores = np.empty(pairs.num_pairs, dtype=np.float64)
    removed, targets = 0, None
    was_training = model.training
    model.eval()
    for step in range(steps):
        mask = torch.tensor(alive, dtype=torch.float32, requires_grad=True)
        out = model(*weigh(mask))
        if targets is None:  # the full graph's predictions: what the thinning must preserve
            targets = out.argmax(dim=-1).detach()
        F.cross_entropy(out, targets, reduction="sum").backward()
        harm = mask.grad.numpy().astype(np.float64)  # removing the pair changes L by ~ -harm
        count = int(round(target * (step + 1) / steps)) - removed
        chosen = _remove_keeping_neighbours(pairs.ends, alive, degree, -harm, count)
        scores[chosen] = removed + np.arange(count)
        removed += count
        if step == steps - 1:  # kept pairs: above every removed one, ordered by the last step
            kept = np.flatnonzero(alive)
            scores[kept[np.argsort(-harm[kept], kind="stable")]] = removed + np.arange(kept.size)
    model.train(was_training)
    return scores


def _remove_keeping_neighbours(ends, alive, degree, priority, count: int) -> np.ndarray:
    """Take ``count`` alive pairs, lowest ``priority`` first, skipping pairs whose removal
    would leave a node without neighbours while others remain; updates ``alive`` and
    ``degree`` (per node, alive pairs) in place. Returns the pairs taken, in order."""
    order = np.flatnonzero(alive)[np.argsort(priority[alive], kind="stable")]
    taken, deferred = [], []
    for pair in order:
        if len(taken) == count:
            break
        u, v = ends[0, pair], ends[1, pair]
        if degree[u] <= 1 or degree[v] <= 1:
            deferred.append(pair)
            continue
        taken.append(pair)
        degree[u] -= 1
        degree[v] -= 1
    for pair in deferred[:count - len(taken)]:  # only if nothing else was left
        taken.append(pair)
        degree[ends[0, pair]] -= 1
        degree[ends[1, pair]] -= 1
    chosen = np.array(taken, dtype=np.int64)
    alive[chosen] = False
    return chosen


def random_edge_scores(graph: Graph, seed: int = 0) -> np.ndarray:
    """Uniform random pair scores (the baseline). Shape: ``(num_pairs,)``."""
    return np.random.default_rng(seed).random(EdgePairs(graph).num_pairs)


def resolve_edge_criterion(criterion: str, model) -> str:
    """``"auto"``: influence for models that weigh edges, agreement otherwise."""
    if criterion not in EDGE_CRITERIA:
        raise ValueError(f"edge criterion must be one of {EDGE_CRITERIA}, got {criterion!r}")
    if criterion == "auto":
        return "influence" if model.kind in EDGE_WEIGHTED_KINDS else "agreement"
    return criterion


def edge_scores(criterion: str, model, dataset: Dataset, *, fraction: float, split: int = 0,
                seed: int = 0, epochs: int = 100) -> np.ndarray:
    """Pair scores by ``criterion`` (see ``EDGE_CRITERIA``) for removing ``fraction`` of the
    pairs (only the greedy influence criterion depends on it)."""
    criterion = resolve_edge_criterion(criterion, model)
    if criterion == "influence":
        return influence_scores(model, dataset, fraction)
    if criterion == "learned":
        return learn_edge_scores(model, dataset, epochs=epochs, split=split, seed=seed)
    if criterion == "explainer":
        from .explain import explain_masks  # it builds on this module

        return explain_masks(model, dataset, split, channels=False, edges=True, seed=seed).edges
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
    if dataset.is_graph_task:
        raise ValueError("edge sparsification is for transductive node classification")
    _check_edge_weighted(model, "learned")
    seed_everything(seed)
    pairs = EdgePairs(dataset.graph)
    _, _, y = node_inputs(dataset)
    train = torch.from_numpy(dataset.splits[split].train)
    mask = torch.nn.Parameter(torch.ones(pairs.num_pairs))
    weigh = _pair_weighting(dataset)
    weights = [module.weight for module in prunable_weights(model).values()]
    optimizer = torch.optim.Adam([{"params": model.parameters(), "weight_decay": 5e-4},
                                  {"params": [mask], "weight_decay": 0.0}], lr=lr)
    model.train()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(*weigh(mask))[train], y[train])
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
