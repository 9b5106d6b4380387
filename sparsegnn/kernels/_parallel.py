"""Work splitting: serial ``nogil`` kernels run on row chunks balanced by stored entries.

Numba's own ``parallel=True`` was measured here to cost ~0.4 s per kernel to load from cache and
its default threading layer aborts the process when two Python threads enter parallel code at
once. Serial kernels that release the GIL, run on a shared thread pool over disjoint row ranges,
start instantly and are safe to call from any number of Python threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._config import PARALLEL_MIN_WORK

__all__ = ["get_num_threads", "set_num_threads", "row_chunks", "run_row_chunks", "runs_serially"]

_state = {"threads": None, "pool": None, "default": None}
_lock = threading.Lock()


def get_num_threads() -> int:
    """Threads kernels may use: ``set_num_threads``, else ``$SPARSEGNN_NUM_THREADS`` (read at
    the first call), else all CPUs this process may run on."""
    if _state["threads"] is not None:
        return _state["threads"]
    if _state["default"] is None:  # asked on every kernel call: read the environment once
        env = os.environ.get("SPARSEGNN_NUM_THREADS")
        if env:
            _state["default"] = max(1, int(env))
        else:
            try:
                _state["default"] = max(1, len(os.sched_getaffinity(0)))
            except AttributeError:  # pragma: no cover - not on Linux
                _state["default"] = max(1, os.cpu_count() or 1)
    return _state["default"]


def set_num_threads(threads: int | None) -> None:
    """Limit kernel threads (``None`` restores the default)."""
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    with _lock:
        _state["threads"] = threads


def _pool(threads: int) -> ThreadPoolExecutor:
    with _lock:
        pool = _state["pool"]
        if pool is None or pool._max_workers < threads:
            _state["pool"] = ThreadPoolExecutor(max_workers=threads,
                                                thread_name_prefix="sparsegnn")
        return _state["pool"]


def row_chunks(indptr: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Split rows into ``parts`` contiguous ranges of about equal cost (entries + rows)."""
    num_rows = indptr.shape[0] - 1
    if parts <= 1 or num_rows <= 1:
        return [(0, num_rows)]
    cost = indptr.astype(np.int64) + np.arange(num_rows + 1)
    targets = np.linspace(0, cost[-1], parts + 1)[1:-1]
    bounds = np.unique(np.concatenate([[0], np.searchsorted(cost, targets), [num_rows]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def runs_serially(work: int, threads: int | None = None) -> bool:
    """Whether ``run_row_chunks`` runs ``work`` on the calling thread alone (one thread
    allowed, or too little work to split): a caller can then skip planning the split."""
    return (threads or get_num_threads()) == 1 or work < PARALLEL_MIN_WORK


def run_row_chunks(kernel: Callable[[int, int], None], indptr: np.ndarray, work: int,
                   threads: int | None = None) -> None:
    """Call ``kernel(start, end)`` over row ranges covering every row, in parallel when ``work``
    is large enough. ``kernel`` must only write rows in its own range."""
    if runs_serially(work, threads) or indptr.shape[0] <= 2:
        kernel(0, indptr.shape[0] - 1)
        return
    threads = threads or get_num_threads()
    chunks = row_chunks(indptr, threads)
    futures = [_pool(threads).submit(kernel, start, end) for start, end in chunks[1:]]
    kernel(*chunks[0])  # the caller works too instead of waiting idle
    for future in futures:
        future.result()
