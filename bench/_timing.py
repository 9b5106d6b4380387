"""The timing helpers the benchmark scripts share (the runtime's tuning times with `median_seconds` too)."""

import time

import numpy as np

from sparsegnn.runtime.tuning import median_seconds

__all__ = ["median_seconds", "median_ms", "interleaved_medians"]


def median_ms(call, repeat: int = 20) -> float:
    return 1e3 * median_seconds(call, repeat)


def interleaved_medians(calls, repeat: int = 20) -> list[float]:
    """Median wall seconds of each of ``calls``, timed in turn within every round (after one
    warm-up call each), so that a slow spell of a shared machine slows them all alike: their
    ratios hold where back-to-back blocks of calls would each catch different load."""
    for call in calls:
        call()
    times = [[] for _ in calls]
    for _ in range(repeat):
        for call, spent in zip(calls, times):
            started = time.perf_counter()
            call()
            spent.append(time.perf_counter() - started)
    return [float(np.median(spent)) for spent in times]
