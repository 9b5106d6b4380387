"""``gcn_conv``: ``[x, graph] -> [y]``, ``y = act(Â (x @ W) + b)``.

``Â`` is PyG's ``gcn_norm`` of the graph when ``normalize`` (``D^-1/2 (A + fill I) D^-1/2``,
``fill`` 2 when ``improved``, else 1; self loops only when ``add_self_loops``), else the graph
with its edge weights as they are.
"""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, weight_then_bias
from .activation import FUSED, activate


def reference(ref, node, x):
    a = node.attrs
    operator = ref.graph.gcn_norm(a["add_self_loops"], a["improved"]) if a["normalize"] \
        else ref.graph
    out = ref.adjacency(operator) @ (x @ ref.matrix(a["weight"]))
    return activate(out + ref.optional(a.get("bias")), a.get("activation"))


def run(rt, node, x):
    a = node.attrs
    normalized, reduce = rt.graph.gcn(a["add_self_loops"], a["improved"]) if a["normalize"] \
        else (rt.graph.weighted(), "sum")
    key, bias, act = node.outputs[0], rt.optional(a.get("bias")), a.get("activation", "identity")
    rows, cols = a["weight"]["shape"]
    if cols <= rows or not isinstance(x, np.ndarray):  # transform first: fewer columns to move
        return rt.aggregate(normalized, rt.matmul(x, a["weight"], key), reduce, bias, act)
    return rt.matmul(rt.aggregate(normalized, x, reduce), a["weight"], key, bias, act)


def encode(enc, node):
    a = node.attrs
    if not (a["normalize"] and a["add_self_loops"]):
        return None  # the compiled path normalises with self loops only
    rows, cols = a["weight"]["shape"]
    return enc.row("gcn_conv", matrix=enc.matrix(node.outputs[0], a["weight"]),
                   transform_first=cols <= rows, bias=enc.optional(a.get("bias")),
                   act=enc.act(a.get("activation")), improved=bool(a["improved"]), hops=1)


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
               "improved": Attr("bool"), "activation": FUSED}, weight_then_bias,
              reference=reference, run=run, takes=frozenset({"csr", "row_scaled"}), encode=encode,
              to_onnx=to_onnx)
