"""Buffers whose rows start on a 64-byte boundary, from Python and from compiled code.

numpy's large arrays start 16 bytes past a 64-byte boundary and Numba's arrays are 32-byte
aligned, so every whole AVX-512 load or store of a row would straddle two cache lines (a
split load costs two load slots: the node-panel kernel ran at 4.4 instead of ~2.5 cycles per
stored weight with its panel buffer 32 bytes off).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._intrinsics import data_address

__all__ = ["aligned_empty", "aligned_zeros", "aligned_empty_compiled"]


@njit(cache=True, nogil=True)
def _address(array) -> int:
    return data_address(array)


def aligned_empty(shape: tuple[int, int], dtype) -> np.ndarray:
    """An uninitialised C-contiguous 2-D array whose data starts on a 64-byte boundary, from
    Python: plain arithmetic, the address from compiled code and one ``ndarray`` over a
    slightly larger buffer. (``np.prod``, ``.ctypes``, ``__array_interface__`` and a slice,
    view and reshape each cost about a microsecond, and the runtime allocates every layer's
    output this way.)"""
    dtype = np.dtype(dtype)
    rows, cols = shape
    size = rows * cols * dtype.itemsize
    if size < 4096:  # small arrays come from numpy's own cache; misalignment costs nothing here
        return np.empty(shape, dtype)
    raw = np.empty(size + 64, np.uint8)
    return np.ndarray((rows, cols), dtype, raw, -_address(raw) % 64)


@njit(cache=True, nogil=True)
def aligned_empty_compiled(rows, cols, like):
    """An uninitialised ``(rows, cols)`` array of ``like``'s dtype starting on a 64-byte
    boundary, in compiled code (a view into a slightly larger buffer)."""
    spare = 64 // like.itemsize
    raw = np.empty(rows * cols + spare, like.dtype)
    skip = (-data_address(raw) % 64) // like.itemsize
    return raw[skip:skip + rows * cols].reshape((rows, cols))


@njit(cache=True, nogil=True)
def aligned_zeros(rows, cols, like):
    """``aligned_empty_compiled``, zeroed."""
    out = aligned_empty_compiled(rows, cols, like)
    out[:, :] = 0
    return out
