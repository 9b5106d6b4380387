"""Planetoid raw files (``ind.NAME.{x,y,allx,ally,tx,ty,graph,test.index}``).

The files are Python 2 pickles. They are read by :class:`RestrictedUnpickler`, which admits only
the handful of globals these files contain (numpy arrays and dtypes, a scipy CSR matrix,
``collections.defaultdict`` and ``list``), and none of them runs as the file names it: arrays
are built from their raw bytes and a plain dtype, the scipy matrix from its pickled state into
our own :class:`~sparsegnn.sparse.CSRMatrix`, so scipy is not needed and no numpy or scipy
code is called with arguments the file chooses.
"""

from __future__ import annotations

import collections
import io
import math
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


class _PickledDtype:
    """Receives ``numpy.dtype(code, align, copy)`` and its state; :meth:`build` makes a plain
    (unstructured, no subarray) dtype of it, or refuses."""

    def __init__(self, code=None, *_flags):
        self.code, self.state = code, None

    def __setstate__(self, state):
        self.state = state

    def build(self) -> np.dtype:
        code, state = self.code, self.state
        if not isinstance(code, str) or not code or code[0] not in _PLAIN_KINDS:
            raise pickle.UnpicklingError(f"dtype {code!r} is not a plain numeric, string or "
                                         f"object type")
        if not isinstance(state, tuple) or len(state) < 8:
            raise pickle.UnpicklingError("malformed dtype state")
        _version, endian, subarray, names, fields, size = state[:6]
        if subarray is not None or names is not None or fields is not None:
            # a structured dtype with an object field would let raw bytes become pointers
            raise pickle.UnpicklingError("structured and subarray dtypes are not allowed")
        kind = code[0]
        if kind in "US":  # the length lives in the state
            if type(size) is not int or size < 0:
                raise pickle.UnpicklingError("malformed string dtype size")
            code = f"{kind}{size // 4 if kind == 'U' else size}"
        dtype = np.dtype(code)
        if endian in ("<", ">"):
            dtype = dtype.newbyteorder(endian)
        return dtype


class _PickledArray:
    """Receives ``ndarray._reconstruct`` and its state; :meth:`build` makes the array from the
    raw bytes (or, for object arrays, the list of values) itself."""

    def __init__(self, *_args):
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def build(self) -> np.ndarray:
        state = self.state
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed array state")
        shape, dtype, fortran, data = state[-4:]
        if not isinstance(dtype, _PickledDtype) or not isinstance(shape, tuple) or not all(
                type(side) is int and side >= 0 for side in shape):
            raise pickle.UnpicklingError("malformed array shape or dtype")
        dtype = dtype.build()
        count = math.prod(shape)
        order = "F" if fortran else "C"
        if dtype.hasobject:  # values pickled one by one: take plain Python values only
            if not isinstance(data, list) or len(data) != count or not all(
                    isinstance(v, (str, bytes, int, float, type(None))) for v in data):
                raise pickle.UnpicklingError("an object array may hold only plain values")
            array = np.empty(count, dtype=object)
            array[:] = data
            return array.reshape(shape, order=order)
        if isinstance(data, str):  # a Python 2 str, decoded as latin1 by the unpickler
            data = data.encode("latin1")
        if not isinstance(data, bytes) or len(data) != count * dtype.itemsize:
            raise pickle.UnpicklingError(f"array data of {len(data) if isinstance(data, bytes) else '?'}"
                                         f" bytes does not fit shape {shape} of {dtype}")
        return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


_PLAIN_KINDS = "biufcUSO"


def _ndarray_marker(*_args):
    raise pickle.UnpicklingError("numpy.ndarray may only be named as _reconstruct's subtype")


def _latin1_bytes(text, encoding="latin1"):
    # Python 3 pickles bytes at protocol 2 as _codecs.encode(str, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed for latin1 byte strings")
    return text.encode("latin1")


_ALLOWED = {
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy.core.multiarray", "_reconstruct"): _PickledArray,
    ("numpy._core.multiarray", "_reconstruct"): _PickledArray,
    ("numpy", "ndarray"): _ndarray_marker,
    ("numpy", "dtype"): _PickledDtype,
    ("scipy.sparse.csr", "csr_matrix"): _PickledCSR,
    ("scipy.sparse._csr", "csr_matrix"): _PickledCSR,
    ("collections", "defaultdict"): collections.defaultdict,
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global outside a fixed allow-list, and builds numpy
    arrays itself from raw bytes and a plain dtype (numpy's own ``__setstate__`` would copy
    raw bytes into a crafted dtype's object slots). ``load`` returns plain values, lists,
    dicts, ndarrays and ``_PickledCSR`` states."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays, scipy CSR matrices, "
                "defaultdict, list and bytes are allowed in dataset files"
            ) from None

    def load(self):
        return _materialize(super().load(), depth=0)


def _materialize(value, depth: int):
    """Replace the proxies in an unpickled value by real arrays (dtypes alone are refused)."""
    if depth > 64:
        raise pickle.UnpicklingError("nested too deeply")
    if isinstance(value, _PickledArray):
        return value.build()
    if isinstance(value, _PickledDtype):
        raise pickle.UnpicklingError("a bare dtype is not a dataset value")
    if isinstance(value, _PickledCSR):
        value.state = _materialize(getattr(value, "state", {}), depth + 1)
        return value
    if isinstance(value, list):
        return [_materialize(item, depth + 1) for item in value]
    if isinstance(value, dict):
        for key in list(value):
            value[key] = _materialize(value[key], depth + 1)
        return value
    return value


def safe_unpickle(path: Path):
    """Load a Planetoid pickle through :class:`RestrictedUnpickler`; CSR state becomes CSRMatrix."""
    try:
        data = Path(path).read_bytes()
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, OverflowError, MemoryError, RecursionError) as exc:
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
    if test_range > 2 * tx.shape[0] + 16:  # Kipf's gaps are a few ids (CiteSeer: 15)
        raise DatasetError(f"{paths['test.index']}: test ids span {test_range:,} for "
                           f"{tx.shape[0]} test rows")
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
