"""Hypothesis strategies for graphs and features (edge cases included: no edges, isolated
nodes, self loops, duplicate edges, int32/int64 ids, float32/float64)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

index_dtypes = st.sampled_from([np.int32, np.int64])
float_dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def edge_lists(draw, max_nodes: int = 12, max_edges: int = 40, allow_empty_graph: bool = True):
    """``(edge_index (2, E), num_nodes)`` with duplicates and self loops allowed."""
    num_nodes = draw(st.integers(0 if allow_empty_graph else 1, max_nodes))
    if num_nodes == 0:
        return np.zeros((2, 0), dtype=draw(index_dtypes)), 0
    num_edges = draw(st.integers(0, max_edges))
    ids = st.integers(0, num_nodes - 1)
    pairs = draw(st.lists(st.tuples(ids, ids), min_size=num_edges, max_size=num_edges))
    edge_index = np.array(pairs, dtype=draw(index_dtypes)).reshape(-1, 2).T
    return np.ascontiguousarray(edge_index), num_nodes


@st.composite
def weighted_edge_lists(draw, **kwargs):
    edge_index, num_nodes = draw(edge_lists(**kwargs))
    weights = draw(st.lists(st.floats(0.1, 4.0), min_size=edge_index.shape[1],
                            max_size=edge_index.shape[1]))
    return edge_index, num_nodes, np.array(weights, dtype=draw(float_dtypes))


@st.composite
def csr_graphs(draw, max_rows: int = 10, max_cols: int = 10, max_nnz: int = 40, square=False):
    """``(indptr, indices, num_rows, num_cols)``: empty rows, duplicates and int32/int64 ids."""
    num_rows = draw(st.integers(0, max_rows))
    num_cols = num_rows if square else draw(st.integers(1, max_cols))
    if square and num_cols == 0:
        num_cols = 0
    dtype = draw(index_dtypes)
    if num_rows == 0 or num_cols == 0:
        return np.zeros(num_rows + 1, dtype), np.zeros(0, dtype), num_rows, num_cols
    nnz = draw(st.integers(0, max_nnz))
    rows = np.sort(np.array(draw(st.lists(st.integers(0, num_rows - 1), min_size=nnz,
                                          max_size=nnz)), dtype=np.int64))
    cols = np.array(draw(st.lists(st.integers(0, num_cols - 1), min_size=nnz, max_size=nnz)),
                    dtype=dtype)
    indptr = np.zeros(num_rows + 1, dtype=dtype)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=indptr[1:])
    return indptr, cols, num_rows, num_cols


def dense(rng_seed: int, shape, dtype, contiguous: bool = True):
    """Reproducible random values; non-contiguous (a strided view) when asked."""
    rng = np.random.default_rng(rng_seed)
    if contiguous:
        return rng.standard_normal(shape).astype(dtype)
    wide = rng.standard_normal((shape[0], shape[1] * 2) if len(shape) == 2 else shape).astype(dtype)
    return wide[:, ::2] if len(shape) == 2 else wide
