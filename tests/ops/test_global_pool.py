"""``global_pool`` against PyG's ``global_{add,mean,max}_pool`` on every backend
(tests/ops/parity.py), with a graph of one node and a graph of no nodes."""

import numpy as np
import pytest
import torch
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

from .parity import check_parity, graph

POOLS = {"sum": global_add_pool, "mean": global_mean_pool, "max": global_max_pool}


@pytest.mark.parametrize("reduce", sorted(POOLS))
def test_global_pool(reduce, tmp_path):
    x = np.random.default_rng(10).standard_normal((9, 4)).astype(np.float32)
    batch = np.array([0, 0, 0, 1, 3, 3, 3, 3, 3])  # graph 2 has no nodes
    expected = POOLS[reduce](torch.from_numpy(x), torch.from_numpy(batch), size=4)
    check_parity(tmp_path, "global_pool", {"reduce": reduce}, {}, x, graph(False),
                 expected.numpy(), batch=batch)
