"""Cold start and batch-1 latency of the runtime on one molecule-sized graph (3-layer GIN).

Run: ``python bench/cold_start.py``. It exports an (untrained: speed does not depend on the
weights) GIN for MUTAG once, then starts a fresh Python process that imports only the runtime,
loads the artifact and runs it: the cold start is that process's import + load + first result
(kernels cached on disk after the first ever run). Then it reports the steady-state p50.

The runtime needs numpy and numba only. With scipy installed, Numba imports ``scipy.linalg``
while it starts (looking for BLAS), which costs 0.1-0.3 s here, so the cold start is measured
twice: in this environment, and with scipy blocked in the child, as in an app's environment
that holds just the runtime's requirements.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

WITHOUT_SCIPY = """
import sys
class _NoScipy:
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ImportError("scipy is not part of this environment")
sys.meta_path.insert(0, _NoScipy())
"""

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
    attempts = [("first process (may compile kernels)", script), ("second process", script),
                ("third process", script), ("without scipy, first", WITHOUT_SCIPY + script),
                ("without scipy, second", WITHOUT_SCIPY + script)]
    for attempt, code in attempts:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True)
        print(f"{attempt}: {result.stdout.strip()}")


if __name__ == "__main__":
    main()
