"""``gat_conv``: ``[x, graph] -> [y]``, multi-head attention as PyG's ``GATConv``, then ``act``.

``h = x @ W`` as ``(N, heads, channels)``; each edge ``j -> i`` (plus one self loop per node when
``add_self_loops``) scores ``leaky_relu(h_j . att_src + h_i . att_dst, negative_slope)``, a
softmax over ``i``'s in-edges weights the sum of ``h_j``; heads are concatenated (``concat``) or
averaged; then ``+ x @ W_res`` (optional ``residual``), ``+ b`` and ``act``.
"""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, WidthError, check_shape, matrix_width, vector_width
from .activation import FUSED


def out_width(attrs, width, tensors):
    heads, channels = attrs["heads"], attrs["channels"]
    projected = matrix_width(attrs, "weight", width)
    if projected != heads * channels:
        raise WidthError(f"weight has {projected} outputs, heads x channels is "
                         f"{heads} x {channels}")
    for key in ("att_src", "att_dst"):
        check_shape(attrs, key, tensors, (heads, channels))
    out = heads * channels if attrs["concat"] else channels
    if attrs.get("residual") is not None and matrix_width(attrs, "residual", width) != out:
        raise WidthError(f"residual has {attrs['residual']['shape'][1]} outputs, the layer {out}")
    vector_width(attrs, "bias", tensors, out)
    return out


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    heads, channels = a["heads"], a["channels"]
    projected = g.op("Reshape", [g.op("MatMul", [value, g.matrix(a["weight"])]),
                                 g.const([-1, heads, channels], "shape", np.int64)])
    axis = g.const([-1], "ax", np.int64)
    score_src = g.op("ReduceSum", [g.op("Mul", [projected, g.tensor(a["att_src"])]), axis],
                     keepdims=0)
    score_dst = g.op("ReduceSum", [g.op("Mul", [projected, g.tensor(a["att_dst"])]), axis],
                     keepdims=0)
    src, dst = edges.looped() if a["add_self_loops"] else (edges.src, edges.dst)
    scores = g.op("LeakyRelu", [g.op("Add", [g.op("Gather", [score_src, src], axis=0),
                                             g.op("Gather", [score_dst, dst], axis=0)])],
                  alpha=float(a["negative_slope"]))
    peak = edges.scatter(scores, dst, "max")
    weights = g.op("Exp", [g.op("Sub", [scores, g.op("Gather", [peak, dst], axis=0)])])
    totals = edges.scatter(weights, dst, "add")
    alpha = g.op("Div", [weights, g.op("Gather", [totals, dst], axis=0)])
    messages = g.op("Mul", [g.op("Gather", [projected, src], axis=0),
                            g.op("Unsqueeze", [alpha, axis])])
    out = edges.scatter(messages, dst, "add")
    if a["concat"]:
        out = g.op("Reshape", [out, g.const([-1, heads * channels], "shape", np.int64)])
    else:
        out = g.op("ReduceMean", [out, g.const([1], "ax", np.int64)], keepdims=0)
    if a.get("residual"):
        out = g.op("Add", [out, g.op("MatMul", [value, g.matrix(a["residual"])])])
    return g.activation(g.add_bias(out, a.get("bias")), a.get("activation", "identity"))


SPEC = OpSpec("gat_conv", 1, ("x", "graph"),
              {"weight": Attr("matrix"), "att_src": Attr("tensor"), "att_dst": Attr("tensor"),
               "bias": Attr("tensor", required=False), "residual": Attr("matrix", required=False),
               "heads": Attr("int", minimum=1), "channels": Attr("int", minimum=1),
               "concat": Attr("bool"), "negative_slope": Attr("float"),
               "add_self_loops": Attr("bool"), "activation": FUSED}, out_width, to_onnx=to_onnx)
