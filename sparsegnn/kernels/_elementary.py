"""Elementary functions as plain float32 arithmetic, so that loops over them vectorise.

Numba compiles ``math.exp`` / ``math.erf`` / ``math.expm1`` to calls of libm's scalar
functions, and LLVM does not vectorise a loop that calls them (Numba ships no vector math
library here). The kernels call ``exp32`` / ``expm1_32`` / ``erf32`` instead: on float32 they
are polynomials, min / max and bit casts (for ``2**n``), on float64 libm's functions, so
float64 kernels keep float64 accuracy. tests/kernels/test_kernels.py bounds each against libm.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import config as numba_config
from numba.extending import intrinsic, overload

from ._config import FASTMATH
from ._precompiled import target_features

__all__ = ["exp32", "expm1_32", "erf32", "ERF_NUMERATOR", "ERF_DENOMINATOR", "ERF_LIMIT"]

# erf as an odd rational function on [-ERF_LIMIT, ERF_LIMIT], beyond which float32's erf is
# +-1: the float32 minimax approximation that Eigen and XLA use (numerator odd, degree 13;
# denominator even, degree 8; coefficients from the highest power down). The vector epilogues
# (``_intrinsics.vector_activate``) emit the same arithmetic for GELU.
ERF_NUMERATOR = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                 -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                 -1.60960333262415e-02)
ERF_DENOMINATOR = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                   -7.37332916720468e-03, -1.42647390514189e-02)
ERF_LIMIT = 4.0
_A13, _A11, _A9, _A7, _A5, _A3, _A1 = (np.float32(c) for c in ERF_NUMERATOR)
_B8, _B6, _B4, _B2, _B0 = (np.float32(c) for c in ERF_DENOMINATOR)
_ERF_LIMIT = np.float32(ERF_LIMIT)

# exp: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two so that n ln2 is exact enough),
# exp(r) by Cephes' degree-7 polynomial for expf, times 2**n as two factors built from their
# exponent bits. x is clamped to [_EXP_LOW, _EXP_HIGH], where both factors stay normal and
# their product still rounds to float32's 0 and inf beyond.
_LOG2E = np.float32(1.4426950408889634)
_LN2_HIGH, _LN2_LOW = np.float32(0.693359375), np.float32(-2.12194440e-4)
_P0, _P1, _P2, _P3, _P4, _P5 = (np.float32(c) for c in (
    1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
    5.0000001201e-1))
_EXP_LOW, _EXP_HIGH = np.float32(-104.0), np.float32(89.0)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_LN2_64 = np.float64(0.6931471805599453)


# Whether the CPU Numba compiles for has fused multiply-add. With it, LLVM contracts the range
# reduction x - n*HIGH - n*LOW into exact fused operations. Without it (generic x86-64,
# x86-64-v2), fast-math reassociation may fold that into x - n*(HIGH + LOW), a rounded ln 2:
# 4e-6 of relative error in exp. There the reduction runs in float64 instead.
_FUSED = "fma" in target_features()

# No conditional expressions below: the functions are inlined through an overload, where
# Numba's inliner warns about the variables that a conditional expression leaves. Clamps are
# min / max with the value first (Numba's max(NaN, c) is NaN, so NaN stays NaN throughout).


def _bits_to_float32(bits):
    """The float32 whose bit pattern is the int32 ``bits``."""
    return np.int32(bits).view(np.float32)


@intrinsic
def _bits_to_float32_intrinsic(typingctx, bits):
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.int32)
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


def _float32_to_bits(value):
    """The bit pattern of the float32 ``value``, as an int32."""
    return np.float32(value).view(np.int32)


@intrinsic
def _float32_to_bits_intrinsic(typingctx, value):
    if value != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(value), codegen


if not numba_config.DISABLE_JIT:  # compiled code calls the intrinsics themselves
    _bits_to_float32, _float32_to_bits = _bits_to_float32_intrinsic, _float32_to_bits_intrinsic


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _exp_float32(value):
    x = min(max(value, _EXP_LOW), _EXP_HIGH)
    n = np.floor(x * _LOG2E + _HALF)
    if _FUSED:  # (a compile-time constant)
        r = x - n * _LN2_HIGH - n * _LN2_LOW
    else:
        r = np.float32(np.float64(x) - np.float64(n) * _LN2_64)
    p = (((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5) * (r * r) + r + _ONE
    whole = np.int32(n)
    half = whole >> 1
    # p * 2**half by adding to p's exponent (an integer add that fast-math cannot reorder: as
    # two float products it became p * (2**half * 2**rest), which overflows for n = 128)
    scaled = _bits_to_float32(_float32_to_bits(p) + (half << 23))
    return scaled * _bits_to_float32((whole - half + 127) << 23)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _expm1_float32(value):
    # x = n ln2 + r as in exp, then exp(x) - 1 = 2**n expm1(r) + (2**n - 1): exact where
    # n = 0 (no 1 added and taken away), and free of cancellation elsewhere (|result| > 0.29)
    x = min(max(value, _EXP_LOW), _ZERO)
    n = np.floor(x * _LOG2E + _HALF)
    if _FUSED:
        r = x - n * _LN2_HIGH - n * _LN2_LOW
    else:
        r = np.float32(np.float64(x) - np.float64(n) * _LN2_64)
    expm1_r = (((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5) * (r * r) + r
    whole = np.int32(n)
    half = whole >> 1
    power = _bits_to_float32((half + 127) << 23) * _bits_to_float32((whole - half + 127) << 23)
    return power * expm1_r + (power - _ONE)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _erf_float32(value):
    x = min(max(value, -_ERF_LIMIT), _ERF_LIMIT)
    square = x * x
    numerator = (((((_A13 * square + _A11) * square + _A9) * square + _A7) * square + _A5)
                 * square + _A3) * square + _A1
    denominator = (((_B8 * square + _B6) * square + _B4) * square + _B2) * square + _B0
    return x * numerator / denominator


def _by_dtype(float32_version, libm_version):
    """A scalar function: ``float32_version`` for float32 values, ``libm_version`` for others,
    picked at compile time (and by the value's type without the JIT)."""
    def function(value):
        if isinstance(value, np.float32):
            # NaN stays NaN; here it returns early, as numpy warns when exp converts it to int
            return value if np.isnan(value) else float32_version(value)
        return libm_version(value)

    @overload(function, inline="always")
    def _overload(value):
        if value == types.float32:
            return lambda value: float32_version(value)
        if isinstance(value, types.Float):
            return lambda value: libm_version(value)
        return None

    return function


exp32 = _by_dtype(_exp_float32, math.exp)
exp32.__doc__ = "exp of a scalar: float32 within 2 ulp by arithmetic; float64 by libm."
expm1_32 = _by_dtype(_expm1_float32, math.expm1)
expm1_32.__doc__ = """exp(x) - 1 of a scalar, accurate near 0: float32 by arithmetic for x <= 0 (ELU's
negative side; 0 for x > 0); float64 by libm."""
erf32 = _by_dtype(_erf_float32, math.erf)
erf32.__doc__ = "erf of a scalar: float32 within 5e-7 by arithmetic; float64 by libm."
