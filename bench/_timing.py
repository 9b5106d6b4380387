"""The timing helpers the benchmark scripts share (the runtime's tuning times with `median_seconds` too),
and the command line and result files of the scripts that repeat one timing."""

import argparse
import json
from pathlib import Path

import numpy as np

from sparsegnn._fileio import atomic_write_text
from sparsegnn.benchmark.stats import measure_interleaved
from sparsegnn.runtime.tuning import median_seconds

__all__ = ["median_seconds", "median_ms", "interleaved_medians", "repeated_timings_main"]


def median_ms(call, repeat: int = 20) -> float:
    return 1e3 * median_seconds(call, repeat)


def interleaved_medians(calls, repeat: int = 20, min_seconds: float = 0.0) -> list[float]:
    """Median wall seconds of each of ``calls``, timed in turn within every round (after one
    warm-up call each), so that a slow spell of a shared machine slows them all alike: their
    ratios hold where back-to-back blocks of calls would each catch different load. ``repeat``
    rounds, or more until ``min_seconds`` have passed (at most ``100 * repeat``): the rounds of
    sub-millisecond calls then span more than one spell."""
    times = measure_interleaved(calls, warmup=1, min_rounds=repeat, max_rounds=100 * repeat,
                                min_seconds=min_seconds)
    return [float(np.median(spent)) for spent in times]


def repeated_timings_main(doc: str, name: str, measure, markdown, timings: int,
                          repeat: int) -> None:
    """The command line of a script that takes ``--timings`` timings of ``--repeat`` calls each
    (``measure(timings, repeat) -> result``) and writes ``result`` as ``<out>/<name>.json`` and
    ``markdown(result)`` as ``<out>/<name>.md`` (``--out``: ``bench/results/<name>``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--timings", type=int, default=timings)
    parser.add_argument("--repeat", type=int, default=repeat, help="calls per timing")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / name)
    args = parser.parse_args()
    if args.timings < 1 or args.repeat < 1:
        parser.error("--timings and --repeat must be positive")
    write_result(args.out, name, measure(args.timings, args.repeat), markdown)


def write_result(out: Path, name: str, result: dict, markdown) -> dict:
    """``result`` as ``out/<name>.json`` and ``markdown(result)`` as ``out/<name>.md``,
    each written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{name}.json", json.dumps(result, indent=1))
    atomic_write_text(out / f"{name}.md", markdown(result))
    print(f"wrote {out}/{name}.{{json,md}}")
    return result
