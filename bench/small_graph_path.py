"""One small graph per call: the runtime's compiled whole-model path against its per-op path.

Run: ``python bench/small_graph_path.py ARTIFACT --dataset nci1 [--graphs 1 4 16 64]``, with
an artifact of a graph-level model (e.g. ``runs/bench-suite/gin-nci1/exported/dense.sgnn``
after ``bench/run_all.py``). Prints median latencies of both paths on the same test graphs
(``--graphs`` of them batched per call), their agreement, and what the input checks cost.
"""

from __future__ import annotations

import argparse
from functools import partial

import numpy as np
from _timing import median_ms  # bench/ is on sys.path when a script runs


def main() -> None:
    import sparsegnn.runtime.session as session_module
    from sparsegnn import data
    from sparsegnn.runtime import Session

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--dataset", default="nci1")
    parser.add_argument("--graphs", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()

    dataset = data.load(args.dataset)
    session = Session(args.artifact, num_threads=1)
    test = dataset.splits[0].test
    limit = session_module.PROGRAM_MAX_NODES
    print(f"{args.dataset}, {args.artifact}; compiled path up to {limit} nodes, 1 thread")
    for count in args.graphs:
        graph, x, batch = dataset.select_graphs(test[:count])
        call = partial(session.run, x, graph, batch)
        session_module.PROGRAM_MAX_NODES = 1 << 30
        compiled_out, compiled = call(), median_ms(call, args.repeat)
        session_module.PROGRAM_MAX_NODES = -1
        per_op_out, per_op = call(), median_ms(call, args.repeat)
        session_module.PROGRAM_MAX_NODES = limit
        print(f"{count:4d} graphs, {x.shape[0]:5d} nodes: compiled {1e3 * compiled:8.1f} us, "
              f"per-op {1e3 * per_op:8.1f} us ({per_op / compiled:4.2f}x); max |diff| "
              f"{np.abs(compiled_out - per_op_out).max():.1e}")
    graph, x, batch = dataset.select_graphs(test[:1])
    checks = {"features": lambda: session._features(x),
              "graph": lambda: session._graph(graph, x.shape[0]),
              "batch": lambda: session._batch(batch, x.shape[0])}
    print("input checks, one graph: " + ", ".join(
        f"{name} {1e3 * median_ms(call, args.repeat):.1f} us" for name, call in checks.items()))


if __name__ == "__main__":
    main()
