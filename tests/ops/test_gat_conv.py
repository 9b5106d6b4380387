"""``gat_conv`` against PyG's ``GATConv`` on every backend (tests/ops/parity.py)."""

import numpy as np
import pytest
import torch
from torch_geometric.nn import GATConv

from .parity import FORMATS, TORCH_ACTIVATIONS, check_parity, graph, pruned, store, torch_graph


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("heads, channels, concat", [(1, 4, True), (3, 2, True), (3, 4, False)])
@pytest.mark.parametrize("add_self_loops, residual", [(True, False), (False, True)])
def test_gat_conv(fmt, heads, channels, concat, add_self_loops, residual, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((9, 8)).astype(np.float32)
    g = graph(weighted=True)  # attention ignores edge weights
    out = heads * channels if concat else channels
    layer = GATConv(8, channels, heads=heads, concat=concat, negative_slope=0.2,
                    add_self_loops=add_self_loops, residual=residual).eval()
    weight, residual_weight = pruned(rng, 8, heads * channels), pruned(rng, 8, out)
    tensors = {"as": rng.standard_normal((heads, channels)).astype(np.float32),
               "ad": rng.standard_normal((heads, channels)).astype(np.float32),
               "b": rng.standard_normal(out).astype(np.float32)}
    with torch.no_grad():
        layer.lin.weight.copy_(torch.from_numpy(weight.T))
        layer.att_src.copy_(torch.from_numpy(tensors["as"])[None])
        layer.att_dst.copy_(torch.from_numpy(tensors["ad"])[None])
        layer.bias.copy_(torch.from_numpy(tensors["b"]))
        if residual:
            layer.res.weight.copy_(torch.from_numpy(residual_weight.T))
        expected = TORCH_ACTIVATIONS["elu"](layer(torch.from_numpy(x), torch_graph(g)[0]))
    attrs = {"weight": store("w", weight, fmt, tensors), "att_src": "as", "att_dst": "ad",
             "bias": "b",
             "residual": store("r", residual_weight, fmt, tensors) if residual else None,
             "heads": heads, "channels": channels, "concat": concat, "negative_slope": 0.2,
             "add_self_loops": add_self_loops, "activation": "elu"}
    check_parity(tmp_path, "gat_conv", attrs, tensors, x, g, expected.numpy())
