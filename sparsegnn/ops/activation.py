"""``activation``: ``[x] -> [y]``, ``y = act(x)`` elementwise; width unchanged.

The one table of activations: their names (the ``activation`` attribute of every op that fuses
one) and the codes the compiled epilogues switch on. Leaky ReLU uses torch's default slope.
"""

from __future__ import annotations

import math

import numpy as np

from ._spec import Attr, OpSpec

ACTIVATIONS = {"identity": 0, "relu": 1, "elu": 2, "leaky_relu": 3, "sigmoid": 4, "tanh": 5,
               "gelu": 6}
LEAKY_RELU_SLOPE = 0.01

# The ``activation`` attribute that ops with a fused activation take (absent: identity).
FUSED = Attr("choice", required=False, choices=tuple(ACTIVATIONS))

_ERF = np.vectorize(math.erf, otypes=[np.float64])
_REFERENCE = {
    "identity": lambda v: v,
    "relu": lambda v: np.maximum(v, 0),
    "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
    "leaky_relu": lambda v: np.where(v > 0, v, LEAKY_RELU_SLOPE * v),
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "tanh": np.tanh,
    "gelu": lambda v: 0.5 * v * (1 + _ERF(v / math.sqrt(2))),  # exact (erf) GELU, as torch's
}


def activate(values: np.ndarray, name: str | None) -> np.ndarray:
    """The reference activation ``name`` (None: identity), elementwise in float64."""
    with np.errstate(over="ignore"):  # sigmoid of a very negative value is 0, as it should be
        return _REFERENCE[name or "identity"](values)


def reference(ref, node, x):
    return activate(x, node.attrs["activation"])


def run(rt, node, x):
    return rt.activate(np.array(x, copy=True), node.attrs["activation"])


def encode(enc, node):
    return enc.row("activation", act=enc.act(node.attrs["activation"]))


def to_onnx(g, edges, node, value: str) -> str:
    return g.activation(value, node.attrs["activation"])


SPEC = OpSpec("activation", 1, ("x",),
              {"activation": Attr("choice", choices=tuple(ACTIVATIONS))}, reference=reference, run=run,
              encode=encode, to_onnx=to_onnx)
