"""``sage_conv`` against PyG's ``SAGEConv`` on every backend (tests/ops/parity.py)."""

import numpy as np
import pytest
import torch
from torch_geometric.nn import SAGEConv

from .parity import FORMATS, TORCH_ACTIVATIONS, check_parity, graph, pruned, store, torch_graph


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("widths", [(12, 5), (5, 12)])  # transform first, aggregate first
@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
@pytest.mark.parametrize("root, l2", [(True, False), (False, False), (True, True)])
def test_sage_conv(fmt, widths, aggr, root, l2, tmp_path):
    rng = np.random.default_rng(3)
    rows, cols = widths
    x = rng.standard_normal((9, rows)).astype(np.float32)
    g = graph(weighted=True)  # sage ignores edge weights
    layer = SAGEConv(rows, cols, aggr="add" if aggr == "sum" else aggr, root_weight=root,
                     normalize=l2).eval()
    neighbor, root_weight = pruned(rng, rows, cols), pruned(rng, rows, cols)
    tensors = {"b": rng.standard_normal(cols).astype(np.float32)}
    with torch.no_grad():
        layer.lin_l.weight.copy_(torch.from_numpy(neighbor.T))
        layer.lin_l.bias.copy_(torch.from_numpy(tensors["b"]))
        if root:
            layer.lin_r.weight.copy_(torch.from_numpy(root_weight.T))
        edge_index, _ = torch_graph(g)
        expected = TORCH_ACTIVATIONS["relu"](layer(torch.from_numpy(x), edge_index))
    attrs = {"weight_neighbor": store("wn", neighbor, fmt, tensors),
             "weight_root": store("wr", root_weight, fmt, tensors) if root else None,
             "bias": "b", "aggr": aggr, "l2_normalize": l2, "activation": "relu"}
    check_parity(tmp_path, "sage_conv", attrs, tensors, x, g, expected.numpy())
