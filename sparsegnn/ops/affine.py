"""``affine``: ``[x] -> [y]``, ``y = act(x * scale + shift)`` per feature (a batch norm that
could not be folded into a weight); width unchanged."""

from __future__ import annotations

from ._spec import Attr, OpSpec, vector_width
from .activation import FUSED, activate


def out_width(attrs, width, tensors):
    vector_width(attrs, "scale", tensors, width)
    vector_width(attrs, "shift", tensors, width)
    return width


def reference(ref, node, x):
    a = node.attrs
    return activate(x * ref.tensor(a["scale"]) + ref.tensor(a["shift"]), a.get("activation"))


def run(rt, node, x):
    a = node.attrs
    return rt.activate(x * rt.tensor(a["scale"]) + rt.tensor(a["shift"]),
                       a.get("activation", "identity"))


def encode(enc, node):
    a = node.attrs
    return enc.row("affine", scale=enc.params(enc.tensor(a["scale"])),
                   shift=enc.params(enc.tensor(a["shift"])), act=enc.act(a.get("activation")))


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    out = g.op("Add", [g.op("Mul", [value, g.tensor(a["scale"])]), g.tensor(a["shift"])])
    return g.activation(out, a.get("activation", "identity"))


SPEC = OpSpec("affine", 1, ("x",),
              {"scale": Attr("tensor"), "shift": Attr("tensor"), "activation": FUSED}, out_width,
              reference=reference, run=run, encode=encode, to_onnx=to_onnx)
