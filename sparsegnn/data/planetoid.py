"""Planetoid raw files (``ind.NAME.{x,y,allx,ally,tx,ty,graph,test.index}``).

The files are Python 2 pickles. They are read by :class:`RestrictedUnpickler`, which admits only
the handful of globals these files contain (numpy arrays and dtypes, a scipy CSR matrix,
``collections.defaultdict`` and ``list``). The scipy matrix is rebuilt from its pickled state
into our own :class:`~sparsegnn.sparse.CSRMatrix`, so scipy is not needed and no constructor
named by the file is ever called with arguments the file chooses.
"""

from __future__ import annotations

import collections
import io
import pickle
from pathlib import Path

import numpy as np

from ..graph import Graph
from ..sparse import CSRMatrix, SparseFormatError
from .dataset import NODE_CLASSIFICATION, Dataset, DatasetError, Split

__all__ = ["RestrictedUnpickler", "load_planetoid", "safe_unpickle"]

PLANETOID_PARTS = ("x", "y", "allx", "ally", "tx", "ty", "graph")


class _PickledCSR:
    """Receives a pickled ``scipy.sparse.csr_matrix``'s state; never runs scipy code."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("csr_matrix state must be a dict")
        self.state = state


def _numpy_reconstruct(*args):
    # numpy 2 moved numpy.core to numpy._core; the files name the old path.
    from numpy.core.multiarray import _reconstruct  # noqa: PLC0415

    return _reconstruct(*args)


def _latin1_bytes(text, encoding="latin1"):
    # Python 3 pickles bytes at protocol 2 as _codecs.encode(str, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed for latin1 byte strings")
    return text.encode("latin1")


_ALLOWED = {
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("scipy.sparse.csr", "csr_matrix"): _PickledCSR,
    ("scipy.sparse._csr", "csr_matrix"): _PickledCSR,
    ("collections", "defaultdict"): collections.defaultdict,
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global outside a fixed allow-list."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays, scipy CSR matrices, "
                "defaultdict, list and bytes are allowed in dataset files"
            ) from None


def safe_unpickle(path: Path):
    """Load a Planetoid pickle through :class:`RestrictedUnpickler`; CSR state becomes CSRMatrix."""
    try:
        data = Path(path).read_bytes()
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, OverflowError, MemoryError) as exc:
        raise DatasetError(f"{path}: not a valid Planetoid pickle ({exc})") from None
    if isinstance(obj, _PickledCSR):
        state = getattr(obj, "state", None) or {}
        try:
            return CSRMatrix(state["indptr"], state["indices"], state["data"],
                             tuple(state["_shape"]))
        except (KeyError, TypeError, ValueError, SparseFormatError) as exc:
            raise DatasetError(f"{path}: malformed sparse matrix ({exc})") from None
    return obj


def _expect(obj, kind, path: Path, ndim: int | None = None):
    if not isinstance(obj, kind):
        raise DatasetError(f"{path}: expected {kind.__name__}, found {type(obj).__name__}")
    if ndim is not None and obj.ndim != ndim:
        raise DatasetError(f"{path}: expected a {ndim}-D array, found shape {obj.shape}")
    return obj


def _dense_rows(matrix: CSRMatrix, num_rows: int) -> CSRMatrix:
    """Pad a CSR matrix with empty rows at the bottom up to ``num_rows``."""
    pad = num_rows - matrix.shape[0]
    indptr = np.concatenate([matrix.indptr, np.full(pad, matrix.indptr[-1])])
    return CSRMatrix(indptr, matrix.indices, matrix.data, (num_rows, matrix.shape[1]))


def load_planetoid(folder: Path, name: str) -> Dataset:
    """Load Planetoid ``name`` with Kipf & Welling's reconstruction and the public split.

    Duplicate edges and self loops are removed (as PyG does), giving e.g. Cora's 10,556 directed
    edges. CiteSeer's 15 test-range nodes missing from ``test.index`` get zero features and the
    label -1 (they belong to no split).
    """
    folder = Path(folder)
    paths = {part: folder / f"ind.{name}.{part}" for part in PLANETOID_PARTS}
    paths["test.index"] = folder / f"ind.{name}.test.index"
    for part, path in paths.items():
        if not path.is_file():
            raise DatasetError(f"{path}: missing Planetoid file ind.{name}.{part}")
    parts = {part: safe_unpickle(paths[part]) for part in PLANETOID_PARTS}
    x, allx, tx = (_expect(parts[p], CSRMatrix, paths[p]) for p in ("x", "allx", "tx"))
    y, ally, ty = (_expect(parts[p], np.ndarray, paths[p], ndim=2) for p in ("y", "ally", "ty"))
    adjacency = _expect(parts["graph"], dict, paths["graph"])
    try:
        test_index = np.loadtxt(paths["test.index"], dtype=np.int64, ndmin=1)
    except ValueError as exc:
        raise DatasetError(f"{paths['test.index']}: expected one integer per line ({exc})") from None

    num_classes = ally.shape[1]
    for part, matrix, labels in (("x", x, y), ("allx", allx, ally), ("tx", tx, ty)):
        if matrix.shape[0] != labels.shape[0] or labels.shape[1] != num_classes:
            raise DatasetError(f"{paths[part]}: {matrix.shape[0]} feature rows do not match "
                               f"labels of shape {labels.shape}")
        if matrix.shape[1] != allx.shape[1]:
            raise DatasetError(f"{paths[part]}: {matrix.shape[1]} features, expected {allx.shape[1]}")
    if test_index.shape[0] != tx.shape[0]:
        raise DatasetError(f"{paths['test.index']}: {test_index.shape[0]} ids for {tx.shape[0]} test rows")

    num_train, num_allx = y.shape[0], allx.shape[0]
    test_low, test_high = int(test_index.min()), int(test_index.max())
    if test_low != num_allx:
        raise DatasetError(f"{paths['test.index']}: test ids must start right after the "
                           f"{num_allx} allx rows, found smallest id {test_low}")
    # CiteSeer lacks some ids in the test range: give them empty rows (Kipf's padding).
    test_range = test_high - test_low + 1
    order = np.full(test_range, -1, dtype=np.int64)
    order[test_index - test_low] = np.arange(tx.shape[0])
    present = order >= 0
    rows = np.where(present, order, tx.shape[0])  # index tx.shape[0] = an appended empty row
    tx_padded = _dense_rows(tx, tx.shape[0] + 1).take_rows(rows)
    ty_padded = np.zeros((test_range, num_classes), dtype=ty.dtype)
    ty_padded[present] = ty[order[present]]
    # Rows of tx are in test.index file order; sorting them by node id is Kipf's reorder step.

    num_nodes = num_allx + tx_padded.shape[0]
    features = CSRMatrix(
        np.concatenate([allx.indptr, tx_padded.indptr[1:] + allx.indptr[-1]]),
        np.concatenate([allx.indices, tx_padded.indices]),
        np.concatenate([allx.data, tx_padded.data]).astype(np.float32),
        (num_nodes, allx.shape[1]),
    )
    onehot = np.concatenate([ally, ty_padded])
    labels = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1).astype(np.int64)

    src, dst = [], []
    for node, neighbours in adjacency.items():
        if not isinstance(node, (int, np.integer)) or not isinstance(neighbours, list):
            raise DatasetError(f"{paths['graph']}: expected {{int: [int, ...]}}, found {node!r}")
        src.extend(neighbours)
        dst.extend([node] * len(neighbours))
    try:
        edge_index = np.array([src, dst], dtype=np.int64).reshape(2, -1)
        graph = Graph.from_edge_index(edge_index, num_nodes).remove_self_loops().coalesce()
    except (ValueError, TypeError, OverflowError) as exc:
        raise DatasetError(f"{paths['graph']}: bad adjacency ({exc})") from None

    split = Split(np.arange(num_train), np.arange(num_train, num_train + 500), np.sort(test_index))
    return Dataset(
        name=name, task=NODE_CLASSIFICATION, graph=graph, x=features, y=labels, splits=[split],
        num_classes=num_classes, source=str(folder),
        notes={"unlabelled_nodes": int((labels < 0).sum())},
    )
