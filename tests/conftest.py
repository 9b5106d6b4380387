"""Shared fixtures: a seeded rng, the real datasets folder, hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# CI runs derandomised so a failure reproduces; locally hypothesis explores as usual.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

CHECKOUT = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One OpenMP / BLAS thread per worker (before torch or numpy start their pools): two workers'
    # thread teams spinning on two cores stalled torch training up to 60x.
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def shared_datasets() -> Path | None:
    """The real datasets folder: $SPARSEGNN_DATA or ../shared/datasets beside the checkout."""
    candidates = [os.environ.get("SPARSEGNN_DATA"), CHECKOUT.parent / "shared" / "datasets"]
    for candidate in candidates:
        if candidate and Path(candidate, "README.md").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def datasets_root() -> Path:
    root = shared_datasets()
    if root is None:
        pytest.skip("real datasets absent: set SPARSEGNN_DATA or place shared/datasets beside "
                    "the checkout")
    return root


def require_files(root: Path, *relative: str) -> None:
    """Skip (naming the file) when a dataset held back from the shared folder is absent."""
    for path in relative:
        if not (root / path).exists():
            pytest.skip(f"{path} is not in {root} (held back or not downloaded)")
