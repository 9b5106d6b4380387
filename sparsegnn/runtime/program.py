"""Encode a model as the op table that :func:`sparsegnn.kernels._program.run_program` runs.

Used by :class:`~sparsegnn.runtime.Session` for small inputs, where one compiled call per run
beats a Python loop of per-layer numpy/Numba calls (see the kernel module's docstring).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir import Model
from ..kernels._config import ACTIVATIONS
from ..kernels._program import (
    LINEAR_ACT,
    LINEAR_MATRIX,
    LINEAR_PANEL_MAJOR_OUT,
    MATRIX_PANELS,
    MATRIX_VECTORS,
    MATRIX_WIDTH,
    OP_CODES,
    OP_LINEAR,
    PROGRAM_WIDTH,
    encode_row,
)
from ..kernels._sparse_linear import PANEL_MAJOR_ACTIVATIONS, panel_rows_computed, panel_width
from ..kernels._spmm import REDUCTIONS
from ..ops import OPS
from .planner import MatrixPlan

__all__ = ["build_program", "program_rows", "Encoder"]

PANEL_ROWS = panel_width(np.float32)
PAIR_ROWS = PANEL_ROWS // 2  # two vectors' worth: what the node panels compute for fewer rows
# A two-vector sweep does half a panel's multiply-adds but keeps its per-entry index and value
# loads and the panel's fixed work, so it is priced as two and a half vectors' worth of rows,
# whatever the rows of the input (at most two vectors' worth), while the output vectors are
# priced for the input's own rows (architecture.md, "compiled path": node panels against
# output vectors on 24 rows; a price of 37-38 rows fits all three densities measured there,
# and 40 leans towards the output vectors, the dense model's kernel).
PAIR_PRICE_ROWS = 5 * PANEL_ROWS // 8


def panel_rows_priced(rows: int) -> int:
    """The rows whose price the node panels pay for an input of ``rows`` rows."""
    return PAIR_PRICE_ROWS if rows <= PAIR_ROWS else panel_rows_computed(rows, np.float32)


def program_rows(rows: int) -> int | None:
    """The rows a compiled program is priced for, given an input's (the node panels pay for
    ``panel_rows_priced`` rows of it): an input of at most ``PAIR_ROWS`` rows (a molecule: the
    panels sweep two vectors) is priced for its own rows, since the panels' price is the same
    for all of them and the output vectors' grows with them; inputs within one panel share a
    program priced for three quarters of a panel (the panels compute it whole); larger ones
    share one priced per row."""
    if rows <= PAIR_ROWS:
        return max(rows, 1)
    return PANEL_ROWS * 3 // 4 if rows <= PANEL_ROWS else None


class _Buffer:
    """Append arrays of one dtype to one flat buffer; remember where each starts."""

    def __init__(self, dtype):
        self.dtype, self.parts, self.size = np.dtype(dtype), [], 0

    def add(self, array) -> int:
        flat = np.ascontiguousarray(array, dtype=self.dtype).ravel()
        offset = self.size
        self.parts.append(flat)
        self.size += flat.shape[0]
        return offset

    def span(self, array) -> tuple[int, int]:
        start = self.add(array)
        return start, self.size

    def buffer(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, self.dtype)


class Encoder:
    """What an op's ``encode`` (``sparsegnn.ops``) may use: the program's matrix table and its
    three flat buffers, and the kernels' codes. Every method returns the int64 field that a
    program row holds."""

    def __init__(self, plan: Callable[[str, tuple], MatrixPlan], tensors: dict,
                 rows: int | None = None):
        # ``rows``: what the next matrix is priced for (``build_program`` changes it after a
        # pooling op, whose output rows are graphs)
        self.plan, self.tensor, self.rows = plan, tensors.__getitem__, rows
        self.params_buffer, self.offsets, self.indices = (_Buffer(np.float32), _Buffer(np.int64),
                                                          _Buffer(np.int32))
        self.matrices: list[list[int]] = []
        self.reads_panel_major: list[bool] = []  # per matrix: panels that panel-major can feed

    def matrix(self, key: str, stored: dict) -> int:
        """The id of ``x @ M`` in the matrix table, with the kernel its plan prices cheapest
        for small inputs (the compiled path runs no BLAS: a dense matrix is all vectors). With
        ``rows`` given, the node panels pay for every row of the panels those rows fill."""
        plan = self.plan(key, (stored,))
        costs = {kind: cost for kind, cost in plan.costs.items() if kind != "blas"}
        if self.rows:
            costs["panels"] *= panel_rows_priced(self.rows) / self.rows
        panels = min(costs, key=costs.get) == "panels"
        weight = plan.panels if panels else plan.vectors
        self.reads_panel_major.append(panels and plan.panels.reads_panel_major())
        self.matrices.append([MATRIX_PANELS if panels else MATRIX_VECTORS,
                              plan.panels.run if panels else 1, weight.outputs,
                              *self.offsets.span(weight.bounds),
                              *self.indices.span(weight.indices),
                              *self.params_buffer.span(weight.values),
                              plan.panels.block if panels else 1, weight.bounds.shape[1] - 1])
        return len(self.matrices) - 1

    def params(self, values) -> int:
        """Where ``values`` start in the float32 parameter buffer."""
        return self.params_buffer.add(values)

    def optional(self, name: str | None) -> int:
        """Where tensor ``name`` starts in the parameter buffer; -1 when absent."""
        return self.params_buffer.add(self.tensor(name)) if name else -1

    @staticmethod
    def act(name: str | None) -> int:
        return ACTIVATIONS[name or "identity"]

    @staticmethod
    def reduce(name: str) -> int:
        return REDUCTIONS[name]

    @staticmethod
    def row(op: str, **fields) -> list[int]:
        """The program row of IR op ``op`` from its fields by name
        (``kernels._program.ROW_FIELDS``)."""
        return encode_row(OP_CODES[op], **fields)

    def table(self) -> np.ndarray:
        return np.array(self.matrices, dtype=np.int64).reshape(-1, MATRIX_WIDTH)


def build_program(model: Model, tensors: dict, plan: Callable[[str, tuple], MatrixPlan],
                  rows: int | None = None, graph_rows: int | None = None) -> tuple | None:
    """``(program (ops, 8) int64, matrices (M, 11) int64, params float32, offsets int64,
    indices int32)`` for ``model``, or None when it holds an op the compiled path does not run
    (GAT; GCN without its normalisation) or is not a straight chain: the interpreter feeds each
    op the previous op's output and returns the last one, so every node must read the value
    made just before it (``x`` for the first) and the last must make the declared output.

    ``plan(key, matrices)`` is the session's planner (plans are shared with the per-op path);
    ``rows``, the input rows to price the kernels for (None: many panels' worth, where a
    partly filled last panel does not matter), and ``graph_rows`` the same for the matrices
    after a pooling op (one row per graph: a molecule's head runs on one row).
    """
    previous = "x"
    for node in model.nodes:
        if node.inputs[0] != previous:
            return None
        previous = node.outputs[0]
    if previous != model.outputs[0]["name"]:
        return None
    encoder = Encoder(plan, tensors, rows)
    rows = []
    for node in model.nodes:
        encode = OPS[node.op].encode
        row = encode(encoder, node) if encode is not None else None
        if row is None:
            return None
        rows.append(row)
        if OPS[node.op].pools:
            encoder.rows = graph_rows
    program = np.array(rows, dtype=np.int64).reshape(-1, PROGRAM_WIDTH)
    table = encoder.table()
    _chain_panels(program, table, encoder.reads_panel_major)
    return (program, table, encoder.params_buffer.buffer(), encoder.offsets.buffer(),
            encoder.indices.buffer())


def _chain_panels(program: np.ndarray, table: np.ndarray, reads_panel_major: list) -> None:
    """Mark each linear row whose output only feeds a linear row, both on node panels, to
    hand its activations over panel-major (the panels' own layout: neither transposes out nor
    in; ``Session`` does the same on the per-op path). The first must apply its activation in
    registers, and the second must read panel-major (``NodePanelWeight.reads_panel_major``).
    Rows follow one another: the program is a straight chain."""
    for step in range(program.shape[0] - 1):
        first, second = program[step], program[step + 1]
        if first[0] == OP_LINEAR and second[0] == OP_LINEAR \
                and first[LINEAR_ACT] in PANEL_MAJOR_ACTIVATIONS \
                and table[first[LINEAR_MATRIX]][0] == MATRIX_PANELS \
                and reads_panel_major[second[LINEAR_MATRIX]]:
            first[LINEAR_PANEL_MAJOR_OUT] = 1
