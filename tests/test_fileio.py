"""Atomic writes: the umask's mode, and no temporary file of a killed writer survives the next
write of the same target."""

import os
import signal
import subprocess
import sys
import time

from sparsegnn._fileio import atomic_path, atomic_write_text


def test_written_files_honour_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.json", "{}")
        assert path.stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert atomic_write_text(tmp_path / "b.json", "{}").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(previous)


def test_a_killed_writers_temporary_file_is_swept_on_the_next_write(tmp_path):
    target = tmp_path / "model.sgnn"
    code = ("import sys, time; from sparsegnn._fileio import atomic_path\n"
            f"with atomic_path({str(target)!r}) as t:\n"
            "    t.write_bytes(b'partial'); print('ready', flush=True); time.sleep(60)\n")
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert writer.stdout.readline().strip() == "ready"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    leftovers = list(tmp_path.glob(".model.sgnn.*.tmp"))
    assert len(leftovers) == 1  # what a kill -9 leaves
    atomic_write_text(target, "complete")
    assert target.read_text() == "complete"
    assert not list(tmp_path.glob(".model.sgnn.*.tmp"))


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    target = tmp_path / "out.json"
    with atomic_path(target) as ours:
        ours.write_text("in progress")
        old = tmp_path / ".out.json.legacy.tmp"  # no pid in the name: removed only when stale
        old.write_text("x")
        atomic_write_text(target, "other writer")
        assert ours.exists() and old.exists()
        stale = time.time() - 7200
        os.utime(old, (stale, stale))
        atomic_write_text(target, "again")
        assert ours.exists() and not old.exists()
