"""The one timing helper the benchmark scripts share (the runtime's tuning times with it too)."""

from sparsegnn.runtime.tuning import median_seconds

__all__ = ["median_seconds", "median_ms"]


def median_ms(call, repeat: int = 20) -> float:
    return 1e3 * median_seconds(call, repeat)
