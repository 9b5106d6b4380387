"""A whole model in one compiled call, for small inputs (one molecule, a small batch).

On a 30-node graph every layer is a few microseconds of arithmetic, and dispatching it from
Python (a numpy or Numba call per matmul, bias, activation and aggregation) cost far more than
the arithmetic (bench/small_graph_path.py). Here the runtime encodes the model as a table of
ops over one flat parameter buffer, and a single jitted interpreter runs the whole chain
without returning to Python.

Encoding: ``program`` is int64 ``(num_ops, PROGRAM_WIDTH)``, one row per op: the op code, then
the op's fields in the order ``ROW_FIELDS`` names them (zeros after). The encoder writes rows
by field name (:func:`encode_row`) and the interpreter reads them through the column constants
derived from the same table, so the two cannot disagree on a position. ``params`` float32
holds every vector and the matrices' values, ``offsets`` int64 and ``indices`` int32 their
index arrays; a vector field is an offset into ``params`` (-1 = absent), ``matrix`` fields
index the matrix table, ``act`` / ``reduce`` / ``aggr`` are the kernels' codes. ``OP_GIN``
computes ``(1 + eps) x + sum_j x_j``, ``OP_POOL`` reduces per graph (``graph_ptr``),
``OP_GCN`` propagates ``hops`` times, normalised with self loops (``gcn_conv``: once,
``sg_conv``: K times), ``OP_INPUT_NORM`` divides rows by their sum (a zero
sum by 1).

A ``matrix`` is a row of the int64 table ``matrices (M, 11)``: ``[kind, run, outputs,
bounds_start, bounds_end, indices_start, indices_end, values_start, values_end, block,
chunks]`` (``bounds``: the packing's ``(groups, chunks + 1)`` chunk bounds, flattened), the
node-panel (``MATRIX_PANELS``) or output-vector (``MATRIX_VECTORS``) packing of
``kernels._sparse_linear`` spread over the three buffers.

Nothing here checks its arguments: the runtime validates inputs and builds the tables from a
validated artifact before calling :func:`run_program`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import FASTMATH, LEAKY_RELU_SLOPE
from ._convert import gcn_normalized
from ._epilogue import applied_in_registers, finish_row
from ._intrinsics import VECTOR_BYTES
from ._memory import aligned_empty_compiled, aligned_zeros
from ._pool import pool_segments
from ._sparse_linear import PANEL_VECTORS, ROW_PANEL, _node_panels, _output_vectors
from ._spmm import _spmm_rows

OP_LINEAR, OP_GIN, OP_AFFINE, OP_ACTIVATION, OP_POOL, OP_SAGE, OP_GCN, OP_INPUT_NORM = range(8)
ROW_FIELDS = {
    OP_LINEAR: ("matrix", "bias", "act", "panel_major_out"),
    OP_GIN: ("one_plus_eps",),
    OP_AFFINE: ("scale", "shift", "act"),
    OP_ACTIVATION: ("act",),
    OP_POOL: ("reduce",),
    OP_SAGE: ("neighbor", "transform_first", "bias", "act", "root", "aggr", "l2_normalize"),
    OP_GCN: ("matrix", "transform_first", "bias", "act", "improved", "hops"),
    OP_INPUT_NORM: (),
}
# The code of each IR op (sparsegnn.ops) that the compiled path runs.
OP_CODES = {"linear": OP_LINEAR, "gin_conv": OP_GIN, "affine": OP_AFFINE,
            "activation": OP_ACTIVATION, "global_pool": OP_POOL, "sage_conv": OP_SAGE,
            "gcn_conv": OP_GCN, "input_norm": OP_INPUT_NORM}
PROGRAM_WIDTH = 1 + max(len(fields) for fields in ROW_FIELDS.values())


def _columns(op: int) -> tuple[int, ...]:
    return tuple(range(1, 1 + len(ROW_FIELDS[op])))


def encode_row(op: int, **fields) -> list[int]:
    """A program row for ``op`` from its fields by name (all of them, no others)."""
    names = ROW_FIELDS[op]
    if set(fields) != set(names):
        raise ValueError(f"op {op} takes fields {names}, got {sorted(fields)}")
    row = [op, *(int(fields[name]) for name in names)]
    return row + [0] * (PROGRAM_WIDTH - len(row))


# The interpreter's view of the same layout (compile-time constants for Numba).
LINEAR_MATRIX, LINEAR_BIAS, LINEAR_ACT, LINEAR_PANEL_MAJOR_OUT = _columns(OP_LINEAR)
(GIN_ONE_PLUS_EPS,) = _columns(OP_GIN)
AFFINE_SCALE, AFFINE_SHIFT, AFFINE_ACT = _columns(OP_AFFINE)
(ACTIVATION_ACT,) = _columns(OP_ACTIVATION)
(POOL_REDUCE,) = _columns(OP_POOL)
(SAGE_NEIGHBOR, SAGE_TRANSFORM_FIRST, SAGE_BIAS, SAGE_ACT, SAGE_ROOT, SAGE_AGGR,
 SAGE_L2_NORMALIZE) = _columns(OP_SAGE)
GCN_MATRIX, GCN_TRANSFORM_FIRST, GCN_BIAS, GCN_ACT, GCN_IMPROVED, GCN_HOPS = _columns(OP_GCN)
# NOT_LITERAL: a constant passed to a jitted function is typed as a literal (Literal[int](0),
# Literal[bool](False)), and the callee compiles a specialisation for it, apart from the one
# its variables of the same type get (the interpreter compiled its kernels twice over:
# _sum_span 18 times for 9 widths). Constants passed on are np.int64 / np.bool_ values.
MATRIX_PANELS, MATRIX_VECTORS = 0, 1
MATRIX_WIDTH = 11
LEAKY_SLOPE = LEAKY_RELU_SLOPE  # the runtime's (and torch's default) leaky ReLU slope


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _linear(h, nodes, h_panel_rows, panel_major_out, matrices, matrix, params, offsets, indices,
            bias, act):
    """``act(h @ M + b)`` for matrix ``matrix`` of the table and ``nodes`` rows, ``b`` at
    ``params[bias:]`` (``bias`` < 0: none), by its sparse kernel. ``h`` is panel-major when
    ``h_panel_rows`` > 0 (rows per panel, ``kernels._sparse_linear.PanelMajor``'s layout),
    and the result when ``panel_major_out`` (node panels only, where the encoder marks
    them). Returns ``(result, its rows per panel or 0)``."""
    kind, run, outputs = matrices[matrix, 0], matrices[matrix, 1], matrices[matrix, 2]
    block, chunks = matrices[matrix, 9], matrices[matrix, 10]
    flat = offsets[matrices[matrix, 3]:matrices[matrix, 4]]
    bounds = flat.reshape((flat.shape[0] // (chunks + 1), chunks + 1))
    stored = indices[matrices[matrix, 5]:matrices[matrix, 6]]
    values = params[matrices[matrix, 7]:matrices[matrix, 8]]
    out_panel_rows = max(bounds.shape[0] * block, 1) if panel_major_out else 0
    if panel_major_out:
        panel = PANEL_VECTORS * (VECTOR_BYTES // 4)
        out = aligned_empty_compiled(max(-(-nodes // panel), 1) * out_panel_rows, panel, h)
    else:
        out = aligned_empty_compiled(nodes, outputs, h)  # both kernels write every element
    second = np.empty((nodes, 0), np.float32)
    has_bias = bias >= 0
    epilogue = (params[bias:bias + outputs] if has_bias else params[:0], has_bias, act,
                LEAKY_SLOPE)
    no_rows, no_indices, no_values = offsets[:0], indices[:0], params[:0]
    zero, no = np.int64(0), np.bool_(False)  # see NOT_LITERAL
    if kind == MATRIX_PANELS:
        _node_panels(h, no_rows, no_indices, no_values, bounds, stored, values, run, block,
                     epilogue, no_values, no, h_panel_rows, out_panel_rows, out, second, zero,
                     nodes)
    else:
        lanes = np.int64(VECTOR_BYTES // 4)
        _output_vectors(h, no_rows, no_indices, no_values, bounds, stored,
                        values.reshape((values.shape[0] // lanes, lanes)), epilogue, no_values,
                        no, aligned_zeros(zero, h.shape[1], out), np.empty(ROW_PANEL),
                        np.empty(ROW_PANEL), aligned_zeros(np.int64(ROW_PANEL), lanes, out), out,
                        second, zero, h.shape[0])
    if not applied_in_registers(act, out.itemsize):  # activations the vectors do not apply
        _finish_rows(out, params, np.int64(-1), act)
    return out, out_panel_rows


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _finish_rows(out, params, bias, act):
    has_bias = bias >= 0
    bias_values = params[bias:bias + out.shape[1]] if has_bias else params[:0]
    for i in range(out.shape[0]):
        finish_row(out, i, bias_values, has_bias, act, LEAKY_SLOPE)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _aggregate(indptr, indices, values, h, reduce, self_weight):
    out = aligned_zeros(h.shape[0], h.shape[1], h)
    zero, no = np.int64(0), np.bool_(False)  # see NOT_LITERAL
    epilogue = (np.empty(0, np.float32), no, zero, LEAKY_SLOPE)
    _spmm_rows(indptr, indices, values, h, out, reduce, epilogue, zero, indptr.shape[0] - 1, no,
               self_weight)
    return out


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def run_program(program, matrices, params, offsets, indices, x, indptr, graph_indices,
                edge_weight, graph_ptr):
    """Run ``program`` on ``x (N, F)`` float32 over the destination-row CSR graph
    ``(indptr, graph_indices)`` (``edge_weight`` float64, empty: unweighted; used by GCN
    only). ``graph_ptr (G + 1,)`` delimits the graphs that ``OP_POOL`` reduces. Returns the
    last value."""
    h = x
    h_panel_rows = np.int64(0)  # > 0: h is panel-major, with this many rows per panel
    nodes = x.shape[0]
    no_values = np.empty(0, np.float32)
    zero, none, unchained = np.int64(0), np.int64(-1), np.bool_(False)  # see NOT_LITERAL
    gcn_improved = -1  # the flag the cached normalisation was built with (-1: none yet)
    gcn_indptr = np.empty(0, np.int64)
    gcn_indices = np.empty(0, graph_indices.dtype)
    gcn_values = np.empty(0, np.float32)
    for step in range(program.shape[0]):
        op = program[step, 0]
        if op == OP_LINEAR:  # panel-major between two node-panel products, as marked
            h, h_panel_rows = _linear(h, nodes, h_panel_rows,
                                      program[step, LINEAR_PANEL_MAJOR_OUT] == 1, matrices,
                                      program[step, LINEAR_MATRIX], params, offsets, indices,
                                      program[step, LINEAR_BIAS], program[step, LINEAR_ACT])
            continue
        elif op == OP_GIN:  # (1 + eps) x joins the neighbours' sum in registers
            h = _aggregate(indptr, graph_indices, no_values, h, zero,
                           np.float64(params[program[step, GIN_ONE_PLUS_EPS]]))
        elif op == OP_AFFINE:
            scale, shift = program[step, AFFINE_SCALE], program[step, AFFINE_SHIFT]
            out = np.empty_like(h)
            for i in range(h.shape[0]):
                for f in range(h.shape[1]):
                    out[i, f] = h[i, f] * params[scale + f] + params[shift + f]
            _finish_rows(out, params, none, program[step, AFFINE_ACT])
            h = out
        elif op == OP_ACTIVATION:
            out = h.copy()
            _finish_rows(out, params, none, program[step, ACTIVATION_ACT])
            h = out
        elif op == OP_POOL:
            out = np.zeros((graph_ptr.shape[0] - 1, h.shape[1]), np.float32)
            pool_segments(h, graph_ptr, program[step, POOL_REDUCE], out)
            h = out
        elif op == OP_SAGE:
            neighbor, aggr = program[step, SAGE_NEIGHBOR], program[step, SAGE_AGGR]
            if aggr != 2 and program[step, SAGE_TRANSFORM_FIRST] == 1:  # commutes with sum/mean
                out = _aggregate(indptr, graph_indices, no_values,
                                 _linear(h, nodes, zero, unchained, matrices, neighbor, params,
                                         offsets, indices, none, zero)[0], aggr, 0.0)
            else:
                out = _linear(_aggregate(indptr, graph_indices, no_values, h, aggr, 0.0), nodes,
                              zero, unchained, matrices, neighbor, params, offsets, indices, none,
                              zero)[0]
            if program[step, SAGE_ROOT] >= 0:
                out += _linear(h, nodes, zero, unchained, matrices, program[step, SAGE_ROOT],
                               params, offsets, indices, none, zero)[0]
            bias, cols = program[step, SAGE_BIAS], out.shape[1]
            if bias >= 0:
                for i in range(out.shape[0]):
                    for f in range(cols):
                        out[i, f] += params[bias + f]
            if program[step, SAGE_L2_NORMALIZE] == 1:  # l2-normalise the rows
                for i in range(out.shape[0]):
                    norm = 0.0
                    for f in range(cols):
                        norm += out[i, f] * out[i, f]
                    norm = max(np.sqrt(norm), 1e-12)
                    for f in range(cols):
                        out[i, f] /= norm
            _finish_rows(out, params, none, program[step, SAGE_ACT])
            h = out
        elif op == OP_GCN:
            improved = program[step, GCN_IMPROVED]
            if improved != gcn_improved:  # D^-1/2 (A + I) D^-1/2, shared by the GCN layers
                gcn_indptr, gcn_indices, norm_values = gcn_normalized(  # with one flag
                    indptr, graph_indices, edge_weight, improved == 1)
                gcn_values = norm_values.astype(np.float32)
                gcn_improved = improved
            weight, transform_first = program[step, GCN_MATRIX], program[step, GCN_TRANSFORM_FIRST]
            out = _linear(h, nodes, zero, unchained, matrices, weight, params, offsets, indices,
                          none, zero)[0] if transform_first == 1 else h  # fewer columns to move
            for _ in range(program[step, GCN_HOPS]):
                out = _aggregate(gcn_indptr, gcn_indices, gcn_values, out, zero, 0.0)
            if transform_first != 1:
                out = _linear(out, nodes, zero, unchained, matrices, weight, params, offsets,
                              indices, none, zero)[0]
            _finish_rows(out, params, program[step, GCN_BIAS], program[step, GCN_ACT])
            h = out
        else:  # OP_INPUT_NORM: a row summing to 0 is divided by 1
            out = np.empty_like(h)
            for i in range(h.shape[0]):
                total = 0.0
                for f in range(h.shape[1]):
                    total += h[i, f]
                scale = 1.0 / total if total != 0 else 1.0
                for f in range(h.shape[1]):
                    out[i, f] = h[i, f] * scale
            h = out
        nodes = h.shape[0]  # (pooling changes it; h is row-major after every op but a linear)
    return h
