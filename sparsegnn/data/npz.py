"""Node classification sets stored as ``.npz``: Shchur et al.'s layout (plain or in a ``.zip``),
the ppnp ``SparseGraph`` layout (Cora-ML) and Yandex's heterophilous graphs.

Nothing is unpickled with plain pickle: numeric members are read with ``allow_pickle=False``;
the few object arrays these files hold (class and node names) go through the restricted
unpickler, and must turn out to be arrays of strings.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from ..graph import Graph
from ..sparse import CSRMatrix, SparseFormatError
from .dataset import NODE_CLASSIFICATION, Dataset, DatasetError, Split
from .planetoid import RestrictedUnpickler

__all__ = ["load_shchur_npz", "load_heterophilous", "per_class_split", "read_npz",
           "read_limited", "expansion_limit"]

# Compressed dataset files may expand this much (sparse features and edge lists compress
# several-fold, not a thousand-fold; the heterophilous npz files reach 140x), with a floor for
# small files: arrays may reach 256 MiB, text tables 32 MiB (parsing a table takes several
# times its text: a 200 MB table of one column peaked at 1.7 GB).
EXPANSION_LIMIT = 100
MIN_EXPANSION_BYTES = 1 << 28
MIN_TEXT_EXPANSION_BYTES = 1 << 25


def read_limited(handle, limit: int, path, what: str) -> bytes:
    """All of ``handle``'s bytes, refusing more than ``limit`` (a decompression bomb)."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise DatasetError(f"{path}: {what} decompresses to more than {limit:,} bytes "
                           f"(the most a file of its size may: {EXPANSION_LIMIT}x, or a floor "
                           f"for small files)")
    return data


def expansion_limit(path: Path, text: bool = False) -> int:
    """The most bytes a compressed file of ``path``'s size may decompress to (``text``: a
    table to parse, with the lower floor)."""
    floor = MIN_TEXT_EXPANSION_BYTES if text else MIN_EXPANSION_BYTES
    return max(floor, EXPANSION_LIMIT * Path(path).stat().st_size)


def _read_member(archive: zipfile.ZipFile, member: str, path: Path) -> np.ndarray:
    with archive.open(member) as handle:
        stream = io.BytesIO(read_limited(handle, expansion_limit(path), path, f"member {member}"))
    version = np.lib.format.read_magic(stream)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    _shape, _fortran, dtype = read_header(stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = RestrictedUnpickler(stream, encoding="latin1").load()
    if not isinstance(array, np.ndarray):
        if array is None:
            return np.array(None, dtype=object)
        raise DatasetError(f"{path}: member {member} is not an array")
    return array


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read every member of an ``.npz`` (or a ``.zip`` holding exactly one ``.npz``) safely."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as outer:
            names = outer.namelist()
            if path.suffix == ".zip":
                inner = [n for n in names if n.endswith(".npz")]
                if len(inner) != 1:
                    raise DatasetError(f"{path}: expected one .npz inside the zip, found {inner}")
                with outer.open(inner[0]) as handle:
                    nested = read_limited(handle, expansion_limit(path), path, inner[0])
                with zipfile.ZipFile(io.BytesIO(nested)) as archive:
                    return {n[:-4]: _read_member(archive, n, path) for n in archive.namelist()}
            return {n[:-4]: _read_member(outer, n, path) for n in names}
    except DatasetError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: unreadable npz ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # the restricted unpickler's refusals and other format errors
        raise DatasetError(f"{path}: unreadable npz ({type(exc).__name__}: {exc})") from None


def _csr(members: dict, prefix: str, path: Path) -> CSRMatrix:
    sep = "_" if f"{prefix}_data" in members else "."
    try:
        shape = tuple(int(s) for s in members[f"{prefix}{sep}shape"])
        return CSRMatrix(members[f"{prefix}{sep}indptr"], members[f"{prefix}{sep}indices"],
                         members[f"{prefix}{sep}data"], shape)
    except KeyError as exc:
        raise DatasetError(f"{path}: missing member {exc.args[0]}") from None
    except (SparseFormatError, ValueError, TypeError) as exc:
        raise DatasetError(f"{path}: bad {prefix} matrix ({exc})") from None


def _names(members: dict, key: str) -> list[str] | None:
    values = members.get(key)
    if values is None or values.dtype == object and values.ndim == 0:
        return None
    return [str(v) for v in values.tolist()]


def per_class_split(labels: np.ndarray, train_per_class: int = 20, val_per_class: int = 30,
                    seed: int = 0) -> Split:
    """Shchur et al.'s split: per class, ``train_per_class`` training and ``val_per_class``
    validation nodes drawn at random; every other labelled node is a test node."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(labels[labels >= 0]):
        members = rng.permutation(np.flatnonzero(labels == cls))
        train.append(members[:train_per_class])
        val.append(members[train_per_class : train_per_class + val_per_class])
    train, val = np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
    taken = np.zeros(labels.shape[0], dtype=bool)
    taken[train] = taken[val] = True
    test = np.flatnonzero(~taken & (labels >= 0))
    return Split(train, val, test)


def _undirected(edge_index: np.ndarray, num_nodes: int, path: Path) -> Graph:
    try:
        graph = Graph.from_edge_index(edge_index, num_nodes)
    except ValueError as exc:
        raise DatasetError(f"{path}: bad edges ({exc})") from None
    return graph.remove_self_loops().symmetrize()


def load_shchur_npz(path: Path, name: str, seed: int = 0) -> Dataset:
    """Load a Shchur-layout or ppnp-layout npz (plain or zipped).

    The adjacency is symmetrised, binarised and stripped of self loops (as PyG's ``read_npz``);
    a set without features (polblogs) gets one-hot node ids. One split of 20 training and 30
    validation nodes per class, drawn with ``seed``.
    """
    path = Path(path)
    members = read_npz(path)
    adjacency = _csr(members, "adj_matrix" if "adj_matrix.data" in members else "adj", path)
    if adjacency.shape[0] != adjacency.shape[1]:
        raise DatasetError(f"{path}: adjacency must be square, got {adjacency.shape}")
    num_nodes = adjacency.shape[0]
    if "attr_data" in members or "attr_matrix.data" in members:
        features = _csr(members, "attr_matrix" if "attr_matrix.data" in members else "attr", path)
        features = features.astype(np.float32)
    else:
        eye = np.arange(num_nodes + 1, dtype=np.int64)
        features = CSRMatrix(eye, eye[:-1], np.ones(num_nodes, np.float32), (num_nodes, num_nodes))
    if "labels" not in members:
        raise DatasetError(f"{path}: missing member labels")
    labels = np.asarray(members["labels"])
    if labels.ndim != 1 or labels.shape[0] != num_nodes or labels.dtype.kind not in "iu":
        raise DatasetError(f"{path}: labels must be {num_nodes} integers, got "
                           f"{labels.dtype} array of shape {labels.shape}")
    labels = labels.astype(np.int64)
    edge_index = np.stack([adjacency.row_ids(), adjacency.indices.astype(np.int64)])
    graph = _undirected(edge_index, num_nodes, path)
    return Dataset(
        name=name, task=NODE_CLASSIFICATION, graph=graph, x=features, y=labels,
        splits=[per_class_split(labels, seed=seed)], num_classes=int(labels.max()) + 1,
        class_names=_names(members, "class_names"), source=str(path),
    )


def load_heterophilous(path: Path, name: str) -> Dataset:
    """Load a Yandex heterophilous npz: dense features, symmetrised edges, 10 fixed splits."""
    path = Path(path)
    members = read_npz(path)
    required = ("node_features", "node_labels", "edges", "train_masks", "val_masks", "test_masks")
    missing = [key for key in required if key not in members]
    if missing:
        raise DatasetError(f"{path}: missing members {missing}")
    features = np.asarray(members["node_features"], dtype=np.float32)
    labels = np.asarray(members["node_labels"])
    edges = np.asarray(members["edges"])
    if features.ndim != 2:
        raise DatasetError(f"{path}: node_features must be 2-D, got shape {features.shape}")
    num_nodes = features.shape[0]
    if labels.shape != (num_nodes,) or labels.dtype.kind not in "iu":
        raise DatasetError(f"{path}: node_labels must be {num_nodes} integers, got {labels.shape}")
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise DatasetError(f"{path}: edges must have shape (E, 2), got {edges.shape}")
    masks = [np.asarray(members[k], dtype=bool) for k in required[3:]]
    if any(m.ndim != 2 or m.shape[1] != num_nodes or m.shape[0] != masks[0].shape[0] for m in masks):
        raise DatasetError(f"{path}: split masks must have shape (splits, {num_nodes})")
    if not np.all(np.isfinite(features)):
        raise DatasetError(f"{path}: node_features hold NaN or inf")
    graph = _undirected(edges.T, num_nodes, path)
    splits = [Split.from_masks(*(m[i] for m in masks)) for i in range(masks[0].shape[0])]
    labels = labels.astype(np.int64)
    return Dataset(
        name=name, task=NODE_CLASSIFICATION, graph=graph, x=features, y=labels, splits=splits,
        num_classes=int(labels.max()) + 1, source=str(path),
        # Platonov et al. score their binary sets (minesweeper, tolokers, questions) by ROC-AUC
        metric="roc_auc" if labels.max() == 1 else "accuracy",
    )
