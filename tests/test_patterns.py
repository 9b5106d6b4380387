"""Sparsity patterns: parsing, the pruner's masks (checked against an independent reading of
each pattern), schedules that ramp to them, and their files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.nn import build_model
from sparsegnn.nn.recipes import model_config
from sparsegnn.nn.train import TrainConfig
from sparsegnn.patterns import Pattern, PatternError
from sparsegnn.prune import (
    Blocks,
    MaskError,
    MaskSet,
    NOfM,
    magnitude,
    prune_model,
    prune_weights,
    resolve_sparsity,
)


def _model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(model_config("gcn", data.load("synthetic"), hidden_channels=20))


def _blocks_whole(mask: np.ndarray, rows: int, cols: int) -> bool:
    """Every aligned rows x cols block of a torch-oriented mask (out, in) is all kept or all
    pruned (edge blocks cut short)."""
    for i in range(0, mask.shape[0], rows):
        for j in range(0, mask.shape[1], cols):
            block = mask[i:i + rows, j:j + cols]
            if block.any() and not block.all():
                return False
    return True


def _n_of_m(mask: np.ndarray, keep: int, group: int) -> bool:
    return all(mask[o, g:g + group].sum() <= keep for o in range(mask.shape[0])
               for g in range(0, mask.shape[1], group))


@pytest.mark.parametrize("text, name, kind", [
    ("unstructured", "unstructured", "unstructured"), ("1x1", "unstructured", "unstructured"),
    ("1X8", "1x8", "block"), (" 4x1 ", "4x1", "block"), ("2:4", "2:4", "n:m"),
])
def test_pattern_names_parse_and_normalise(text, name, kind):
    pattern = Pattern.parse(text)
    assert (pattern.name, pattern.kind) == (name, kind)


@pytest.mark.parametrize("text", ["", "dense", "0x4", "1x65", "4:2", "0:4", "2:4:8", None, 3])
def test_bad_pattern_names_are_refused(text):
    with pytest.raises(PatternError):
        Pattern.parse(text)


@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("pattern", ["1x4", "1x8", "4x1", "2x2"])
def test_block_masks_are_whole_blocks_at_the_target(pattern, scope):
    model = _model()
    masks = prune_weights(model, magnitude(model), 0.8, scope=scope, pattern=pattern)
    inputs, outputs = Pattern.parse(pattern).inputs, Pattern.parse(pattern).outputs
    total = sum(m.size for m in masks.weights.values())
    for mask in masks.weights.values():  # torch orientation: C outputs x R inputs per block
        assert _blocks_whole(mask, outputs, inputs)
    assert masks.pattern == pattern
    # to the nearest whole block
    assert abs(masks.sparsity - 0.8) * total <= inputs * outputs / 2 + 1e-9
    if scope == "layer":  # every pruned block scores no higher than every kept one
        scores = magnitude(model)
        for key, mask in masks.weights.items():
            means = {}
            for i in range(0, mask.shape[0], outputs):
                for j in range(0, mask.shape[1], inputs):
                    block = scores[key][i:i + outputs, j:j + inputs]
                    means[(i, j)] = (block.mean(), bool(mask[i, j]))
            kept = [m for m, k in means.values() if k]
            pruned = [m for m, k in means.values() if not k]
            if kept and pruned:
                assert max(pruned) <= min(kept) + 1e-12


def test_n_of_m_keeps_the_best_n_of_every_m():
    model = _model()
    scores = magnitude(model)
    masks = prune_weights(model, scores, 0.5, scope="global", pattern="2:4")
    for key, mask in masks.weights.items():
        assert _n_of_m(mask, 2, 4)
        for o in range(mask.shape[0]):
            for g in range(0, mask.shape[1], 4):
                kept, group = mask[o, g:g + 4], scores[key][o, g:g + 4]
                assert kept.sum() == min(2, group.size)
                if kept.sum() < group.size:
                    assert group[kept].min() >= group[~kept].max()


def test_n_of_m_fixes_the_sparsity_and_refuses_more():
    model = _model()
    with pytest.raises(ValueError, match="at most 0.5000 sparse"):
        prune_weights(model, magnitude(model), 0.9, pattern="2:4")
    assert resolve_sparsity(None, "1:10") == pytest.approx(0.9)
    with pytest.raises(ValueError, match="fixes the weight sparsity"):
        resolve_sparsity(0.95, "1:10")
    with pytest.raises(ValueError, match="needs a weight sparsity"):
        resolve_sparsity(None, "1x8")


@pytest.mark.parametrize("pattern", ["1x8", "4x1", "2:4"])
def test_pattern_masks_keep_earlier_zeros(pattern):
    model = _model()
    scores = magnitude(model)
    target = Pattern.parse(pattern).sparsity or 0.9
    first = prune_weights(model, scores, target / 2, pattern=pattern)
    second = prune_weights(model, scores, target, pattern=pattern, prior=first)
    for key in first.weights:
        assert not np.any(second.weights[key] & ~first.weights[key])


def test_methods_count_blocks_and_groups():
    rng = np.random.default_rng(0)
    scores, prior = rng.random((8, 12)), np.ones((8, 12), bool)
    mask = Blocks(amount=5, pattern="1x4").compute_mask(scores, prior)
    assert (~mask).sum() == 5 * 4 and _blocks_whole(mask, 4, 1)
    mask = NOfM(keep=1, group=3).compute_mask(scores, prior)
    assert mask.sum() == 8 * 4 and _n_of_m(mask, 1, 3)
    with pytest.raises(ValueError, match="RxC"):
        Blocks(amount=1, pattern="2:4")


def test_gradual_schedule_ramps_to_the_n_of_m_pattern():
    dataset = data.load("synthetic")
    model = _model()
    result = prune_model(model, dataset, None, pattern="2:4", schedule="gradual", rounds=3,
                         finetune=TrainConfig(epochs=3, patience=None, progress=False))
    assert result.masks.pattern == "2:4"
    assert result.masks.sparsity == pytest.approx(0.5, abs=0.01)
    for mask in result.masks.weights.values():
        assert _n_of_m(mask, 2, 4)
    assert [r["sparsity"] for r in result.rounds] == sorted(r["sparsity"] for r in result.rounds)


def test_mask_files_keep_their_pattern(tmp_path):
    model = _model()
    masks = prune_weights(model, magnitude(model), 0.75, pattern="4x1")
    loaded = MaskSet.load(masks.save(tmp_path / "masks.safetensors"))
    assert loaded.pattern == "4x1"
    assert all(np.array_equal(loaded.weights[k], masks.weights[k]) for k in masks.weights)
    from safetensors.numpy import save_file

    save_file({"w": np.ones((2, 2), np.uint8)}, str(tmp_path / "bad.safetensors"),
              metadata={"format": "sparsegnn.masks", "pattern": "5:4"})
    with pytest.raises(MaskError, match="N:M needs"):
        MaskSet.load(tmp_path / "bad.safetensors")
