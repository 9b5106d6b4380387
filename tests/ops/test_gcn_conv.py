"""``gcn_conv`` against PyG's ``GCNConv`` on every backend (tests/ops/parity.py)."""

import numpy as np
import pytest
import torch
from torch_geometric.nn import GCNConv

from .parity import FORMATS, TORCH_ACTIVATIONS, check_parity, graph, pruned, store, torch_graph


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("widths", [(12, 5), (5, 12)])  # transform first, aggregate first
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("normalize, add_self_loops, improved",
                         [(True, True, False), (True, True, True), (True, False, False),
                          (False, False, False)])
def test_gcn_conv(fmt, widths, weighted, normalize, add_self_loops, improved, tmp_path):
    rng = np.random.default_rng(2)
    rows, cols = widths
    x = rng.standard_normal((9, rows)).astype(np.float32)
    g = graph(weighted)
    layer = GCNConv(rows, cols, improved=improved, add_self_loops=add_self_loops,
                    normalize=normalize).eval()
    weight = pruned(rng, rows, cols)
    tensors = {"b": rng.standard_normal(cols).astype(np.float32)}
    with torch.no_grad():
        layer.lin.weight.copy_(torch.from_numpy(weight.T))
        layer.bias.copy_(torch.from_numpy(tensors["b"]))
        expected = TORCH_ACTIVATIONS["elu"](layer(torch.from_numpy(x), *torch_graph(g)))
    attrs = {"weight": store("w", weight, fmt, tensors), "bias": "b", "normalize": normalize,
             "add_self_loops": add_self_loops, "improved": improved, "activation": "elu"}
    check_parity(tmp_path, "gcn_conv", attrs, tensors, x, g, expected.numpy())
