"""Work splitting: serial ``nogil`` kernels run on row chunks balanced by stored entries.

Numba's own ``parallel=True`` was measured here to cost ~0.4 s per kernel to load from cache and
its default threading layer aborts the process when two Python threads enter parallel code at
once. Serial kernels that release the GIL, run by a few worker threads over disjoint row
ranges, start instantly and are safe to call from any number of Python threads.

A worker is handed its chunk through two plain locks, not a ``ThreadPoolExecutor``: an
executor's queue and future wait on Python-level conditions, several per task, each run under
the GIL that the calling thread needs too, and every split call paid for them (twice the
round trip of the locks; ``bench/panel_parts.py`` times the round trip).

Before it sleeps on a lock, a worker polls a flag for its next task for ``SPIN_SECONDS``
(compiled, without the GIL), and so does a caller waiting for a worker's chunk. A model's
layers split one after another, a few tens of microseconds apart; a thread that went to sleep
between two of them took longer than that to wake (its core halted), on every split call
(``bench/handoff.py`` times a split call with and without the polls). Polls are bounded: after
the last layer a worker sleeps again.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable

import numpy as np
from numba import njit

from ._config import PARALLEL_MIN_WORK
from ._intrinsics import load_acquire, spin_pause

__all__ = ["get_num_threads", "set_num_threads", "row_chunks", "run_row_chunks", "runs_serially"]

_state = {"threads": None, "default": None, "workers": [], "idle": [], "polls": None}
_lock = threading.Lock()
SPIN_SECONDS = 2e-4  # how long a thread polls for a handoff before it sleeps on a lock


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


@njit(cache=True, nogil=True)
def _poll(flag, polls):
    """Whether ``flag[0]`` is nonzero within ``polls`` polls (another thread sets it)."""
    for _ in range(polls):
        if load_acquire(flag) != 0:
            return True
        spin_pause()
    return load_acquire(flag) != 0


def _spin_polls() -> int:
    """Polls of ``_poll`` in ``SPIN_SECONDS`` on this machine, timed once (0 without the JIT:
    polling in Python would hold the GIL that the other thread needs)."""
    if _state["polls"] is None:
        from numba.core import config

        polls = 0
        if not config.DISABLE_JIT:
            never, trial = np.zeros(1, np.int64), 4096
            _poll(never, 1)  # loaded (or compiled) before the timing
            started = time.perf_counter()
            _poll(never, trial)
            spent = max(time.perf_counter() - started, 1e-9)
            polls = max(1, int(trial * SPIN_SECONDS / spent))
        _state["polls"] = polls
    return _state["polls"]


class _Worker:
    """A daemon thread that runs one ``kernel(start, end)`` per ``submit``; ``wait`` returns
    when it is done. The locks carry the handoff; the flags ``posted`` and ``finished`` only
    keep the waiting thread awake for it (``_poll``)."""

    def __init__(self, number: int):
        self._start, self._done = threading.Lock(), threading.Lock()
        self._start.acquire()  # held while there is no task: the thread waits on it
        self._done.acquire()  # held until the task is done: the caller waits on it
        self._posted, self._finished = np.zeros(1, np.int64), np.zeros(1, np.int64)
        self._polls = _spin_polls()
        self._task: tuple | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._serve, name=f"sparsegnn-{number}", daemon=True).start()

    def _serve(self) -> None:
        while True:
            _poll(self._posted, self._polls)
            self._start.acquire()
            kernel, start, end = self._task
            try:
                kernel(start, end)
            except BaseException as exc:  # handed to the caller, which re-raises it
                self._error = exc
            self._task = None
            self._posted[0] = 0
            self._finished[0] = 1
            self._done.release()

    def submit(self, kernel: Callable[[int, int], None], start: int, end: int) -> None:
        self._task = (kernel, start, end)
        self._finished[0] = 0
        self._start.release()
        # after the release, so that a worker that sees the flag finds the lock free (the GIL,
        # held until the caller's own chunk, keeps the worker from clearing it before this)
        self._posted[0] = 1

    def wait(self) -> BaseException | None:
        """Block until the task is done, even through a ``KeyboardInterrupt`` (the task writes
        its rows until then); the interrupt, else what the task raised, else None."""
        _poll(self._finished, self._polls)
        interrupted = None
        while True:
            try:
                self._done.acquire()
                break
            except BaseException as exc:
                interrupted = exc
        error, self._error = self._error, None
        return interrupted or error


def _take_workers(count: int) -> list[_Worker]:
    """Up to ``count`` idle workers, making them until ``count`` exist; fewer when other
    Python threads hold them (their chunks then run on the caller: no more threads than the
    cores asked for per call)."""
    with _lock:
        workers, idle = _state["workers"], _state["idle"]
        while len(workers) < count:
            workers.append(_Worker(len(workers)))
            idle.append(workers[-1])
        taken = idle[max(len(idle) - count, 0):]
        del idle[len(idle) - len(taken):]
    return taken


def _return_workers(taken: list[_Worker]) -> None:
    with _lock:
        _state["idle"].extend(taken)


def _forget_workers() -> None:
    """In a forked child: the parent's worker threads do not exist there."""
    global _lock
    _lock = threading.Lock()
    _state["workers"], _state["idle"] = [], []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


def row_chunks(indptr: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Split rows into ``parts`` contiguous ranges of about equal cost (entries + rows),
    by binary search over the rows (a few scalar reads, not a pass over ``indptr``)."""
    num_rows = indptr.shape[0] - 1
    if parts <= 1 or num_rows <= 1:
        return [(0, num_rows)]
    first = int(indptr[0])
    total = int(indptr[num_rows]) - first + num_rows

    def scaled_cost(row: int) -> int:  # entries and rows before ``row``, times ``parts``
        return (int(indptr[row]) - first + row) * parts

    # cut ``part``: the first row whose cost reaches ``part / parts`` of the total (exactly)
    cuts = [bisect_left(range(num_rows + 1), total * part, key=scaled_cost)
            for part in range(1, parts)]
    bounds = [0, *cuts, num_rows]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


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
    workers, submitted = _take_workers(len(chunks) - 1), []
    try:
        for worker, (start, end) in zip(workers, chunks[1:]):
            worker.submit(kernel, start, end)
            submitted.append(worker)
        for start, end in [chunks[0], *chunks[len(workers) + 1:]]:
            kernel(start, end)  # the caller works too instead of waiting idle
    finally:  # every worker done before the caller returns or raises: none writes on after
        # (only those handed a task: one interrupted before its task would wait forever)
        errors = [worker.wait() for worker in submitted]
        _return_workers(workers)
    error = next((e for e in errors if e is not None), None)
    if error is not None:
        raise error
