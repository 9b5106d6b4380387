"""How far does a speed-up ratio stray from 1x by noise alone on this machine?

A model is timed against a second session of itself, in turns call by call, exactly as
``bench/sparsity_speedup.py`` times a pruned model against its dense self
(``_timing.interleaved_medians``, the same repeat count); the spread of these ratios is what a
pruned-against-dense ratio near 1x has to be read against.

Models: the sparsity bench's Cora GCN (full graph, 40 % of its edges pruned, CSR features)
and GIN-128 on one median-sized PROTEINS graph, untrained (speed does not depend on the
weights), on one thread and on every core.

Run: ``python bench/ratio_noise.py [--timings 36] [--repeat 21]``; writes
``bench/results/ratio_noise/ratio_noise.{json,md}``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from _timing import (  # bench/ is on sys.path when a script runs
    interleaved_medians,
    repeated_timings_main,
    write_result,
)
from sparsity_speedup import THREADS, machine, model_inputs

LABELS = ("gcn cora, 40 % edges pruned", "gin-128 proteins, batch 1")  # of sparsity_speedup


def measure(timings: int, repeat: int) -> dict:
    import torch

    from sparsegnn.export import export_artifact
    from sparsegnn.nn import build_model
    from sparsegnn.runtime import Session

    folder = Path(tempfile.mkdtemp(prefix="sparsegnn-noise-"))
    rows = []
    for index, label in enumerate(LABELS):
        config, x, graph, batch = model_inputs(label, keep_edges=True)  # the dense model's
        torch.manual_seed(0)
        path = export_artifact(build_model(config).eval(), folder / f"model-{index}.sgnn")
        for threads in THREADS:
            sessions = [Session(path, num_threads=threads) for _ in range(2)]
            calls = [lambda s=session, x=x, g=graph, b=batch: s.run(x, g, b)
                     for session in sessions]
            ratios = []
            for _ in range(timings):
                a, b = interleaved_medians(calls, repeat)
                ratios.append(a / b)
            low, high = np.percentile(ratios, [5, 95])
            rows.append({"model": label, "threads": threads, "timings": timings,
                         "repeat": repeat, "min": min(ratios), "max": max(ratios),
                         "p5": float(low), "p95": float(high), "ratios": ratios})
            print(f"{label:30s} {threads}t: {min(ratios):.3f}-{max(ratios):.3f}x "
                  f"(5-95 %: {low:.3f}-{high:.3f}x) over {timings} timings")
    return {"machine": machine(), "rows": rows}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Measured on {m['cpu']}, {m['threads']} threads, {m['date']} "
             "(`python bench/ratio_noise.py`). A model timed against a second session of "
             "itself, in turns as the sparsity bench times pruned against dense:", "",
             "| model | threads | timings | min | 5 % | 95 % | max |", "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['model']} | {r['threads']} | {r['timings']} | {r['min']:.2f}x | "
                     f"{r['p5']:.2f}x | {r['p95']:.2f}x | {r['max']:.2f}x |")
    return "\n".join(lines) + "\n"


def run(out: Path, timings: int = 36, repeat: int = 21) -> dict:
    """Measure and write ``ratio_noise.{json,md}`` to ``out``."""
    return write_result(out, "ratio_noise", measure(timings, repeat), markdown)


def main() -> None:
    repeated_timings_main(__doc__, "ratio_noise", measure, markdown, timings=36, repeat=21)


if __name__ == "__main__":
    main()
