"""Timing statistics, peak memory and a description of the machine (numpy only: the
runtime-only benchmark uses this module where torch is not installed)."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata

import numpy as np

__all__ = ["measure", "measure_interleaved", "summarize", "machine_info", "cpu_description",
           "peak_rss_mb", "proc_status_mb", "LIBRARIES"]

LIBRARIES = ("sparsegnn", "numpy", "numba", "torch", "torch_geometric", "torch_scatter",
             "torch_sparse", "onnx", "onnxruntime", "scipy")


def measure(call: Callable[[], object], *, warmup: int = 3, min_repeat: int = 10,
            max_repeat: int = 200, min_seconds: float = 1.0) -> list[float]:
    """Wall times (seconds) of ``call()``: ``warmup`` untimed calls (compilation, caches), then
    at least ``min_repeat`` timed calls, continuing until ``min_seconds`` have passed or
    ``max_repeat`` calls were made (``measure_interleaved`` of one call)."""
    return measure_interleaved([call], warmup=warmup, min_rounds=min_repeat,
                               max_rounds=max_repeat, min_seconds=min_seconds)[0]


def measure_interleaved(calls: list[Callable[[], object]], *, warmup: int = 3,
                        min_rounds: int = 10, max_rounds: int = 200,
                        min_seconds: float = 1.0) -> list[list[float]]:
    """Wall times (seconds) of each of ``calls``, timed in turn within every round: ``warmup``
    untimed rounds, then at least ``min_rounds`` rounds, continuing until ``min_seconds`` have
    passed or ``max_rounds`` were made. On a shared machine a slow spell then slows every call
    alike, so the ratio of two medians holds where back-to-back blocks of calls would each
    catch different load."""
    if min_rounds < 1 or max_rounds < min_rounds:
        raise ValueError(f"need 1 <= min_rounds <= max_rounds, got {min_rounds}, {max_rounds}")
    for _ in range(warmup):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    started = time.perf_counter()
    while len(times[0]) < max_rounds and (len(times[0]) < min_rounds
                                          or time.perf_counter() - started < min_seconds):
        for call, spent in zip(calls, times):
            tick = time.perf_counter()
            call()
            spent.append(time.perf_counter() - tick)
    return times


def summarize(times_s) -> dict:
    """Latency percentiles in milliseconds (linear interpolation, numpy's default)."""
    times = np.asarray(times_s, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or not np.isfinite(times).all() or (times < 0).any():
        raise ValueError("times must be a non-empty 1-D sequence of finite, non-negative seconds")
    p50, p95, p99 = np.percentile(times, [50, 95, 99]) * 1e3
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99),
            "mean": float(times.mean() * 1e3), "min": float(times.min() * 1e3),
            "repeats": int(times.size)}


def proc_status_mb(field: str, pid: int | str = "self") -> float | None:
    """A memory field (``VmRSS``, ``VmHWM``) of ``/proc/<pid>/status`` in MiB, or None where
    the OS has no such file (not Linux) or the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far (MiB), or None where unknown.

    On Linux this is ``VmHWM`` of the process's own address space: ``ru_maxrss`` would also
    count the parent's memory for a child started by ``vfork`` + ``exec`` (as ``subprocess``
    does), because the kernel carries the old address space's peak across ``exec``."""
    peak = proc_status_mb("VmHWM")
    if peak is not None:
        return peak
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def cpu_description(cpuinfo: str | None = None) -> str:
    """The CPU's model name, with its family and model numbers and its widest x86 vector
    extension where ``cpuinfo`` (default: ``/proc/cpuinfo``'s text) gives them. Virtual
    machines often report only the vendor's line ("AMD EPYC" for a Zen 1 and a Zen 4 alike),
    and results measured on each must not read as one machine's."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as handle:
                cpuinfo = handle.read()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():  # the first processor's value of each field
        key, colon, value = line.partition(":")
        if colon:
            fields.setdefault(key.strip(), value.strip())
    name = next((fields[k] for k in ("model name", "Hardware", "Processor") if fields.get(k)),
                platform.processor() or platform.machine())
    details = []
    if fields.get("cpu family") and fields.get("model"):
        details.append(f"family {fields['cpu family']} model {fields['model']}")
    flags = set(fields.get("flags", "").split())
    simd = next((label for flag, label in (("avx512f", "AVX-512"), ("avx2", "AVX2"),
                                           ("avx", "AVX")) if flag in flags), None)
    if simd:
        details.append(simd)
    return f"{name} ({', '.join(details)})" if details else name


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name.replace("_", "-"))
    except metadata.PackageNotFoundError:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None


def machine_info() -> dict:
    """CPU, cores, memory, threading, library versions (absent libraries as null) and the
    kernels' source. Reads package metadata only: it imports none of the libraries."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threading = {"sparsegnn": "numba nogil kernels on a Python thread pool",
                 "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                 "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS")}
    if sys.modules.get("torch") is not None:  # report torch's threads only if it is in use
        threading["torch_threads"] = sys.modules["torch"].get_num_threads()
    return {
        "hostname": platform.node(),
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": cpu_description(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "threading": threading,
        "libraries": {name: _version(name) for name in LIBRARIES},
        "kernels": _kernel_source(),
    }


def _kernel_source() -> str:
    """Where the runtime's kernels come from here (a precompiled bundle or the JIT): the
    backends' child processes inherit the environment that decides it."""
    from ..kernels import KERNELS

    return KERNELS.describe()
