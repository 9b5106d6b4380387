"""Exact top-k retrieval by inner product over a catalogue, excluding each query's seen items.

Serving a recommender scores every catalogue item for a user and keeps the best ``k``. Scoring
in float32 reads the whole catalogue per query (41k items x 64 dims is 10.5 MB), so the scan is
bound by memory. Here the scan reads an int8 copy instead (a quarter of the bytes) and the
answer stays exact:

1. Each item ``v_i`` is stored as ``s_i * q_i`` with ``q_i`` int8 (``s_i = max |v_i| / 127``),
   so ``|u . v_i - s_i (u . q_i)| <= s_i / 2 * ||u||_1``: every approximate score ``a_i``
   comes with an error bound ``e_i`` (widened a little for float32 rounding).
2. ``T`` is the k-th largest lower bound ``a_i - e_i``: k items surely score at least ``T``, so
   an item whose upper bound ``a_i + e_i`` is below ``T`` cannot be in the top k.
3. The remaining candidates are scored exactly in float32, and the best k are returned.

The int8 catalogue is laid out in blocks of ``BLOCK`` items, dimension-major inside a block, so
that scoring a block is ``BLOCK``-wide multiply-adds with a broadcast query element (the loop
vectorises across items) over one contiguous stretch of memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..sparse import canonical_index_arrays, check_csr
from ._checks import KernelArgumentError, check_dense
from ._config import FASTMATH
from ._intrinsics import (
    HAS_BYTE_DOT,
    full_vector_zeros,
    vector_byte_scores,
    vector_dot_bytes,
    vector_fma_codes,
    vector_fma_row,
    vector_lanes,
    vector_max,
    vector_mul_row,
    vector_store_row,
)
from ._parallel import get_num_threads, run_row_chunks

__all__ = ["QuantizedCatalogue", "quantize_catalogue", "ItemSets", "item_sets",
           "top_k_inner_product", "top_k_unchecked", "BLOCK"]

LANES = vector_lanes(4)  # float32 lanes of the target's vectors
BLOCK_VECTORS = 4  # vectors of sums per query and block
BLOCK = BLOCK_VECTORS * LANES  # items per block of the int8 catalogue (64 with AVX-512)
GROUP = 4  # queries scanned together: each code vector loaded once feeds four sums
# The bound's margin for float32 rounding: D multiply-adds of |u_d| * 127 each lose at most
# D * 2**-24 of their magnitude, under 0.1 % of the rounding bound for D <= 4096.
BOUND_SLACK = 1.002


@dataclass(frozen=True)
class QuantizedCatalogue:
    """``items (I, D)`` float32 (for exact scores), int8 ``codes`` and per item, ``(B, BLOCK)``
    block by block: ``scales`` float32 (0 for the padding after item ``I - 1``), ``code_l1``
    (the l1 norm of each quantized item, ``s_i * sum_d |q_id|``) and ``code_offsets`` (int32
    ``128 * sum_d q_id``, what the byte layout's unsigned query operand adds).

    ``layout`` "float": ``codes (B * D, BLOCK)``, block ``b`` is rows ``b * D`` to
    ``(b + 1) * D`` (dimension-major), converted to float and multiplied by the query.
    ``layout`` "bytes" (CPUs with AVX-512 VNNI): ``codes (B * ceil(D / 4), BLOCK * 4)``, each
    row four dimensions of the block's items, item by item (``vpdpbusd``'s operand), against
    a query quantized to bytes too."""

    items: np.ndarray
    codes: np.ndarray
    scales: np.ndarray
    code_l1: np.ndarray
    code_offsets: np.ndarray
    layout: str = "float"

    @property
    def num_items(self) -> int:
        return int(self.items.shape[0])

    @property
    def dim(self) -> int:
        return int(self.items.shape[1])


def quantize_catalogue(items: np.ndarray, layout: str | None = None) -> QuantizedCatalogue:
    """Pack ``items (I, D)`` (finite float32) for :func:`top_k_inner_product`; ``layout``
    "float" or "bytes" (default: "bytes" where the CPU has VNNI and Numba compiles for it)."""
    items = np.ascontiguousarray(check_dense(items, "items"), dtype=np.float32)
    if items.shape[0] == 0 or items.shape[1] == 0:
        raise KernelArgumentError("items must hold at least one item of at least one dimension")
    if not np.all(np.isfinite(items)):
        raise KernelArgumentError("items must be finite")
    layout = layout or ("bytes" if HAS_BYTE_DOT else "float")
    if layout not in ("float", "bytes") or (layout == "bytes" and not HAS_BYTE_DOT):
        raise KernelArgumentError(f"layout must be 'float' or, on a CPU with AVX-512 VNNI, "
                                  f"'bytes'; got {layout!r}")
    num_items, dim = items.shape
    blocks = -(-num_items // BLOCK)
    scales = np.zeros(blocks * BLOCK, dtype=np.float32)
    scales[:num_items] = np.abs(items).max(axis=1) / 127.0
    padded = np.zeros((blocks * BLOCK, dim), dtype=np.float32)
    np.divide(items, scales[:num_items, None], out=padded[:num_items],
              where=scales[:num_items, None] > 0)
    quantized = np.rint(padded).astype(np.int8)
    code_offsets = 128 * quantized.sum(axis=1, dtype=np.int32)
    code_l1 = (np.abs(quantized).sum(axis=1, dtype=np.int64) * scales).astype(np.float32)
    if layout == "float":
        codes = np.ascontiguousarray(quantized.reshape(blocks, BLOCK, dim).transpose(0, 2, 1))
        codes = codes.reshape(blocks * dim, BLOCK)
    else:
        groups = -(-dim // 4)
        wide = np.zeros((blocks * BLOCK, groups * 4), np.int8)
        wide[:, :dim] = quantized
        # [block, item, group, byte] -> [block, group, item, byte]
        codes = np.ascontiguousarray(wide.reshape(blocks, BLOCK, groups, 4).transpose(0, 2, 1, 3))
        codes = codes.reshape(blocks * groups, BLOCK * 4)
    return QuantizedCatalogue(items, codes, scales.reshape(blocks, BLOCK),
                              code_l1.reshape(blocks, BLOCK), code_offsets.reshape(blocks, BLOCK),
                              layout)


@dataclass(frozen=True)
class ItemSets:
    """Validated item sets, one CSR row per user (``indptr (U + 1,)`` int64, ``indices``
    int32 item ids below ``num_items``): what :func:`top_k_inner_product` leaves out. Build
    with :func:`item_sets`, once: a serving call then checks nothing per entry."""

    indptr: np.ndarray
    indices: np.ndarray
    num_items: int

    @property
    def num_rows(self) -> int:
        return int(self.indptr.shape[0] - 1)


def item_sets(indptr, indices, num_items: int) -> ItemSets:
    """Check a CSR of item ids (monotone ``indptr`` from 0, ids in ``[0, num_items)``)."""

    indptr = np.asarray(indptr)
    if indptr.ndim != 1 or indptr.shape[0] < 1:
        raise KernelArgumentError(f"indptr must be 1-D and non-empty, got shape {indptr.shape}")
    indptr, indices, _ = check_csr(indptr, indices, indptr.shape[0] - 1, num_items,
                                   name="item sets", error=KernelArgumentError)
    indptr, indices = canonical_index_arrays(indptr, indices, num_items)
    return ItemSets(indptr, indices, int(num_items))


@njit(cache=True, nogil=True)
def _sift_down(values, ids, size, position):
    """Restore the min-heap order of ``values[:size]`` below ``position``."""
    while True:
        child = 2 * position + 1
        if child >= size:
            return
        if child + 1 < size and values[child + 1] < values[child]:
            child += 1
        if values[position] <= values[child]:
            return
        values[position], values[child] = values[child], values[position]
        ids[position], ids[child] = ids[child], ids[position]
        position = child


@njit(cache=True, nogil=True)
def _offer(values, ids, size, k, value, item):
    """Keep the ``k`` largest values seen in the min-heap ``values[:size]``; returns the size."""
    if size < k:
        position = size
        values[position], ids[position] = value, item
        while position > 0:  # sift up
            parent = (position - 1) // 2
            if values[parent] <= values[position]:
                break
            values[parent], values[position] = values[position], values[parent]
            ids[parent], ids[position] = ids[position], ids[parent]
            position = parent
        return size + 1
    if value > values[0]:
        values[0], ids[0] = value, item
        _sift_down(values, ids, size, 0)
    return size


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _block_candidates(g, sums, scales, code_l1, block, num_items, excluded, half_norm,
                      query_half_scale, k, heap_values, heap_ids, sizes, counts, candidates,
                      candidate_bounds):
    """Query ``g``'s share of block ``block``, whose approximate scores are row ``g`` of
    ``sums``: the items that can still reach its top k are kept as candidates, and their
    lower bounds offered to its heap (whose minimum is the running threshold ``T``)."""
    negative_infinity = np.float32(-np.inf)
    size, count = sizes[g], counts[g]
    bit = np.uint8(1 << g)
    width = scales.shape[1]
    base = block * width
    for j in range(min(width, num_items - base)):
        item = base + j
        if excluded[item] & bit:
            continue
        error = scales[block, j] * half_norm + query_half_scale * code_l1[block, j]
        threshold = heap_values[g, 0] if size == k else negative_infinity
        if sums[g, j] + error < threshold:
            continue
        candidates[g, count] = item
        candidate_bounds[g, count] = sums[g, j] + error
        count += 1
        # (tested before the call: a call passing arrays costs reference counting)
        if size < k or sums[g, j] - error > heap_values[g, 0]:
            size = _offer(heap_values[g], heap_ids[g], size, k, sums[g, j] - error, item)
    sizes[g], counts[g] = size, count


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _start_group(queries, start, members, exclude_indptr, exclude_indices, rows, excluded,
                 sizes, counts, half_norms):
    """Empty heaps and candidate lists, the item-rounding half of each query's error bound
    (``||u||_1 / 2``, widened for float32 rounding), and its seen items marked."""
    for g in range(members):
        sizes[g], counts[g] = 0, 0
        norm = np.float32(0.0)
        for d in range(queries.shape[1]):
            norm += abs(queries[start + g, d])
        half_norms[g] = np.float32(0.5 * BOUND_SLACK) * norm
        if rows.shape[0]:
            row = rows[start + g]
            for e in range(exclude_indptr[row], exclude_indptr[row + 1]):
                excluded[exclude_indices[e]] |= np.uint8(1 << g)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_group(queries, items, k, start, members, exclude_indptr, exclude_indices, rows,
                  out_ids, out_scores, excluded, heap_values, heap_ids, sizes, counts, candidates,
                  candidate_bounds):
    """Score exactly the candidates that reach each query's final ``T``, write its best k
    (best first), and clear its seen items' marks."""
    negative_infinity = np.float32(-np.inf)
    dim = items.shape[1]
    for g in range(members):
        q = start + g
        threshold = heap_values[g, 0] if sizes[g] == k else negative_infinity
        values, ids = heap_values[g], heap_ids[g]
        size = 0
        for c in range(counts[g]):
            if candidate_bounds[g, c] < threshold:
                continue
            item = candidates[g, c]
            score = np.float32(0.0)
            for d in range(dim):
                score += queries[q, d] * items[item, d]
            if size < k or score > values[0]:
                size = _offer(values, ids, size, k, score, item)
        # the heap holds the best `size` in heap order: pop them into place, best first
        for position in range(size - 1, -1, -1):
            out_scores[q, position], out_ids[q, position] = values[0], ids[0]
            values[0], ids[0] = values[position], ids[position]
            _sift_down(values, ids, position, 0)
        for position in range(size, k):
            out_scores[q, position], out_ids[q, position] = negative_infinity, -1
        if rows.shape[0]:
            row = rows[q]
            for e in range(exclude_indptr[row], exclude_indptr[row + 1]):
                excluded[exclude_indices[e]] = 0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _top_k_rows(queries, items, codes, scales, code_l1, k, exclude_indptr, exclude_indices,
                rows, first, last, out_ids, out_scores, excluded, sums, heap_values, heap_ids,
                candidates, candidate_bounds):
    """The "float" layout. Queries in groups of ``GROUP``, one pass over the int8 blocks per
    group: each code vector is loaded and converted once for the group's four sets of sums
    (16 vectors in registers). Each block then yields each query's candidates (see
    ``_block_candidates``); ``_finish_group`` scores those that reach the final ``T``.
    ``scales`` and ``code_l1`` are ``(blocks, BLOCK)``."""
    num_items, dim = items.shape
    blocks = codes.shape[0] // dim
    sizes = np.zeros(GROUP, np.int64)
    counts = np.zeros(GROUP, np.int64)
    half_norms = np.zeros(GROUP, np.float32)
    none = np.float32(0.0)  # no query rounding in this layout
    for start in range(first, last, GROUP):
        members = min(GROUP, last - start)
        # a short last group repeats its last query in the unused slots (their output is not
        # kept), so the scan below stays one code path
        q0, q1 = start, start + min(1, members - 1)
        q2, q3 = start + min(2, members - 1), start + min(3, members - 1)
        _start_group(queries, start, members, exclude_indptr, exclude_indices, rows, excluded,
                     sizes, counts, half_norms)
        for block in range(blocks):
            sums0 = full_vector_zeros(sums, BLOCK_VECTORS)
            sums1, sums2, sums3 = sums0, sums0, sums0
            if members == 1:  # a single query: a quarter of the multiply-adds
                for d in range(dim):
                    sums0 = vector_fma_codes(sums0, queries[q0, d], codes, block * dim + d, 0)
            else:
                for d in range(dim):  # 16 vectors of sums in registers; one load per vector
                    line = block * dim + d
                    sums0 = vector_fma_codes(sums0, queries[q0, d], codes, line, 0)
                    sums1 = vector_fma_codes(sums1, queries[q1, d], codes, line, 0)
                    sums2 = vector_fma_codes(sums2, queries[q2, d], codes, line, 0)
                    sums3 = vector_fma_codes(sums3, queries[q3, d], codes, line, 0)
            group_sums = (sums0, sums1, sums2, sums3)
            for g in range(members):
                # the block's scores and bounds stay in registers: most blocks cannot reach
                # the top k and stop at the comparison (this is written out here, not in a
                # helper: passing arrays to a function costs reference counting per block)
                approx = vector_mul_row(group_sums[g], scales, block, 0, LANES)
                bound = vector_fma_row(approx, half_norms[g], scales, block, 0, LANES)
                if sizes[g] < k or vector_max(bound) >= heap_values[g, 0]:
                    vector_store_row(approx, sums, g, 0, LANES)
                    _block_candidates(g, sums, scales, code_l1, block, num_items, excluded,
                                      half_norms[g], none, k, heap_values, heap_ids, sizes,
                                      counts, candidates, candidate_bounds)
        _finish_group(queries, items, k, start, members, exclude_indptr, exclude_indices, rows,
                      out_ids, out_scores, excluded, heap_values, heap_ids, sizes, counts,
                      candidates, candidate_bounds)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _top_k_rows_bytes(queries, items, codes, scales, code_l1, code_offsets, k, exclude_indptr,
                      exclude_indices, rows, first, last, out_ids, out_scores, excluded, sums,
                      heap_values, heap_ids, candidates, candidate_bounds):
    """The "bytes" layout (AVX-512 VNNI): each query is quantized to bytes as the items are,
    ``u ~ s_u * p`` with ``p`` int8, and offset by 128 into the unsigned operand of
    ``vpdpbusd``, which sums four byte products per int32 lane (64 per instruction, four
    times the float layout's multiply-adds per instruction). ``sum_d (p_d + 128) q_id - 128
    * sum_d q_id`` is ``p . q_i`` exactly; the approximate score ``s_u s_i (p . q_i)`` is off
    by at most ``s_i ||u||_1 / 2 + s_u / 2 * s_i ||q_i||_1`` (the item's rounding, then the
    query's), the bound the candidates are filtered with. Otherwise as ``_top_k_rows``;
    ``code_offsets`` is ``(blocks, BLOCK)`` too."""
    num_items, dim = items.shape
    groups = -(-dim // 4)
    blocks = codes.shape[0] // groups
    sizes = np.zeros(GROUP, np.int64)
    counts = np.zeros(GROUP, np.int64)
    half_norms = np.zeros(GROUP, np.float32)
    query_scales = np.zeros(GROUP, np.float32)
    packed = np.zeros((GROUP, groups), np.int32)
    totals = np.empty((GROUP, scales.shape[1]), np.int32)  # only types the accumulators
    for start in range(first, last, GROUP):
        members = min(GROUP, last - start)
        _start_group(queries, start, members, exclude_indptr, exclude_indices, rows, excluded,
                     sizes, counts, half_norms)
        for g in range(GROUP):  # a short group's unused slots repeat its last query
            q = start + min(g, members - 1)
            largest = np.float32(0.0)
            for d in range(dim):
                largest = max(largest, abs(queries[q, d]))
            query_scales[g] = largest / np.float32(127.0)
            inverse = np.float32(127.0) / largest if largest > 0 else np.float32(0.0)
            for t in range(groups):
                word = np.int64(0)
                for b in range(4):
                    d = 4 * t + b
                    value = np.int64(round(queries[q, d] * inverse)) if d < dim else np.int64(0)
                    word |= (value + 128) << (8 * b)
                packed[g, t] = np.int32(word - (np.int64(1) << 32) if word >= (1 << 31) else word)
        slack = np.float32(0.5 * BOUND_SLACK)
        for block in range(blocks):
            sums0 = full_vector_zeros(totals, BLOCK_VECTORS)
            sums1, sums2, sums3 = sums0, sums0, sums0
            if members == 1:
                for t in range(groups):
                    sums0 = vector_dot_bytes(sums0, packed[0, t], codes, block * groups + t, 0)
            else:
                for t in range(groups):
                    line = block * groups + t
                    sums0 = vector_dot_bytes(sums0, packed[0, t], codes, line, 0)
                    sums1 = vector_dot_bytes(sums1, packed[1, t], codes, line, 0)
                    sums2 = vector_dot_bytes(sums2, packed[2, t], codes, line, 0)
                    sums3 = vector_dot_bytes(sums3, packed[3, t], codes, line, 0)
            group_sums = (sums0, sums1, sums2, sums3)
            for g in range(members):  # as in _top_k_rows, plus the query's rounding
                approx = vector_byte_scores(group_sums[g], code_offsets, scales, block,
                                            query_scales[g])
                rounding = slack * query_scales[g]
                bound = vector_fma_row(approx, half_norms[g], scales, block, 0, LANES)
                bound = vector_fma_row(bound, rounding, code_l1, block, 0, LANES)
                if sizes[g] < k or vector_max(bound) >= heap_values[g, 0]:
                    vector_store_row(approx, sums, g, 0, LANES)
                    _block_candidates(g, sums, scales, code_l1, block, num_items, excluded,
                                      half_norms[g], rounding, k, heap_values, heap_ids, sizes,
                                      counts, candidates, candidate_bounds)
        _finish_group(queries, items, k, start, members, exclude_indptr, exclude_indices, rows,
                      out_ids, out_scores, excluded, heap_values, heap_ids, sizes, counts,
                      candidates, candidate_bounds)


def top_k_inner_product(queries: np.ndarray, catalogue: QuantizedCatalogue, k: int,
                        exclude: ItemSets | None = None, rows: np.ndarray | None = None,
                        threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items of largest ``query . item`` for each of ``queries (Q, D)``, best first.

    ``exclude``: items to leave out, row ``rows[q]`` for query ``q`` (a user's seen items;
    ``rows`` defaults to ``0..Q-1``). Returns ``ids (Q, k)`` int64 and ``scores (Q, k)``
    float32; when fewer than ``k`` items remain, the row ends with id -1 and score -inf. Items
    of equal score may come in either order.
    """
    queries = np.ascontiguousarray(check_dense(queries, "queries"), dtype=np.float32)
    if queries.shape[1] != catalogue.dim:
        raise KernelArgumentError(f"queries have {queries.shape[1]} dimensions, the catalogue "
                                  f"{catalogue.dim}")
    if not np.all(np.isfinite(queries)):
        raise KernelArgumentError("queries must be finite")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) \
            or not 1 <= k <= catalogue.num_items:
        raise KernelArgumentError(f"k must be an integer in [1, {catalogue.num_items}], got {k!r}")
    k = int(k)
    if exclude is None:
        exclude, rows = ItemSets(np.zeros(1, np.int64), np.zeros(0, np.int32), 0), np.zeros(0, np.int64)
    else:
        if not isinstance(exclude, ItemSets) or exclude.num_items != catalogue.num_items:
            raise KernelArgumentError("exclude must be ItemSets (see item_sets) over the "
                                      "catalogue's items")
        rows = np.arange(queries.shape[0]) if rows is None else np.asarray(rows)
        if rows.shape != (queries.shape[0],) or rows.dtype.kind not in "iu":
            raise KernelArgumentError(f"rows must hold one integer per query, got shape {rows.shape}")
        rows = rows.astype(np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= exclude.num_rows):
            raise KernelArgumentError(f"rows must lie in [0, {exclude.num_rows})")
    return top_k_unchecked(queries, catalogue, k, exclude, rows, threads)


def top_k_unchecked(queries: np.ndarray, catalogue: QuantizedCatalogue, k: int,
                    exclude: ItemSets, rows: np.ndarray, threads: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k_inner_product` without its checks, for callers that made them once
    (``runtime.Recommender``: embeddings checked at load, user ids per call): C-contiguous
    finite float32 ``queries (Q, D)``, an int ``k`` in range, ``exclude`` over the catalogue's
    items and int64 ``rows`` (empty: nothing excluded) in its range."""
    c = catalogue
    out_ids = np.empty((queries.shape[0], k), np.int64)
    out_scores = np.empty((queries.shape[0], k), np.float32)

    def kernel(first: int, last: int) -> None:
        # per-thread scratch: exclusion bits (one per query of a group), one block's sums,
        # and per query of a group a heap and its candidates
        scratch = (np.zeros(c.num_items, np.uint8), np.empty((GROUP, BLOCK), np.float32),
                   np.empty((GROUP, k), np.float32), np.empty((GROUP, k), np.int64),
                   np.empty((GROUP, c.num_items), np.int64),
                   np.empty((GROUP, c.num_items), np.float32))
        if c.layout == "bytes":
            _top_k_rows_bytes(queries, c.items, c.codes, c.scales, c.code_l1, c.code_offsets,
                              k, exclude.indptr, exclude.indices, rows, first, last, out_ids,
                              out_scores, *scratch)
        else:
            _top_k_rows(queries, c.items, c.codes, c.scales, c.code_l1, k, exclude.indptr,
                        exclude.indices, rows, first, last, out_ids, out_scores, *scratch)

    work = queries.shape[0] * c.num_items * c.dim // 4
    run_row_chunks(kernel, np.arange(queries.shape[0] + 1), work, threads or get_num_threads())
    return out_ids, out_scores
