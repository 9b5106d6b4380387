"""A bounded run of ``bench/fuzz.py`` in CI: hostile artifacts, run inputs, dataset files and
checkpoints, each case in a worker process, give only the boundary's documented error or a
valid result: no crash, hang, other exception, excess memory or silently wrong output."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_a_bounded_fuzz_run_finds_nothing(tmp_path):
    out = tmp_path / "fuzz"
    subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz.py"), "--scale", "0.05",
                    "--out", str(out), "--timeout", "120", "--memory-limit-mb", "1024"],
                   check=True, capture_output=True, text=True, timeout=1200,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    result = json.loads((out / "fuzz.json").read_text())
    for kind, row in result["kinds"].items():
        counts = row["counts"]
        assert sum(counts.values()) == row["cases"], (kind, counts)
        bad = {k: counts.get(k, 0) for k in ("other", "crash", "hang", "memory", "wrong")}
        assert not any(bad.values()), (kind, bad, row["problems"])
        assert counts.get("clean", 0) > 0, (kind, counts)  # the hostile cases were refused
        assert row["max_peak_rss_mb"] < 1024, (kind, row["max_peak_rss_mb"])
