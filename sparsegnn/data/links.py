"""Edge splits for link prediction (numpy only).

``random_link_split`` holds out a share of a graph's undirected edges for validation and test,
as PyG's ``RandomLinkSplit`` and the GAE protocol (Kipf & Welling, 2016) do: the held-out pairs,
and an equal number of node pairs that are not edges (negatives), are scored by the model; only
the training pairs are visible to message passing. Self loops are never held out or sampled.

Pairs are ``(2, P)`` int64 arrays with ``pairs[0] < pairs[1]``: the task is undirected, and the
message-passing graph holds both directions of every training pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Graph
from .dataset import DatasetError

__all__ = ["LinkSplit", "random_link_split", "undirected_pairs", "sample_non_edges", "pair_keys"]


@dataclass(frozen=True)
class LinkSplit:
    """One edge split. ``graph``: the training pairs in both directions (what message passing
    sees); ``train``: those pairs once each; ``val`` / ``test``: held-out positives, and
    ``val_negative`` / ``test_negative``: as many non-edges of the full graph. All ``(2, P)``."""

    graph: Graph
    train: np.ndarray
    val: np.ndarray
    val_negative: np.ndarray
    test: np.ndarray
    test_negative: np.ndarray
    seed: int

    def labelled(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``(pairs (2, P), labels (P,))`` of ``part`` ("val" or "test"): positives, then
        negatives."""
        if part not in ("val", "test"):
            raise ValueError(f"part must be 'val' or 'test', got {part!r}")
        positive, negative = getattr(self, part), getattr(self, f"{part}_negative")
        labels = np.r_[np.ones(positive.shape[1]), np.zeros(negative.shape[1])].astype(np.float32)
        return np.concatenate([positive, negative], axis=1), labels

    def summary(self) -> dict:
        return {"seed": self.seed, "train_pairs": int(self.train.shape[1]),
                "val_pairs": int(self.val.shape[1]), "test_pairs": int(self.test.shape[1])}


def pair_keys(pairs: np.ndarray, num_nodes: int) -> np.ndarray:
    """One int64 per undirected pair ``(u, v)``, ``u < v``: ``u * num_nodes + v``."""
    return pairs[0].astype(np.int64) * num_nodes + pairs[1]


def undirected_pairs(graph: Graph) -> np.ndarray:
    """The graph's edges as unique unordered pairs without self loops. Shape ``(2, P)``,
    sorted, ``pairs[0] < pairs[1]``."""
    src, dst = graph.indices.astype(np.int64), graph.dst.astype(np.int64)
    low, high = np.minimum(src, dst), np.maximum(src, dst)
    keep = low != high
    keys = np.unique(low[keep] * graph.num_nodes + high[keep])
    return np.stack([keys // graph.num_nodes, keys % graph.num_nodes])


def sample_non_edges(num_nodes: int, count: int, forbidden_keys: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct unordered pairs ``u < v`` whose :func:`pair_keys` are not in the
    sorted array ``forbidden_keys``, uniformly at random. Shape ``(2, count)``."""
    available = num_nodes * (num_nodes - 1) // 2 - forbidden_keys.size
    if count > available:
        raise DatasetError(f"cannot sample {count} non-edges: the graph has only {available}")
    chosen = np.zeros(0, dtype=np.int64)
    while chosen.size < count:  # rejection sampling: graphs are sparse, so few draws miss
        draw = max(2 * (count - chosen.size), 64)
        u = rng.integers(0, num_nodes, size=draw)
        v = rng.integers(0, num_nodes, size=draw)
        keep = u != v
        keys = np.minimum(u, v)[keep] * num_nodes + np.maximum(u, v)[keep]
        keys = keys[~np.isin(keys, forbidden_keys, assume_unique=False)]
        keys = np.setdiff1d(keys, chosen)  # distinct, and not drawn before
        keys = rng.permutation(keys)[: count - chosen.size]
        chosen = np.concatenate([chosen, keys])
    chosen = rng.permutation(chosen)
    return np.stack([chosen // num_nodes, chosen % num_nodes])


def random_link_split(graph: Graph, val_fraction: float = 0.05, test_fraction: float = 0.10,
                      seed: int = 0) -> LinkSplit:
    """Hold out ``val_fraction`` and ``test_fraction`` of ``graph``'s undirected edges (the GAE
    protocol's 5 % / 10 % by default), each with as many sampled non-edges, seeded."""
    if not (0 <= val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction and test_fraction must be shares in [0, 1) whose sum is "
                         f"below 1, got {val_fraction} and {test_fraction}")
    pairs = undirected_pairs(graph)
    total = pairs.shape[1]
    num_val, num_test = int(round(val_fraction * total)), int(round(test_fraction * total))
    if total - num_val - num_test < 1 or num_test < 1:
        raise DatasetError(f"a graph with {total} undirected edges is too small to split "
                           f"{val_fraction:.0%} / {test_fraction:.0%}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(total)
    test, val = pairs[:, order[:num_test]], pairs[:, order[num_test:num_test + num_val]]
    train = pairs[:, np.sort(order[num_test + num_val:])]
    negatives = sample_non_edges(graph.num_nodes, num_val + num_test,
                                 pair_keys(pairs, graph.num_nodes), rng)
    both_directions = np.concatenate([train, train[::-1]], axis=1)
    train_graph = Graph.from_edge_index(both_directions, graph.num_nodes)
    return LinkSplit(train_graph, train, val, negatives[:, :num_val], test, negatives[:, num_val:],
                     seed)
