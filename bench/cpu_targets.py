"""Kernel speed per CPU target: what a precompiled bundle for a portable target costs against
kernels compiled for this CPU.

Run: ``python bench/cpu_targets.py``. For each target (this CPU, ``x86-64-v3`` as a default
bundle, ``generic`` x86-64 without AVX) a fresh process compiles the kernels for it (its own
cache folder) and times, on one thread, an SpMM (100,000 nodes, 8 in-edges each, 64 features)
and a 90 %-sparse 256 x 256 layer on 10,000 rows (node panels), p50 of 15 after a warm-up.
Writes ``bench/results/cpu_targets/cpu_targets.{json,md}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json
import numpy as np
from sparsegnn.kernels import pack_weight, sparse_linear, spmm_csr
from sparsegnn.kernels._convert import coo_to_csr
from sparsegnn.kernels._intrinsics import VECTOR_BYTES
from sparsegnn.runtime.tuning import median_seconds

def p50(call):
    return 1e3 * median_seconds(call, 15)

rng = np.random.default_rng(0)
n = 100_000
indptr, indices, _ = coo_to_csr(rng.integers(0, n, 8 * n), rng.integers(0, n, 8 * n), n)
x = rng.random((n, 64), dtype=np.float32)
rows = rng.random((10_000, 256), dtype=np.float32)
weight = rng.standard_normal((256, 256)).astype(np.float32) * (rng.random((256, 256)) < 0.1)
packed = pack_weight(weight, "panels")
print(json.dumps({"simd_bits": 8 * VECTOR_BYTES,
                  "spmm_ms": p50(lambda: spmm_csr(indptr, indices, None, x, num_rows=n, threads=1)),
                  "sparse_layer_ms": p50(lambda: sparse_linear(rows, packed, threads=1))}))
"""

TARGETS = ("host", "x86-64-v3", "generic")


def main() -> None:
    from sparsegnn._fileio import atomic_write_text
    from sparsegnn.benchmark.stats import machine_info
    from sparsegnn.kernels._precompiled import neutral_environment

    out = Path("bench/results/cpu_targets")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sparsegnn-targets-") as folder:
        for target in TARGETS:
            env = neutral_environment(NUMBA_CACHE_DIR=str(Path(folder, target)))
            if target != "host":
                env.update(NUMBA_CPU_NAME=target, NUMBA_CPU_FEATURES="")
            result = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True,
                                    capture_output=True, text=True)
            row = {"target": target, **json.loads(result.stdout.strip().splitlines()[-1])}
            rows.append(row)
            print(row, flush=True)
    host = rows[0]
    lines = [f"Measured on {machine_info()['cpu']}, one thread, {time.strftime('%Y-%m-%d %H:%M')} "
             f"(`python bench/cpu_targets.py`); p50 of 15 calls; slowdown against kernels "
             f"compiled for this CPU.", "",
             "| target | SIMD | SpMM 100k x 64, degree 8 | 90 %-sparse 256 x 256 layer, 10k rows |",
             "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['target']} | {row['simd_bits']}-bit | {row['spmm_ms']:.1f} ms "
                     f"({row['spmm_ms'] / host['spmm_ms']:.2f}x) | {row['sparse_layer_ms']:.2f} ms "
                     f"({row['sparse_layer_ms'] / host['sparse_layer_ms']:.2f}x) |")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "cpu_targets.json", json.dumps(
        {"machine": machine_info(), "rows": rows}, indent=2) + "\n")
    atomic_write_text(out / "cpu_targets.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
