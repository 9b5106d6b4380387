"""``layer_norm``: ``[x] -> [y]``, each row normalised over its features, then scaled and
shifted: ``y = act((x - mean(x)) / sqrt(var(x) + eps) * scale + shift)`` with the row's mean
and biased variance (as ``torch.nn.LayerNorm``); width unchanged. Unlike a batch norm it
depends on the row itself, so it cannot be folded into a weight."""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, WidthError, vector_width
from .activation import FUSED, activate


def out_width(attrs, width, tensors):
    vector_width(attrs, "scale", tensors, width)
    vector_width(attrs, "shift", tensors, width)
    if not attrs["eps"] > 0:  # a zero or negative eps divides a constant row by zero
        raise WidthError(f"eps must be positive, found {attrs['eps']!r}")
    return width


def reference(ref, node, x):
    a = node.attrs
    centred = x - x.mean(axis=1, keepdims=True)
    normalised = centred / np.sqrt((centred ** 2).mean(axis=1, keepdims=True) + a["eps"])
    return activate(normalised * ref.tensor(a["scale"]) + ref.tensor(a["shift"]),
                    a.get("activation"))


def run(rt, node, x):
    a = node.attrs
    return rt.layer_norm(rt.rows(x), rt.tensor(a["scale"]), rt.tensor(a["shift"]), a["eps"],
                         a.get("activation"))


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    out = g.op("LayerNormalization", [value, g.tensor(a["scale"]), g.tensor(a["shift"])],
               axis=-1, epsilon=float(a["eps"]))
    return g.activation(out, a.get("activation", "identity"))


SPEC = OpSpec("layer_norm", 1, ("x",),
              {"scale": Attr("tensor"), "shift": Attr("tensor"), "eps": Attr("float"),
               "activation": FUSED}, out_width, reference=reference, run=run, to_onnx=to_onnx)
