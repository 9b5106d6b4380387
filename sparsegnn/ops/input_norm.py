"""``input_norm``: ``[x] -> [y]``, ``y = x / s`` with ``s`` the row's sum, or 1 where that sum
is 0 (so an all-zero row stays zero and a signed row summing to zero is left as it is, as the
torch model divides: ``sums.masked_fill(sums == 0, 1)``); width unchanged."""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec


def reference(ref, node, x):
    sums = x.sum(axis=1, keepdims=True)
    return x / np.where(sums == 0, 1.0, sums)


def run(rt, node, x):
    return rt.row_scaled(x)  # kept unnormalised: the next product divides its output rows


def encode(enc, node):
    return enc.row("input_norm")


def to_onnx(g, edges, node, value: str) -> str:
    total = g.op("ReduceSum", [value, g.const([1], "ax", np.int64)], keepdims=1)
    safe = g.op("Where", [g.op("Equal", [total, g.const(0.0)]), g.const(1.0), total])
    return g.op("Div", [value, safe])


SPEC = OpSpec("input_norm", 1, ("x",), {"kind": Attr("choice", choices=("row_sum",))},
              reference=reference, run=run, takes=frozenset({"csr"}), encode=encode,
              to_onnx=to_onnx)
