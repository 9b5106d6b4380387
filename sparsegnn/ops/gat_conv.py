"""``gat_conv``: ``[x, graph] -> [y]``, multi-head attention as PyG's ``GATConv``, then ``act``.

``h = x @ W`` as ``(N, heads, channels)``; each edge ``j -> i`` (plus one self loop per node when
``add_self_loops``) scores ``leaky_relu(h_j . att_src + h_i . att_dst, negative_slope)``, a
softmax over ``i``'s in-edges weights the sum of ``h_j``; heads are concatenated (``concat``) or
averaged; then ``+ x @ W_res`` (optional ``residual``), ``+ b`` and ``act``.
"""

from __future__ import annotations

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


SPEC = OpSpec("gat_conv", 1, ("x", "graph"),
              {"weight": Attr("matrix"), "att_src": Attr("tensor"), "att_dst": Attr("tensor"),
               "bias": Attr("tensor", required=False), "residual": Attr("matrix", required=False),
               "heads": Attr("int", minimum=1), "channels": Attr("int", minimum=1),
               "concat": Attr("bool"), "negative_slope": Attr("float"),
               "add_self_loops": Attr("bool"), "activation": FUSED}, out_width)
