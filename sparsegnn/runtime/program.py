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
    MATRIX_PANELS,
    MATRIX_VECTORS,
    MATRIX_WIDTH,
    OP_ACTIVATION,
    OP_AFFINE,
    OP_GCN,
    OP_GIN,
    OP_INPUT_NORM,
    OP_LINEAR,
    OP_POOL,
    OP_SAGE,
    PROGRAM_WIDTH,
    encode_row,
)
from ..kernels._spmm import REDUCTIONS
from .planner import MatrixPlan

__all__ = ["build_program"]


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


class _Encoder:
    """The matrix table and the three flat buffers of a program."""

    def __init__(self, plan: Callable[[str, tuple], MatrixPlan]):
        self.plan = plan
        self.params, self.offsets, self.indices = (_Buffer(np.float32), _Buffer(np.int64),
                                                   _Buffer(np.int32))
        self.matrices: list[list[int]] = []

    def matrix(self, key: str, stored: dict) -> int:
        """The id of ``x @ M`` in the matrix table, with the kernel its plan prices cheapest
        for small inputs (the compiled path runs no BLAS: a dense matrix is all vectors)."""
        plan = self.plan(key, (stored,))
        costs = {kind: cost for kind, cost in plan.costs.items() if kind != "blas"}
        if plan.vectors is None:
            costs.pop("vectors", None)
        panels = min(costs, key=costs.get) == "panels"
        weight = plan.panels if panels else plan.vectors
        self.matrices.append([MATRIX_PANELS if panels else MATRIX_VECTORS,
                              plan.panels.run if panels else 1, weight.outputs,
                              *self.offsets.span(weight.bounds),
                              *self.indices.span(weight.indices), *self.params.span(weight.values),
                              plan.panels.block if panels else 1, weight.bounds.shape[1] - 1])
        return len(self.matrices) - 1

    def table(self) -> np.ndarray:
        return np.array(self.matrices, dtype=np.int64).reshape(-1, MATRIX_WIDTH)


def build_program(model: Model, tensors: dict, plan: Callable[[str, tuple], MatrixPlan]
                  ) -> tuple | None:
    """``(program (ops, 8) int64, matrices (M, 11) int64, params float32, offsets int64,
    indices int32)`` for ``model``, or None when it holds an op the compiled path does not run
    (GAT; GCN without its normalisation) or is not a straight chain: the interpreter feeds each
    op the previous op's output and returns the last one, so every node must read the value
    made just before it (``x`` for the first) and the last must make the declared output.

    ``plan(key, matrices)`` is the session's planner (plans are shared with the per-op path).
    """
    encoder = _Encoder(plan)
    params = encoder.params
    rows = []

    def optional(name):
        return params.add(tensors[name]) if name else -1

    previous = "x"
    for node in model.nodes:
        if node.inputs[0] != previous:
            return None
        previous = node.outputs[0]
    if previous != model.outputs[0]["name"]:
        return None
    for node in model.nodes:
        a, key = node.attrs, node.outputs[0]
        act = ACTIVATIONS[a.get("activation", "identity")]
        if node.op == "linear":
            row = encode_row(OP_LINEAR, matrix=encoder.matrix(key, a["weight"]),
                             bias=optional(a.get("bias")), act=act)
        elif node.op == "gin_conv":
            row = encode_row(OP_GIN, one_plus_eps=params.add([1.0 + a["eps"]]))
        elif node.op == "affine":
            row = encode_row(OP_AFFINE, scale=params.add(tensors[a["scale"]]),
                             shift=params.add(tensors[a["shift"]]), act=act)
        elif node.op == "activation":
            row = encode_row(OP_ACTIVATION, act=act)
        elif node.op == "global_pool":
            row = encode_row(OP_POOL, reduce=REDUCTIONS[a["reduce"]])
        elif node.op == "sage_conv":
            rows_in, cols = a["weight_neighbor"]["shape"]
            root = encoder.matrix(key + ".r", a["weight_root"]) if a.get("weight_root") else -1
            row = encode_row(OP_SAGE, neighbor=encoder.matrix(key + ".n", a["weight_neighbor"]),
                             transform_first=cols < rows_in, bias=optional(a.get("bias")),
                             act=act, root=root, aggr=REDUCTIONS[a["aggr"]],
                             l2_normalize=bool(a.get("l2_normalize")))
        elif node.op == "gcn_conv":
            if not (a["normalize"] and a["add_self_loops"]):
                return None
            rows_in, cols = a["weight"]["shape"]
            row = encode_row(OP_GCN, matrix=encoder.matrix(key, a["weight"]),
                             transform_first=cols <= rows_in, bias=optional(a.get("bias")),
                             act=act, improved=bool(a["improved"]))
        elif node.op == "input_norm":
            row = encode_row(OP_INPUT_NORM)
        else:
            return None
        rows.append(row)
    program = np.array(rows, dtype=np.int64).reshape(-1, PROGRAM_WIDTH)
    return (program, encoder.table(), params.buffer(), encoder.offsets.buffer(),
            encoder.indices.buffer())
