"""``sg_conv`` against PyG's ``SGConv`` on every backend (tests/ops/parity.py)."""

import numpy as np
import pytest
import torch
from torch_geometric.nn import SGConv

from .parity import FORMATS, TORCH_ACTIVATIONS, check_parity, graph, pruned, store, torch_graph


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("widths", [(12, 5), (5, 12)])  # transform first, aggregate first
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("hops, add_self_loops", [(1, True), (3, True), (2, False)])
def test_sg_conv(fmt, widths, weighted, hops, add_self_loops, tmp_path):
    rng = np.random.default_rng(6)
    rows, cols = widths
    x = rng.standard_normal((9, rows)).astype(np.float32)
    g = graph(weighted)
    layer = SGConv(rows, cols, K=hops, add_self_loops=add_self_loops).eval()
    weight = pruned(rng, rows, cols)
    tensors = {"b": rng.standard_normal(cols).astype(np.float32)}
    with torch.no_grad():
        layer.lin.weight.copy_(torch.from_numpy(weight.T))
        layer.lin.bias.copy_(torch.from_numpy(tensors["b"]))
        expected = TORCH_ACTIVATIONS["tanh"](layer(torch.from_numpy(x), *torch_graph(g)))
    attrs = {"weight": store("w", weight, fmt, tensors), "bias": "b", "K": hops,
             "add_self_loops": add_self_loops, "activation": "tanh"}
    check_parity(tmp_path, "sg_conv", attrs, tensors, x, g, expected.numpy())
