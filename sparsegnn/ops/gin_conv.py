"""``gin_conv``: ``[x, graph] -> [y]``, ``y = (1 + eps) x + sum_j x_j`` (edge weights ignored;
the MLP follows as ``linear`` ops); width unchanged."""

from __future__ import annotations

from ._spec import Attr, OpSpec


def reference(ref, node, x):
    return ref.adjacency(weighted=False) @ x + (1 + node.attrs["eps"]) * x


def run(rt, node, x):  # (1 + eps) x joins the neighbours' sum in registers
    return rt.aggregate(rt.graph.plain(), x, "sum", self_weight=1 + node.attrs["eps"])


def encode(enc, node):
    return enc.row("gin_conv", one_plus_eps=enc.params([1.0 + node.attrs["eps"]]))


def to_onnx(g, edges, node, value: str) -> str:
    total = edges.aggregate(value, "sum")
    return g.op("Add", [total, g.op("Mul", [value, g.const(1.0 + node.attrs["eps"])])])


SPEC = OpSpec("gin_conv", 1, ("x", "graph"), {"eps": Attr("float")}, reference=reference,
              run=run, encode=encode, to_onnx=to_onnx)
