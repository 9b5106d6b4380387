"""COO -> CSR conversion and GCN normalisation, in linear time."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import KernelArgumentError, check_graph_csr, check_values
from ._config import FASTMATH

__all__ = ["coo_to_csr", "gcn_norm_csr"]


@njit(cache=True, nogil=True)
def _counting_sort(keys, num_keys, order_in, order_out):
    """Stable counting sort of ``order_in`` by ``keys[order_in]`` into ``order_out``."""
    counts = np.zeros(num_keys + 1, dtype=np.int64)
    for i in range(order_in.shape[0]):
        counts[keys[order_in[i]] + 1] += 1
    for k in range(num_keys):
        counts[k + 1] += counts[k]
    for i in range(order_in.shape[0]):
        key = keys[order_in[i]]
        order_out[counts[key]] = order_in[i]
        counts[key] += 1


@njit(cache=True, nogil=True)
def _coo_to_csr(src, dst, num_nodes, indptr, order):
    by_source = np.empty_like(order)
    _counting_sort(src, num_nodes, np.arange(src.shape[0]), by_source)
    _counting_sort(dst, num_nodes, by_source, order)  # stable: sources stay sorted per row
    for i in range(dst.shape[0]):
        indptr[dst[i] + 1] += 1
    for v in range(num_nodes):
        indptr[v + 1] += indptr[v]


def coo_to_csr(src, dst, num_nodes: int, values=None):
    """Edges ``src -> dst`` to CSR over destinations, sources sorted within each row.

    Returns ``(indptr, indices, values_or_None)``. Shapes: ``src, dst (E,)`` ->
    ``indptr (num_nodes + 1,)``, ``indices (E,)``.
    """
    src, dst = np.asarray(src), np.asarray(dst)
    if src.ndim != 1 or src.shape != dst.shape or src.dtype.kind not in "iu" \
            or dst.dtype.kind not in "iu":
        raise KernelArgumentError(f"src and dst must be 1-D integer arrays of one length, got "
                                  f"{src.dtype}{src.shape} and {dst.dtype}{dst.shape}")
    if num_nodes < 0:
        raise KernelArgumentError(f"num_nodes must be non-negative, got {num_nodes}")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
        raise KernelArgumentError(f"node ids must lie in [0, {num_nodes})")
    src64, dst64 = src.astype(np.int64), dst.astype(np.int64)
    indptr = np.zeros(num_nodes + 1, dtype=np.int64)
    order = np.empty(src.shape[0], dtype=np.int64)
    _coo_to_csr(src64, dst64, num_nodes, indptr, order)
    if values is not None:
        values = check_values(values, src.shape[0], np.asarray(values).dtype)[order]
    return indptr, src64[order], values


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gcn_norm(indptr, indices, values, has_values, fill, out_indptr, out_indices, out_values):
    num_nodes = indptr.shape[0] - 1
    loop_weight = np.full(num_nodes, fill)
    for row in range(num_nodes):
        kept = 0
        for e in range(indptr[row], indptr[row + 1]):
            if indices[e] == row:
                loop_weight[row] = values[e] if has_values else 1.0
            else:
                kept += 1
        out_indptr[row + 1] = out_indptr[row] + kept + 1
    degree = np.zeros(num_nodes)
    for row in range(num_nodes):
        position = out_indptr[row]
        placed = False
        for e in range(indptr[row], indptr[row + 1]):
            source = indices[e]
            if source == row:
                continue
            if not placed and source > row:  # keep the row sorted: the loop goes in order
                out_indices[position], out_values[position] = row, loop_weight[row]
                position += 1
                placed = True
            out_indices[position] = source
            out_values[position] = values[e] if has_values else 1.0
            position += 1
        if not placed:
            out_indices[position], out_values[position] = row, loop_weight[row]
        for e in range(out_indptr[row], out_indptr[row + 1]):
            degree[row] += out_values[e]
    for row in range(num_nodes):
        for e in range(out_indptr[row], out_indptr[row + 1]):
            scale = degree[row] * degree[out_indices[e]]
            out_values[e] = out_values[e] / np.sqrt(scale) if scale > 0 else 0.0


def gcn_norm_csr(indptr, indices, values=None, *, num_nodes: int, improved: bool = False):
    """GCN weights ``D^-1/2 (A + I) D^-1/2`` on a destination-row CSR graph.

    Every node ends with exactly one self loop (an existing loop keeps its weight; new ones
    weigh 1, or 2 when ``improved`` and ``values`` are given: as PyG, ``improved`` does not
    change an unweighted graph); the degree is the weighted in-degree; sources stay sorted.
    Returns ``(indptr, indices, weights)`` with float64 weights.
    """
    indptr, indices = check_graph_csr(indptr, indices, num_nodes, num_nodes, "graph")
    values = check_values(values, indices.shape[0], np.float64)
    return gcn_normalized(indptr, indices, values, improved)


@njit(cache=True, nogil=True)
def gcn_normalized(indptr, indices, values, improved):
    """``gcn_norm_csr`` on checked arrays (``values`` float64, empty: unweighted), callable
    from other compiled code."""
    num_nodes = indptr.shape[0] - 1
    loops = 0
    for row in range(num_nodes):
        for e in range(indptr[row], indptr[row + 1]):
            if indices[e] == row:
                loops += 1
    size = indices.shape[0] - loops + num_nodes
    out_indptr = np.zeros(num_nodes + 1, np.int64)
    out_indices = np.empty(size, np.int64)
    out_values = np.empty(size, np.float64)
    weighted = values.shape[0] > 0
    _gcn_norm(indptr, indices, values, weighted, 2.0 if improved and weighted else 1.0,
              out_indptr, out_indices, out_values)
    return out_indptr, out_indices, out_values
