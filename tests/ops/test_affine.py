"""``affine`` against an eval-mode ``torch.nn.BatchNorm1d`` (what the op stands for) on every
backend (tests/ops/parity.py)."""

import numpy as np
import pytest
import torch

from .parity import TORCH_ACTIVATIONS, check_parity, graph


@pytest.mark.parametrize("activation", ["identity", "leaky_relu"])
def test_affine(activation, tmp_path):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((9, 6)).astype(np.float32)
    norm = torch.nn.BatchNorm1d(6).eval()
    with torch.no_grad():
        for tensor in (norm.running_mean, norm.weight, norm.bias):
            tensor.copy_(torch.from_numpy(rng.standard_normal(6)))
        norm.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, 6)))
        expected = TORCH_ACTIVATIONS[activation](norm(torch.from_numpy(x)))
        scale = (norm.weight / torch.sqrt(norm.running_var + norm.eps)).numpy()
        shift = (norm.bias - norm.running_mean * torch.from_numpy(scale)).numpy()
    tensors = {"s": scale.astype(np.float32), "t": shift.astype(np.float32)}
    check_parity(tmp_path, "affine", {"scale": "s", "shift": "t", "activation": activation},
                 tensors, x, graph(False), expected.numpy())
