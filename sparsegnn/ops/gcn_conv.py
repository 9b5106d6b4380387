"""``gcn_conv``: ``[x, graph] -> [y]``, ``y = act(Â (x @ W) + b)``.

``Â`` is PyG's ``gcn_norm`` of the graph when ``normalize`` (``D^-1/2 (A + fill I) D^-1/2``,
``fill`` 2 when ``improved``, else 1; self loops only when ``add_self_loops``), else the graph
with its edge weights as they are.
"""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, weight_then_bias
from .activation import FUSED, activate


# The propagation ``act(Â^hops (x @ W) + b)`` that gcn_conv (hops 1) and sg_conv (hops K)
# share, on each backend.
def reference_propagation(ref, node, x, operator, hops: int):
    a = node.attrs
    adjacency = ref.adjacency(operator)
    out = x @ ref.matrix(a["weight"])
    for _ in range(hops):
        out = adjacency @ out
    return activate(out + ref.optional(a.get("bias")), a.get("activation"))


def run_propagation(rt, node, x, normalized, reduce: str, hops: int):
    a = node.attrs
    key, bias, act = node.outputs[0], rt.optional(a.get("bias")), a.get("activation", "identity")
    rows, cols = a["weight"]["shape"]
    if cols <= rows or not isinstance(x, np.ndarray):
        # Â^k (x W) = (Â^k x) W: transform first, so every round moves the narrower features.
        out = rt.matmul(x, a["weight"], key)
        for _ in range(hops - 1):
            out = rt.aggregate(normalized, out, reduce)
        return rt.aggregate(normalized, out, reduce, bias, act)
    for _ in range(hops):
        x = rt.aggregate(normalized, x, reduce)
    return rt.matmul(x, a["weight"], key, bias, act)


def encode_propagation(enc, node, improved: bool, hops: int):
    """The compiled path's GCN row (it normalises with self loops)."""
    a = node.attrs
    rows, cols = a["weight"]["shape"]
    return enc.row("gcn_conv", matrix=enc.matrix(node.outputs[0], a["weight"]),
                   transform_first=cols <= rows, bias=enc.optional(a.get("bias")),
                   act=enc.act(a.get("activation")), improved=improved, hops=hops)


def lower_propagation(g, edges, node, value: str, src, dst, weight, hops: int) -> str:
    a = node.attrs
    out = g.op("MatMul", [value, g.matrix(a["weight"])])
    for _ in range(hops):
        out = edges.aggregate(out, "sum", src, dst, weight)
    return g.activation(g.add_bias(out, a.get("bias")), a.get("activation", "identity"))


def reference(ref, node, x):
    a = node.attrs
    operator = ref.graph.gcn_norm(a["add_self_loops"], a["improved"]) if a["normalize"] \
        else ref.graph
    return reference_propagation(ref, node, x, operator, 1)


def run(rt, node, x):
    a = node.attrs
    normalized, reduce = rt.graph.gcn(a["add_self_loops"], a["improved"]) if a["normalize"] \
        else (rt.graph.weighted(), "sum")
    return run_propagation(rt, node, x, normalized, reduce, 1)


def encode(enc, node):
    a = node.attrs
    if not (a["normalize"] and a["add_self_loops"]):
        return None  # the compiled path normalises with self loops only
    return encode_propagation(enc, node, bool(a["improved"]), 1)


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    if a["normalize"]:
        src, dst, weight = edges.gcn_weights(a["add_self_loops"], a["improved"])
    else:  # the edge weights as they are
        src, dst, weight = edges.src, edges.dst, edges.weights()[0]
    return lower_propagation(g, edges, node, value, src, dst, weight, 1)


SPEC = OpSpec("gcn_conv", 1, ("x", "graph"),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "normalize": Attr("bool"), "add_self_loops": Attr("bool"),
               "improved": Attr("bool"), "activation": FUSED}, weight_then_bias,
              reference=reference, run=run, takes=frozenset({"csr", "row_scaled"}), encode=encode,
              to_onnx=to_onnx)
