"""The runtime-only install an app ships: build the wheel, install it into a clean virtual
environment without torch, scipy or onnx, and run artifacts made by the toolchain there.

Run: ``python bench/runtime_install.py`` (CI runs it: ``.ci/run``). It exports a Cora GCN and
a MUTAG GIN with the toolchain, saves inputs and the toolchain runtime's outputs beside them,
then, in the clean environment, loads each artifact, runs it and compares (to 1e-5). It reports
the environment's size on disk, the packages it holds, and the import time and resident memory
of ``import sparsegnn.runtime``; exits non-zero when an output differs or a heavy package got
in. Figures: ``bench/results/runtime_install/runtime_install.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("torch", "scipy", "onnx", "onnxruntime", "torch_geometric")

CHECK = f"FORBIDDEN = {FORBIDDEN!r}\n" + """
import json, sys, time
started = time.perf_counter()
import numpy as np
import sparsegnn.runtime
imported = time.perf_counter() - started
from sparsegnn.benchmark.stats import proc_status_mb
rss = proc_status_mb("VmRSS")
from sparsegnn.runtime import Session
results = {}
for name in sys.argv[2:]:
    data = np.load(f"{sys.argv[1]}/{name}.npz")
    out = Session(f"{sys.argv[1]}/{name}.sgnn").run(data["x"], data["edge_index"],
                                                   data["batch"] if "batch" in data else None)
    results[name] = float(np.abs(out - data["expected"]).max())
heavy = [m for m in FORBIDDEN if m in sys.modules]
print(json.dumps({"import_s": imported, "import_rss_mb": rss, "max_abs_diff": results,
                  "heavy_modules": heavy, "package": sparsegnn.runtime.__file__}))
"""


def prepare(folder: Path) -> list[str]:
    """Artifacts, inputs and the toolchain runtime's outputs for the check."""
    import numpy as np
    import torch

    from sparsegnn import data
    from sparsegnn.export import export_artifact
    from sparsegnn.nn.recipes import make_model
    from sparsegnn.runtime import Session

    names = []
    for kind, name in (("gcn", "cora"), ("gin", "mutag")):
        dataset = data.load(name)
        torch.manual_seed(0)
        path = export_artifact(make_model(kind, dataset).eval(), folder / f"{kind}-{name}.sgnn")
        if dataset.is_graph_task:
            graph, x, batch = dataset.select_graphs(list(range(8)))
        else:
            graph, x, batch = dataset.graph, dataset.dense_x(), None
        x = np.asarray(x.toarray() if hasattr(x, "toarray") else x, np.float32)
        expected = Session(path).run(x, graph.edge_index, batch)
        arrays = {"x": x, "edge_index": graph.edge_index, "expected": expected}
        if batch is not None:
            arrays["batch"] = batch
        np.savez(folder / f"{kind}-{name}.npz", **arrays)
        names.append(f"{kind}-{name}")
    return names


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def clean_environment() -> dict[str, str]:
    """This process's environment without what would let a checkout or a virtualenv leak in."""
    return {key: value for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def install_runtime(folder: Path) -> Path:
    """Build the wheel and install it, bytecode compiled as pip does, into a new virtual
    environment ``folder / "env"`` holding only its base dependencies; its interpreter."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(folder / "dist"), str(ROOT)], check=True)
    wheel = next((folder / "dist").glob("sparsegnn-*.whl"))
    environment = folder / "env"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   env=clean_environment())
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/runtime_install")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sparsegnn-wheel-") as temporary:
        folder = Path(temporary)
        names = prepare(folder)
        tick = time.perf_counter()
        python = install_runtime(folder)
        environment = folder / "env"
        wheel = next((folder / "dist").glob("sparsegnn-*.whl"))
        clean = clean_environment()
        installed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                                   check=True, capture_output=True, text=True, env=clean).stdout
        packages = sorted(p["name"].lower() for p in json.loads(installed))
        result = subprocess.run([str(python), "-c", CHECK, str(folder), *names],
                                capture_output=True, text=True, cwd=folder, env=clean)
        if result.returncode != 0:
            print(f"the runtime-only install failed to run the artifacts:\n{result.stderr}",
                  file=sys.stderr)
            return 1
        report = json.loads(result.stdout.strip().splitlines()[-1])
        site = next((environment / "lib").glob("python3*/site-packages"))
        report.update({"wheel": wheel.name, "wheel_kb": round(wheel.stat().st_size / 1024, 1),
                       "packages": packages, "env_mb": round(folder_mb(environment), 1),
                       "site_packages_mb": round(folder_mb(site), 1),
                       "seconds": round(time.perf_counter() - tick, 1)})
    heavy = sorted(set(FORBIDDEN) & {p.replace("-", "_") for p in packages})
    failures = [f"{name}: outputs differ by {diff:.2e}" for name, diff in
                report["max_abs_diff"].items() if diff > 1e-5]
    failures += [f"installed {', '.join(heavy)}"] if heavy else []
    failures += [f"imported {', '.join(report['heavy_modules'])}"] if report["heavy_modules"] else []
    if not report.pop("package").startswith(str(environment)):
        failures.append("the check imported sparsegnn from outside the clean environment")
    print(json.dumps(report, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    from sparsegnn._fileio import atomic_write_text

    atomic_write_text(args.out / "runtime_install.json", json.dumps(report, indent=2) + "\n")
    if failures:
        print("runtime-only install check FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print(f"runtime-only install: {len(names)} artifacts agree; {report['env_mb']} MiB on disk "
          f"({', '.join(packages)}); import {report['import_s']:.2f} s, "
          f"{report['import_rss_mb']:.0f} MiB resident")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
