"""A minimal CSR matrix and its validation, in numpy only.

Everything that hands CSR arrays to native code (graphs, sparse features, pruned weights, the
artifact loader) checks them here first, so one function owns the CSR invariants:

* ``indptr`` and ``indices`` are 1-D integer arrays (int32 or int64);
* ``len(indptr) == num_rows + 1``, ``indptr[0] == 0``, ``indptr`` non-decreasing,
  ``indptr[-1] == len(indices)``;
* every index lies in ``[0, num_cols)``;
* ``data`` (when present) is 1-D, floating, finite and as long as ``indices``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CSRMatrix", "SparseFormatError", "check_csr", "as_index_array", "narrowest_index_dtype"]

INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))
INT32_MAX = 2**31 - 1  # np.iinfo(np.int32).max, a constant: the runtime asks on every call


def narrowest_index_dtype(largest: int) -> np.dtype:
    """The smallest signed integer type holding ``largest`` (int16, int32 or int64)."""
    for dtype in (np.int16, np.int32):
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class SparseFormatError(ValueError):
    """Raised when arrays do not form a valid CSR structure."""


def as_index_array(values, name: str, error: type[Exception] = SparseFormatError) -> np.ndarray:
    """Return ``values`` as a contiguous 1-D int32/int64 array, or raise ``error``.

    Other integer dtypes are widened to int64; floats, bools and objects are rejected rather than
    silently truncated.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise error(f"{name} must be 1-D, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        if array.size == 0:
            return np.zeros(0, dtype=np.int64)
        raise error(f"{name} must have an integer dtype, got {array.dtype}")
    if array.dtype not in INDEX_DTYPES:
        if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
            raise error(f"{name} holds values too large for int64")
        array = array.astype(np.int64)
    return np.ascontiguousarray(array)


def check_csr(
    indptr,
    indices,
    num_rows: int,
    num_cols: int,
    data=None,
    *,
    name: str = "CSR",
    error: type[Exception] = SparseFormatError,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate CSR arrays and return them as contiguous numpy arrays.

    Parameters
    ----------
    indptr, indices : array_like of int
        Row pointers and column indices. Shapes: ``(num_rows + 1,)`` and ``(nnz,)``.
    num_rows, num_cols : int
        Matrix shape.
    data : array_like of float, optional
        Stored values. Shape: ``(nnz,)``.
    name : str
        What the arrays are, used in error messages.
    error : type
        Exception class raised on the first violated invariant.
    """
    if int(num_rows) < 0 or int(num_cols) < 0:
        raise error(f"{name}: shape must be non-negative, got ({num_rows}, {num_cols})")
    indptr = as_index_array(indptr, f"{name} indptr", error)
    indices = as_index_array(indices, f"{name} indices", error)
    if indptr.shape[0] != num_rows + 1:
        raise error(
            f"{name}: indptr must have num_rows + 1 = {num_rows + 1} entries, "
            f"got {indptr.shape[0]}"
        )
    if indptr[0] != 0:
        raise error(f"{name}: indptr[0] must be 0, got {indptr[0]}")
    if indptr[-1] != indices.shape[0]:
        raise error(
            f"{name}: indptr[-1] must equal the number of indices ({indices.shape[0]}), "
            f"got {indptr[-1]}"
        )
    if num_rows and np.any(indptr[1:] < indptr[:-1]):
        row = int(np.argmax(indptr[1:] < indptr[:-1]))
        raise error(f"{name}: indptr must be non-decreasing, but decreases after row {row}")
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < 0:
            raise error(f"{name}: indices must be non-negative, found {low}")
        if high >= num_cols:
            raise error(f"{name}: indices must be < {num_cols} (number of columns), found {high}")
    if data is not None:
        data = np.asarray(data)
        if data.ndim != 1 or data.shape[0] != indices.shape[0]:
            raise error(
                f"{name}: values must have shape ({indices.shape[0]},), got {data.shape}"
            )
        if data.dtype.kind not in "fiub":
            raise error(f"{name}: values must be numeric, got dtype {data.dtype}")
        if data.dtype.kind != "f":
            data = data.astype(np.float32)
        if not np.all(np.isfinite(data)):
            raise error(f"{name}: values must be finite (found NaN or inf)")
        data = np.ascontiguousarray(data)
    return indptr, indices, data


def canonical_index_arrays(indptr: np.ndarray, indices: np.ndarray, num_cols: int
                           ) -> tuple[np.ndarray, np.ndarray]:
    """``indptr`` as int64 and ``indices`` as int32 (int64 when ``num_cols`` exceeds int32):
    the one index signature the runtime hands its kernels, so each compiles once whatever
    index types its inputs came with (copies only arrays of another type)."""
    index_dtype = np.int32 if num_cols <= INT32_MAX else np.int64
    return indptr.astype(np.int64, copy=False), indices.astype(index_dtype, copy=False)


@dataclass(frozen=True, eq=False)
class CSRMatrix:
    """A validated CSR matrix (numpy arrays only), e.g. bag-of-words node features.

    Shapes: ``indptr (num_rows + 1,)``, ``indices (nnz,)``, ``data (nnz,)``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    def __post_init__(self):
        rows, cols = (int(s) for s in self.shape)
        indptr, indices, data = check_csr(
            self.indptr, self.indices, rows, cols, self.data, name="CSRMatrix"
        )
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "shape", (rows, cols))

    @classmethod
    def from_dense(cls, dense: np.ndarray) -> CSRMatrix:
        """Build from a dense 2-D array, keeping its nonzeros. Shapes: ``dense (rows, cols)``."""
        dense = np.asarray(dense)
        if dense.ndim != 2:
            raise SparseFormatError(f"dense matrix must be 2-D, got shape {dense.shape}")
        rows, cols = np.nonzero(dense)
        indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
        return cls(indptr, cols.astype(np.int64), dense[rows, cols], dense.shape)

    @classmethod
    def from_scipy_like(cls, matrix) -> CSRMatrix:
        """Build from any object with a scipy-like ``tocsr()`` (no scipy import needed)."""
        csr = matrix.tocsr()
        return cls(csr.indptr, csr.indices, csr.data, tuple(csr.shape))

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    @property
    def density(self) -> float:
        cells = self.shape[0] * self.shape[1]
        return self.nnz / cells if cells else 0.0

    def row_ids(self) -> np.ndarray:
        """Row index of every stored value. Shape: ``(nnz,)``."""
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    def toarray(self, dtype=None) -> np.ndarray:
        """Dense copy. Shape: ``(rows, cols)``; duplicates are summed."""
        rows, cols = self.shape
        flat = self.row_ids() * cols + self.indices
        if self.nnz and np.all(np.diff(flat) > 0):  # sorted, no duplicates: plain assignment
            out = np.zeros(rows * cols, dtype=dtype or self.data.dtype)
            out[flat] = self.data
        else:  # bincount sums duplicates; np.add.at is far slower
            out = np.bincount(flat, weights=self.data, minlength=rows * cols)
            out = out.astype(dtype or self.data.dtype, copy=False)
        return out.reshape(rows, cols)

    def astype(self, dtype) -> CSRMatrix:
        if self.data.dtype == np.dtype(dtype):
            return self
        return self.with_data(self.data.astype(dtype))

    def canonical(self) -> CSRMatrix:
        """The same matrix with ``canonical_index_arrays`` (no copy when they are already)."""
        indptr, indices = canonical_index_arrays(self.indptr, self.indices, self.shape[1])
        if indptr is self.indptr and indices is self.indices:
            return self
        return CSRMatrix._trusted(indptr, indices, self.data, self.shape)

    def with_data(self, data) -> CSRMatrix:
        """The same structure with other values; only the values are checked (shape, finite),
        since the structure was validated when this matrix was built."""
        data = np.ascontiguousarray(data)
        if data.shape != self.data.shape or data.dtype.kind != "f":
            raise SparseFormatError(f"values must be floats of shape {self.data.shape}, got "
                                    f"{data.dtype} {data.shape}")
        if not np.all(np.isfinite(data)):
            raise SparseFormatError("values must be finite (found NaN or inf)")
        return CSRMatrix._trusted(self.indptr, self.indices, data, self.shape)

    @staticmethod
    def _trusted(indptr, indices, data, shape) -> CSRMatrix:
        """Wrap arrays derived from a validated matrix, unchecked."""
        matrix = object.__new__(CSRMatrix)
        for name, value in (("indptr", indptr), ("indices", indices), ("data", data),
                            ("shape", shape)):
            object.__setattr__(matrix, name, value)
        return matrix

    def take_rows(self, rows: np.ndarray) -> CSRMatrix:
        """The sub-matrix of the given rows, in the given order. Shape: ``(len(rows), cols)``."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        gather = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return CSRMatrix(indptr, self.indices[gather], self.data[gather], (rows.shape[0], self.shape[1]))

    def row_normalize(self) -> CSRMatrix:
        """Divide each row by its sum, as Kipf & Welling do; a row summing to zero is divided by
        1 (``sparsegnn.ops.input_norm``)."""
        sums = np.bincount(self.row_ids(), weights=self.data, minlength=self.shape[0])
        scale = np.divide(1.0, sums, out=np.ones_like(sums), where=sums != 0)
        data = (self.data * np.repeat(scale, np.diff(self.indptr))).astype(self.data.dtype)
        return self.with_data(data)

    def __repr__(self) -> str:
        return f"CSRMatrix(shape={self.shape}, nnz={self.nnz}, dtype={self.data.dtype})"
