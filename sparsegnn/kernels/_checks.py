"""Argument checks shared by the kernel wrappers: run before any native code sees an array."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..sparse import INDEX_DTYPES, SparseFormatError, check_csr
from ._config import PARALLEL_MIN_ELEMENTS, PARALLEL_MIN_WORK
from ._parallel import run_row_chunks

__all__ = ["FLOAT_DTYPES", "check_dense", "check_values", "check_vector", "check_csr",
           "activation_code", "KernelArgumentError", "all_finite", "valid_csr_structure"]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class KernelArgumentError(SparseFormatError):
    """A kernel was given an array of the wrong shape, dtype or range."""


def check_dense(x, name: str, ndim: int = 2, rows: int | None = None) -> np.ndarray:
    """A C-contiguous float32/float64 array of ``ndim`` dimensions (copied only if needed)."""
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise KernelArgumentError(f"{name} must be float32 or float64, got {x.dtype}")
    if x.ndim != ndim:
        raise KernelArgumentError(f"{name} must be {ndim}-D, got shape {x.shape}")
    if rows is not None and x.shape[0] != rows:
        raise KernelArgumentError(f"{name} must have {rows} rows, got {x.shape[0]}")
    return np.ascontiguousarray(x)


def check_values(data, nnz: int, dtype, name: str = "values") -> np.ndarray:
    """Edge or weight values as a contiguous array of ``dtype``, or an empty one for None."""
    if data is None:
        return np.empty(0, dtype=dtype)
    data = np.asarray(data)
    if data.shape != (nnz,):
        raise KernelArgumentError(f"{name} must have shape ({nnz},), got {data.shape}")
    if data.dtype.kind not in "fiub":
        raise KernelArgumentError(f"{name} must be numeric, got {data.dtype}")
    return np.ascontiguousarray(data, dtype=dtype)


def check_vector(vector, length: int, dtype, name: str) -> np.ndarray:
    if vector is None:
        return np.empty(0, dtype=dtype)
    vector = np.asarray(vector)
    if vector.shape != (length,):
        raise KernelArgumentError(f"{name} must have shape ({length},), got {vector.shape}")
    return np.ascontiguousarray(vector, dtype=dtype)


def activation_code(name: str | None, codes: dict) -> int:
    name = name or "identity"
    if name not in codes:
        raise KernelArgumentError(f"activation must be one of {sorted(codes)}, got {name!r}")
    return codes[name]


def check_graph_csr(indptr, indices, num_rows: int, num_cols: int, name: str):
    indptr, indices, _ = check_csr(indptr, indices, num_rows, num_cols, name=name,
                                   error=KernelArgumentError)
    return indptr, indices


@njit(cache=True, nogil=True)
def _csr_faults(indptr, indices, num_cols):
    """How many CSR rules ``(indptr, indices)`` breaks over ``num_cols`` columns (0: none):
    ``indptr`` starts at 0, never decreases and ends at the number of indices; every index
    lies in ``[0, num_cols)``. Counted without an early exit, so that both loops vectorise."""
    rows = indptr.shape[0] - 1
    if rows < 0 or indptr[0] != 0 or indptr[rows] != indices.shape[0]:
        return 1
    faults = 0
    for r in range(rows):
        faults += np.int64(indptr[r + 1] < indptr[r])
    limit = np.uint64(num_cols)
    for e in range(indices.shape[0]):
        faults += np.int64(np.uint64(indices[e]) >= limit)  # a negative index wraps past it
    return faults


def valid_csr_structure(indptr, indices, num_rows: int, num_cols: int) -> bool:
    """Whether ``indptr`` and ``indices`` are C-contiguous 1-D int32 / int64 arrays that form
    a CSR structure of ``num_rows`` rows over ``num_cols`` columns: one compiled pass, for
    inputs checked on every call (the runtime's graph and features). False also where the
    arrays would only need converting: ``check_csr`` then converts them or words the fault."""
    return (type(indptr) is np.ndarray and type(indices) is np.ndarray
            and indptr.ndim == 1 and indices.ndim == 1
            and indptr.dtype in INDEX_DTYPES and indices.dtype in INDEX_DTYPES
            and indptr.flags.c_contiguous and indices.flags.c_contiguous
            and indptr.shape[0] == num_rows + 1
            and _csr_faults(indptr, indices, num_cols) == 0)


# Only reassociation (so the sum vectorises): other fast-math flags let LLVM fold v - v to 0.
@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _nonfinite_sum(flat, start, end):
    """Sum of ``v - v`` over ``flat[start:end]``: 0 when every value is finite, NaN otherwise
    (NaN - NaN and inf - inf are NaN, and NaN survives additions in any order). Unlike a test
    per value with an early exit, this loop vectorises, as fast as numpy's ``max`` (indexing
    ``flat[start:end]`` with signed positions instead kept it scalar, about twice as slow)."""
    values = flat[start:end]  # indexed from 0: no negative-index wraparound, so it vectorises
    total = flat.dtype.type(0)
    for i in range(values.shape[0]):
        total += values[i] - values[i]
    return total


@njit(cache=True, nogil=True)
def _nonfinite_blocks(flat, bounds, sums, first_block, last_block):
    for block in range(first_block, last_block):
        sums[block] = _nonfinite_sum(flat, bounds[block], bounds[block + 1])


def all_finite(values: np.ndarray, threads: int | None = None) -> bool:
    """No NaN or inf in a C-contiguous float array; large arrays are scanned by the kernel
    threads. No temporary boolean array (numpy's would take 125 MB for Coauthor CS)."""
    flat = values.reshape(-1)
    if flat.shape[0] < PARALLEL_MIN_ELEMENTS:
        return bool(_nonfinite_sum(flat, 0, flat.shape[0]) == 0)
    blocks = 64
    bounds = np.linspace(0, flat.shape[0], blocks + 1).astype(np.int64)
    sums = np.zeros(blocks, dtype=flat.dtype)
    run_row_chunks(lambda first, last: _nonfinite_blocks(flat, bounds, sums, first, last),
                   bounds, max(flat.shape[0], PARALLEL_MIN_WORK), threads)  # worth splitting
    return bool(sums.sum() == 0)
