"""Fused bias + activation, applied to a row while it is still in cache."""

import math

import numpy as np
from numba import njit

from ._config import FASTMATH

# erf as an odd rational function on [-ERF_LIMIT, ERF_LIMIT], beyond which float32's erf is
# +-1: the float32 minimax approximation that Eigen and XLA use (numerator odd, degree 13;
# denominator even, degree 8; coefficients from the highest power down). Plain arithmetic, so
# a loop over it vectorises where a call to libm's erf cannot; the vector epilogues
# (``_intrinsics.vector_activate``) emit the same arithmetic. tests/kernels/test_kernels.py
# bounds its error against math.erf.
ERF_NUMERATOR = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                 -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                 -1.60960333262415e-02)
ERF_DENOMINATOR = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                   -7.37332916720468e-03, -1.42647390514189e-02)
ERF_LIMIT = 4.0
SQRT_HALF = 0.7071067811865476
_A13, _A11, _A9, _A7, _A5, _A3, _A1 = (np.float32(c) for c in ERF_NUMERATOR)
_B8, _B6, _B4, _B2, _B0 = (np.float32(c) for c in ERF_DENOMINATOR)
_LIMIT = np.float32(ERF_LIMIT)
_HALF = np.float32(0.5)
_ROOT_HALF = np.float32(SQRT_HALF)
_ONE = np.float32(1.0)

@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def erf_rational(value):
    """erf of a scalar to within 5e-7 (float32 arithmetic; NaN gives +-1, see ``gelu``)."""
    # clamped with selects: Python's min and max branch on NaN, and a branch stops vectorising
    x = value if value < _LIMIT else _LIMIT
    x = x if x > -_LIMIT else -_LIMIT
    square = x * x
    numerator = (((((_A13 * square + _A11) * square + _A9) * square + _A7) * square + _A5)
                 * square + _A3) * square + _A1
    denominator = (((_B8 * square + _B6) * square + _B4) * square + _B2) * square + _B0
    return x * numerator / denominator


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def gelu(value):
    """The exact (erf) GELU of a scalar, torch's default, with ``erf_rational`` (NaN stays NaN:
    it multiplies the result)."""
    return _HALF * value * (_ONE + erf_rational(value * _ROOT_HALF))


@njit(cache=True, nogil=True, inline="always")
def applied_in_registers(code):
    """Whether the vector epilogues (``_intrinsics.vector_activate``) apply activation
    ``code`` in registers (identity needs nothing); the others take a pass over each finished
    row (``finish_row``)."""
    return code == 0 or code == 1 or code == 3 or code == 6


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def activate(value, code, slope):
    """Activation ``code`` (see ``_config.ACTIVATIONS``) of a scalar."""
    if code == 1:
        return value if value > 0 else 0.0 * value
    if code == 2:
        return value if value > 0 else math.expm1(value)
    if code == 3:
        return value if value > 0 else slope * value
    if code == 4:
        return 1.0 / (1.0 + math.exp(-value))
    if code == 5:
        return math.tanh(value)
    if code == 6:
        return gelu(value)
    return value


# error_model="numpy": a float division by zero gives inf instead of raising, so GELU's division
# needs no branch and the loops vectorise (they run on validated rows, with nothing to report).
@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def finish_row(out, row, bias, has_bias, code, slope):
    """``out[row] = act(out[row] + bias)``. One plain loop per case, so the common ones (bias,
    ReLU, leaky ReLU, GELU) vectorise: choosing the activation per element doubled a GCN
    layer's time."""
    width = out.shape[1]
    if has_bias:
        for f in range(width):
            out[row, f] += bias[f]
    if code == 0:
        return
    if code == 1:
        for f in range(width):
            value = out[row, f]
            out[row, f] = value if value > 0 else 0.0 * value  # keeps NaN, as torch does
    elif code == 3:
        for f in range(width):
            value = out[row, f]
            out[row, f] = value if value > 0 else slope * value
    elif code == 6:
        for f in range(width):
            out[row, f] = gelu(out[row, f])
    else:
        for f in range(width):
            out[row, f] = activate(out[row, f], code, slope)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def gelu_in_place(values):
    """``values[:] = gelu(values)`` over a 1-D array (products that BLAS computed)."""
    for i in range(values.shape[0]):
        values[i] = gelu(values[i])
