"""The kernels' work splitting (``kernels._parallel``): how rows are cut, and the worker
threads that run the chunks: every chunk runs exactly once, errors reach the caller, no worker
outlives the call, and a forked child gets workers of its own."""

import os
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsegnn.kernels import _parallel
from sparsegnn.kernels._parallel import row_chunks, run_row_chunks

SPLIT = 1 << 40  # work far above the threshold: always split when threads allow


@given(degrees=st.lists(st.integers(0, 50), min_size=0, max_size=300),
       offset=st.integers(0, 1000), parts=st.integers(1, 9))
def test_row_chunks_cut_where_numpy_finds_each_share_of_the_cost(degrees, offset, parts):
    """Against ``np.searchsorted`` over the whole cost array: cut ``p`` is the first row
    whose entries and rows before it reach ``p / parts`` of the total (an ``indptr`` that
    does not start at 0, as a slice of a larger one, included)."""
    indptr = offset + np.concatenate([[0], np.cumsum(degrees)]).astype(np.int64)
    rows = len(degrees)
    chunks = row_chunks(indptr, parts)
    if parts == 1 or rows <= 1:
        assert chunks == [(0, rows)]
        return
    cost = indptr - offset + np.arange(rows + 1)  # entries and rows before each row
    cuts = np.searchsorted(cost * parts, cost[-1] * np.arange(1, parts), side="left")
    bounds = [0, *cuts.tolist(), rows]
    assert chunks == [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    assert chunks[0][0] == 0 and chunks[-1][1] == rows
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(chunks[:-1], chunks[1:]))


def test_row_chunks_cover_every_row_and_balance_entries():
    degrees = np.array([1000] + [1] * 999)  # one hub row: a power-law worst case
    indptr = np.concatenate([[0], np.cumsum(degrees)])
    chunks = row_chunks(indptr, 4)
    assert chunks[0][0] == 0 and chunks[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(chunks[:-1], chunks[1:]))
    assert chunks[0] == (0, 1)  # the hub gets a chunk of its own


def _recorder():
    ranges, lock = [], threading.Lock()

    def kernel(start, end):
        with lock:
            ranges.append((start, end))
    return ranges, kernel


@pytest.mark.parametrize("threads", [2, 3, 5])
def test_every_chunk_runs_once(threads):
    ranges, kernel = _recorder()
    run_row_chunks(kernel, np.arange(1001), SPLIT, threads)
    assert sorted(ranges) == row_chunks(np.arange(1001), threads)
    assert len(ranges) == threads


def test_an_error_in_a_worker_reaches_the_caller_and_the_workers_serve_on():
    def kernel(start, end):
        if start > 0:  # chunks after the first run on workers
            raise ValueError(f"chunk {start}")

    with pytest.raises(ValueError, match="chunk 50"):
        run_row_chunks(kernel, np.arange(101), SPLIT, 2)
    ranges, kernel = _recorder()
    run_row_chunks(kernel, np.arange(101), SPLIT, 2)
    assert sorted(ranges) == [(0, 50), (50, 100)]


def test_the_caller_raises_only_once_its_workers_are_done():
    finished = []

    def kernel(start, end):
        if start == 0:
            raise KeyError("the caller's chunk")
        time.sleep(0.05)
        finished.append(start)

    with pytest.raises(KeyError):
        run_row_chunks(kernel, np.arange(101), SPLIT, 2)
    assert finished == [50]  # the worker was waited for, not left writing its rows


def test_an_interrupt_while_handing_out_chunks_waits_only_on_workers_handed_one(monkeypatch):
    """A worker interrupted before it got its chunk has nothing to finish: waiting on it
    would block the caller forever."""
    original = _parallel._Worker.submit
    handed = []

    def submit(self, kernel, start, end):
        if handed:
            raise KeyboardInterrupt
        handed.append(start)
        original(self, kernel, start, end)

    monkeypatch.setattr(_parallel._Worker, "submit", submit)
    outcome = []

    def call():
        try:
            run_row_chunks(lambda start, end: None, np.arange(301), SPLIT, 3)
        except KeyboardInterrupt:
            outcome.append("interrupted")

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(10)
    assert outcome == ["interrupted"] and handed == [100]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_splits_work_on_workers_of_its_own():
    """The parent's worker threads do not exist in a forked child: handing them a chunk would
    wait forever. The child must make its own."""
    ranges, kernel = _recorder()
    run_row_chunks(kernel, np.arange(101), SPLIT, 2)  # the parent's workers exist now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only when both chunks ran
        try:
            ranges.clear()
            run_row_chunks(kernel, np.arange(101), SPLIT, 2)
            os._exit(0 if sorted(ranges) == [(0, 50), (50, 100)] else 1)
        finally:
            os._exit(2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's split call did not finish in 30 s")


def test_a_poll_sees_a_flag_that_another_thread_sets_and_gives_up_when_none_comes():
    """The polls read the flag from memory on every poll (a load hoisted out of the loop
    would poll for the whole bound, a minute here, and the assertion on the wait fails)."""
    minute = max(_parallel._spin_polls(), 1) * int(60 / _parallel.SPIN_SECONDS)
    flag = np.zeros(1, np.int64)
    assert not _parallel._poll(flag, 1000)
    setter = threading.Timer(0.01, flag.__setitem__, (0, 1))
    started = time.monotonic()
    setter.start()
    assert _parallel._poll(flag, minute)
    assert time.monotonic() - started < 30
    setter.join()
