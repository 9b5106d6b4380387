"""``sage_conv``: ``[x, graph] -> [y]``,
``y = act(l2?(aggr_j x_j @ W_n + b + x @ W_r))`` with ``aggr`` sum, mean or max over the
in-neighbours (edge weights ignored; no neighbours: zeros), ``W_r`` optional."""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec, WidthError, matrix_width, vector_width
from .activation import FUSED


def out_width(attrs, width, tensors):
    out = matrix_width(attrs, "weight_neighbor", width)
    if attrs.get("weight_root") is not None and \
            list(attrs["weight_root"]["shape"]) != list(attrs["weight_neighbor"]["shape"]):
        raise WidthError(f"weight_root is {attrs['weight_root']['shape']}, weight_neighbor "
                         f"{attrs['weight_neighbor']['shape']}: they must match")
    vector_width(attrs, "bias", tensors, out)
    return out


def to_onnx(g, edges, node, value: str) -> str:
    a = node.attrs
    rows, cols = a["weight_neighbor"]["shape"]
    if a["aggr"] in ("sum", "mean") and cols < rows:
        # Transform first when the layer narrows (as the runtime does): the gathered and
        # scattered messages are then `cols` wide instead of `rows`.
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
              to_onnx=to_onnx)
