"""The kernel tests once more with NUMBA_DISABLE_JIT=1, so the jitted bodies run as Python and
their lines are exercised (and covered) directly."""

import os
import subprocess
import sys
from pathlib import Path


def test_kernel_suite_passes_without_jit():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    tests = [str(Path(__file__).with_name(name)) for name in ("test_kernels.py", "test_topk.py")]
    # The kernels run as pure Python: minutes on a slow 2-core machine, more while the other
    # test worker shares it. The limit only catches a hang.
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", *tests],
                            env=env, capture_output=True, text=True, timeout=2400,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
