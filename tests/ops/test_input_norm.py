"""``input_norm`` against torch's division by the row sums (a zero sum by 1) on every backend
(tests/ops/parity.py), with an all-zero row and a signed row summing to zero."""

import numpy as np
import torch

from .parity import check_parity, graph


def test_input_norm(tmp_path):
    x = np.random.default_rng(9).uniform(0, 2, (9, 5)).astype(np.float32)
    x[3] = 0
    x[5] = [1, -1, 0.5, -0.5, 0]
    rows = torch.from_numpy(x)
    sums = rows.sum(dim=1, keepdim=True)
    expected = rows / torch.where(sums == 0, torch.ones_like(sums), sums)
    check_parity(tmp_path, "input_norm", {"kind": "row_sum"}, {}, x, graph(False),
                 expected.numpy())
