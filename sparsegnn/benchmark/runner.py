"""Run every backend on every model over the same inputs and collect one result document.

Each backend first runs once in a fresh child process (``python -m sparsegnn.benchmark.child``),
which gives its cold start and peak memory (one backend's libraries and caches never count
against another's) and proves that it fits: a child whose memory passes the limit (by default
80 % of the memory available when the bench starts) is killed, and the backend is reported
absent with the reason instead of taking the machine down. Steady-state latencies are then
measured in this process, one backend after another, on the same workloads. numpy only at
import time (the runtime-only benchmark runs without torch).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .._fileio import atomic_write_text
from ..data.dataset import Dataset
from ..metrics import score_outputs
from ..sparse import CSRMatrix
from .backends import BACKENDS, RUNTIME_BACKENDS, Absent, ModelFiles, Workload, make_backend
from .schema import SCHEMA, markdown, validate
from .stats import machine_info, measure, measure_interleaved, proc_status_mb, summarize

__all__ = ["Settings", "run_bench", "write_outputs", "eval_workloads", "save_workload",
           "load_workload"]


@dataclass
class Settings:
    """How long and on what each backend is measured."""

    warmup: int = 3
    min_repeat: int = 10
    max_repeat: int = 200
    min_seconds: float = 1.0
    batch_size: int = 64           # graphs per call for the throughput of graph-level models
    single_graphs: int = 32        # graphs cycled through for batch-1 latency
    split: int = 0
    process_metrics: bool = True   # cold start and peak RSS in a child process per backend
    child_timeout_s: float = 300.0
    memory_limit_mb: float | None = None  # a backend's child above this is absent (None: 80 %
                                          # of the memory available at the start)


@dataclass
class _Inputs:
    latency: list[Workload]        # cycled through for latency (one full graph, or single graphs)
    evaluation: list[Workload]     # one pass gives the outputs scored for accuracy
    eval_ids: np.ndarray           # rows of the concatenated evaluation outputs' labels
    labels: np.ndarray | None      # labels of those rows (None: nothing to score)
    metric: str                    # the dataset's metric (sparsegnn.metrics)
    description: str
    unit: str                      # throughput unit
    items: int                     # items per evaluation pass (for throughput)


def eval_workloads(dataset: Dataset, settings: Settings, graph=None) -> _Inputs:
    """The workloads of ``dataset``'s evaluation (test) split. ``graph`` replaces the dataset's
    graph for node-level models (an edge-pruned graph)."""
    split = dataset.splits[settings.split] if dataset.splits else None
    if not dataset.is_graph_task:
        workload = Workload(dataset.x, graph if graph is not None else dataset.graph)
        test = split.test if split is not None else np.arange(dataset.num_nodes)
        return _Inputs([workload], [workload], test, dataset.y[test], dataset.metric,
                       f"full graph, {dataset.num_nodes:,} nodes", "inferences/s", 1)
    test = split.test if split is not None else np.arange(dataset.num_graphs)
    singles = []
    for index in test[:settings.single_graphs]:
        g, x, batch = dataset.select_graphs([index])
        singles.append(Workload(x, g, batch, 1))
    chunks = []
    for start in range(0, test.size, settings.batch_size):
        ids = test[start:start + settings.batch_size]
        g, x, batch = dataset.select_graphs(ids)
        chunks.append(Workload(x, g, batch, ids.size))
    return _Inputs(singles, chunks, np.arange(test.size), dataset.y[test], dataset.metric,
                   f"one graph per call (batch 1, {len(singles)} test graphs cycled); throughput "
                   f"in batches of {settings.batch_size}", "graphs/s", int(test.size))


# ----------------------------------------------------------------------------- child process
def save_workload(workload: Workload, path: Path) -> None:
    arrays = {"indptr": workload.graph.indptr, "indices": workload.graph.indices}
    if isinstance(workload.x, CSRMatrix):
        arrays.update(x_indptr=workload.x.indptr, x_indices=workload.x.indices,
                      x_data=workload.x.data, x_shape=np.asarray(workload.x.shape))
    else:
        arrays["x"] = workload.x
    if workload.batch is not None:
        arrays.update(batch=workload.batch, num_graphs=np.asarray(workload.num_graphs))
    np.savez(path, **arrays)


def load_workload(path: Path) -> Workload:
    from ..graph import Graph

    with np.load(path, allow_pickle=False) as archive:
        if "x" in archive:
            x = archive["x"]
        else:
            x = CSRMatrix(archive["x_indptr"], archive["x_indices"], archive["x_data"],
                          tuple(int(v) for v in archive["x_shape"]))
        graph = Graph(archive["indptr"], archive["indices"])
        batch = archive["batch"] if "batch" in archive else None
        num_graphs = int(archive["num_graphs"]) if "num_graphs" in archive else None
    return Workload(x, graph, batch, num_graphs)


def _available_mb() -> float | None:
    """Memory available for new allocations (MiB), where the OS says (Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class _OverMemory(Exception):
    """The backend's child passed the memory limit."""


def _process_metrics(name: str, files: ModelFiles, workload: Workload, folder: Path,
                     timeout: float, memory_limit_mb: float | None
                     ) -> tuple[float | None, float | None, str | None]:
    """(cold start s, peak RSS MiB, problem) from a fresh process that imports the backend,
    loads the model and computes one result; raises :class:`_OverMemory` when its resident
    memory passes ``memory_limit_mb`` (it is killed)."""
    inputs = folder / f"{name}.npz"
    save_workload(workload, inputs)
    spec = folder / f"{name}.json"
    spec.write_text(json.dumps({"backend": name, "inputs": str(inputs),
                                "files": {k: v for k, v in asdict(files).items() if k != "graph"}}))
    # output to files, not pipes: the parent polls memory instead of draining pipes
    with open(folder / f"{name}.out", "w+") as out, open(folder / f"{name}.err", "w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "sparsegnn.benchmark.child", str(spec)],
                                 stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + timeout
        while child.poll() is None:
            rss = proc_status_mb("VmRSS", child.pid)
            if memory_limit_mb is not None and rss is not None and rss > memory_limit_mb:
                child.kill()
                child.wait()
                raise _OverMemory(f"needs more than {memory_limit_mb:,.0f} MiB of memory (the "
                                  f"limit: 80 % of what was available, or --memory-limit-mb); "
                                  f"its child process was stopped at {rss:,.0f} MiB")
            if time.monotonic() > deadline:
                child.kill()
                child.wait()
                return None, None, f"child process timed out after {timeout:.0f} s"
            time.sleep(0.02)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        return None, None, f"child process failed: {stderr.strip()[-300:]}"
    report = json.loads(stdout.strip().splitlines()[-1])
    return report["cold_start_s"], report["peak_rss_mb"], None


# ----------------------------------------------------------------------------- measuring
def _cycle(calls):
    iterator = itertools.cycle(calls)
    return lambda: next(iterator)()


def _score(outputs: np.ndarray, inputs: _Inputs) -> float | None:
    """The dataset's metric on the evaluation outputs (None: no labels, or NaN)."""
    if inputs.labels is None or inputs.labels.size == 0:
        return None
    score = score_outputs(inputs.metric, outputs[inputs.eval_ids], inputs.labels)
    return None if np.isnan(score) else score


# Each runtime backend of a pruned model and the unpruned model at the same threads: timed
# against each other call by call once both have run (``_time_dense_self``).
DENSE_SELF_PAIRS = (("sparsegnn-1t", "sparsegnn-dense-1t"), ("sparsegnn", "sparsegnn-dense"))


def _bench_backend(backend, files: ModelFiles, inputs: _Inputs, settings: Settings,
                   folder: Path) -> tuple[dict, np.ndarray | None, object]:
    """``(run, evaluation outputs or None, the latency call or None)``."""
    name = backend.name
    run = {"model": files.label, "backend": name}
    cold = peak = problem = None
    if settings.process_metrics:  # first, in a child: a backend that does not fit stops there
        try:
            cold, peak, problem = _process_metrics(name, files, inputs.latency[0], folder,
                                                   settings.child_timeout_s,
                                                   settings.memory_limit_mb)
        except _OverMemory as exc:
            return dict(run, status="absent", reason=str(exc)), None, None
    try:
        backend.load(files)
        latency_call = _cycle([backend.prepare(w) for w in inputs.latency])
        eval_calls = [backend.prepare(w) for w in inputs.evaluation]
    except Absent as exc:
        return dict(run, status="absent", reason=str(exc)), None, None
    except Exception as exc:  # a backend that breaks is reported, and the others still run
        return dict(run, status="failed", reason=f"{type(exc).__name__}: {exc}"), None, None
    try:
        outputs = np.concatenate([np.asarray(call()) for call in eval_calls])
        stats = summarize(measure(latency_call, warmup=settings.warmup,
                                  min_repeat=settings.min_repeat, max_repeat=settings.max_repeat,
                                  min_seconds=settings.min_seconds))
        if len(eval_calls) > 1:  # batched graph-level throughput: whole evaluation passes
            passes = measure(lambda: [call() for call in eval_calls], warmup=1, min_repeat=3,
                             max_repeat=20, min_seconds=settings.min_seconds)
            throughput = inputs.items / float(np.median(passes))
        else:
            throughput = 1e3 / stats["p50"]
    except Exception as exc:
        return dict(run, status="failed", reason=f"{type(exc).__name__}: {exc}"), None, None
    if problem:
        run["process_metrics_problem"] = problem
    run.update(status="ok", threads=backend.threads, input=backend.input, latency_ms=stats,
               throughput={"value": throughput, "unit": inputs.unit},
               score=(score := _score(outputs, inputs)), metric=inputs.metric,
               accuracy=score if inputs.metric == "accuracy" else None, max_abs_diff=None,
               file_bytes=backend.file_bytes, cold_start_s=cold, peak_rss_mb=peak)
    return run, outputs, latency_call


def _time_dense_self(runs: dict, calls: dict, settings: Settings) -> None:
    """For each runtime backend of a pruned model whose dense self ran at the same threads,
    the two timed in turn call by call (``measure_interleaved``): ``run["dense_self"]`` holds
    both p50s (ms) and their ratio. The backends' own p50s come from blocks timed one after
    the other, whose ratio on a shared machine strays by the load each block caught."""
    for pruned, dense in DENSE_SELF_PAIRS:
        if pruned not in calls or dense not in calls:
            continue
        dense_times, pruned_times = measure_interleaved(
            [calls[dense], calls[pruned]], warmup=settings.warmup,
            min_rounds=settings.min_repeat, max_rounds=settings.max_repeat,
            min_seconds=settings.min_seconds)
        dense_p50, pruned_p50 = (1e3 * float(np.median(t)) for t in (dense_times, pruned_times))
        runs[pruned]["dense_self"] = {"p50": pruned_p50, "dense_p50": dense_p50,
                                      "ratio": dense_p50 / pruned_p50,
                                      "rounds": len(dense_times)}


class _Progress:
    """A rich progress bar when rich is installed (the runtime-only install lacks it)."""

    def __init__(self, total: int, enabled: bool):
        self.bar = self.task = None
        self.enabled, self.total, self.done = enabled, total, 0
        if enabled:
            try:
                from rich.console import Console
                from rich.progress import Progress
            except ImportError:
                return
            if not Console(stderr=True).is_terminal:  # a log: one line per step instead
                return
            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("benchmarking", total=total)

    def step(self, text: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=text)
        elif self.enabled:
            sys.stderr.write(f"[{self.done}/{self.total}] {text}\n")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_bench(models: list[ModelFiles], dataset: Dataset, *, backends: list[str] | None = None,
              settings: Settings | None = None, progress: bool = True,
              model_info: list[dict] | None = None) -> dict:
    """Benchmark ``models`` on ``dataset`` with ``backends`` (default: all); returns the result
    document (see ``docs/bench-schema.md``). ``model_info`` adds fields to each model entry."""
    settings = settings or Settings()
    available = _available_mb() if settings.memory_limit_mb is None else None
    if available is not None:
        settings = replace(settings, memory_limit_mb=0.8 * available)
    names = list(backends or BACKENDS)
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backends {unknown}; expected some of {sorted(BACKENDS)}")
    if not models:
        raise ValueError("no models to benchmark")
    result = {"schema": SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "machine": machine_info(),
              "dataset": {"name": dataset.name, "task": dataset.task,
                          "nodes": int(dataset.num_nodes), "edges": int(dataset.graph.num_edges),
                          "features": int(dataset.num_features),
                          "classes": int(dataset.num_classes or 0)},
              "settings": {**asdict(settings), "backends": names}, "models": [], "runs": []}
    bar = _Progress(len(models) * len(names), progress)
    try:
        with tempfile.TemporaryDirectory(prefix="sparsegnn-bench-") as scratch:
            for index, files in enumerate(models):
                entry = {"label": files.label, "kind": files.kind, "artifact": files.artifact,
                         "checkpoint": files.checkpoint, "onnx": files.onnx,
                         "dense_checkpoint": files.dense_checkpoint,
                         "dense_artifact": files.dense_artifact,
                         "weight_sparsity": 0.0, "edge_sparsity": 0.0}
                entry.update((model_info or [{}] * len(models))[index])
                result["models"].append(entry)
                full = eval_workloads(dataset, settings)  # built once: graph tasks batch here
                inputs = {False: full, True: full if files.graph is None
                          else eval_workloads(dataset, settings, files.graph)}
                result["settings"]["workload"] = inputs[True].description
                reference = None
                model_runs, runtime_calls = {}, {}
                for name in names:
                    bar.step(f"{files.label}: {name}")
                    backend = make_backend(name)
                    run, outputs, call = _bench_backend(backend, files, inputs[backend.pruned],
                                                        settings, Path(scratch))
                    model_runs[name] = run
                    if call is not None and name in RUNTIME_BACKENDS:
                        runtime_calls[name] = call
                    comparable = backend.pruned or (files.dense_checkpoint is None and files.graph is None)
                    if outputs is not None and comparable:
                        if reference is None:
                            reference = (name, outputs)
                            entry["reference_backend"] = name
                        run["max_abs_diff"] = float(np.abs(outputs - reference[1]).max(initial=0))
                    result["runs"].append(run)
                _time_dense_self(model_runs, runtime_calls, settings)
    finally:
        bar.close()
    return validate(result)


def write_outputs(result: dict, folder: str | os.PathLike, stem: str = "bench") -> list[Path]:
    """``stem.json``, ``stem.md`` and (when matplotlib is installed) the PNG plots, atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [atomic_write_text(folder / f"{stem}.json", json.dumps(validate(result), indent=2)),
             atomic_write_text(folder / f"{stem}.md", markdown(result))]
    try:
        from .plots import plot_result
    except ImportError:  # the runtime-only install has no matplotlib
        return paths
    return paths + plot_result(result, folder, stem)
