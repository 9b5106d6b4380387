"""``gcn_conv``: ``[x, graph] -> [y]``, ``y = act(Â (x @ W) + b)``.

``Â`` is PyG's ``gcn_norm`` of the graph when ``normalize`` (``D^-1/2 (A + fill I) D^-1/2``,
``fill`` 2 when ``improved``, else 1; self loops only when ``add_self_loops``), else the graph
with its edge weights as they are.
"""

from __future__ import annotations

from ._spec import Attr, OpSpec, weight_then_bias
from .activation import FUSED


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    if a["normalize"]:
        src, dst, weight = edges.gcn_weights(a["add_self_loops"], a["improved"])
    else:  # the edge weights as they are
        src, dst, weight = edges.src, edges.dst, edges.weights()[0]
    transformed = g.op("MatMul", [value, g.matrix(a["weight"])])
    out = edges.aggregate(transformed, "sum", src, dst, weight)
    return g.activation(g.add_bias(out, a.get("bias")), a.get("activation", "identity"))


SPEC = OpSpec("gcn_conv", 1, ("x", "graph"),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "normalize": Attr("bool"), "add_self_loops": Attr("bool"),
               "improved": Attr("bool"), "activation": FUSED}, weight_then_bias, to_onnx=to_onnx)
