"""OGB molecule sets from their raw CSV files (``raw/*.csv.gz`` and ``split/scaffold``)."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from ..graph import Graph
from ..sparse import CSRMatrix
from .dataset import GRAPH_CLASSIFICATION, GRAPH_REGRESSION, Dataset, DatasetError, Split
from .npz import expansion_limit, read_limited
from .tu import read_int_table

__all__ = ["load_ogb_mol", "ATOM_FEATURE_DIMS"]

# Sizes of OGB's nine categorical atom features (ogb.utils.features.get_atom_feature_dims).
ATOM_FEATURE_DIMS = (119, 5, 12, 12, 10, 6, 6, 2, 2)
REGRESSION_SETS = ("esol", "freesolv", "lipo")


def _read_gz(path: Path, columns: int | None, dtype=np.int64) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: missing OGB file")
    try:
        with gzip.open(path, "rb") as handle:
            text = read_limited(handle, expansion_limit(path, text=True), path, "the gzip stream")
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt gzip ({exc})") from None
    try:
        return read_int_table(io.StringIO(text.decode("ascii", errors="replace")), columns, dtype)
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None


def load_ogb_mol(folder: Path, name: str) -> Dataset:
    """Load an ``ogbg-mol*`` set from its raw CSVs.

    Each bond is stored once, so the reverse edges are added (OGB's ``add_inverse_edge``). Atom
    features become the one-hot of OGB's nine categorical features (174 columns). Labels are
    classes for the classification sets and float32 for esol/freesolv/lipo. One split: OGB's
    official scaffold split.
    """
    folder = Path(folder)
    raw = folder / "raw"
    nodes_per_graph = _read_gz(raw / "num-node-list.csv.gz", 1)[:, 0]
    edges_per_graph = _read_gz(raw / "num-edge-list.csv.gz", 1)[:, 0]
    edges = _read_gz(raw / "edge.csv.gz", 2)
    atoms = _read_gz(raw / "node-feat.csv.gz", len(ATOM_FEATURE_DIMS))
    regression = any(name.endswith(s) for s in REGRESSION_SETS)
    labels = _read_gz(raw / "graph-label.csv.gz", 1, np.float64)[:, 0]

    num_graphs = nodes_per_graph.shape[0]
    if edges_per_graph.shape[0] != num_graphs or labels.shape[0] != num_graphs:
        raise DatasetError(f"{raw}: num-node-list, num-edge-list and graph-label disagree on the "
                           f"number of graphs ({num_graphs}, {edges_per_graph.shape[0]}, "
                           f"{labels.shape[0]})")
    if np.any(nodes_per_graph < 0) or np.any(edges_per_graph < 0):
        raise DatasetError(f"{raw}: negative node or edge counts")
    num_nodes = int(nodes_per_graph.sum())
    if atoms.shape[0] != num_nodes:
        raise DatasetError(f"{raw / 'node-feat.csv.gz'}: {atoms.shape[0]} rows for {num_nodes} atoms")
    if edges.shape[0] != int(edges_per_graph.sum()):
        raise DatasetError(f"{raw / 'edge.csv.gz'}: {edges.shape[0]} rows, num-edge-list says "
                           f"{int(edges_per_graph.sum())}")
    graph_of_edge = np.repeat(np.arange(num_graphs), edges_per_graph)
    local_limit = nodes_per_graph[graph_of_edge]
    if edges.size and (edges.min() < 0 or np.any(edges.max(axis=1) >= local_limit)):
        raise DatasetError(f"{raw / 'edge.csv.gz'}: an edge index lies outside its own graph")
    if atoms.size and (atoms.min() < 0 or np.any(atoms.max(axis=0) >= ATOM_FEATURE_DIMS)):
        raise DatasetError(f"{raw / 'node-feat.csv.gz'}: atom feature outside OGB's ranges")

    node_offset = np.concatenate([[0], np.cumsum(nodes_per_graph)[:-1]])
    global_edges = edges + node_offset[graph_of_edge, None]
    both_ways = np.concatenate([global_edges, global_edges[:, ::-1]]).T
    graph = Graph.from_edge_index(both_ways, num_nodes)
    column_offset = np.concatenate([[0], np.cumsum(ATOM_FEATURE_DIMS)[:-1]])
    features = CSRMatrix(
        np.arange(0, num_nodes * len(ATOM_FEATURE_DIMS) + 1, len(ATOM_FEATURE_DIMS)),
        (atoms + column_offset).reshape(-1),
        np.ones(atoms.size, np.float32),
        (num_nodes, int(sum(ATOM_FEATURE_DIMS))),
    )
    parts = []
    for part in ("train", "valid", "test"):
        ids = _read_gz(folder / "split" / "scaffold" / f"{part}.csv.gz", 1)[:, 0]
        if ids.size and (ids.min() < 0 or ids.max() >= num_graphs):
            raise DatasetError(f"{folder / 'split' / 'scaffold' / part}.csv.gz: graph id out of range")
        parts.append(ids)
    batch = np.repeat(np.arange(num_graphs, dtype=np.int64), nodes_per_graph)
    if regression:
        y, task, num_classes = labels.astype(np.float32), GRAPH_REGRESSION, 0
    else:
        if not np.all(np.isin(labels, (0.0, 1.0))):
            raise DatasetError(f"{raw / 'graph-label.csv.gz'}: classification labels must be 0/1")
        y, task, num_classes = labels.astype(np.int64), GRAPH_CLASSIFICATION, 2
    return Dataset(
        name=name, task=task, graph=graph, x=features, y=y, splits=[Split(*parts)],
        num_classes=num_classes, batch=batch, source=str(folder),
        notes={"features": "ogb_atom_one_hot", "bond_features": "not used"},
        metric="rmse" if regression else "roc_auc",  # OGB's evaluator for molbace / molbbbp
    )
