"""``compile_kernels``: build a bundle of precompiled kernels that an app ships, so that a fresh
device answers its first inference without compiling (``sparsegnn compile``).

The bundle is Numba's cache, built for a named CPU target and laid out relative to the package
(see ``sparsegnn.kernels._precompiled``). The kernels are compiled in a child process, whose
target is pinned before Numba compiles anything, by :meth:`Session.warm_up` on each artifact.

>>> compile_kernels(["model.sgnn"], "kernels/")              # doctest: +SKIP
>>> # the app: SPARSEGNN_KERNELS=kernels/ python app.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .._fileio import atomic_write_text
from ..kernels._precompiled import (
    BUILD_ENV,
    FORMAT,
    MANIFEST,
    TARGETS,
    _host,
    _runtime_versions,
    host_description,
    is_cache_file,
    neutral_environment,
)

__all__ = ["compile_kernels", "CompileError"]

_CHILD = "from sparsegnn.runtime.compile import _child; _child()"


class CompileError(RuntimeError):
    """The kernels could not be compiled (the child's error is in the message)."""


def compile_kernels(artifacts: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                    target: str = "x86-64-v3",
                    progress: Callable[[str], None] | None = None) -> dict:
    """Compile every kernel that ``artifacts`` run into the bundle folder ``out`` (replaced
    whole when it exists), and return its manifest.

    ``target``: the CPU the kernels are built for, one of ``TARGETS``: ``x86-64-v3`` (AVX2,
    FMA) runs on every x86-64 server and laptop since 2013, ``x86-64-v4`` adds AVX-512,
    ``generic`` is the architecture's baseline. It must be one this machine can run (the
    kernels are run here to compile them). ``progress`` receives one line per step.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    triple, features = _host()
    missing = sorted(set(TARGETS[target]) - features)
    if missing:
        raise ValueError(f"this machine cannot run {target} code (it lacks {', '.join(missing)})")
    paths = [Path(path) for path in artifacts]
    if not paths:
        raise ValueError("name at least one artifact to compile its kernels")
    from ..artifact import load_artifact

    for path in paths:  # validated here, before a child spends minutes on them
        load_artifact(path)
    out = Path(out)
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    env = neutral_environment(**{BUILD_ENV: f"{target}:{staging.resolve()}"})
    started = time.perf_counter()
    try:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, *map(str, paths)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in child.stdout:
            if progress is not None:
                progress(line.rstrip())
        error = child.stderr.read()
        if child.wait() != 0:
            raise CompileError(f"compiling the kernels failed:\n{error[-4000:]}")
        files = [p for p in staging.rglob("*") if is_cache_file(p)]
        manifest = {"format": FORMAT, "format_version": 1, **_runtime_versions(),
                    "triple": triple, "target": target, "built_on": host_description(),
                    "artifacts": [path.name for path in paths],
                    "kernels": sum(p.suffix == ".nbc" for p in files),
                    "bytes": sum(p.stat().st_size for p in files),
                    "seconds": round(time.perf_counter() - started, 1)}
        atomic_write_text(staging / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        previous = out.with_name(f".{out.name}.{os.getpid()}.old")
        if out.exists():
            os.replace(out, previous)
        os.replace(staging, out)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _child() -> None:
    """In the build child (target pinned, cache under the staging folder by the kernels'
    import): warm every artifact named on the command line up, reporting each."""
    from ..kernels._precompiled import STATUS
    from .session import Session

    if STATUS.source != "build":
        raise SystemExit(f"not a kernel build process ({STATUS.describe()})")
    for path in sys.argv[1:]:
        tick = time.perf_counter()
        _report(f"compiling {Path(path).name} for {STATUS.target} ...")
        for threads in (1, None):  # one thread and all: the serial and the parallel paths
            Session(path, num_threads=threads).warm_up()
        _report(f"compiled {Path(path).name} in {time.perf_counter() - tick:.1f} s")


def _report(line: str) -> None:
    """One progress line to the parent (the child's stdout is the channel)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
