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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def finish_row(out, row, bias, has_bias, code, slope):
    """``out[row] = act(out[row] + bias)``. One plain loop per case, so the common ones (bias,
    ReLU, leaky ReLU) vectorise: choosing the activation per element doubled a GCN layer's time."""
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
    else:
        for f in range(width):
            out[row, f] = activate(out[row, f], code, slope)
