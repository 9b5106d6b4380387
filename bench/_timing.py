"""The one timing helper the benchmark scripts share."""

import time

import numpy as np


def median_seconds(call, repeat: int = 20) -> float:
    """Median wall time of ``call()`` over ``repeat`` runs, after one warm-up run (compilation,
    caches, page faults)."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def median_ms(call, repeat: int = 20) -> float:
    return 1e3 * median_seconds(call, repeat)
