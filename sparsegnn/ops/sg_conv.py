"""``sg_conv``: ``[x, graph] -> [y]``, ``y = act(Â^K x @ W + b)``: simplified graph convolution
(Wu et al., ICML 2019; PyG's ``SGConv``), ``K`` rounds of propagation then one linear map.

``Â`` is gcn_conv's normalisation without ``improved``: ``D^-1/2 (A + I) D^-1/2`` with one self
loop per node when ``add_self_loops`` (existing loops keep their weight), else ``D^-1/2 A
D^-1/2``; edge weights count.
"""

from __future__ import annotations

from ._spec import Attr, OpSpec, weight_then_bias
from .activation import FUSED
from .gcn_conv import encode_propagation, lower_propagation, reference_propagation, run_propagation

# More rounds than any useful SGC (the paper's best are 2 or 3); bounds a crafted artifact's work.
MAX_HOPS = 64


def reference(ref, node, x):
    a = node.attrs
    operator = ref.graph.gcn_norm(a["add_self_loops"], improved=False)
    return reference_propagation(ref, node, x, operator, a["K"])


def run(rt, node, x):
    normalized, reduce = rt.graph.gcn(node.attrs["add_self_loops"], False)
    return run_propagation(rt, node, x, normalized, reduce, node.attrs["K"])


def encode(enc, node):
    if not node.attrs["add_self_loops"]:
        return None  # the compiled path normalises with self loops only
    return encode_propagation(enc, node, False, node.attrs["K"])


def to_onnx(g, edges, node, value: str) -> str:
    src, dst, weight = edges.gcn_weights(node.attrs["add_self_loops"], False)
    return lower_propagation(g, edges, node, value, src, dst, weight, node.attrs["K"])


SPEC = OpSpec("sg_conv", 1, ("x", "graph"),
              {"weight": Attr("matrix"), "bias": Attr("tensor", required=False),
               "K": Attr("int", minimum=1, maximum=MAX_HOPS), "add_self_loops": Attr("bool"),
               "activation": FUSED}, weight_then_bias, reference=reference, run=run,
              takes=frozenset({"csr", "row_scaled"}), encode=encode, to_onnx=to_onnx)
