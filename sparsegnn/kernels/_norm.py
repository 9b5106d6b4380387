"""Layer normalisation of rows, fused with its scale, shift and activation: each row is read
twice and written once while it is in cache (numpy's version made six passes over the whole
array)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._checks import KernelArgumentError, activation_code, check_dense, check_vector
from ._config import ACTIVATIONS, FASTMATH, LEAKY_RELU_SLOPE
from ._epilogue import finish_row
from ._parallel import run_row_chunks

__all__ = ["layer_norm"]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _layer_norm_rows(x, scale, shift, eps, code, slope, out, start, end):
    """``out[r] = act((x[r] - mean) / sqrt(var + eps) * scale + shift)`` for rows ``start..end``,
    with each row's mean and biased variance in float64."""
    width = x.shape[1]
    if width == 0:  # nothing to write, and no mean to divide by
        return
    no_bias = scale[:0]
    for row in range(start, end):
        total = np.float64(0.0)  # float64 without the JIT as well (NEP 50)
        for f in range(width):
            total += x[row, f]
        mean = total / width
        squares = np.float64(0.0)
        for f in range(width):
            centred = x[row, f] - mean
            squares += centred * centred
        inverse_std = 1.0 / math.sqrt(squares / width + eps)
        for f in range(width):  # centred in float64 too: a rounded mean shifts a wide row
            normalised = x.dtype.type((x[row, f] - mean) * inverse_std)
            out[row, f] = normalised * scale[f] + shift[f]
        finish_row(out, row, no_bias, np.bool_(False), code, slope)  # not a literal False


def layer_norm(x, scale, shift, *, eps: float = 1e-5, activation: str | None = None,
               threads: int | None = None) -> np.ndarray:
    """Each row of ``x (N, F)`` normalised over its features (mean 0, biased variance 1, as
    ``torch.nn.LayerNorm``), times ``scale (F,)`` plus ``shift (F,)``, then ``activation``:
    a new ``(N, F)`` array of ``x``'s dtype."""
    x = check_dense(x, "x")
    scale = check_vector(scale, x.shape[1], x.dtype, "scale")
    shift = check_vector(shift, x.shape[1], x.dtype, "shift")
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise KernelArgumentError(f"eps must be a positive finite number, got {eps!r}")
    code = activation_code(activation, ACTIVATIONS)
    out = np.empty_like(x)
    rows = np.arange(x.shape[0] + 1)  # every row costs the same
    run_row_chunks(lambda start, end: _layer_norm_rows(x, scale, shift, float(eps), code,
                                                       LEAKY_RELU_SLOPE, out, start, end),
                   rows, 3 * x.size, threads)
    return out
