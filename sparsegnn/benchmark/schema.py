"""The benchmark result document: its schema, validation, markdown and merging of several
machines' runs (``sparsegnn bench compare``). Specified in ``docs/bench-schema.md``."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..metrics import format_score

__all__ = ["SCHEMA", "STATUSES", "BenchSchemaError", "validate", "load_result", "markdown",
           "merge", "run_row", "reference_p50", "dense_self_p50", "dense_self_ratio"]

SCHEMA = "sparsegnn-bench/1"
STATUSES = ("ok", "absent", "failed")


class BenchSchemaError(ValueError):
    """A benchmark JSON document does not follow the schema."""


def _require(mapping: dict, where: str, fields: dict) -> None:
    if not isinstance(mapping, dict):
        raise BenchSchemaError(f"{where}: expected an object, got {type(mapping).__name__}")
    for name, types in fields.items():
        if name not in mapping:
            raise BenchSchemaError(f"{where}: missing field {name!r}")
        value = mapping[name]
        # bool is an int to isinstance, but never a valid count, time or size here
        if not isinstance(value, types) or isinstance(value, bool):
            raise BenchSchemaError(f"{where}.{name}: expected {types}, got {value!r}")


_NUMBER = (int, float)
_OPTIONAL_NUMBER = (int, float, type(None))


def validate(result: dict) -> dict:
    """Check ``result`` against the schema; return it unchanged or raise BenchSchemaError."""
    _require(result, "result", {"schema": str, "created": str, "machine": dict, "dataset": dict,
                                "settings": dict, "models": list, "runs": list})
    if result["schema"] != SCHEMA:
        raise BenchSchemaError(f"result.schema is {result['schema']!r}, expected {SCHEMA!r}")
    _require(result["machine"], "machine", {"cpu": str, "logical_cores": int, "libraries": dict})
    _require(result["dataset"], "dataset", {"name": str, "task": str})
    labels = set()
    for index, model in enumerate(result["models"]):
        _require(model, f"models[{index}]", {"label": str, "kind": str,
                                             "weight_sparsity": _NUMBER})
        labels.add(model["label"])
    for index, run in enumerate(result["runs"]):
        where = f"runs[{index}]"
        _require(run, where, {"model": str, "backend": str, "status": str})
        if run["model"] not in labels:
            raise BenchSchemaError(f"{where}.model {run['model']!r} is not one of the models")
        if run["status"] not in STATUSES:
            raise BenchSchemaError(f"{where}.status must be one of {STATUSES}, got {run['status']!r}")
        if run["status"] != "ok":
            _require(run, where, {"reason": str})
            continue
        _require(run, where, {"latency_ms": dict, "throughput": dict, "threads": (int, str),
                              "accuracy": _OPTIONAL_NUMBER, "max_abs_diff": _OPTIONAL_NUMBER,
                              "file_bytes": (int, type(None)), "cold_start_s": _OPTIONAL_NUMBER,
                              "peak_rss_mb": _OPTIONAL_NUMBER})
        _require(run["latency_ms"], f"{where}.latency_ms",
                 {"p50": _NUMBER, "p95": _NUMBER, "p99": _NUMBER, "mean": _NUMBER,
                  "repeats": int})
        stats = run["latency_ms"]
        if not stats["p50"] <= stats["p95"] <= stats["p99"]:
            raise BenchSchemaError(f"{where}.latency_ms: percentiles out of order: {stats}")
        _require(run["throughput"], f"{where}.throughput", {"value": _NUMBER, "unit": str})
        if "dense_self" in run:
            _require(run["dense_self"], f"{where}.dense_self",
                     {"p50": _NUMBER, "dense_p50": _NUMBER, "ratio": _NUMBER, "rounds": int})
    return result


def load_result(path: str | os.PathLike) -> dict:
    """Read and validate one benchmark JSON file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchSchemaError(f"{path}: not a readable JSON file ({exc})") from None
    try:
        return validate(document)
    except BenchSchemaError as exc:
        raise BenchSchemaError(f"{path}: {exc}") from None


def _fmt(value, digits: int = 2, scale: float = 1.0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * scale:.{digits}f}{suffix}"


def score_text(run: dict) -> str:
    """The run's test score in its metric (older results hold an accuracy only)."""
    score, metric = run.get("score", run.get("accuracy")), run.get("metric", "accuracy")
    if score is None:
        return "–"
    return format_score(score, metric)


def _size(num_bytes) -> str:
    if num_bytes is None:
        return "–"
    return f"{num_bytes / 1024:.1f} KiB" if num_bytes < 1024 ** 2 else f"{num_bytes / 1024 ** 2:.2f} MiB"


def run_row(run: dict, reference_p50: float | None, dense_self_p50: float | None = None
            ) -> list[str]:
    """One table row: backend, its input, latencies, speed-ups (over dense torch, and over the
    dense model in the sparsegnn runtime), throughput, accuracy, cold start, memory, size."""
    if run["status"] != "ok":
        return [run["backend"], f"{run['status']}: {run['reason']}"] + [""] * (len(HEADER) - 2)
    stats = run["latency_ms"]
    speedup = reference_p50 / stats["p50"] if reference_p50 else None
    over_dense = dense_self_ratio(run, dense_self_p50)
    throughput = run["throughput"]
    return [run["backend"], run.get("input") or "–", str(run["threads"]), _fmt(stats["p50"], 3),
            _fmt(stats["p95"], 3), _fmt(stats["p99"], 3), _fmt(speedup, 2, suffix="×"),
            _fmt(over_dense, 2, suffix="×"),
            f"{throughput['value']:.1f} {throughput['unit']}", score_text(run),
            _fmt(run["cold_start_s"], 2, suffix=" s"), _fmt(run["peak_rss_mb"], 0, suffix=" MiB"),
            _size(run["file_bytes"])]


HEADER = ["backend", "input", "threads", "p50 ms", "p95 ms", "p99 ms", "vs dense torch",
          "vs sparsegnn dense", "throughput", "test score", "cold start", "peak RSS", "file"]


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def reference_p50(runs: list[dict], backend: str = "torch-dense") -> float | None:
    """The p50 of ``backend`` in these runs (dense PyTorch: what the first speed-up is
    relative to; ``sparsegnn-dense``: the pruned model's dense self), if it ran."""
    for run in runs:
        if run["backend"] == backend and run["status"] == "ok":
            return run["latency_ms"]["p50"]
    return None


def dense_self_ratio(run: dict, dense_self_p50: float | None = None) -> float | None:
    """A pruned model's speed-up over its dense self: the ratio timed call by call against it
    (``dense_self``), else (results written before that) the ratio of the two p50s."""
    if "dense_self" in run:
        return run["dense_self"]["ratio"]
    return dense_self_p50 / run["latency_ms"]["p50"] if dense_self_p50 else None


def dense_self_p50(runs: list[dict], run: dict) -> float | None:
    """The p50 of the unpruned model in the sparsegnn runtime at ``run``'s thread count
    (sparsegnn-dense-1t for one thread, sparsegnn-dense for all), if it ran."""
    one_thread = run["backend"].endswith("-1t")
    return reference_p50(runs, "sparsegnn-dense-1t" if one_thread else "sparsegnn-dense")


def markdown(result: dict) -> str:
    """The result as markdown: machine, dataset, then one table per model."""
    machine, dataset = result["machine"], result["dataset"]
    libraries = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items() if v)
    lines = [f"# sparsegnn bench: {dataset['name']}", "",
             f"Machine: {machine['cpu']}, {machine['logical_cores']} logical cores "
             f"({machine.get('usable_cores')} usable), {machine.get('memory_gib')} GiB; "
             f"{machine.get('system', '')}, Python {machine.get('python', '')}.  ",
             f"Libraries: {libraries}.  ",
             *([f"{machine['kernels'][0].upper()}{machine['kernels'][1:]}.  "]
               if machine.get("kernels") else []),
             f"Measured {result['created']}. Workload: {result['settings'].get('workload', '')}. "
             "Latencies after warm-up; speed-ups are p50 ratios in the same run, against dense "
             "PyTorch eager and against the unpruned model in the sparsegnn runtime "
             "at the same thread count (sparsegnn-dense, sparsegnn-dense-1t; the two timed in "
             "turn call by call); \"input\" is the form "
             "of features and graph each backend was given; cold start and peak RSS come from a "
             "fresh process per backend.", ""]
    for model in result["models"]:
        runs = [r for r in result["runs"] if r["model"] == model["label"]]
        edge = model.get("edge_sparsity") or 0.0
        lines += [f"## {model['label']}: {model['kind']}, {100 * model['weight_sparsity']:.1f} % "
                  f"weights pruned, {100 * edge:.1f} % edges pruned", ""]
        reference = reference_p50(runs)
        lines += _table([run_row(run, reference, dense_self_p50(runs, run)) for run in runs],
                        HEADER) + [""]
    return "\n".join(lines)


def merge(results: list[dict], names: list[str] | None = None) -> dict:
    """Several runs (e.g. from different machines) as one table: a row per machine, model and
    backend. Returns ``{"machines": [...], "rows": [...], "markdown": str}``."""
    names = names or [r["machine"].get("hostname") or f"machine {i}" for i, r in enumerate(results)]
    if len(set(names)) != len(names):
        names = [f"{name} #{i}" for i, name in enumerate(names)]
    rows, machines = [], []
    for name, result in zip(names, results):
        validate(result)
        machines.append({"name": name, "cpu": result["machine"]["cpu"],
                         "cores": result["machine"]["logical_cores"],
                         "dataset": result["dataset"]["name"], "created": result["created"]})
        for model in result["models"]:
            runs = [r for r in result["runs"] if r["model"] == model["label"]]
            reference = reference_p50(runs)
            for run in runs:
                rows.append({"machine": name, "dataset": result["dataset"]["name"],
                             "model": model["label"], "weight_sparsity": model["weight_sparsity"],
                             "backend": run["backend"], "status": run["status"],
                             "p50_ms": run["latency_ms"]["p50"] if run["status"] == "ok" else None,
                             "speedup_vs_dense_torch": (reference / run["latency_ms"]["p50"]
                                                        if reference and run["status"] == "ok"
                                                        else None),
                             "score": score_text(run) if run["status"] == "ok" else "–"})
    table = _table([[r["machine"], r["dataset"], r["model"], r["backend"],
                     _fmt(r["p50_ms"], 3) if r["status"] == "ok" else r["status"],
                     _fmt(r["speedup_vs_dense_torch"], 2, suffix="×"),
                     r["score"]] for r in rows],
                   ["machine", "dataset", "model", "backend", "p50 ms", "vs dense torch",
                    "test score"])
    machine_lines = [f"- **{m['name']}**: {m['cpu']}, {m['cores']} cores ({m['dataset']}, "
                     f"{m['created']})" for m in machines]
    text = "\n".join(["# sparsegnn bench compare", "", *machine_lines, "", *table, ""])
    return {"machines": machines, "rows": rows, "markdown": text}
