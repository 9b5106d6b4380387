"""Built-in synthetic datasets: the embedded default, deterministic for a seed, no files needed."""

from __future__ import annotations

import numpy as np

from ..graph import Graph, batch_graphs
from ..sparse import CSRMatrix
from .dataset import GRAPH_CLASSIFICATION, NODE_CLASSIFICATION, Dataset
from .npz import per_class_split
from .tu import one_hot, stratified_folds

__all__ = ["csbm", "synthetic_graphs"]


def csbm(
    num_nodes: int = 3000,
    num_classes: int = 5,
    num_features: int = 128,
    average_degree: float = 8.0,
    homophily: float = 0.8,
    feature_signal: float = 0.5,
    feature_density: float = 0.05,
    seed: int = 0,
) -> Dataset:
    """A contextual stochastic block model for node classification.

    Each class has a block of the graph and a mean feature vector. An edge leaves its endpoint's
    block with probability ``1 - homophily``. Features are sparse, non-negative bag-of-words-like
    counts whose rates depend on the class, so neither the graph nor the features alone solve the
    task. Split: 20 training and 30 validation nodes per class, the rest test.
    """
    if not 0.0 <= homophily <= 1.0:
        raise ValueError(f"homophily must lie in [0, 1], got {homophily}")
    if num_classes < 2 or num_nodes < num_classes * 50:
        raise ValueError("csbm needs at least 2 classes and 50 nodes per class")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, num_nodes)
    members = [np.flatnonzero(labels == c) for c in range(num_classes)]

    num_edges = int(num_nodes * average_degree / 2)
    src = rng.integers(0, num_nodes, num_edges)
    same = rng.random(num_edges) < homophily
    target_class = np.where(same, labels[src],
                            (labels[src] + rng.integers(1, num_classes, num_edges)) % num_classes)
    dst = np.empty(num_edges, dtype=np.int64)
    for c in range(num_classes):
        chosen = target_class == c
        dst[chosen] = rng.choice(members[c], int(chosen.sum()))
    graph = Graph.from_edge_index(np.stack([src, dst]), num_nodes).remove_self_loops().symmetrize()

    # Each class prefers its own slice of the vocabulary; every word also appears as noise.
    base_rate = feature_density * 0.5
    class_rates = np.full((num_classes, num_features), base_rate)
    preferred = rng.permuted(np.tile(np.arange(num_features), (num_classes, 1)), axis=1)
    for c in range(num_classes):
        words = preferred[c, : max(1, num_features // num_classes)]
        class_rates[c, words] += feature_density * feature_signal * 2
    counts = CSRMatrix.from_dense(rng.poisson(class_rates[labels]).astype(np.float32))
    return Dataset(
        name="synthetic", task=NODE_CLASSIFICATION, graph=graph, x=counts, y=labels,
        splits=[per_class_split(labels, seed=seed)], num_classes=num_classes,
        source=f"csbm(seed={seed})",
        notes={"homophily": homophily, "average_degree": average_degree},
    )


def _random_graph(rng, num_nodes: int, edge_probability: float, cycle: bool) -> Graph:
    upper = np.triu(rng.random((num_nodes, num_nodes)) < edge_probability, k=1)
    src, dst = np.nonzero(upper)
    if cycle:  # a ring through every node: a long cycle is the structural motif of class 1
        ring = np.arange(num_nodes)
        src, dst = np.concatenate([src, ring]), np.concatenate([dst, np.roll(ring, -1)])
    return Graph.from_edge_index(np.stack([src, dst]), num_nodes).remove_self_loops().symmetrize()


def synthetic_graphs(num_graphs: int = 600, num_node_types: int = 8, seed: int = 0) -> Dataset:
    """A synthetic graph classification set of molecule-sized graphs (10 to 40 nodes).

    Class 1 graphs contain a ring through all nodes and draw node types from a shifted
    distribution; class 0 graphs are sparse random graphs. Split: 10 stratified folds.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, num_graphs)
    graphs, types = [], []
    type_probs = np.stack([np.linspace(2.0, 1.0, num_node_types), np.linspace(1.0, 2.0, num_node_types)])
    type_probs /= type_probs.sum(axis=1, keepdims=True)
    for label in labels:
        size = int(rng.integers(10, 41))
        graphs.append(_random_graph(rng, size, 2.2 / size, cycle=bool(label)))
        types.append(rng.choice(num_node_types, size, p=type_probs[label]))
    graph, batch = batch_graphs(graphs)
    return Dataset(
        name="synthetic-graphs", task=GRAPH_CLASSIFICATION, graph=graph,
        x=one_hot(np.concatenate(types), num_node_types), y=labels.astype(np.int64),
        splits=stratified_folds(labels, seed=seed), num_classes=2, batch=batch,
        source=f"synthetic_graphs(seed={seed})",
    )
