"""Explainability-based importance (prune.explain): integrated gradients of weights and channels,
GNNExplainer-style learned masks, and the criteria built on them."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sparsegnn.nn import TrainConfig, fit
from sparsegnn.nn.recipes import make_model
from sparsegnn.nn.train import node_inputs, seed_everything
from sparsegnn.prune import (
    EdgePairs,
    MaskSet,
    magnitude,
    prunable_weights,
    prune_edges,
    prune_model,
    prune_weights,
)
from sparsegnn.prune.edges import random_edge_scores
from sparsegnn.prune.explain import (
    explain_masks,
    explained_forward,
    explainer_scores,
    ig_channel_scores,
    integrated_gradients,
)
from sparsegnn.prune.structured import channel_groups, prune_channels


def _trained(kind, dataset, epochs=40, **options):
    seed_everything(0)
    model = make_model(kind, dataset, **options)
    fit(model, dataset, 0, TrainConfig(epochs=epochs, progress=False))
    return model.eval()


def _own_log_probability(model, dataset, params=None, nodes="all"):
    """F of the module doc, computed here from the plain forward: the summed log-probability
    of the classes the unchanged model predicts."""
    forward = explained_forward(dataset, nodes=nodes)
    with torch.no_grad():
        predicted = forward(model).argmax(dim=-1, keepdim=True)
        return float(F.log_softmax(forward(model, params), dim=-1).gather(1, predicted).sum())


@pytest.mark.parametrize("kind, dataset_name", [("gcn", "synthetic"), ("sage", "synthetic"),
                                                ("gin", "synthetic-graphs")])
def test_integrated_gradients_are_complete(kind, dataset_name, synthetic, graphs):
    """Σ attributions = F(model) - F(every prunable weight at zero), to the path integral's
    accuracy (the defining property of integrated gradients)."""
    dataset = synthetic if dataset_name == "synthetic" else graphs
    model = _trained(kind, dataset)
    attributions = integrated_gradients(model, dataset, steps=64)
    zero = {f"{name}.weight": torch.zeros_like(module.weight)
            for name, module in prunable_weights(model).items()}
    expected = _own_log_probability(model, dataset) - _own_log_probability(model, dataset, zero)
    total = sum(value.sum() for value in attributions.values())
    assert total == pytest.approx(expected, rel=0.02)
    assert {k: v.shape for k, v in attributions.items()} == {
        k: tuple(v.shape) for k, v in MaskSet.ones(model).weights.items()}


def test_integrated_gradients_of_a_pruned_model(synthetic):
    """Pruned weights have zero attribution; completeness holds for the masked model, whose
    weights live in weight_orig."""
    model = _trained("gcn", synthetic)
    masks = prune_weights(model, magnitude(model), 0.7)
    masks.apply(model)
    attributions = integrated_gradients(model, synthetic, steps=64, nodes="train")
    for key, mask in masks.weights.items():
        assert np.all(attributions[key][~mask] == 0)
    zero = {f"{name}.weight_orig": torch.zeros_like(module.weight_orig)
            for name, module in prunable_weights(model).items()}
    expected = (_own_log_probability(model, synthetic, nodes="train")
                - _own_log_probability(model, synthetic, zero, nodes="train"))
    assert sum(v.sum() for v in attributions.values()) == pytest.approx(expected, rel=0.02)


def test_ig_channel_scores_sum_each_group(synthetic):
    model = _trained("gcn", synthetic, hidden_channels=8)
    with torch.no_grad():  # channel 3 carries nothing: its group attributes nothing
        model.convs[0].lin.weight[3] = 0
        model.convs[1].lin.weight[:, 3] = 0
    attributions = integrated_gradients(model, synthetic)
    scores = ig_channel_scores(model, synthetic)
    group = channel_groups(model)[0]
    by_hand = (attributions[f"{group['producers'][0]}.weight"].sum(axis=1)
               + attributions[f"{group['consumers'][0]}.weight"].sum(axis=0))
    np.testing.assert_allclose(scores[0], np.abs(by_hand), rtol=1e-5, atol=1e-7)
    assert scores[0][3] == 0
    narrow, widths = prune_channels(model, synthetic, 0.5, "ig")
    assert widths == {"hidden_before": 8, "hidden_after": 4}


def test_explainer_keeps_used_features_and_drops_absent_ones(synthetic):
    """Input features that no node has give the explanation nothing to keep: only the penalties
    act on their masks, which all end alike, below most used features'; the features the
    explanation keeps best are all used ones."""
    absent = 6
    x = np.asarray(synthetic.dense_x())
    padded = replace(synthetic, x=np.hstack([x, np.zeros((x.shape[0], absent), np.float32)]))
    model = _trained("gcn", padded)
    explanation = explain_masks(model, padded)
    features = explanation.channels["convs.0.lin.weight"]
    assert features.shape == (x.shape[1] + absent,)
    assert np.all((features >= 0) & (features <= 1))
    unused, used = features[-absent:], features[:-absent]
    assert unused.max() - unused.min() < 0.1
    assert unused.max() < np.quantile(used, 0.75)
    assert set(np.argsort(features)[-20:]) < set(range(x.shape[1]))
    # the masked model keeps more of its predictions than the same mask values shuffled
    forward, rng = explained_forward(padded), np.random.default_rng(0)

    def fidelity(channels):
        params = {key: module.weight * torch.from_numpy(channels[key]).float()
                  for key, module in ((f"{n}.weight", m)
                                      for n, m in prunable_weights(model).items())}
        with torch.no_grad():
            return float((forward(model, params).argmax(-1) == forward(model).argmax(-1))
                         .float().mean())

    assert fidelity(explanation.channels) == pytest.approx(explanation.fidelity)
    shuffled = {key: rng.permutation(mask) for key, mask in explanation.channels.items()}
    assert explanation.fidelity > fidelity(shuffled) + 0.2
    scores = explainer_scores(model, explanation)
    weight = model.convs[0].lin.weight.detach().abs().numpy()
    np.testing.assert_allclose(scores["convs.0.lin.weight"], weight * features[None, :],
                               rtol=1e-6)


def test_explainer_edge_mask_keeps_predictions_better_than_random(synthetic):
    """Removing the 50 % of edges the explanation values least changes fewer of the model's own
    predictions than removing a random 50 % (averaged over random draws)."""
    model = _trained("gcn", synthetic, input_dropout=0.0)
    explanation = explain_masks(model, synthetic, channels=False, edges=True)
    assert explanation.edges.shape == (EdgePairs(synthetic.graph).num_pairs,)

    def kept_predictions(pair_scores):
        x, graph, _ = node_inputs(synthetic)
        thinned = replace(synthetic, graph=prune_edges(synthetic.graph, pair_scores, 0.5))
        with torch.no_grad():
            full = model(x, graph).argmax(dim=-1)
            thin = model(*node_inputs(thinned)[:2]).argmax(dim=-1)
        return float((full == thin).float().mean())

    random = np.mean([kept_predictions(random_edge_scores(synthetic.graph, seed))
                      for seed in range(5)])
    assert kept_predictions(explanation.edges) > random


def test_edge_masks_need_a_model_that_weighs_edges(synthetic, graphs):
    with pytest.raises(ValueError, match="weighs edges"):
        explain_masks(_trained("sage", synthetic, epochs=2), synthetic, edges=True, epochs=1)
    with pytest.raises(ValueError, match="node tasks"):
        explain_masks(_trained("gin", graphs, epochs=2), graphs, edges=True, epochs=1)
    explanation = explain_masks(_trained("gin", graphs, epochs=2), graphs, epochs=2)
    assert explanation.edges is None
    with pytest.raises(ValueError, match="nothing to explain"):
        explain_masks(_trained("gin", graphs, epochs=2), graphs, channels=False)


@pytest.mark.parametrize("criterion", ["ig", "explainer"])
def test_explainability_criteria_prune_exactly_and_beat_random(criterion, synthetic):
    results = {}
    for name in (criterion, "random"):
        model = _trained("gcn", synthetic, epochs=60)
        result = prune_model(model, synthetic, 0.9, criterion=name,
                             edge_sparsity=0.3 if criterion == "explainer" else 0.0,
                             edge_criterion=criterion if criterion == "explainer" else "auto",
                             finetune=TrainConfig(epochs=20, progress=False))
        assert result.masks.sparsity == pytest.approx(0.9, abs=1e-3)
        results[name] = result.after["test"]
    assert results[criterion] > results["random"]


def test_explanations_leave_the_model_unchanged(synthetic):
    model = _trained("gcn", synthetic)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    integrated_gradients(model, synthetic, steps=4)
    explain_masks(model, synthetic, epochs=3)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert all(p.requires_grad for p in model.parameters())
