"""COO -> CSR and CSR -> dense conversion, GCN normalisation and CSR entries narrowed to a
weight's live rows, in linear time."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import KernelArgumentError, check_graph_csr, check_values
from ._config import FASTMATH

__all__ = ["coo_to_csr", "csr_to_dense", "gcn_norm_csr", "live_rows", "row_normalized_values",
           "with_self_loops"]


@njit(cache=True, nogil=True)
def _counting_sort(keys, num_keys, order_in, order_out, counts):
    """Stable counting sort of ``order_in`` by ``keys[order_in]`` into ``order_out``;
    ``counts`` is ``num_keys + 1`` int64 of scratch."""
    for k in range(num_keys + 1):
        counts[k] = 0
    for i in range(order_in.shape[0]):
        counts[keys[order_in[i]] + 1] += 1
    for k in range(num_keys):
        counts[k + 1] += counts[k]
    for i in range(order_in.shape[0]):
        key = keys[order_in[i]]
        order_out[counts[key]] = order_in[i]
        counts[key] += 1


# The scratch arrays come from the caller: an allocation in compiled code compiles Numba's
# numpy constructors in every fresh process, a tenth of a model's first compile.
@njit(cache=True, nogil=True)
def _coo_to_csr(src, dst, num_nodes, indptr, order, by_source, counts):
    """False, writing nothing, when a node id lies outside ``[0, num_nodes)``. The check is
    one pass here rather than four numpy reductions (a batch-1 GIN given ``edge_index``: 81 ->
    37 us per call, ad-hoc A/B) or a kernel of its own (a fresh process compiles each)."""
    valid = True
    for i in range(src.shape[0]):
        valid &= (src[i] >= 0) & (src[i] < num_nodes) & (dst[i] >= 0) & (dst[i] < num_nodes)
    if not valid:
        return False
    for i in range(src.shape[0]):
        order[i] = i
    _counting_sort(src, num_nodes, order, by_source, counts)
    _counting_sort(dst, num_nodes, by_source, order, counts)  # stable: sources stay sorted
    for i in range(dst.shape[0]):
        indptr[dst[i] + 1] += 1
    for v in range(num_nodes):
        indptr[v + 1] += indptr[v]
    return True


@njit(cache=True, nogil=True)
def _scatter_rows(indptr, indices, values, out):
    for row in range(indptr.shape[0] - 1):
        target = out[row]
        for e in range(indptr[row], indptr[row + 1]):
            target[indices[e]] += values[e]


def csr_to_dense(matrix, dtype=np.float32) -> np.ndarray:
    """Dense copy of a validated ``CSRMatrix`` (duplicates summed), in one pass: several times
    faster than numpy's ``toarray`` on wide sparse features (bench/kernel_parts.py; much of
    what remains is the page faults of the fresh output array)."""
    out = np.zeros(matrix.shape, dtype=dtype)
    _scatter_rows(matrix.indptr, matrix.indices, matrix.data.astype(dtype, copy=False), out)
    return out


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
    src64, dst64 = src.astype(np.int64), dst.astype(np.int64)
    indptr = np.zeros(num_nodes + 1, dtype=np.int64)
    order = np.empty(src.shape[0], dtype=np.int64)
    if not _coo_to_csr(src64, dst64, num_nodes, indptr, order, np.empty_like(order),
                       np.empty(num_nodes + 1, np.int64)):
        raise KernelArgumentError(f"node ids must lie in [0, {num_nodes})")
    if values is not None:
        values = check_values(values, src.shape[0], np.asarray(values).dtype)[order]
    return indptr, src64[order], values


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
def _degree_scales(indptr, indices, scales):
    """``scales[v] = (entries of row v + 1) ^ -1/2`` in float32, and the number of self loops
    (numpy's ``diff``, ``sqrt``, division and cast took longer; bench/kernel_parts.py
    measures it as ``gcn_degree_scales``). The loops are counted rather than searched with
    an early exit, over unsigned entry positions, so the count vectorises."""
    loops = 0
    for row in range(indptr.shape[0] - 1):
        for e in range(np.uint64(indptr[row]), np.uint64(indptr[row + 1])):
            loops += indices[e] == row
    _inverse_root_degrees(indptr, scales)
    return loops


# Without these flags LLVM keeps the root and the division scalar, several times slower
# (bench/kernel_parts.py times gcn_degree_scales).
@njit(cache=True, nogil=True, fastmath={"nnan", "nsz", "arcp"})
def _inverse_root_degrees(indptr, scales):
    """``scales[v] = (entries of row v + 1) ^ -1/2``, in float32 (a float64 root and division
    took longer)."""
    one = np.float32(1)
    for row in range(scales.shape[0]):
        scales[row] = one / np.sqrt(np.float32(indptr[row + 1] - indptr[row]) + one)


def gcn_degree_scales(indptr, indices) -> np.ndarray | None:
    """``D^-1/2`` of ``A + I`` per node (float32, ``(N,)``) for a checked, unweighted CSR graph
    without self loops, whose GCN weights ``d_v^-1/2 d_u^-1/2`` the SpMM kernel then computes
    as it goes (``_spmm.GCN_SYMMETRIC``) instead of reading a normalised copy. None when the
    graph has a self loop (``gcn_norm_csr`` then builds the copy): an existing loop replaces
    the added one, which the row sizes alone cannot tell."""
    scales = np.empty(indptr.shape[0] - 1, np.float32)
    return None if _degree_scales(indptr, indices, scales) else scales


@njit(cache=True, nogil=True)
def with_self_loops(indptr, indices):
    """A checked CSR graph with exactly one self loop per row, inserted in source order
    (existing loops collapse into it): ``gcn_normalized``'s structure, and all of what GAT's
    attention needs (computing the GCN weights alongside took as long as the structure).
    Returns ``(indptr (N + 1,) int64, indices)`` of ``indices``' type."""
    num_nodes = indptr.shape[0] - 1
    out_indptr = np.zeros(num_nodes + 1, np.int64)
    for row in range(num_nodes):
        kept = 0
        for e in range(indptr[row], indptr[row + 1]):
            kept += indices[e] != row
        out_indptr[row + 1] = out_indptr[row] + kept + 1
    out_indices = np.empty(out_indptr[num_nodes], indices.dtype)
    for row in range(num_nodes):
        position, placed = out_indptr[row], False
        for e in range(indptr[row], indptr[row + 1]):
            source = indices[e]
            if source == row:
                continue
            if not placed and source > row:  # keep the row sorted: the loop goes in order
                out_indices[position] = row
                position += 1
                placed = True
            out_indices[position] = source
            position += 1
        if not placed:
            out_indices[position] = row
    return out_indptr, out_indices


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def gcn_normalized(indptr, indices, values, improved):
    """``gcn_norm_csr`` on checked arrays (``values`` float64, empty: unweighted), callable
    from other compiled code: the degrees, the looped structure (``with_self_loops``), then
    the normalised weights in its order."""
    num_nodes = indptr.shape[0] - 1
    weighted = values.shape[0] > 0
    loop_weight = np.full(num_nodes, 2.0 if improved and weighted else 1.0)
    degree = np.empty(num_nodes)
    for row in range(num_nodes):
        total = 0.0
        for e in range(indptr[row], indptr[row + 1]):
            weight = values[e] if weighted else 1.0
            if indices[e] == row:
                loop_weight[row] = weight  # existing loops collapse into one, the last kept
            else:
                total += weight
        degree[row] = total + loop_weight[row]
    # One square root per node, not per edge. As PyG: degree 0 gives 0, a negative one NaN.
    inverse_root = np.zeros(num_nodes)
    for row in range(num_nodes):
        if degree[row] != 0:
            inverse_root[row] = 1.0 / np.sqrt(degree[row])
    out_indptr, out_indices = with_self_loops(indptr, indices)
    out_values = np.empty(out_indices.shape[0], np.float64)
    for row in range(num_nodes):
        position, scale = out_indptr[row], inverse_root[row]
        for e in range(indptr[row], indptr[row + 1]):
            source = indices[e]
            if source == row:
                continue
            if out_indices[position] == row:  # the loop's place: no other entry is row
                out_values[position] = loop_weight[row] * scale * scale
                position += 1
            out_values[position] = (values[e] if weighted else 1.0) * scale * inverse_root[source]
            position += 1
        if position < out_indptr[row + 1]:  # the loop comes last
            out_values[position] = loop_weight[row] * scale * scale
    return out_indptr, out_indices, out_values


@njit(cache=True, nogil=True)
def row_normalized_values(indptr, values):
    """Values of a CSR matrix with each row divided by its sum (a row summing to 0 is kept as
    it is: ``sparsegnn.ops.input_norm``), in one compiled pass (numpy's bincount/repeat route
    is several times slower)."""
    out = np.empty_like(values)
    for row in range(indptr.shape[0] - 1):
        total = 0.0
        for e in range(indptr[row], indptr[row + 1]):
            total += values[e]
        scale = 1.0 / total if total != 0 else 1.0
        for e in range(indptr[row], indptr[row + 1]):
            out[e] = values[e] * scale
    return out


# ----------------------------------------------------------------------------- live entries
@njit(cache=True, nogil=True, fastmath=FASTMATH)
def live_rows(indptr, indices, data, remap, normalize, start, end, live_indptr, live_indices,
              live_data):
    """Rows ``start..end`` of a checked CSR matrix narrowed to the columns that ``remap (K,)``
    keeps, renumbered: entry ``(r, k)`` becomes ``(r - start, remap[k])`` when ``remap[k] >=
    0`` and is dropped otherwise (the input of a weight row without a nonzero adds nothing to
    ``x @ M``). With ``normalize``, each kept value is divided by its row's sum over all its
    entries (``input_norm``; a zero sum by 1).

    Writes ``live_indptr (end - start + 1,)`` and the first ``live_indptr[-1]`` of
    ``live_indices`` / ``live_data``, which hold at least the rows' entry count plus one.
    Without a branch per entry (about half of them can be dropped, and a branch on that
    mispredicts): every entry is written at the current position, and only a kept one
    advances it, so the next entry overwrites a dropped one."""
    at = np.uint64(0)
    live_indptr[0] = 0
    for row in range(start, end):
        first = at
        total = data.dtype.type(0)  # in the values' own type, as the SpMM's VALUE_MEAN
        for e in range(np.uint64(indptr[row]), np.uint64(indptr[row + 1])):
            column = remap[np.uint64(indices[e])]
            live_indices[at] = column
            live_data[at] = data[e]
            total += data[e]
            at += np.uint64(column >= 0)
        if normalize and total != 0:
            scale = 1 / total
            for e in range(first, at):
                live_data[e] *= scale
        live_indptr[row - start + 1] = at
