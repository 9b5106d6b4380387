"""Exact top-k retrieval against numpy's brute force: random and adversarial catalogues (ties,
near-ties, zero and huge rows) and queries (zero, dimensions of very different magnitudes: a
coarse byte quantization), exclusions, fewer than k items left, and argument checks, in every
catalogue layout this CPU runs ("bytes" needs AVX-512 VNNI)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsegnn.kernels import (
    KernelArgumentError,
    item_sets,
    quantize_catalogue,
    top_k_inner_product,
)
from sparsegnn.kernels._intrinsics import HAS_BYTE_DOT

LAYOUTS = ["float", "bytes"] if HAS_BYTE_DOT else ["float"]


def _brute_force(queries, items, k, seen):
    scores = queries.astype(np.float64) @ items.T.astype(np.float64)
    for row, excluded in enumerate(seen):
        scores[row, excluded] = -np.inf
    return scores


def _check(queries, items, k, seen, ids, scores):
    """The returned items are a top k of the exact scores (tie-tolerant): each returned score
    is that item's exact score, scores descend, and the k-th best exact score is reached."""
    exact = _brute_force(queries, items, k, seen)
    # float32 rounding of a dot product scales with the sum of its terms' magnitudes, not
    # with the result (terms of 1e3 may cancel to a score of 5)
    magnitude = np.abs(queries.astype(np.float64)) @ np.abs(items.T.astype(np.float64))
    for row in range(queries.shape[0]):
        available = int(np.isfinite(exact[row]).sum())
        kept = min(k, available)
        assert np.all(ids[row, kept:] == -1) and np.all(np.isneginf(scores[row, kept:]))
        chosen = ids[row, :kept]
        assert len(set(chosen.tolist())) == kept and np.all(np.isfinite(exact[row, chosen]))
        tolerance = 1e-5 * (1 + magnitude[row, chosen].max(initial=0))
        np.testing.assert_allclose(scores[row, :kept], exact[row, chosen], atol=tolerance, rtol=0)
        assert np.all(np.diff(scores[row, :kept]) <= 0)
        if kept:
            kth_best = np.sort(exact[row][np.isfinite(exact[row])])[::-1][kept - 1]
            assert exact[row, chosen].min() >= kth_best - tolerance


@st.composite
def problems(draw):
    num_items = draw(st.integers(1, 300))
    dim = draw(st.integers(1, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "ties", "scaled", "zeros"]))
    items = rng.normal(size=(num_items, dim))
    if kind == "ties":  # few distinct values: many equal scores
        items = rng.integers(-2, 3, size=(num_items, dim)).astype(float)
    elif kind == "scaled":  # rows of very different magnitudes: loose bounds for some
        items *= 10.0 ** rng.integers(-4, 5, size=(num_items, 1))
    elif kind == "zeros":
        items[rng.random(num_items) < 0.5] = 0
    queries = rng.normal(size=(draw(st.integers(1, 5)), dim))
    query_kind = draw(st.sampled_from(["normal", "spread", "zero"]))
    if query_kind == "spread":  # a few large dimensions: the others round to few levels
        queries *= 10.0 ** rng.integers(-3, 4, size=queries.shape)
    elif query_kind == "zero":
        queries[0] = 0
    k = draw(st.integers(1, num_items))
    seen = [np.unique(rng.integers(0, num_items, size=rng.integers(0, num_items + 1)))
            for _ in range(queries.shape[0])]
    return queries.astype(np.float32), items.astype(np.float32), k, seen, \
        draw(st.sampled_from(LAYOUTS))


@settings(max_examples=200, deadline=None)
@given(problems())
def test_top_k_matches_brute_force(problem):
    queries, items, k, seen, layout = problem
    indptr = np.r_[0, np.cumsum([s.size for s in seen])]
    exclude = item_sets(indptr, np.concatenate(seen).astype(np.int64), items.shape[0])
    ids, scores = top_k_inner_product(queries, quantize_catalogue(items, layout), k, exclude)
    _check(queries, items, k, seen, ids, scores)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_realistic_catalogue_on_two_threads_with_rows_chosen_per_query(rng, layout):
    items = (rng.normal(size=(5000, 64)) * rng.gamma(2, 0.5, size=(5000, 1))).astype(np.float32)
    users = rng.normal(size=(300, 64)).astype(np.float32)
    seen = [rng.choice(5000, size=rng.integers(0, 60), replace=False) for _ in range(300)]
    indptr = np.r_[0, np.cumsum([s.size for s in seen])]
    exclude = item_sets(indptr, np.concatenate(seen), 5000)
    rows = rng.permutation(300)[:200]  # query q is user rows[q]
    ids, scores = top_k_inner_product(users[rows], quantize_catalogue(items, layout), 20,
                                      exclude, rows, threads=2)
    _check(users[rows], items, 20, [seen[r] for r in rows], ids, scores)
    exact = _brute_force(users[rows], items, 20, [seen[r] for r in rows])
    np.testing.assert_array_equal(ids, np.argsort(-exact, axis=1, kind="stable")[:, :20])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_without_exclusions_every_item_competes(rng, layout):
    items = rng.normal(size=(100, 8)).astype(np.float32)
    query = rng.normal(size=(1, 8)).astype(np.float32)
    ids, _ = top_k_inner_product(query, quantize_catalogue(items, layout), 100)
    assert sorted(ids[0].tolist()) == list(range(100))


@pytest.mark.parametrize("call, message", [
    (lambda c, e: top_k_inner_product(np.zeros((1, 3), np.float32), c, 2), "dimensions"),
    (lambda c, e: top_k_inner_product(np.full((1, 4), np.nan, np.float32), c, 2), "finite"),
    (lambda c, e: top_k_inner_product(np.zeros((1, 4), np.float32), c, 0), "k must"),
    (lambda c, e: top_k_inner_product(np.zeros((1, 4), np.float32), c, 11), "k must"),
    (lambda c, e: top_k_inner_product(np.zeros((1, 4), np.float32), c, True), "k must"),
    (lambda c, e: top_k_inner_product(np.zeros((1, 4), np.float32), c, 2, e, [5]), "rows must"),
    (lambda c, e: top_k_inner_product(np.zeros((2, 4), np.float32), c, 2, e, [0]), "rows must"),
    (lambda c, e: top_k_inner_product(np.zeros((1, 4), np.float32), c, 2,
                                      (np.array([0, 1]), np.array([0]))), "ItemSets"),
    (lambda c, e: item_sets([0, 2], [1, 10], 10), "item sets"),
    (lambda c, e: item_sets([0, 3], [1, 2], 10), "item sets"),
    (lambda c, e: quantize_catalogue(np.array([[np.inf]])), "finite"),
    (lambda c, e: quantize_catalogue(np.zeros((0, 4))), "at least one"),
    (lambda c, e: quantize_catalogue(np.ones((2, 4)), "int4"), "layout"),
])
def test_bad_arguments_are_refused(call, message):
    catalogue = quantize_catalogue(np.ones((10, 4), np.float32))
    exclude = item_sets([0, 1, 1], [3], 10)
    with pytest.raises(KernelArgumentError, match=message):
        call(catalogue, exclude)
