"""The datasets the pruning tests share (loaded once per worker)."""

import pytest

from sparsegnn import data


@pytest.fixture(scope="session")
def synthetic():
    """The built-in node classification graph."""
    return data.load("synthetic")


@pytest.fixture(scope="session")
def graphs():
    """The built-in graph classification set."""
    return data.load("synthetic-graphs")
