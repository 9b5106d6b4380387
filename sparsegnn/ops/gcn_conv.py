"""``gcn_conv``: ``[x, graph] -> [y]``, ``y = act(Â (x @ W) + b)``.

``Â`` is PyG's ``gcn_norm`` of the graph when ``normalize`` (``D^-1/2 (A + fill I) D^-1/2``,
``fill`` 2 when ``improved``, else 1; self loops only when ``add_self_loops``), else the graph
with its edge weights as they are.
"""

from __future__ import annotations

from ._spec import Attr, OpSpec, matrix_width, vector_width
from .activation import FUSED


def out_width(attrs, width, tensors):
    out = matrix_width(attrs, "weight", width)
    vector_width(attrs, "bias", tensors, out)
    return out


SPEC = OpSpec("gcn_conv", 1, ("x", "graph"),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "normalize": Attr("bool"), "add_self_loops": Attr("bool"),
               "improved": Attr("bool"), "activation": FUSED}, out_width)
