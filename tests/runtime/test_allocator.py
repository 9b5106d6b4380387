"""The runtime keeps freed memory in the process (``runtime.allocator``): a model's runs reuse
the pages of the runs before instead of faulting fresh ones in from the OS."""

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from sparsegnn.runtime import allocator

GLIBC = hasattr(ctypes.CDLL(None), "gnu_get_libc_version")

_RUNS = """
import resource, sys, tempfile
from pathlib import Path
import torch
from sparsegnn import data
from sparsegnn.export import export_artifact
from sparsegnn.nn.recipes import make_model
from sparsegnn.runtime import Session, keep_freed_memory
dataset = data.load("synthetic-graphs")
torch.manual_seed(0)
model = make_model("gin", dataset, hidden_channels=128).eval()
session = Session(export_artifact(model, Path(tempfile.mkdtemp()) / "gin.sgnn"), num_threads=2)
graph, x, batch = dataset.select_graphs(list(range(len(dataset.ptr) - 1)))  # 15k nodes
for _ in range(3):
    session.run(x, graph, batch)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    session.run(x, graph, batch)
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
print(keep_freed_memory(), faults)
"""


def _faults_per_run(**env) -> tuple[str, float]:
    import os

    result = subprocess.run([sys.executable, "-c", _RUNS], capture_output=True, text=True,
                            timeout=300, cwd=Path(__file__).parents[2],
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr[-2000:]
    outcome, faults = result.stdout.split()[-2:]
    return outcome, float(faults)


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's (mallopt); other C libraries "
                                      "keep their own behaviour")
def test_runs_reuse_freed_pages_and_system_malloc_faults_them_in_again():
    """A fresh process runs GIN on 15k nodes: with the setting, warm runs fault no page in;
    with ``SPARSEGNN_MALLOC=system`` (glibc as it comes) the same runs fault thousands each,
    their activations' pages unmapped at the end of every run and zeroed again by the OS."""
    outcome, faults = _faults_per_run()
    assert outcome == "kept" and faults < 50
    outcome, faults = _faults_per_run(SPARSEGNN_MALLOC="system")
    assert outcome == "system" and faults > 1000


def test_the_environment_can_leave_malloc_as_it_is(monkeypatch):
    for name in ("SPARSEGNN_MALLOC", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                 "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARSEGNN_MALLOC", "System")
    assert allocator._configure() == "system"
    monkeypatch.delenv("SPARSEGNN_MALLOC")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")  # the user's own glibc setting
    assert allocator._configure() == "environment"
