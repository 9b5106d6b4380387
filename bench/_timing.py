"""The timing helpers the benchmark scripts share (the runtime's tuning times with `median_seconds` too)."""

import numpy as np

from sparsegnn.benchmark.stats import measure_interleaved
from sparsegnn.runtime.tuning import median_seconds

__all__ = ["median_seconds", "median_ms", "interleaved_medians"]


def median_ms(call, repeat: int = 20) -> float:
    return 1e3 * median_seconds(call, repeat)


def interleaved_medians(calls, repeat: int = 20) -> list[float]:
    """Median wall seconds of each of ``calls``, timed in turn within every round (after one
    warm-up call each), so that a slow spell of a shared machine slows them all alike: their
    ratios hold where back-to-back blocks of calls would each catch different load."""
    times = measure_interleaved(calls, warmup=1, min_rounds=repeat, max_rounds=repeat,
                                min_seconds=0.0)
    return [float(np.median(spent)) for spent in times]
