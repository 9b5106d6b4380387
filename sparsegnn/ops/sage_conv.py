"""``sage_conv``: ``[x, graph] -> [y]``,
``y = act(l2?(aggr_j x_j @ W_n + b + x @ W_r))`` with ``aggr`` sum, mean or max over the
in-neighbours (edge weights ignored; no neighbours: zeros), ``W_r`` optional."""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, WidthError, matrix_width, vector_width
from .activation import FUSED, activate


def out_width(attrs, width, tensors):
    out = matrix_width(attrs, "weight_neighbor", width)
    if attrs.get("weight_root") is not None and \
            list(attrs["weight_root"]["shape"]) != list(attrs["weight_neighbor"]["shape"]):
        raise WidthError(f"weight_root is {attrs['weight_root']['shape']}, weight_neighbor "
                         f"{attrs['weight_neighbor']['shape']}: they must match")
    vector_width(attrs, "bias", tensors, out)
    return out


def _transform_first(attrs) -> bool:
    """A linear map commutes with a sum or mean over neighbours: transform first when the layer
    narrows, so the aggregation moves the narrower features."""
    rows, cols = attrs["weight_neighbor"]["shape"]
    return attrs["aggr"] in ("sum", "mean") and cols < rows


def reference(ref, node, x):
    a = node.attrs
    adjacency = ref.adjacency(weighted=False)
    if a["aggr"] == "sum":
        aggregated = adjacency @ x
    elif a["aggr"] == "mean":
        aggregated = adjacency @ x / np.maximum(adjacency.sum(axis=1, keepdims=True), 1)
    else:
        aggregated = np.stack([x[ref.neighbours(v)].max(axis=0) if ref.neighbours(v).size
                               else np.zeros(x.shape[1]) for v in range(x.shape[0])])
    out = aggregated @ ref.matrix(a["weight_neighbor"]) + ref.optional(a.get("bias"))
    if a.get("weight_root"):
        out = out + x @ ref.matrix(a["weight_root"])
    if a.get("l2_normalize"):
        out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return activate(out, a.get("activation"))


def run(rt, node, x):
    a, key = node.attrs, node.outputs[0]
    bias, act, root = rt.optional(a.get("bias")), a.get("activation", "identity"), \
        a.get("weight_root")
    if _transform_first(a):
        # Both weights read x: one product, its columns split.
        if root:
            neighbor, root_part = rt.matmul(x, a["weight_neighbor"], key + ".nr", second=root)
        else:
            neighbor, root_part = rt.matmul(x, a["weight_neighbor"], key + ".n"), None
        # the root term and the activation join in the aggregation's registers
        fused = "identity" if a.get("l2_normalize") else act
        out = rt.aggregate(rt.graph.plain(), neighbor, a["aggr"], bias, fused, root_part)
        if not a.get("l2_normalize"):
            return out
    else:
        x = rt.materialized(x)
        out = rt.matmul(rt.aggregate(rt.graph.plain(), rt.rows(x), a["aggr"]),
                        a["weight_neighbor"], key + ".n", bias)
        if root:
            out += rt.matmul(x, root, key + ".r")
    if a.get("l2_normalize"):
        out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return rt.activate(out, act)


def encode(enc, node):
    a, key = node.attrs, node.outputs[0]
    root = enc.matrix(key + ".r", a["weight_root"]) if a.get("weight_root") else -1
    return enc.row("sage_conv", neighbor=enc.matrix(key + ".n", a["weight_neighbor"]),
                   transform_first=_transform_first(a), bias=enc.optional(a.get("bias")),
                   act=enc.act(a.get("activation")), root=root, aggr=enc.reduce(a["aggr"]),
                   l2_normalize=bool(a.get("l2_normalize")))


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    if _transform_first(a):  # as the runtime does: fewer columns to gather and scatter
        out = edges.aggregate(g.op("MatMul", [value, g.matrix(a["weight_neighbor"])]), a["aggr"])
    else:
        out = g.op("MatMul", [edges.aggregate(value, a["aggr"]), g.matrix(a["weight_neighbor"])])
    out = g.add_bias(out, a.get("bias"))
    if a.get("weight_root"):
        out = g.op("Add", [out, g.op("MatMul", [value, g.matrix(a["weight_root"])])])
    if a.get("l2_normalize"):
        norm = g.op("ReduceL2", [out, g.const([1], "ax", np.int64)], keepdims=1)
        out = g.op("Div", [out, g.op("Max", [norm, g.const([1e-12])])])
    return g.activation(out, a.get("activation", "identity"))


SPEC = OpSpec("sage_conv", 1, ("x", "graph"),
              {"weight_neighbor": Attr("matrix"), "weight_root": Attr("matrix", required=False),
               "bias": Attr("tensor", required=False),
               "aggr": Attr("choice", choices=("sum", "mean", "max")),
               "l2_normalize": Attr("bool", required=False), "activation": FUSED}, out_width,
              reference=reference, run=run, takes=frozenset({"csr", "row_scaled"}), encode=encode,
              to_onnx=to_onnx)
