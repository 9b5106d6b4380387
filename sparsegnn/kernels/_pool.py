"""Segment pooling: reduce node rows into one row per graph of a batch."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import KernelArgumentError, check_dense
from ._config import FASTMATH
from ._spmm import REDUCTIONS

__all__ = ["segment_pool", "batch_to_ptr"]


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


def batch_to_ptr(batch, num_nodes: int, num_segments: int | None = None) -> np.ndarray:
    """Segment offsets from a sorted ``batch`` vector. Shapes: ``(N,)`` -> ``(G + 1,)``."""
    batch = np.asarray(batch)
    if batch.shape != (num_nodes,) or batch.dtype.kind not in "iu":
        raise KernelArgumentError(f"batch must be {num_nodes} integers, got {batch.dtype} "
                                  f"array of shape {batch.shape}")
    if num_nodes and (batch[0] < 0 or np.any(np.diff(batch) < 0)):
        raise KernelArgumentError("batch must be non-negative and sorted (graphs contiguous)")
    largest = int(batch[-1]) + 1 if num_nodes else 0
    if num_segments is None:
        num_segments = largest
    elif num_segments < largest:
        raise KernelArgumentError(f"batch holds graph id {largest - 1} >= num_segments "
                                  f"{num_segments}")
    counts = np.bincount(batch, minlength=num_segments)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


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
