"""A whole model in one compiled call, for small inputs (one molecule, a small batch).

On a 30-node graph every layer is a few microseconds of arithmetic, and dispatching it from
Python (a numpy or Numba call per matmul, bias, activation and aggregation) cost ~10x more than
the arithmetic. Here the runtime encodes the model as a table of ops over one flat parameter
buffer, and a single jitted interpreter runs the whole chain without returning to Python.

Encoding (``program``: int64 ``(num_ops, 8)``; offsets index ``params``, float32; -1 = absent):

====================  ========================================================================
op                    row
====================  ========================================================================
``OP_LINEAR``         ``[op, weight, in, out, bias, act, 0, 0]``        weight stored (in, out)
``OP_GIN``            ``[op, one_plus_eps, 0, ...]``                    ``(1 + eps) x + sum_j x_j``
``OP_AFFINE``         ``[op, scale, shift, 0, act, 0, 0, 0]``
``OP_ACTIVATION``     ``[op, act, 0, ...]``
``OP_POOL``           ``[op, reduce, 0, ...]``                          per graph (``graph_ptr``)
``OP_SAGE``           ``[op, w_neighbor, in, out, bias, act, w_root, aggr + 4 * l2_normalize]``
``OP_GCN``            ``[op, weight, in, out, bias, act, improved, 0]`` normalised, self loops
                      (every weight is stored ``(in, out)`` row-major)
``OP_INPUT_NORM``     ``[op, 0, ...]``                                   rows divided by their sum
====================  ========================================================================

Nothing here checks its arguments: the runtime validates inputs and builds the table from a
validated artifact before calling :func:`run_program`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import FASTMATH
from ._convert import gcn_normalized
from ._dense import _dense_rows
from ._epilogue import finish_row
from ._pool import pool_segments
from ._spmm import _spmm_rows

OP_LINEAR, OP_GIN, OP_AFFINE, OP_ACTIVATION, OP_POOL, OP_SAGE, OP_GCN, OP_INPUT_NORM = range(8)
PROGRAM_WIDTH = 8
LEAKY_SLOPE = 0.01  # the runtime's (and torch's default) leaky ReLU slope


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _matmul(h, params, weight, rows, cols, bias, act):
    """``act(h @ W + b)`` with ``W (rows, cols)`` stored row-major at ``params[weight:]`` and
    ``b`` at ``params[bias:]`` (``bias`` < 0: none), by the register micro-kernel of
    ``_dense``. On a 42-node PROTEINS graph (a GIN with nine 64 x 64 layers) it took the whole
    ``run_program`` from 78 to 48 us against four dot products per pass over a row."""
    out = np.empty((h.shape[0], cols), np.float32)
    has_bias = bias >= 0
    bias_values = params[bias:bias + cols] if has_bias else params[:0]
    _dense_rows(h, params[weight:weight + rows * cols].reshape((rows, cols)), out,
                (bias_values, has_bias, act, LEAKY_SLOPE), 0, h.shape[0])
    return out


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_rows(out, params, bias, act):
    has_bias = bias >= 0
    bias_values = params[bias:bias + out.shape[1]] if has_bias else params[:0]
    for i in range(out.shape[0]):
        finish_row(out, i, bias_values, has_bias, act, LEAKY_SLOPE)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _aggregate(indptr, indices, values, h, reduce):
    out = np.zeros_like(h)
    epilogue = (np.empty(0, np.float32), False, 0, LEAKY_SLOPE)
    _spmm_rows(indptr, indices, values, h, out, reduce, epilogue, 0, indptr.shape[0] - 1)
    return out


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def run_program(program, params, x, indptr, indices, edge_weight, graph_ptr):
    """Run ``program`` on ``x (N, F)`` float32 over the destination-row CSR graph
    ``(indptr, indices)`` (``edge_weight`` float64, empty: unweighted; used by GCN only).
    ``graph_ptr (G + 1,)`` delimits the graphs that ``OP_POOL`` reduces. Returns the last value.
    """
    h = x
    no_values = np.empty(0, np.float32)
    gcn_ready = False
    gcn_indptr = np.empty(0, np.int64)
    gcn_indices = np.empty(0, np.int64)
    gcn_values = np.empty(0, np.float32)
    for step in range(program.shape[0]):
        op = program[step, 0]
        if op == OP_LINEAR:
            h = _matmul(h, params, program[step, 1], program[step, 2], program[step, 3],
                        program[step, 4], program[step, 5])
        elif op == OP_GIN:
            out = _aggregate(indptr, indices, no_values, h, 0)
            scale = params[program[step, 1]]
            for i in range(h.shape[0]):
                for f in range(h.shape[1]):
                    out[i, f] += scale * h[i, f]
            h = out
        elif op == OP_AFFINE:
            scale, shift = program[step, 1], program[step, 2]
            out = np.empty_like(h)
            for i in range(h.shape[0]):
                for f in range(h.shape[1]):
                    out[i, f] = h[i, f] * params[scale + f] + params[shift + f]
            _finish_rows(out, params, -1, program[step, 4])
            h = out
        elif op == OP_ACTIVATION:
            out = h.copy()
            _finish_rows(out, params, -1, program[step, 1])
            h = out
        elif op == OP_POOL:
            out = np.zeros((graph_ptr.shape[0] - 1, h.shape[1]), np.float32)
            pool_segments(h, graph_ptr, program[step, 1], out)
            h = out
        elif op == OP_SAGE:
            rows, cols = program[step, 2], program[step, 3]
            aggr, l2_normalize = program[step, 7] % 4, program[step, 7] >= 4
            if aggr != 2 and cols < rows:  # linear commutes with sum/mean: move fewer columns
                out = _aggregate(indptr, indices, no_values,
                                 _matmul(h, params, program[step, 1], rows, cols, -1, 0), aggr)
            else:
                out = _matmul(_aggregate(indptr, indices, no_values, h, aggr), params,
                              program[step, 1], rows, cols, -1, 0)
            if program[step, 6] >= 0:
                out += _matmul(h, params, program[step, 6], rows, cols, -1, 0)
            bias = program[step, 4]
            if bias >= 0:
                for i in range(out.shape[0]):
                    for f in range(cols):
                        out[i, f] += params[bias + f]
            if l2_normalize:
                for i in range(out.shape[0]):
                    norm = 0.0
                    for f in range(cols):
                        norm += out[i, f] * out[i, f]
                    norm = max(np.sqrt(norm), 1e-12)
                    for f in range(cols):
                        out[i, f] /= norm
            _finish_rows(out, params, -1, program[step, 5])
            h = out
        elif op == OP_GCN:
            if not gcn_ready:  # D^-1/2 (A + I) D^-1/2 once per run, shared by every GCN layer
                gcn_indptr, gcn_indices, norm_values = gcn_normalized(
                    indptr, indices, edge_weight, program[step, 6] == 1)
                gcn_values = norm_values.astype(np.float32)
                gcn_ready = True
            rows, cols = program[step, 2], program[step, 3]
            if cols <= rows:
                out = _aggregate(gcn_indptr, gcn_indices, gcn_values,
                                 _matmul(h, params, program[step, 1], rows, cols, -1, 0), 0)
            else:
                out = _matmul(_aggregate(gcn_indptr, gcn_indices, gcn_values, h, 0), params,
                              program[step, 1], rows, cols, -1, 0)
            _finish_rows(out, params, program[step, 4], program[step, 5])
            h = out
        else:  # OP_INPUT_NORM: rows summing to 0 stay 0
            out = np.zeros_like(h)
            for i in range(h.shape[0]):
                total = 0.0
                for f in range(h.shape[1]):
                    total += h[i, f]
                if total != 0:
                    for f in range(h.shape[1]):
                        out[i, f] = h[i, f] / total
            h = out
    return h
