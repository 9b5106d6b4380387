"""``sage_conv``: ``[x, graph] -> [y]``,
``y = act(l2?(aggr_j x_j @ W_n + b + x @ W_r))`` with ``aggr`` sum, mean or max over the
in-neighbours (edge weights ignored; no neighbours: zeros), ``W_r`` optional."""

from __future__ import annotations

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


SPEC = OpSpec("sage_conv", 1, ("x", "graph"),
              {"weight_neighbor": Attr("matrix"), "weight_root": Attr("matrix", required=False),
               "bias": Attr("tensor", required=False),
               "aggr": Attr("choice", choices=("sum", "mean", "max")),
               "l2_normalize": Attr("bool", required=False), "activation": FUSED}, out_width)
