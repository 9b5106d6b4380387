"""What a split call costs: the kernels' thread pool handing half of a call to a worker.

A model's layers split one after another, a few tens of microseconds of the caller's own work
apart (its Python between layers, an op too small to split). A worker that went to sleep
between two of them has to be woken for the next, and on a virtual machine whose idle core
halted that took longer than many a layer's half. So the pool's threads poll for the handoff
for ``_parallel.SPIN_SECONDS`` (compiled, without the GIL) before they sleep on a lock.

Here a call of ``work`` microseconds of compiled, GIL-free arithmetic is split in two by
``_parallel.run_row_chunks``, after ``gap`` microseconds of the caller's own arithmetic, with
the polls as shipped and with them off (every wait goes straight to the lock), and on one
thread for reference. The variants take turns round by round in one process; each round keeps
the median of ``--repeat`` calls, and the table the median of the rounds. A gap longer than
the polls' window shows their bound: the worker slept, as without them.

Run: ``python bench/handoff.py [--timings 6] [--repeat 101]``; writes
``bench/results/handoff/handoff.{json,md}``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from _timing import repeated_timings_main, write_result
from numba import njit
from sparsity_speedup import machine

from sparsegnn.kernels import _parallel

WORK_US = (20, 200)  # the whole call's arithmetic, both halves
GAP_US = (0, 50, 300)  # the caller's own arithmetic before each call
SPLIT = 1 << 40  # work far above the pool's threshold: always split


@njit(nogil=True)
def _arithmetic(steps):
    total = 0.0
    for step in range(steps):
        total += np.sqrt(step + 1.0)
    return total


def _steps_per_microsecond() -> float:
    _arithmetic(10)
    started = time.perf_counter()
    _arithmetic(5_000_000)
    return 5_000_000 / ((time.perf_counter() - started) * 1e6)


def _use_polls(polls: int | None) -> None:
    """New workers poll ``polls`` times (None: as timed for ``SPIN_SECONDS``); the old ones
    stay asleep on their locks."""
    _parallel._state["polls"] = polls
    _parallel._forget_workers()
    _parallel._spin_polls()


def _median_us(call, gap_steps: int, repeat: int) -> float:
    spent = []
    for _ in range(repeat + 1):
        if gap_steps:
            _arithmetic(gap_steps)
        started = time.perf_counter()
        call()
        spent.append(time.perf_counter() - started)
    return 1e6 * float(np.median(spent[1:]))


def measure(timings: int, repeat: int) -> dict:
    rate = _steps_per_microsecond()
    rows_indptr = np.arange(3, dtype=np.int64)  # two rows: one chunk each
    variants = {"polls": None, "no polls": 0}
    cells: dict[tuple, list[float]] = {}
    for _ in range(timings):
        for variant, polls in variants.items():
            _use_polls(polls)
            for work in WORK_US:
                half = int(rate * work / 2)
                split = lambda h=half: _parallel.run_row_chunks(  # noqa: E731
                    lambda start, end: _arithmetic(h), rows_indptr, SPLIT, 2)
                for gap in GAP_US:
                    cells.setdefault((variant, work, gap), []).append(
                        _median_us(split, int(rate * gap), repeat))
                    if variant == "polls":
                        cells.setdefault(("one thread", work, gap), []).append(
                            _median_us(lambda h=half: _arithmetic(2 * h), int(rate * gap),
                                       repeat))
    _use_polls(None)
    rows = [{"variant": variant, "work_us": work, "gap_us": gap, "us": float(np.median(times)),
             "rounds_us": times} for (variant, work, gap), times in cells.items()]
    for row in rows:
        print(f"{row['variant']:10s} work {row['work_us']:3d} us, gap {row['gap_us']:3d} us: "
              f"{row['us']:7.1f} us", flush=True)
    return {"machine": machine(), "spin_seconds": _parallel.SPIN_SECONDS, "repeat": repeat,
            "timings": timings, "rows": rows}


def markdown(result: dict) -> str:
    m = result["machine"]
    by = {(r["variant"], r["work_us"], r["gap_us"]): r["us"] for r in result["rows"]}
    lines = [f"Measured on {m['cpu']}, {m['threads']} threads, {m['date']} "
             f"(`python bench/handoff.py`): a call of compiled arithmetic split in two by the "
             f"kernels' thread pool, after a gap of the caller's own arithmetic; microseconds, "
             f"the median of {result['timings']} rounds of {result['repeat']} calls each. The "
             f"pool's threads poll for {1e6 * result['spin_seconds']:.0f} us before they "
             f"sleep.", "",
             "| work | gap | one thread | split, no polls | split, polls | polls' gain |",
             "|---|---|---|---|---|---|"]
    for work in WORK_US:
        for gap in GAP_US:
            plain, polled = by[("no polls", work, gap)], by[("polls", work, gap)]
            lines.append(f"| {work} us | {gap} us | {by[('one thread', work, gap)]:.1f} | "
                         f"{plain:.1f} | {polled:.1f} | {plain / polled:.2f}x |")
    return "\n".join(lines) + "\n"


def run(out: Path, timings: int = 6, repeat: int = 101) -> dict:
    """Measure and write ``handoff.{json,md}`` to ``out``."""
    return write_result(out, "handoff", measure(timings, repeat), markdown)


def main() -> None:
    repeated_timings_main(__doc__, "handoff", measure, markdown, timings=6, repeat=101)


if __name__ == "__main__":
    main()
