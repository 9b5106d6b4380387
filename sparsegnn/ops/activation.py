"""``activation``: ``[x] -> [y]``, ``y = act(x)`` elementwise; width unchanged.

The one table of activations: their names (the ``activation`` attribute of every op that fuses
one) and the codes the compiled epilogues switch on. Leaky ReLU uses torch's default slope.
"""

from __future__ import annotations

from ._spec import Attr, OpSpec

ACTIVATIONS = {"identity": 0, "relu": 1, "elu": 2, "leaky_relu": 3, "sigmoid": 4, "tanh": 5,
               "gelu": 6}
LEAKY_RELU_SLOPE = 0.01

# The ``activation`` attribute that ops with a fused activation take (absent: identity).
FUSED = Attr("choice", required=False, choices=tuple(ACTIVATIONS))

def to_onnx(g, edges, node, value: str) -> str:
    return g.activation(value, node.attrs["activation"])


SPEC = OpSpec("activation", 1, ("x",),
              {"activation": Attr("choice", choices=tuple(ACTIVATIONS))}, to_onnx=to_onnx)
