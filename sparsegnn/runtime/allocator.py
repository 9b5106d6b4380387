"""Keep freed memory in the process, so that a model's every run reuses it.

Each run allocates its activations afresh (an output per layer, buffers per kernel call) and
frees them at the end. glibc's ``malloc`` gives large freed blocks back to the OS: blocks above
its mmap threshold are unmapped when freed, and the free top of its heaps is trimmed once it
passes its trim threshold. Both thresholds move with the process's history (glibc raises the
first to the largest block freed so far), so whether a run got its memory back from the heap
or faulted every page in afresh, zeroed by the kernel, differed from one process to the next.
Faulting costs about a microsecond per 4 KiB page, and on two threads the faults of both
contend for the process's memory map: GIN-128 on 64 PROTEINS graphs took 7.0 ms (dense) and
5.2 ms (90 % pruned) on two threads in such a process, 3.5 and 1.5 ms with the pages kept
(4,682 faults per pair of runs against none).

:func:`keep_freed_memory` (called by the first :class:`~sparsegnn.runtime.Session`) fixes both
thresholds: blocks up to ``MMAP_THRESHOLD`` come from the heap, and up to ``TRIM_THRESHOLD``
of free heap stays mapped. It is process-wide, as an inference runtime's own arena would be
(ONNX Runtime keeps one too): the process holds on to its peak working set instead of giving
it back between runs. ``SPARSEGNN_MALLOC=system`` leaves ``malloc`` as it is, and so do
glibc's own settings when the environment gives any (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``). Other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import os
import threading

__all__ = ["keep_freed_memory", "MALLOC_ENV"]

MALLOC_ENV = "SPARSEGNN_MALLOC"
MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts on 64-bit (its dynamic threshold's cap)
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_GLIBC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_state = {"result": None}
_lock = threading.Lock()


def keep_freed_memory() -> str:
    """Set glibc's mmap and trim thresholds once per process (see the module docstring).
    Returns what was done: ``"kept"``, or why not (``"system"``: ``SPARSEGNN_MALLOC=system``;
    ``"environment"``: glibc settings in the environment; ``"unavailable"``: not glibc)."""
    with _lock:
        if _state["result"] is None:
            _state["result"] = _configure()
        return _state["result"]


def _configure() -> str:
    if os.environ.get(MALLOC_ENV, "").strip().lower() == "system":
        return "system"
    if any(name in os.environ for name in _GLIBC_SETTINGS):
        return "environment"
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl, macOS, Windows: not glibc
            return "unavailable"
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "unavailable"
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 \
        and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return "kept" if applied else "unavailable"
