"""``linear``: ``[x] -> [y]``, ``y = act(x @ W + b)`` with ``W (in, out)``, ``b (out,)``."""

from __future__ import annotations

from ._spec import Attr, OpSpec, weight_then_bias
from .activation import FUSED, activate


def reference(ref, node, x):
    a = node.attrs
    return activate(x @ ref.matrix(a["weight"]) + ref.optional(a.get("bias")), a.get("activation"))


def run(rt, node, x):
    return rt.linear(node, x, rt.optional(node.attrs.get("bias")),
                     node.attrs.get("activation", "identity"))


def encode(enc, node):
    a = node.attrs
    return enc.row("linear", matrix=enc.matrix(node.outputs[0], a["weight"]),
                   bias=enc.optional(a.get("bias")), act=enc.act(a.get("activation")),
                   panel_major_out=0)  # build_program marks the chains


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    out = g.add_bias(g.op("MatMul", [value, g.matrix(a["weight"])]), a.get("bias"))
    return g.activation(out, a.get("activation", "identity"))


SPEC = OpSpec("linear", 1, ("x",),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "activation": FUSED}, weight_then_bias, reference=reference, run=run,
              takes=frozenset({"csr", "row_scaled", "panels"}), encode=encode, to_onnx=to_onnx)
