"""``linear`` against ``torch.nn.functional.linear`` on every backend (tests/ops/parity.py)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from .parity import FORMATS, TORCH_ACTIVATIONS, check_parity, graph, pruned, store


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bias, activation", [(True, "relu"), (False, "gelu"), (True, "sigmoid")])
def test_linear(fmt, bias, activation, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((9, 12)).astype(np.float32)
    weight = pruned(rng, 12, 7)
    tensors = {"b": rng.standard_normal(7).astype(np.float32)} if bias else {}
    attrs = {"weight": store("w", weight, fmt, tensors), "bias": "b" if bias else None,
             "activation": activation}
    expected = TORCH_ACTIVATIONS[activation](F.linear(
        torch.from_numpy(x), torch.from_numpy(weight.T),
        torch.from_numpy(tensors["b"]) if bias else None))
    check_parity(tmp_path, "linear", attrs, tensors, x, graph(False), expected.numpy())
