"""CSRMatrix and check_csr: the CSR invariants every native entry point relies on."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsegnn.sparse import CSRMatrix, SparseFormatError, check_csr

from .reference import assert_matches


def test_from_dense_round_trip(rng):
    dense = rng.random((7, 5)) * (rng.random((7, 5)) < 0.3)
    csr = CSRMatrix.from_dense(dense)
    assert csr.nnz == np.count_nonzero(dense)
    assert_matches(csr.toarray(), dense)
    reference = sp.csr_matrix(dense)
    np.testing.assert_array_equal(csr.indptr, reference.indptr)
    np.testing.assert_array_equal(csr.indices, reference.indices)


def test_from_scipy_like_and_take_rows(rng):
    matrix = sp.random(9, 6, density=0.4, format="csr", random_state=1, dtype=np.float32)
    csr = CSRMatrix.from_scipy_like(matrix)
    rows = np.array([4, 0, 4, 8])
    assert_matches(csr.take_rows(rows).toarray(), matrix[rows].toarray())


def test_row_normalize_matches_dense(rng):
    dense = (rng.random((6, 4)) < 0.5).astype(np.float32)
    dense[2] = 0  # an empty row stays empty
    dense[3, :2] = [1.0, -1.0]  # a row summing to zero is divided by 1
    dense[3, 2:] = 0
    normalized = CSRMatrix.from_dense(dense).row_normalize().toarray()
    sums = dense.sum(axis=1, keepdims=True)
    expected = dense / np.where(sums == 0, 1.0, sums)
    assert_matches(normalized, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_runtime_row_normalisation_matches_dense(rng, dtype):
    import torch

    from sparsegnn.kernels._convert import row_normalized_values
    from sparsegnn.nn.layers import row_normalized

    dense = (rng.random((40, 9)) * (rng.random((40, 9)) < 0.4)).astype(dtype)
    dense[3] = 0  # an empty row
    dense[5, :2] = [1.0, -1.0]  # a row summing to zero is divided by 1 (as the torch model)
    dense[5, 2:] = 0
    csr = CSRMatrix.from_dense(dense)
    normalized = csr.with_data(row_normalized_values(csr.indptr, csr.data))
    expected = row_normalized(torch.from_numpy(dense)).numpy()
    assert normalized.data.dtype == dtype
    assert_matches(normalized.toarray(), expected)


def test_with_data_checks_only_the_values():
    csr = CSRMatrix(np.array([0, 1, 3]), np.array([2, 0, 1]), np.ones(3, np.float32), (2, 3))
    assert csr.astype(np.float32) is csr  # same dtype: nothing to copy or re-check
    assert csr.astype(np.float64).data.dtype == np.float64
    with pytest.raises(SparseFormatError, match="finite"):
        csr.with_data(np.array([1.0, np.nan, 2.0], np.float32))
    with pytest.raises(SparseFormatError, match="shape"):
        csr.with_data(np.ones(2, np.float32))
    with pytest.raises(SparseFormatError, match="finite"), np.errstate(over="ignore"):
        csr.with_data(np.array([1e300, 1.0, 1.0])).astype(np.float32)  # beyond float32's range


@pytest.mark.parametrize(
    "indptr, indices, message",
    [
        ([0, 1], [0], "num_rows \\+ 1"),  # wrong length for 2 rows
        ([1, 1, 1], [], "indptr\\[0\\] must be 0"),
        ([0, 1, 3], [0], "indptr\\[-1\\]"),
        ([0, 2, 1, 2], [0, 1], "non-decreasing"),
        ([0, 1, 2], [0, 5], "must be < 3"),
        ([0, 1, 2], [0, -1], "non-negative"),
        ([0.0, 1.0, 2.0], [0, 1], "integer dtype"),
        ([[0, 1, 2]], [0, 1], "1-D"),
    ],
)
def test_check_csr_rejects_broken_structure(indptr, indices, message):
    rows = 3 if len(np.ravel(indptr)) == 4 else 2
    with pytest.raises(SparseFormatError, match=message):
        check_csr(indptr, indices, rows, 3)


def test_check_csr_rejects_bad_values():
    with pytest.raises(SparseFormatError, match="finite"):
        check_csr([0, 1], [0], 1, 1, np.array([np.nan]))
    with pytest.raises(SparseFormatError, match="shape"):
        check_csr([0, 1], [0], 1, 1, np.array([1.0, 2.0]))


def test_narrow_integer_ids_are_widened():
    indptr, indices, _ = check_csr(np.array([0, 1], np.uint8), np.array([0], np.int16), 1, 1)
    assert indptr.dtype == np.int64 and indices.dtype == np.int64
