"""``gat_conv``: ``[x, graph] -> [y]``, multi-head attention as PyG's ``GATConv``, then ``act``.

``h = x @ W`` as ``(N, heads, channels)``; each edge ``j -> i`` (plus one self loop per node when
``add_self_loops``) scores ``leaky_relu(h_j . att_src + h_i . att_dst, negative_slope)``, a
softmax over ``i``'s in-edges weights the sum of ``h_j``; heads are concatenated (``concat``) or
averaged; then ``+ x @ W_res`` (optional ``residual``), ``+ b`` and ``act``.
"""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, WidthError, check_shape, matrix_width, vector_width
from .activation import FUSED, activate


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


def reference(ref, node, x):
    a = node.attrs
    heads, channels = a["heads"], a["channels"]
    projected = (x @ ref.matrix(a["weight"])).reshape(-1, heads, channels)
    score_src = np.einsum("nhc,hc->nh", projected, ref.tensor(a["att_src"]))
    score_dst = np.einsum("nhc,hc->nh", projected, ref.tensor(a["att_dst"]))
    graph = ref.graph.add_self_loops(remaining=True) if a["add_self_loops"] else ref.graph
    out = np.zeros_like(projected)
    for v in range(x.shape[0]):
        sources = ref.neighbours(v, graph)
        if sources.size == 0:
            continue
        scores = score_src[sources] + score_dst[v]
        scores = np.where(scores > 0, scores, a["negative_slope"] * scores)
        weights = np.exp(scores - scores.max(axis=0))
        out[v] = np.einsum("eh,ehc->hc", weights / weights.sum(axis=0), projected[sources])
    out = out.reshape(-1, heads * channels) if a["concat"] else out.mean(axis=1)
    if a.get("residual"):
        out = out + x @ ref.matrix(a["residual"])
    return activate(out + ref.optional(a.get("bias")), a.get("activation"))


def run(rt, node, x):
    a, key = node.attrs, node.outputs[0]
    heads, channels = a["heads"], a["channels"]
    residual = a.get("residual")
    if residual:  # both weights read x: one product, its columns split
        projected, residual = rt.matmul(x, a["weight"], key + ".pr", second=residual)
    else:
        projected = rt.matmul(x, a["weight"], key)
    projected = projected.reshape(-1, heads, channels)
    indptr, indices, _ = rt.graph.looped() if a["add_self_loops"] else rt.graph.plain()
    out = rt.attend(indptr, indices, projected, rt.tensor(a["att_src"]), rt.tensor(a["att_dst"]),
                    a["negative_slope"])
    out = out.reshape(-1, heads * channels) if a["concat"] else out.mean(axis=1)
    if residual is not None:
        out += residual
    bias = rt.optional(a.get("bias"))
    if bias is not None:
        out += bias
    return rt.activate(out, a.get("activation", "identity"))


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
               "add_self_loops": Attr("bool"), "activation": FUSED}, out_width,
              reference=reference, run=run, takes=frozenset({"csr", "row_scaled"}),
              to_onnx=to_onnx)
