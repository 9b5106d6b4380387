"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A failure part-way leaves no partial file, and an earlier file at the target stays intact. The
file gets the mode a plain ``open`` would give it (0666 less the umask). A temporary file left
by a killed writer (its name holds the writer's pid) is removed the next time the same target
is written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]

# A temporary file whose name carries no pid (written before pids were recorded) is stale after
# this long.
STALE_SECONDS = 3600


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (not atomic, but only the mode bits)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def _sweep(target: Path) -> None:
    """Remove temporary files of ``target`` whose writer is gone."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        parts = stale.name[len(target.name) + 2:].split(".")
        with contextlib.suppress(OSError):
            if parts[0].isdigit():
                if int(parts[0]) != os.getpid() and not _alive(int(parts[0])):
                    stale.unlink()
            elif time.time() - stale.stat().st_mtime > STALE_SECONDS:
                stale.unlink()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                         dir=target.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp made it 0600
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(target, text.encode("utf-8"))
