"""Fused bias + activation, applied to a row while it is still in cache."""

import math

import numpy as np
from numba import njit

from ._config import FASTMATH
from ._elementary import erf32, exp32, expm1_32

_HALF = np.float32(0.5)
_ROOT_HALF = np.float32(0.7071067811865476)
_ONE = np.float32(1.0)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def gelu(value):
    """The exact (erf) GELU of a scalar, torch's default."""
    return _HALF * value * (_ONE + erf32(value * _ROOT_HALF))


def activation_in_registers(code, itemsize):
    """Whether the vector epilogues (``_intrinsics.vector_activate``) apply activation
    ``code`` in registers to values of ``itemsize`` bytes (identity needs nothing; GELU on
    float32 only: float64 keeps libm's erf); the others take a pass over each finished row
    (``finish_row``). Plain Python, for the wrappers: a jitted function called from Python
    compiles a specialisation of its own."""
    return code == 0 or code == 1 or code == 3 or (code == 6 and itemsize == 4)


# The same test inside compiled kernels.
applied_in_registers = njit(cache=True, nogil=True, inline="always")(activation_in_registers)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def activate(value, code, slope):
    """Activation ``code`` (see ``_config.ACTIVATIONS``) of a scalar."""
    if code == 1:
        return value if value > 0 else 0.0 * value
    if code == 2:
        return value if value > 0 else expm1_32(value)
    if code == 3:
        return value if value > 0 else slope * value
    if code == 4:
        return _ONE / (_ONE + exp32(-value))
    if code == 5:
        return math.tanh(value)
    if code == 6:
        return gelu(value)
    return value


# error_model="numpy": a float division by zero gives inf instead of raising, so GELU's division
# needs no branch and the loops vectorise (they run on validated rows, with nothing to report).
@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def finish_row(out, row, bias, has_bias, code, slope):
    """``out[row] = act(out[row] + bias)``. One plain loop per case, so that each vectorises
    (``_elementary``'s functions for ELU, sigmoid and GELU): choosing the activation per
    element doubled a GCN layer's time. tanh calls libm."""
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
    elif code == 2:
        for f in range(width):
            out[row, f] = activate(out[row, f], 2, slope)
    elif code == 4:
        for f in range(width):
            out[row, f] = activate(out[row, f], 4, slope)
    elif code == 6:
        for f in range(width):
            out[row, f] = gelu(out[row, f])
    else:
        for f in range(width):
            out[row, f] = activate(out[row, f], code, slope)
