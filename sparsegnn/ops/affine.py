"""``affine``: ``[x] -> [y]``, ``y = act(x * scale + shift)`` per feature (a batch norm that
could not be folded into a weight); width unchanged."""

from __future__ import annotations

from ._spec import Attr, OpSpec, vector_width
from .activation import FUSED


def out_width(attrs, width, tensors):
    vector_width(attrs, "scale", tensors, width)
    vector_width(attrs, "shift", tensors, width)
    return width


SPEC = OpSpec("affine", 1, ("x",),
              {"scale": Attr("tensor"), "shift": Attr("tensor"), "activation": FUSED}, out_width)
