"""Segment pooling: reduce node rows into one row per graph of a batch."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import KernelArgumentError, check_dense
from ._config import FASTMATH
from ._spmm import REDUCTIONS

__all__ = ["segment_pool", "batch_to_ptr", "sorted_batch_offsets"]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def pool_segments(x, ptr, reduce, out):
    for segment in range(ptr.shape[0] - 1):
        first, last = ptr[segment], ptr[segment + 1]
        if last == first:
            continue
        if reduce == 2:
            for f in range(x.shape[1]):
                out[segment, f] = x[first, f]
            for node in range(first + 1, last):
                for f in range(x.shape[1]):
                    out[segment, f] = max(out[segment, f], x[node, f])
        else:
            for node in range(first, last):
                for f in range(x.shape[1]):
                    out[segment, f] += x[node, f]
            if reduce == 1:
                for f in range(x.shape[1]):
                    out[segment, f] /= last - first


@njit(cache=True, nogil=True)
def sorted_batch_offsets(batch, num_segments):
    """Offsets ``ptr (G + 1,)`` of a sorted, non-negative ``batch`` (graph ``g`` is rows
    ``ptr[g]:ptr[g + 1]``; ids absent from ``batch`` are empty graphs), with at least
    ``num_segments`` graphs. Empty when ``batch`` is unsorted or negative: the caller raises.
    One compiled pass, because numpy's diff/bincount/cumsum calls cost more than the work on
    a small graph."""
    n = batch.shape[0]
    for i in range(n):
        if batch[i] < 0 or (i > 0 and batch[i] < batch[i - 1]):
            return np.empty(0, np.int64)
    segments = max(num_segments, batch[n - 1] + 1 if n > 0 else 0)
    ptr = np.zeros(segments + 1, np.int64)
    for i in range(n):
        ptr[batch[i] + 1] += 1
    for g in range(segments):
        ptr[g + 1] += ptr[g]
    return ptr


def batch_to_ptr(batch, num_nodes: int, num_segments: int | None = None) -> np.ndarray:
    """Segment offsets from a sorted ``batch`` vector. Shapes: ``(N,)`` -> ``(G + 1,)``."""
    batch = np.asarray(batch)
    if batch.shape != (num_nodes,) or batch.dtype.kind not in "iu":
        raise KernelArgumentError(f"batch must be {num_nodes} integers, got {batch.dtype} "
                                  f"array of shape {batch.shape}")
    largest = int(batch[-1]) + 1 if num_nodes else 0
    if num_segments is not None and num_segments < largest:
        raise KernelArgumentError(f"batch holds graph id {largest - 1} >= num_segments "
                                  f"{num_segments}")
    ptr = sorted_batch_offsets(batch.astype(np.int64, copy=False), num_segments or 0)
    if ptr.shape[0] == 0:
        raise KernelArgumentError("batch must be non-negative and sorted (graphs contiguous)")
    return ptr


def segment_pool(x, batch=None, *, reduce: str = "sum", num_segments: int | None = None
                 ) -> np.ndarray:
    """Pool rows of ``x`` per graph (``batch`` None: the whole ``x`` is one graph).

    Empty graphs give zeros. Shapes: ``x (N, F)``, ``batch (N,)`` sorted -> ``(G, F)``.
    """
    if reduce not in REDUCTIONS:
        raise KernelArgumentError(f"reduce must be one of {sorted(REDUCTIONS)}, got {reduce!r}")
    x = check_dense(x, "x")
    if batch is None:
        ptr = np.array([0, x.shape[0]], dtype=np.int64)
    else:
        ptr = batch_to_ptr(batch, x.shape[0], num_segments)
    out = np.zeros((ptr.shape[0] - 1, x.shape[1]), dtype=x.dtype)
    pool_segments(x, ptr, REDUCTIONS[reduce], out)
    return out
