"""``add``: ``[x, skip] -> [y]``, ``y = x + skip`` elementwise: a residual connection. Both
inputs are earlier values of the same width and the same rows (nodes, or graphs after
pooling); width unchanged."""

from __future__ import annotations

import numpy as np

from ._spec import OpSpec


def reference(ref, node, x, skip):
    return x + skip


def run(rt, node, x, skip):
    return np.add(x, skip, dtype=np.float32)  # a new array: both inputs stay usable


def to_onnx(g, edges, node, value: str, skip: str) -> str:
    return g.op("Add", [value, skip])


SPEC = OpSpec("add", 1, ("x", "x"), reference=reference, run=run, to_onnx=to_onnx)
