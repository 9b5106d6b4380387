"""How much faster than its dense self can pruning make the Cora GCN in this runtime at most?

The sparsity bench's Cora GCN (2 layers, hidden 16, Cora's CSR bag-of-words features),
untrained (speed does not depend on the weights' values), is timed against its dense self on
the whole graph, in turns call by call (``_timing.interleaved_medians``, as
``bench/sparsity_speedup.py`` times every pruned model), in two pruned forms:

- **95 % / 40 %**: 95 % of each layer's weights and 40 % of the edges pruned (issue 13's
  target of 1.5x is for this one);
- **floor**: 99.9 % of each layer's weights and every edge pruned, each node left with only
  the self loop GCN adds: what no further pruning of weights or edges can go below. Its ratio
  bounds what the 95 % / 40 % model could reach with every weight- and edge-proportional cost
  removed; what remains is the per-call work pruning does not shrink (the features' checks,
  the first layer's pass over every feature entry, the kernels' calls).

Run: ``python bench/pruning_floor.py [--timings 5] [--repeat 101]``; writes
``bench/results/pruning_floor/pruning_floor.{json,md}``.
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
from sparsity_speedup import THREADS, _prune, machine, model_inputs

LABEL = "gcn cora, 40 % edges pruned"  # of sparsity_speedup.MODELS
FLOOR_SPARSITY = 0.999


def measure(timings: int, repeat: int) -> dict:
    import torch

    from sparsegnn.export import export_artifact
    from sparsegnn.graph import Graph
    from sparsegnn.nn import build_model
    from sparsegnn.runtime import Session

    config, x, pruned_graph, _ = model_inputs(LABEL)
    whole = model_inputs(LABEL, keep_edges=True)[2]
    edgeless = Graph(np.zeros(whole.num_nodes + 1, np.int64), np.zeros(0, np.int32),
                     whole.num_nodes)
    folder = Path(tempfile.mkdtemp(prefix="sparsegnn-floor-"))
    paths = {}
    for sparsity in (0.0, 0.95, FLOOR_SPARSITY):
        torch.manual_seed(0)
        model = build_model(config).eval()
        _prune(model, sparsity, "unstructured")
        paths[sparsity] = export_artifact(model, folder / f"model-{sparsity}.sgnn")
    rows = []
    for threads in THREADS:
        graphs = {0.0: whole, 0.95: pruned_graph, FLOOR_SPARSITY: edgeless}
        sessions = [(Session(paths[sparsity], num_threads=threads), graph)
                    for sparsity, graph in graphs.items()]
        calls = [lambda s=session, g=graph: s.run(x, g) for session, graph in sessions]
        for _ in range(timings):
            dense, pruned, floor = interleaved_medians(calls, repeat)
            rows.append({"threads": threads, "dense_ms": 1e3 * dense,
                         "pruned_ms": 1e3 * pruned, "floor_ms": 1e3 * floor,
                         "pruned_speedup": dense / pruned, "floor_speedup": dense / floor})
            print(f"{threads}t: dense {1e3 * dense:.3f} ms, 95 % / 40 % {1e3 * pruned:.3f} ms "
                  f"({dense / pruned:.2f}x), floor {1e3 * floor:.3f} ms ({dense / floor:.2f}x)")
    return {"machine": machine(), "model": LABEL, "repeat": repeat,
            "edges": {"whole": int(whole.num_edges), "pruned": int(pruned_graph.num_edges)},
            "rows": rows}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Measured on {m['cpu']}, {m['threads']} threads, {m['date']} "
             "(`python bench/pruning_floor.py`). Cora GCN against its dense self on the whole "
             f"graph ({result['edges']['whole']:,} edges), in turns call by call; 95 % / 40 %: "
             f"95 % of weights and 40 % of edges pruned ({result['edges']['pruned']:,} edges "
             f"kept); floor: {100 * FLOOR_SPARSITY:.1f} % of weights and every edge pruned.",
             "", "| threads | dense ms | 95 % / 40 % ms | speed-up | floor ms | speed-up |",
             "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['threads']} | {r['dense_ms']:.3f} | {r['pruned_ms']:.3f} | "
                     f"{r['pruned_speedup']:.2f}x | {r['floor_ms']:.3f} | "
                     f"{r['floor_speedup']:.2f}x |")
    return "\n".join(lines) + "\n"


def run(out: Path, timings: int = 5, repeat: int = 101) -> dict:
    """Measure and write ``pruning_floor.{json,md}`` to ``out``."""
    return write_result(out, "pruning_floor", measure(timings, repeat), markdown)


def main() -> None:
    repeated_timings_main(__doc__, "pruning_floor", measure, markdown, timings=5, repeat=101)


if __name__ == "__main__":
    main()
