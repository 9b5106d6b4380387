"""``linear``: ``[x] -> [y]``, ``y = act(x @ W + b)`` with ``W (in, out)``, ``b (out,)``."""

from __future__ import annotations

from ._spec import Attr, OpSpec, matrix_width, vector_width
from .activation import FUSED


def out_width(attrs, width, tensors):
    out = matrix_width(attrs, "weight", width)
    vector_width(attrs, "bias", tensors, out)
    return out


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    out = g.add_bias(g.op("MatMul", [value, g.matrix(a["weight"])]), a.get("bias"))
    return g.activation(out, a.get("activation", "identity"))


SPEC = OpSpec("linear", 1, ("x",),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "activation": FUSED}, out_width, to_onnx=to_onnx)
