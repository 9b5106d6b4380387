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
    OP_ACTIVATION,
    OP_AFFINE,
    OP_GCN,
    OP_GIN,
    OP_INPUT_NORM,
    OP_LINEAR,
    OP_POOL,
    OP_SAGE,
    PROGRAM_WIDTH,
)
from ..kernels._spmm import REDUCTIONS

__all__ = ["build_program"]


class _Params:
    """Append float32 arrays to one flat buffer; remember where each starts."""

    def __init__(self):
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, array) -> int:
        flat = np.ascontiguousarray(array, dtype=np.float32).ravel()
        offset = self.size
        self.parts.append(flat)
        self.size += flat.shape[0]
        return offset

    def buffer(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)


def build_program(model: Model, tensors: dict, dense: Callable[[str, dict], np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(program (num_ops, 8) int64, params (P,) float32)`` for ``model``, or None when it
    holds an op the compiled path does not run (GAT; GCN without its normalisation).

    ``dense(key, matrix)`` gives a weight matrix as a dense ``(in, out)`` array (the session's
    cache, so CSR weights are expanded once).
    """
    params = _Params()
    rows = []

    def optional(name):
        return params.add(tensors[name]) if name else -1

    def matrix(key, stored):  # (in, out), row-major
        return params.add(dense(key, stored))

    for node in model.nodes:
        a, key = node.attrs, node.outputs[0]
        act = ACTIVATIONS[a.get("activation", "identity")]
        row = [0] * PROGRAM_WIDTH
        if node.op == "linear":
            shape = a["weight"]["shape"]
            row[:6] = [OP_LINEAR, matrix(key, a["weight"]), *shape,
                       optional(a.get("bias")), act]
        elif node.op == "gin_conv":
            row[:2] = [OP_GIN, params.add([1.0 + a["eps"]])]
        elif node.op == "affine":
            row[:5] = [OP_AFFINE, params.add(tensors[a["scale"]]), params.add(tensors[a["shift"]]),
                       0, act]
        elif node.op == "activation":
            row[:2] = [OP_ACTIVATION, act]
        elif node.op == "global_pool":
            row[:2] = [OP_POOL, REDUCTIONS[a["reduce"]]]
        elif node.op == "sage_conv":
            shape = a["weight_neighbor"]["shape"]
            root = matrix(key + ".r", a["weight_root"]) if a.get("weight_root") else -1
            row[:8] = [OP_SAGE, matrix(key + ".n", a["weight_neighbor"]), *shape,
                       optional(a.get("bias")), act, root,
                       REDUCTIONS[a["aggr"]] + 4 * bool(a.get("l2_normalize"))]
        elif node.op == "gcn_conv":
            if not (a["normalize"] and a["add_self_loops"]):
                return None
            shape = a["weight"]["shape"]
            row[:7] = [OP_GCN, matrix(key, a["weight"]), *shape,
                       optional(a.get("bias")), act, int(bool(a["improved"]))]
        elif node.op == "input_norm":
            row[0] = OP_INPUT_NORM
        else:
            return None
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, PROGRAM_WIDTH), params.buffer()
