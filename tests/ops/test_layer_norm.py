"""``layer_norm`` against ``torch.nn.LayerNorm`` (then the fused activation) on every backend
(tests/ops/parity.py): rows of one feature, constant rows and rows of large offset included."""

import numpy as np
import pytest
import torch

from .parity import TORCH_ACTIVATIONS, check_parity, graph


@pytest.mark.parametrize("activation", ["identity", "gelu", "relu"])
@pytest.mark.parametrize("width", [1, 6])
def test_layer_norm(activation, width, tmp_path):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((9, width)).astype(np.float32)
    x[3] = 2.5  # a constant row: normalised to zero, the output is the shift
    x[4] += 1000.0  # a large offset: the mean must be removed before squaring
    norm = torch.nn.LayerNorm(width, eps=1e-5).eval()
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(rng.standard_normal(width)))
        norm.bias.copy_(torch.from_numpy(rng.standard_normal(width)))
        expected = TORCH_ACTIVATIONS[activation](norm(torch.from_numpy(x))).numpy()
    tensors = {"g": norm.weight.detach().numpy().copy(), "b": norm.bias.detach().numpy().copy()}
    check_parity(tmp_path, "layer_norm", {"scale": "g", "shift": "b", "eps": 1e-5,
                                          "activation": activation}, tensors, x,
                 graph(False), expected)
