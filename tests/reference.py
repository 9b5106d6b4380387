"""Obviously correct references (scipy / dense numpy) and the one comparison helper."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def assert_matches(actual, expected, *, atol: float | None = None, check_dtype: bool = True):
    """Compare shape, then dtype, then values (tolerance per dtype unless given)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if check_dtype:
        assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != {expected.dtype}"
    tolerance = atol if atol is not None else TOLERANCE.get(actual.dtype, 0)
    np.testing.assert_allclose(actual, expected, atol=tolerance, rtol=tolerance)


def scipy_adjacency(edge_index: np.ndarray, num_nodes: int, weights=None) -> sp.csr_matrix:
    """The aggregation matrix M with ``M[dst, src] = sum of weights`` (duplicates summed)."""
    edge_index = np.asarray(edge_index, dtype=np.int64)
    values = np.ones(edge_index.shape[1]) if weights is None else np.asarray(weights, np.float64)
    return sp.csr_matrix((values, (edge_index[1], edge_index[0])), shape=(num_nodes, num_nodes))
