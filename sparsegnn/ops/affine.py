"""``affine``: ``[x] -> [y]``, ``y = act(x * scale + shift)`` per feature (a batch norm that
could not be folded into a weight); width unchanged."""

from __future__ import annotations

from ._spec import Attr, OpSpec, vector_width
from .activation import FUSED


def out_width(attrs, width, tensors):
    vector_width(attrs, "scale", tensors, width)
    vector_width(attrs, "shift", tensors, width)
    return width


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    out = g.op("Add", [g.op("Mul", [value, g.tensor(a["scale"])]), g.tensor(a["shift"])])
    return g.activation(out, a.get("activation", "identity"))


SPEC = OpSpec("affine", 1, ("x",),
              {"scale": Attr("tensor"), "shift": Attr("tensor"), "activation": FUSED}, out_width,
              to_onnx=to_onnx)
