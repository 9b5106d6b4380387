"""``activation``, every entry of the one table, against torch's functions on every backend
(tests/ops/parity.py)."""

import numpy as np
import pytest
import torch

from sparsegnn.ops import ACTIVATIONS

from .parity import TORCH_ACTIVATIONS, check_parity, graph


def test_the_torch_table_covers_every_activation():
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation(activation, tmp_path):
    x = (np.random.default_rng(8).standard_normal((9, 6)) * 3).astype(np.float32)
    expected = TORCH_ACTIVATIONS[activation](torch.from_numpy(x))
    check_parity(tmp_path, "activation", {"activation": activation}, {}, x, graph(False),
                 expected.numpy())
