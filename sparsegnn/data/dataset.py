"""The one dataset type every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..graph import Graph, batch_graphs
from ..sparse import CSRMatrix

__all__ = ["Dataset", "DatasetError", "Split", "NODE_CLASSIFICATION", "GRAPH_CLASSIFICATION",
           "GRAPH_REGRESSION"]

NODE_CLASSIFICATION = "node_classification"
GRAPH_CLASSIFICATION = "graph_classification"
GRAPH_REGRESSION = "graph_regression"
TASKS = (NODE_CLASSIFICATION, GRAPH_CLASSIFICATION, GRAPH_REGRESSION)


class DatasetError(ValueError):
    """A dataset file is missing, malformed or inconsistent. The message names the file."""


@dataclass(frozen=True)
class Split:
    """Indices (nodes for node tasks, graphs for graph tasks) of one train/val/test split."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __post_init__(self):
        for part in ("train", "val", "test"):
            object.__setattr__(self, part, np.asarray(getattr(self, part), dtype=np.int64))

    @classmethod
    def from_masks(cls, train, val, test) -> Split:
        return cls(*(np.flatnonzero(np.asarray(mask, dtype=bool)) for mask in (train, val, test)))


@dataclass(eq=False)
class Dataset:
    """A graph learning dataset.

    Node tasks hold one graph; graph tasks hold all graphs joined block-diagonally, with
    ``batch`` giving each node's graph and ``ptr`` each graph's first node.

    Shapes: ``x (N, F)`` dense float32 or :class:`~sparsegnn.sparse.CSRMatrix`; ``y (N,)`` for
    node tasks, ``(G,)`` for graph tasks (int64 classes, float32 for regression);
    ``batch (N,)``; ``ptr (G + 1,)``.
    """

    name: str
    task: str
    graph: Graph
    x: np.ndarray | CSRMatrix
    y: np.ndarray
    splits: list[Split]
    num_classes: int
    batch: np.ndarray | None = None
    class_names: list[str] | None = None
    source: str = ""
    notes: dict = field(default_factory=dict)
    metric: str = ""  # the task's standard metric ("" = accuracy, rmse for regression)

    def __post_init__(self):
        if self.task not in TASKS:
            raise DatasetError(f"{self.name}: task must be one of {TASKS}, got {self.task!r}")
        if not self.metric:
            self.metric = "rmse" if self.task == GRAPH_REGRESSION else "accuracy"
        if self.metric not in ("accuracy", "roc_auc", "rmse"):
            raise DatasetError(f"{self.name}: metric must be accuracy, roc_auc or rmse")
        if self.metric == "roc_auc" and self.num_classes != 2:
            raise DatasetError(f"{self.name}: ROC-AUC scores binary tasks, not {self.num_classes} classes")
        if self.x.shape[0] != self.graph.num_nodes:
            raise DatasetError(
                f"{self.name}: features have {self.x.shape[0]} rows for {self.graph.num_nodes} nodes"
            )
        expected = self.num_graphs if self.is_graph_task else self.graph.num_nodes
        if self.y.shape[0] != expected:
            raise DatasetError(f"{self.name}: expected {expected} labels, got {self.y.shape[0]}")
        if not 0 <= self.num_classes <= max(expected, 2):  # a label of 10**12 is no class count
            raise DatasetError(f"{self.name}: {self.num_classes} classes for {expected} labels "
                               f"(labels must lie in [0, {max(expected, 2)}))")
        if self.is_graph_task:
            if self.batch is None or self.batch.shape != (self.graph.num_nodes,):
                raise DatasetError(f"{self.name}: graph tasks need a batch vector of length N")
            if self.batch.size and np.any(np.diff(self.batch) < 0):
                raise DatasetError(f"{self.name}: graphs must be contiguous blocks of nodes")
        for i, split in enumerate(self.splits):
            for part in ("train", "val", "test"):
                ids = getattr(split, part)
                if ids.size and (ids.min() < 0 or ids.max() >= expected):
                    raise DatasetError(f"{self.name}: split {i} {part} indices out of range")

    # ----------------------------------------------------------------------------- sizes
    @property
    def is_graph_task(self) -> bool:
        return self.task != NODE_CLASSIFICATION

    @property
    def num_nodes(self) -> int:
        return self.graph.num_nodes

    @property
    def num_features(self) -> int:
        return int(self.x.shape[1])

    @property
    def num_graphs(self) -> int:
        if self.batch is None:
            return 1
        return int(self.batch[-1]) + 1 if self.batch.size else 0

    @cached_property
    def ptr(self) -> np.ndarray:
        """First node of each graph, plus the total. Shape: ``(G + 1,)``."""
        if self.batch is None:
            return np.array([0, self.num_nodes], dtype=np.int64)
        counts = np.bincount(self.batch, minlength=self.num_graphs)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def dense_x(self, dtype=np.float32) -> np.ndarray:
        """Features as a dense array. Shape: ``(N, F)``."""
        if isinstance(self.x, CSRMatrix):
            return self.x.toarray(dtype)
        return np.asarray(self.x, dtype=dtype)

    # ----------------------------------------------------------------------------- graph tasks
    def graph_at(self, index: int) -> tuple[Graph, np.ndarray | CSRMatrix]:
        """One graph of a graph task and its node features, with node ids from 0."""
        ptr = self.ptr
        start, end = int(ptr[index]), int(ptr[index + 1])
        indptr = self.graph.indptr[start : end + 1]
        # A block of a validated block-diagonal graph is itself valid.
        graph = Graph._trusted(
            indptr - indptr[0],
            self.graph.indices[indptr[0] : indptr[-1]] - start,
            end - start,
            None if self.graph.edge_weight is None else self.graph.edge_weight[indptr[0]:indptr[-1]],
        )
        rows = np.arange(start, end)
        x = self.x.take_rows(rows) if isinstance(self.x, CSRMatrix) else self.x[start:end]
        return graph, x

    @cached_property
    def _graph_parts(self) -> list[tuple[Graph, np.ndarray]]:
        parts = []
        for index in range(self.num_graphs):
            graph, x = self.graph_at(index)
            parts.append((graph, x.toarray(np.float32) if isinstance(x, CSRMatrix)
                          else np.asarray(x, np.float32)))
        return parts

    def select_graphs(self, indices) -> tuple[Graph, np.ndarray, np.ndarray]:
        """Join the chosen graphs into one batch: ``(graph, x, batch)``; x is dense float32."""
        parts = [self._graph_parts[int(i)] for i in np.asarray(indices)]
        graph, batch = batch_graphs([g for g, _ in parts])
        x = np.concatenate([x for _, x in parts]) if parts else \
            np.zeros((0, self.num_features), np.float32)
        return graph, x, batch

    def summary(self) -> dict:
        """Counts that identify the dataset (what the tests compare with the datasets' README)."""
        info = {
            "name": self.name,
            "task": self.task,
            "nodes": self.num_nodes,
            "edges": self.graph.num_edges,
            "features": self.num_features,
            "classes": self.num_classes,
            "splits": len(self.splits),
            "metric": self.metric,
        }
        if self.is_graph_task:
            info["graphs"] = self.num_graphs
        return info

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.summary().items() if k != "name")
        return f"Dataset({self.name!r}, {parts})"

