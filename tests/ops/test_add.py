"""``add`` on every backend (tests/ops/parity.py): alone in a model both its inputs are the
model input, so it must double it, as torch's ``x + x``. Residual models, where the skip is an
earlier value, are checked end to end against torch in tests/export/test_export_runtime.py."""

import numpy as np
import torch

from .parity import check_parity, graph


def test_add(tmp_path):
    x = np.random.default_rng(5).standard_normal((9, 4)).astype(np.float32)
    tx = torch.from_numpy(x)
    check_parity(tmp_path, "add", {}, {}, x, graph(True), (tx + tx).numpy())
