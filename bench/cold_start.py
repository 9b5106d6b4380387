"""Cold start and batch-1 latency of the runtime on one molecule-sized graph (3-layer GIN).

Run: ``python bench/cold_start.py``. It exports an (untrained: speed does not depend on the
weights) GIN for MUTAG once, then starts a fresh Python process that imports only the runtime,
loads the artifact and runs it: the cold start is that process's import + load + first result
(kernels cached on disk after the first ever run). Then it reports the steady-state p50.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import time
started = time.perf_counter()
import numpy as np
from sparsegnn.runtime import Session
imported = time.perf_counter()
data = np.load({inputs!r})
session = Session({artifact!r})
session.run(data["x"], data["edge_index"])
first = time.perf_counter()
times = []
for _ in range(500):
    tick = time.perf_counter()
    session.run(data["x"], data["edge_index"])
    times.append(time.perf_counter() - tick)
print(f"import {{imported - started:.3f}} s, load + first result {{first - imported:.3f}} s, "
      f"cold start {{first - started:.3f}} s; steady p50 {{1e3 * np.median(times):.3f}} ms")
"""


def main() -> None:
    import numpy as np
    import torch

    from sparsegnn import data
    from sparsegnn.export import export_artifact
    from sparsegnn.nn.recipes import make_model

    folder = Path(tempfile.mkdtemp(prefix="sparsegnn-cold-"))
    mutag = data.load("mutag")
    torch.manual_seed(0)
    artifact = export_artifact(make_model("gin", mutag, num_layers=3).eval(), folder / "gin.sgnn")
    graph, x, _ = mutag.select_graphs([0])
    np.savez(folder / "graph.npz", x=x, edge_index=graph.edge_index)
    print(f"one MUTAG graph: {graph.num_nodes} nodes, {graph.num_edges} edges")
    script = CHILD.format(inputs=str(folder / "graph.npz"), artifact=str(artifact))
    for attempt in ("first process (may compile kernels)", "second process", "third process"):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                check=True)
        print(f"{attempt}: {result.stdout.strip()}")


if __name__ == "__main__":
    main()
