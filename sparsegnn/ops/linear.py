"""``linear``: ``[x] -> [y]``, ``y = act(x @ W + b)`` with ``W (in, out)``, ``b (out,)``."""

from __future__ import annotations

from ._spec import Attr, OpSpec, weight_then_bias
from .activation import FUSED


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    out = g.add_bias(g.op("MatMul", [value, g.matrix(a["weight"])]), a.get("bias"))
    return g.activation(out, a.get("activation", "identity"))


SPEC = OpSpec("linear", 1, ("x",),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "activation": FUSED}, weight_then_bias, to_onnx=to_onnx)
