"""``sg_conv``: ``[x, graph] -> [y]``, ``y = act(Â^K x @ W + b)``: simplified graph convolution
(Wu et al., ICML 2019; PyG's ``SGConv``), ``K`` rounds of propagation then one linear map.

``Â`` is gcn_conv's normalisation without ``improved``: ``D^-1/2 (A + I) D^-1/2`` with one self
loop per node when ``add_self_loops`` (existing loops keep their weight), else ``D^-1/2 A
D^-1/2``; edge weights count.
"""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, weight_then_bias
from .activation import FUSED, activate

# More rounds than any useful SGC (the paper's best are 2 or 3); bounds a crafted artifact's work.
MAX_HOPS = 64


def reference(ref, node, x):
    a = node.attrs
    operator = ref.adjacency(ref.graph.gcn_norm(a["add_self_loops"], improved=False))
    for _ in range(a["K"]):
        x = operator @ x
    out = x @ ref.matrix(a["weight"]) + ref.optional(a.get("bias"))
    return activate(out, a.get("activation"))


def run(rt, node, x):
    a, key = node.attrs, node.outputs[0]
    normalized, reduce = rt.graph.gcn(a["add_self_loops"], False)
    bias, act = rt.optional(a.get("bias")), a.get("activation", "identity")
    rows, cols = a["weight"]["shape"]
    if cols <= rows or not isinstance(x, np.ndarray):
        # Â^K (x W) = (Â^K x) W: transform first, so every round moves the narrower features.
        out = rt.matmul(x, a["weight"], key)
        for _ in range(a["K"] - 1):
            out = rt.aggregate(normalized, out, reduce)
        return rt.aggregate(normalized, out, reduce, bias, act)
    for _ in range(a["K"]):
        x = rt.aggregate(normalized, x, reduce)
    return rt.matmul(x, a["weight"], key, bias, act)


def encode(enc, node):
    a = node.attrs
    if not a["add_self_loops"]:
        return None  # the compiled path normalises with self loops only
    rows, cols = a["weight"]["shape"]
    return enc.row("gcn_conv", matrix=enc.matrix(node.outputs[0], a["weight"]),
                   transform_first=cols <= rows, bias=enc.optional(a.get("bias")),
                   act=enc.act(a.get("activation")), improved=False, hops=a["K"])


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    src, dst, weight = edges.gcn_weights(a["add_self_loops"], False)
    out = g.op("MatMul", [value, g.matrix(a["weight"])])
    for _ in range(a["K"]):
        out = edges.aggregate(out, "sum", src, dst, weight)
    return g.activation(g.add_bias(out, a.get("bias")), a.get("activation", "identity"))


SPEC = OpSpec("sg_conv", 1, ("x", "graph"),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "K": Attr("int", minimum=1, maximum=MAX_HOPS), "add_self_loops": Attr("bool"),
               "activation": FUSED}, weight_then_bias, reference=reference, run=run,
              takes=frozenset({"csr", "row_scaled"}), encode=encode, to_onnx=to_onnx)
