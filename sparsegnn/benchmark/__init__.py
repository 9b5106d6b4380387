"""``sparsegnn bench``: every backend on the same model and inputs, with latency percentiles,
throughput, cold start, peak memory, file size and accuracy (see ``docs/bench-schema.md``).

Importing this package needs numpy only; backends import their libraries when they load.
"""

from .backends import BACKENDS, RUNTIME_BACKENDS, Absent, ModelFiles, Workload
from .runner import Settings, run_bench, write_outputs
from .schema import SCHEMA, BenchSchemaError, load_result, markdown, merge, validate

__all__ = ["BACKENDS", "RUNTIME_BACKENDS", "Absent", "ModelFiles", "Workload", "Settings",
           "run_bench", "write_outputs", "SCHEMA", "BenchSchemaError", "load_result", "markdown",
           "merge", "validate"]
