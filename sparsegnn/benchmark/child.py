"""One backend's cold start and peak memory, in a fresh process.

``python -m sparsegnn.benchmark.child SPEC.json`` reads the backend name, the model files and
a workload saved by the parent, then times importing the backend's libraries, loading the model
and computing one result (reading the workload file is excluded), and prints one JSON line:
``{"cold_start_s": ..., "peak_rss_mb": ...}``.
"""

import time

STARTED = time.perf_counter()  # before numpy: its import is part of every backend's start

import json  # noqa: E402
import sys  # noqa: E402


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    reading = time.perf_counter()
    from .backends import ModelFiles, make_backend
    from .runner import load_workload
    from .stats import peak_rss_mb

    workload = load_workload(spec["inputs"])
    read_seconds = time.perf_counter() - reading
    backend = make_backend(spec["backend"])
    backend.load(ModelFiles(**spec["files"]))
    backend.prepare(workload)()
    cold_start = time.perf_counter() - STARTED - read_seconds
    sys.stdout.write(json.dumps({"cold_start_s": cold_start, "peak_rss_mb": peak_rss_mb()}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
