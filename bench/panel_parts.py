"""Where a very sparse layer's time goes: the node panels' parts, each timed alone.

The layer of ``bench/sparsity_speedup.py``'s layer section (``x (10k x 256) @ W (256 x 256)``,
float32, dense row-major activations), with ``W`` unstructured at 98 % and with one stored
weight (the floor of any weight), on one thread:

- **transposes in**: every panel's activations into the panel buffer ``xt``
  (``_fill_dense``);
- **multiply-adds**: every panel's sweep over the stored weights (``_panel_outputs``) with
  ``xt`` already in cache and no prefetching: with one stored weight, what each output costs
  whatever it holds (its sums stored, its epilogue);
- **transposes out**: every panel's sums into the row-major output (``_store_panel``);
- **the layer**: ``sparse_linear(..., threads=1)``, the three parts panel by panel with the
  next panel's activations prefetched during each sweep. Above the sum of the parts by what
  the parts cost each other in the caches;
- **copy**: ``np.copyto`` of the activations into an output as large: what any kernel that
  reads row-major activations and writes a row-major output pays at least.

Then on every core: the layer; each half of it (whole panels, as the kernels' thread pool
splits it) alone on one thread; and a no-op call through the pool
(``_parallel.run_row_chunks``): the wake-up and the GIL's handoffs that every split call
pays. The layer on all cores minus its slower half alone is that handoff plus what the two
halves cost each other in memory.

Each timing times every part in a block of ``--repeat`` calls after a warm-up call and keeps
the median: each part in its steady state, its data as warm as its own calls leave it. (Not
in turns, call by call, as the ratios of ``bench/sparsity_speedup.py`` are: each part would
then start from caches the others filled, the transposes ran about twice as long, and the
parts would no longer be the layer's.) ``--timings`` such timings show how far a part strays
between spells of a shared machine.

Run: ``python bench/panel_parts.py [--timings 5] [--repeat 201]``; writes
``bench/results/panel_parts/panel_parts.{json,md}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _timing import median_seconds, repeated_timings_main, write_result
from numba import njit
from sparsity_speedup import THREADS, machine

from sparsegnn.kernels import pack_weight, sparse_linear
from sparsegnn.kernels._memory import aligned_empty
from sparsegnn.kernels._parallel import row_chunks, run_row_chunks
from sparsegnn.kernels._sparse_linear import (
    _fill_dense,
    _panel_outputs,
    _store_panel,
    panel_width,
)

ROWS, WIDTH = 10_000, 256
SPARSITY = 0.98
WEIGHTS = ("98 %", "one weight")
NO_EPILOGUE = (np.empty(0, np.float32), False, 0, 0.0)


@njit(nogil=True)
def _transposes_in(x, xt, panel):
    for first in range(0, x.shape[0], panel):
        _fill_dense(x, first, min(panel, x.shape[0] - first), xt)


@njit(nogil=True)
def _multiply_adds(bounds, indices, values, xt, ot, epilogue, scale, rows, panel):
    no_prefetch = np.zeros((1, 0), xt.dtype)
    for first in range(0, rows, panel):
        _panel_outputs(bounds, indices, values, 1, xt, 0, ot, 0, epilogue, scale, False,
                       no_prefetch, 0, 0, min(panel, rows - first))


@njit(nogil=True)
def _transposes_out(ot, out, panel):
    rows = out.shape[0]
    for first in range(0, rows, panel):
        count = min(panel, rows - first)
        _store_panel(ot, 0, out, first, count, min(panel, rows - first - count))


def _weights(rng) -> dict[str, np.ndarray]:
    dense = rng.standard_normal((WIDTH, WIDTH)).astype(np.float32)
    one = np.zeros((WIDTH, WIDTH), np.float32)
    one[0, 0] = 1
    return {WEIGHTS[0]: dense * (rng.random((WIDTH, WIDTH)) >= SPARSITY), WEIGHTS[1]: one}


def measure(timings: int, repeat: int) -> dict:
    rng = np.random.default_rng(0)
    x = aligned_empty((ROWS, WIDTH), np.float32)
    x[:] = rng.standard_normal((ROWS, WIDTH))
    panel = panel_width(np.float32)
    xt = aligned_empty((WIDTH + panel, panel), np.float32)
    xt.fill(0)
    ot = aligned_empty((WIDTH + panel, panel), np.float32)
    out = aligned_empty((ROWS, WIDTH), np.float32)
    scale = np.ones((1, panel), np.float32)
    threads = THREADS[-1]  # every core
    # where the pool splits the panels between two threads (as sparse_linear asks it to)
    cut = row_chunks(np.arange(-(-ROWS // panel) + 1), 2)[1][0] * panel
    packed = {}
    for name, matrix in _weights(rng).items():
        packed[name] = pack_weight(matrix, "panels")
        np.testing.assert_allclose(sparse_linear(x, packed[name]), x @ matrix, rtol=1e-4,
                                   atol=1e-3)

    rows = []
    for timing in range(timings):
        for name, weight in packed.items():
            calls = {
                "transposes_in": lambda: _transposes_in(x, xt, panel),
                "multiply_adds": lambda w=weight: _multiply_adds(
                    w.bounds, w.indices, w.values, xt, ot, NO_EPILOGUE, scale, ROWS, panel),
                "transposes_out": lambda: _transposes_out(ot, out, panel),
                "layer_1t": lambda w=weight: sparse_linear(x, w, threads=1),
                "copy": lambda: np.copyto(out, x)}
            if threads > 1:
                calls.update({
                    "layer_all": lambda w=weight: sparse_linear(x, w, threads=threads),
                    "first_half": lambda w=weight: sparse_linear(x[:cut], w, threads=1),
                    "second_half": lambda w=weight: sparse_linear(x[cut:], w, threads=1),
                    "pool_round_trip": lambda: run_row_chunks(
                        lambda start, end: None, np.arange(threads + 1, dtype=np.int64),
                        1 << 40, threads)})
            medians = [median_seconds(call, repeat) for call in calls.values()]
            row = {"timing": timing, "weight": name, "stored": int(weight.indices.shape[0]),
                   **{f"{part}_ms": 1e3 * seconds for part, seconds in zip(calls, medians)}}
            row["parts_ms"] = sum(row[f"{part}_ms"] for part in
                                  ("transposes_in", "multiply_adds", "transposes_out"))
            if threads > 1:
                row["threads"] = threads
            rows.append(row)
            print(" ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in row.items()), flush=True)
    return {"machine": machine(), "rows_in": ROWS, "width": WIDTH, "panel": panel,
            "repeat": repeat, "rows": rows}


def _spread(values: list[float]) -> str:
    return f"{np.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Measured on {m['cpu']}, {m['threads']} threads, {m['date']} "
             f"(`python bench/panel_parts.py`): `x ({result['rows_in']:,} x {result['width']})"
             f" @ W ({result['width']} x {result['width']})`, float32, panels of "
             f"{result['panel']} nodes; ms, the median of {len(result['rows']) // 2} timings "
             f"of {result['repeat']} calls each, their range in brackets.", "",
             "| part | " + " | ".join(f"{name}" for name in WEIGHTS) + " |",
             "|---|" + "---|" * len(WEIGHTS)]
    parts = [("transposes in", "transposes_in_ms"), ("multiply-adds", "multiply_adds_ms"),
             ("transposes out", "transposes_out_ms"), ("sum of the three", "parts_ms"),
             ("the layer, 1 thread", "layer_1t_ms"), ("copy", "copy_ms")]
    if "layer_all_ms" in result["rows"][0]:
        threads = result["rows"][0]["threads"]
        parts += [(f"the layer, {threads} threads", "layer_all_ms"),
                  ("first half alone, 1 thread", "first_half_ms"),
                  ("second half alone, 1 thread", "second_half_ms"),
                  ("no-op through the thread pool", "pool_round_trip_ms")]
    for label, key in parts:
        cells = [_spread([r[key] for r in result["rows"] if r["weight"] == name])
                 for name in WEIGHTS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    stored = {r["weight"]: r["stored"] for r in result["rows"]}
    lines += ["", f"Stored weights: {stored[WEIGHTS[0]]:,} at 98 % and 1 (one weight)."]
    return "\n".join(lines) + "\n"


def run(out: Path, timings: int = 5, repeat: int = 201) -> dict:
    """Measure and write ``panel_parts.{json,md}`` to ``out``."""
    return write_result(out, "panel_parts", measure(timings, repeat), markdown)


def main() -> None:
    repeated_timings_main(__doc__, "panel_parts", measure, markdown, timings=5, repeat=201)


if __name__ == "__main__":
    main()
