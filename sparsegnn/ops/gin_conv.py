"""``gin_conv``: ``[x, graph] -> [y]``, ``y = (1 + eps) x + sum_j x_j`` (edge weights ignored;
the MLP follows as ``linear`` ops); width unchanged."""

from __future__ import annotations

from ._spec import Attr, OpSpec


def to_onnx(g, edges, node, value: str) -> str:
    total = edges.aggregate(value, "sum")
    return g.op("Add", [total, g.op("Mul", [value, g.const(1.0 + node.attrs["eps"])])])


SPEC = OpSpec("gin_conv", 1, ("x", "graph"), {"eps": Attr("float")}, to_onnx=to_onnx)
