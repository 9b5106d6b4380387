"""Fused bias + activation, applied to a row while it is still in cache."""

import math

from numba import njit

from ._config import FASTMATH


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
        return 0.5 * value * (1.0 + math.erf(value * 0.7071067811865476))
    return value


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def finish_row(out, row, bias, has_bias, code, slope):
    if not has_bias and code == 0:
        return
    for f in range(out.shape[1]):
        value = out[row, f]
        if has_bias:
            value += bias[f]
        out[row, f] = activate(value, code, slope)
