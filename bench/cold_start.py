"""Cold start of the runtime: a fresh process's import, load and first result, counted from the
moment the process is started, for three models in three cases:

(a) fresh install: empty kernel caches, nothing precompiled, so every kernel compiles;
(b) fresh install with precompiled kernels: a bundle built once by ``sparsegnn compile`` for
    x86-64-v3 (``SPARSEGNN_KERNELS``), empty caches;
(c) warm cache: the process of (a) run again on the cache it left.

Models (untrained weights: speed does not depend on them): the Cora GCN on the full graph with
its CSR features, the 3-layer MUTAG GIN on one molecule, and the Amazon Computers GraphSAGE on
the full graph. Each child process imports only the runtime and numpy, and also reports its
peak RSS and how many kernel specialisations it compiled and loaded.

The children run in a fresh install: the wheel built from this checkout, installed by pip
(bytecode compiled, as any install does) into a new virtual environment with only the runtime's
dependencies, numpy and numba (``bench/runtime_install.py``): what an app ships.

Run: ``python bench/cold_start.py [--runs 3]``; writes ``bench/results/cold_start/cold_start.json``
and ``cold_start.md``. ``--python`` runs the child processes with another interpreter instead
(one that imports sparsegnn); ``--no-bundle`` leaves out case (b) and its bundle build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import time
import numpy as np
from sparsegnn.runtime import Session
from sparsegnn.sparse import CSRMatrix
imported = time.time()
data = np.load({inputs!r})
x = data["x"] if "x" in data else CSRMatrix(data["indptr"], data["indices"], data["values"],
                                           tuple(data["shape"]))
session = Session({artifact!r})
loaded = time.time()
session.run(x, data["edge_index"])
first = time.time()
from sparsegnn.kernels import KERNELS
from sparsegnn.kernels._precompiled import kernel_stats
from sparsegnn.benchmark.stats import proc_status_mb
stats = kernel_stats()
import json
print(json.dumps({{"imported": imported, "loaded": loaded, "first": first,
                   "source": KERNELS.source, "peak_rss_mb": proc_status_mb("VmHWM"),
                   "kernels_compiled": sum(m for _, m in stats.values()),
                   "kernels_loaded": sum(h for h, _ in stats.values())}}))
"""

MODELS = {"gcn-cora": ("gcn", "cora", {}), "gin-mutag": ("gin", "mutag", {"num_layers": 3}),
          "sage-amazon-computers": ("sage", "amazon-computers", {"hidden_channels": 256})}
CASES = {"a": "fresh install, nothing precompiled", "b": "fresh install, precompiled bundle",
         "c": "warm cache"}


def prepare(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Export each model and save its input; ``{name: (artifact, inputs)}``."""
    import numpy as np
    import torch

    from sparsegnn import data
    from sparsegnn.export import export_artifact
    from sparsegnn.nn.recipes import make_model
    from sparsegnn.sparse import CSRMatrix

    prepared = {}
    for name, (kind, dataset_name, options) in MODELS.items():
        dataset = data.load(dataset_name)
        torch.manual_seed(0)
        model = make_model(kind, dataset, **options).eval()
        artifact = export_artifact(model, folder / f"{name}.sgnn")
        if dataset.is_graph_task:
            graph, x, _ = dataset.select_graphs([0])
        else:
            graph, x = dataset.graph, dataset.x
        inputs = folder / f"{name}.npz"
        if isinstance(x, CSRMatrix):
            np.savez(inputs, indptr=x.indptr, indices=x.indices, values=x.data,
                     shape=np.array(x.shape), edge_index=graph.edge_index)
        else:
            np.savez(inputs, x=np.asarray(x, np.float32), edge_index=graph.edge_index)
        prepared[name] = (artifact, inputs)
    return prepared


def cold_start(artifact: Path, inputs: Path, env: dict, python: str = sys.executable) -> dict:
    """One fresh process of ``python``; seconds from its start to each milestone."""
    script = CHILD.format(inputs=str(inputs), artifact=str(artifact))
    started = time.time()
    result = subprocess.run([python, "-c", script], env=env, capture_output=True,
                            text=True, check=True, cwd=artifact.parent)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return {"import_s": report["imported"] - started, "load_s": report["loaded"] - report["imported"],
            "first_result_s": report["first"] - report["loaded"],
            "total_s": report["first"] - started, "source": report["source"],
            "peak_rss_mb": report["peak_rss_mb"], "kernels_compiled": report["kernels_compiled"],
            "kernels_loaded": report["kernels_loaded"]}


def measure(runs: int, folder: Path, python: str | None = None, bundled: bool = True) -> dict:
    """``python`` None: children run in a fresh install of this checkout's wheel."""
    from runtime_install import install_runtime

    from sparsegnn.benchmark.stats import machine_info
    from sparsegnn.kernels._precompiled import neutral_environment
    from sparsegnn.runtime.compile import compile_kernels

    prepared = prepare(folder)
    base = neutral_environment()
    fresh_install = python is None
    if fresh_install:
        python = str(install_runtime(folder / "install"))
        base.pop("PYTHONPATH", None)  # the install's sparsegnn, not a checkout
    manifest = None
    if bundled:
        tick = time.perf_counter()
        bundle = folder / "bundle"
        manifest = compile_kernels([artifact for artifact, _ in prepared.values()], bundle)
        print(f"bundle: {manifest['kernels']} kernels, {manifest['bytes'] / 2**20:.1f} MiB, "
              f"built in {time.perf_counter() - tick:.0f} s", flush=True)
    rows = []
    for name, (artifact, inputs) in prepared.items():
        for run in range(runs):
            caches = folder / f"caches-{name}-{run}"
            numba_cache = {**base, "NUMBA_CACHE_DIR": str(caches / "numba")}
            cases = [("a", cold_start(artifact, inputs, numba_cache, python)),
                     ("c", cold_start(artifact, inputs, numba_cache, python))]
            if bundled:
                cases.append(("b", cold_start(artifact, inputs, {
                    **base, "SPARSEGNN_KERNELS": str(bundle),
                    "SPARSEGNN_KERNEL_CACHE": str(caches / "unpacked"),
                    "NUMBA_CACHE_DIR": str(caches / "numba-b")}, python)))
            for case, figures in sorted(cases):
                rows.append({"model": name, "case": case, "run": run, **figures})
                print(f"{name} ({case}) run {run}: total {figures['total_s']:.2f} s (import "
                      f"{figures['import_s']:.2f}, load {figures['load_s']:.2f}, first result "
                      f"{figures['first_result_s']:.2f}); compiled {figures['kernels_compiled']}, "
                      f"loaded {figures['kernels_loaded']}", flush=True)
            shutil.rmtree(caches, ignore_errors=True)
    return {"machine": machine_info(), "date": time.strftime("%Y-%m-%d %H:%M"), "runs": runs,
            "python": python, "fresh_install": fresh_install, "bundle": manifest, "rows": rows}


def summary(result: dict) -> list[dict]:
    """Medians over runs per model and case."""
    out = []
    for name in MODELS:
        for case in CASES:
            rows = [r for r in result["rows"] if r["model"] == name and r["case"] == case]
            if rows:
                out.append({"model": name, "case": case, **{
                    key: statistics.median(r[key] for r in rows)
                    for key in ("total_s", "import_s", "load_s", "first_result_s", "peak_rss_mb",
                                "kernels_compiled", "kernels_loaded")}})
    return out


def markdown(result: dict) -> str:
    machine = result["machine"]
    bundle = result["bundle"]
    lines = [f"Measured on {machine['cpu']}, {machine['usable_cores']} cores, {result['date']}; "
             f"median of {result['runs']} fresh processes per cell (`python bench/cold_start.py`). "
             f"Seconds from process start; children run by `{result.get('python', 'python')}`"
             f"{' (a fresh install of the wheel)' if result.get('fresh_install') else ''}.",
             "", f"Bundle (`sparsegnn compile`, target {bundle['target']}): {bundle['kernels']} "
             f"kernels, {bundle['bytes'] / 2**20:.1f} MiB, built in {bundle['seconds']} s."
             if bundle else "No bundle: case (b) not measured (`--no-bundle`).", "",
             "| model | case | total | import | load | first result | kernels compiled / loaded "
             "| peak RSS |", "|---|---|---|---|---|---|---|---|"]
    for row in summary(result):
        lines.append(f"| {row['model']} | ({row['case']}) {CASES[row['case']]} | "
                     f"{row['total_s']:.2f} s | {row['import_s']:.2f} s | {row['load_s']:.2f} s | "
                     f"{row['first_result_s']:.2f} s | {row['kernels_compiled']:.0f} / "
                     f"{row['kernels_loaded']:.0f} | {row['peak_rss_mb']:.0f} MiB |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per model and case")
    parser.add_argument("--out", type=Path, default=Path("bench/results/cold_start"))
    parser.add_argument("--python", default=None,
                        help="interpreter of the child processes (default: a fresh install of "
                             "this checkout's wheel)")
    parser.add_argument("--no-bundle", action="store_true", help="leave out case (b)")
    parser.add_argument("--name", default="cold_start", help="result file stem")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sparsegnn-cold-") as folder:
        result = measure(args.runs, Path(folder), args.python, not args.no_bundle)
    args.out.mkdir(parents=True, exist_ok=True)
    from sparsegnn._fileio import atomic_write_text

    atomic_write_text(args.out / f"{args.name}.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(args.out / f"{args.name}.md", markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
