"""``gin_conv`` against PyG's ``GINConv`` (with an identity MLP: the IR's MLP follows as
``linear`` ops) on every backend (tests/ops/parity.py)."""

import numpy as np
import pytest
import torch
from torch_geometric.nn import GINConv

from .parity import check_parity, graph, torch_graph


@pytest.mark.parametrize("eps", [0.0, 0.5, -0.25])
def test_gin_conv(eps, tmp_path):
    x = np.random.default_rng(4).standard_normal((9, 6)).astype(np.float32)
    g = graph(weighted=True)  # gin ignores edge weights
    with torch.no_grad():
        expected = GINConv(torch.nn.Identity(), eps=eps)(torch.from_numpy(x), torch_graph(g)[0])
    check_parity(tmp_path, "gin_conv", {"eps": eps}, {}, x, g, expected.numpy())
