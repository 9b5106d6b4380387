"""Dense activations times a CSR weight matrix (unstructured-pruned linear layers), and the
row normalisation of CSR input features."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import (
    KernelArgumentError,
    activation_code,
    check_dense,
    check_graph_csr,
    check_values,
    check_vector,
)
from ._config import ACTIVATIONS, FASTMATH
from ._epilogue import finish_row
from ._parallel import run_row_chunks

__all__ = ["dense_csr_matmul", "dense_csrt_matmul", "row_normalized_values"]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _dense_csr_rows(x, indptr, indices, values, out, epilogue, start, end):
    """Rows ``start..end`` of ``x @ M`` for CSR ``M``; zero activations are skipped, which
    pays after ReLU."""
    bias, has_bias, code, slope = epilogue
    for row in range(start, end):
        for k in range(x.shape[1]):
            activation = x[row, k]
            if activation != 0:
                for e in range(indptr[k], indptr[k + 1]):
                    out[row, indices[e]] += activation * values[e]
        finish_row(out, row, bias, has_bias, code, slope)


def dense_csr_matmul(x, indptr, indices, values, *, num_cols: int, bias=None,
                     activation: str | None = None, negative_slope: float = 0.01,
                     threads: int | None = None) -> np.ndarray:
    """``act(x @ M + bias)`` where ``M`` is CSR of shape ``(x.shape[1], num_cols)``.

    For a pruned ``torch.nn.Linear`` with weight ``W (out, in)``, ``M`` is ``W.T`` in CSR.
    Shapes: ``x (N, in)``, ``indptr (in + 1,)``, ``values (nnz,)`` -> ``(N, num_cols)``.
    """
    return _run(_dense_csr_rows, x, indptr, indices, values, num_cols, bias, activation,
                negative_slope, threads)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _dense_csrt_rows(x, indptr, indices, values, out, epilogue, start, end):
    """Rows ``start..end`` of ``x @ M`` with ``M`` given as the CSR of ``M.T`` (one CSR row per
    output column): a gather-dot per output, no scattered writes."""
    bias, has_bias, code, slope = epilogue
    for row in range(start, end):
        for column in range(indptr.shape[0] - 1):
            total = out[row, column]
            for e in range(indptr[column], indptr[column + 1]):
                total += values[e] * x[row, indices[e]]
            out[row, column] = total
        finish_row(out, row, bias, has_bias, code, slope)


def dense_csrt_matmul(x, indptr, indices, values, *, num_cols: int, bias=None,
                      activation: str | None = None, negative_slope: float = 0.01,
                      threads: int | None = None) -> np.ndarray:
    """``act(x @ M + bias)`` where ``M.T`` (shape ``(num_cols, x.shape[1])``) is given as CSR.

    For a pruned ``torch.nn.Linear`` this is its weight ``W (out, in)`` itself in CSR, which
    needs only ``out + 1`` row pointers. Shapes: ``x (N, in)``, ``indptr (num_cols + 1,)`` ->
    ``(N, num_cols)``.
    """
    return _run(_dense_csrt_rows, x, indptr, indices, values, num_cols, bias, activation,
                negative_slope, threads)


def _run(kernel, x, indptr, indices, values, num_cols, bias, activation, slope, threads):
    """Check the arguments of ``x @ M`` and run ``kernel`` over row chunks. ``M`` is CSR over
    inputs for ``_dense_csr_rows`` and over outputs for ``_dense_csrt_rows``; every output row
    costs about nnz(M), so rows are balanced evenly."""
    x = check_dense(x, "x")
    if num_cols < 0:
        raise KernelArgumentError(f"num_cols must be non-negative, got {num_cols}")
    shape = (x.shape[1], num_cols) if kernel is _dense_csr_rows else (num_cols, x.shape[1])
    indptr, indices = check_graph_csr(indptr, indices, *shape, "weight")
    if values is None:
        raise KernelArgumentError("values of the weight matrix are required")
    values = check_values(values, indices.shape[0], x.dtype)
    bias_array = check_vector(bias, num_cols, x.dtype, "bias")
    epilogue = (bias_array, bias is not None, activation_code(activation, ACTIVATIONS),
                float(slope))
    out = np.zeros((x.shape[0], num_cols), dtype=x.dtype)
    uniform = np.arange(x.shape[0] + 1, dtype=np.int64)
    run_row_chunks(lambda s, e: kernel(x, indptr, indices, values, out, epilogue, s, e),
                   uniform, x.shape[0] * max(indices.shape[0], 1), threads)
    return out


@njit(cache=True, nogil=True)
def row_normalized_values(indptr, values):
    """Values of a CSR matrix with each row divided by its sum (rows summing to 0 become 0),
    in one compiled pass: numpy's bincount/repeat route took ~400 us on Cora's features."""
    out = np.zeros_like(values)
    for row in range(indptr.shape[0] - 1):
        total = 0.0
        for e in range(indptr[row], indptr[row + 1]):
            total += values[e]
        if total != 0:
            scale = 1.0 / total
            for e in range(indptr[row], indptr[row + 1]):
                out[e] = values[e] * scale
    return out
