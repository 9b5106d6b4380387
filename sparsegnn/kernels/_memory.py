"""Output allocation for the kernels."""

from __future__ import annotations

import numpy as np

__all__ = ["aligned_empty"]


def aligned_empty(shape: tuple[int, int], dtype) -> np.ndarray:
    """An uninitialised C-contiguous 2-D array whose data starts on a 64-byte boundary. numpy's
    large arrays start 16 bytes past one, so every whole-vector load and store of a row would
    straddle two cache lines. (Plain arithmetic and ``__array_interface__``: ``np.prod`` and
    ``.ctypes`` cost microseconds, a small layer's whole product.)"""
    dtype = np.dtype(dtype)
    rows, cols = shape
    size = rows * cols * dtype.itemsize
    if size < 4096:  # small arrays come from numpy's own cache; misalignment costs nothing here
        return np.empty(shape, dtype)
    raw = np.empty(size + 64, np.uint8)
    offset = -raw.__array_interface__["data"][0] % 64
    return raw[offset:offset + size].view(dtype).reshape(shape)
