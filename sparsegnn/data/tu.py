"""TU Dortmund graph classification sets (``NAME_A.txt``, ``NAME_graph_indicator.txt``, ...)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..graph import Graph
from ..sparse import CSRMatrix
from .dataset import GRAPH_CLASSIFICATION, Dataset, DatasetError, Split

__all__ = ["load_tu", "stratified_folds", "read_int_table", "one_hot"]


def read_int_table(path: Path, columns: int | None = None, dtype=np.int64) -> np.ndarray:
    """Read comma-separated numbers, one record per line. Shape: ``(lines, columns)``."""
    try:
        table = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=2)
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{path}: malformed table ({exc})") from None
    if columns is not None and table.size and table.shape[1] != columns:
        raise DatasetError(f"{path}: expected {columns} columns, found {table.shape[1]}")
    return table


def one_hot(codes: np.ndarray, width: int) -> CSRMatrix:
    """Rows with a single 1 at column ``codes[i]``. Shape: ``(len(codes), width)``."""
    rows = codes.shape[0]
    return CSRMatrix(np.arange(rows + 1, dtype=np.int64), codes.astype(np.int64),
                     np.ones(rows, np.float32), (rows, width))


def stratified_folds(labels: np.ndarray, folds: int = 10, val_fraction: float = 0.1,
                     seed: int = 0) -> list[Split]:
    """``folds`` stratified cross-validation splits: fold k is the test set; a stratified
    ``val_fraction`` of the rest is held out for model selection; the remainder trains."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(labels.shape[0], dtype=np.int64)
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        # Deal members round-robin, starting where the previous class stopped, so folds balance.
        assignment[members] = (np.arange(members.shape[0]) + int(cls)) % folds
    splits = []
    for k in range(folds):
        test = np.flatnonzero(assignment == k)
        rest = np.flatnonzero(assignment != k)
        val = []
        for cls in np.unique(labels[rest]):
            members = rng.permutation(rest[labels[rest] == cls])
            val.append(members[: int(round(val_fraction * members.shape[0]))])
        val = np.sort(np.concatenate(val))
        train = np.setdiff1d(rest, val)
        splits.append(Split(train, val, test))
    return splits


def load_tu(folder: Path, name: str, seed: int = 0) -> Dataset:
    """Load a TU dataset folder.

    Ids are 1-based in the files; graph labels are re-encoded to ``0..C-1`` in sorted order
    (MUTAG's -1/1 becomes 0/1); duplicate edges are removed; node features are the one-hot node
    label shifted to start at 0 (as PyG's ``TUDataset``), or the one-hot degree when a set has no
    node labels (as the GIN paper does for IMDB). Splits: 10 stratified folds for ``seed``.
    """
    folder = Path(folder)
    prefix = folder / name
    paths = {part: Path(f"{prefix}_{part}.txt") for part in ("A", "graph_indicator", "graph_labels")}
    for path in paths.values():
        if not path.is_file():
            raise DatasetError(f"{path}: missing TU file")
    edges = read_int_table(paths["A"], 2) - 1
    indicator = read_int_table(paths["graph_indicator"], 1)[:, 0] - 1
    raw_labels = read_int_table(paths["graph_labels"], 1)[:, 0]
    num_nodes, num_graphs = indicator.shape[0], raw_labels.shape[0]
    if num_nodes == 0 or indicator.min() < 0 or indicator.max() >= num_graphs:
        raise DatasetError(f"{paths['graph_indicator']}: graph ids must lie in 1..{num_graphs} "
                           f"({paths['graph_labels'].name} has {num_graphs} lines)")
    if np.any(np.diff(indicator) < 0):
        raise DatasetError(f"{paths['graph_indicator']}: graph ids must be non-decreasing")
    if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
        raise DatasetError(f"{paths['A']}: node ids must lie in 1..{num_nodes}, found "
                           f"{edges.min() + 1}..{edges.max() + 1}")
    if edges.size and np.any(indicator[edges[:, 0]] != indicator[edges[:, 1]]):
        raise DatasetError(f"{paths['A']}: an edge joins two different graphs")
    graph = Graph.from_edge_index(edges.T, num_nodes).coalesce()

    classes, labels = np.unique(raw_labels, return_inverse=True)
    node_label_path = Path(f"{prefix}_node_labels.txt")
    if node_label_path.is_file():
        node_labels = read_int_table(node_label_path, 1)[:, 0]
        if node_labels.shape[0] != num_nodes:
            raise DatasetError(f"{node_label_path}: {node_labels.shape[0]} lines for {num_nodes} nodes")
        codes = node_labels - node_labels.min()
        width = int(codes.max()) + 1
        if width > max(2 * num_nodes, 1024):  # categories, not ids: a label of 10**12 is no width
            raise DatasetError(f"{node_label_path}: node labels span {width:,} values for "
                               f"{num_nodes:,} nodes (they are categories, one-hot encoded)")
        features, feature_kind = one_hot(codes, width), "node_label_one_hot"
    else:
        degree = graph.in_degree()
        features, feature_kind = one_hot(degree, int(degree.max()) + 1), "degree_one_hot"
    return Dataset(
        name=name, task=GRAPH_CLASSIFICATION, graph=graph, x=features,
        y=labels.astype(np.int64), splits=stratified_folds(labels, seed=seed),
        num_classes=int(classes.shape[0]), batch=indicator, source=str(folder),
        class_names=[str(c) for c in classes.tolist()], notes={"features": feature_kind},
    )
