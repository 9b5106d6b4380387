"""Pruning a link predictor: weights to the exact sparsity, edges of the message-passing graph
only (held-out pairs untouched), masks kept through fine-tuning, and the CLI round trip."""

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.cli import main
from sparsegnn.data.links import pair_keys, random_link_split, undirected_pairs
from sparsegnn.nn import load_checkpoint
from sparsegnn.nn.link import LinkPredictor, evaluate_links
from sparsegnn.nn.recipes import link_config, link_train_config
from sparsegnn.nn.train import seed_everything
from sparsegnn.prune import MaskSet, prunable_weights, prune_model
from sparsegnn.prune.links import LinkTask


def test_link_pruning_prunes_weights_and_training_edges_only():
    dataset = data.load("synthetic")
    split = random_link_split(dataset.graph, seed=0)
    seed_everything(0)
    config = link_config("gcn", dataset, "mlp")
    model = LinkPredictor(**{k: v for k, v in config.items() if k != "kind"})
    task = LinkTask(dataset, split)
    result = prune_model(model, dataset, 0.8, task=task, edge_sparsity=0.3,
                         finetune=link_train_config(epochs=5, progress=False))
    assert result.masks.sparsity == pytest.approx(0.8, abs=1e-3)
    # pruned weights stay zero after fine-tuning, in the decoder too
    MaskSet.bake(model)
    weights = prunable_weights(model)
    assert "decoder.lins.0" in weights
    zeros = sum(int((m.weight == 0).sum()) for m in weights.values())
    assert zeros >= 0.8 * sum(m.weight.numel() for m in weights.values())
    # the pruned graph is 70 % of the training pairs, nothing held out added back
    n = dataset.num_nodes
    kept = set(pair_keys(undirected_pairs(result.graph), n).tolist())
    training = set(pair_keys(split.train, n).tolist())
    assert kept <= training and len(kept) == round(0.7 * len(training))
    # scores after are on the same held-out pairs, with the pruned graph
    expected = evaluate_links(model, dataset, task.with_graph(result.graph).split)
    assert result.after["test"] == pytest.approx(expected["test"]["roc_auc"])


def test_link_pruning_refuses_criteria_it_does_not_have():
    dataset = data.load("synthetic")
    split = random_link_split(dataset.graph, seed=0)
    config = link_config("gcn", dataset)
    model = LinkPredictor(**{k: v for k, v in config.items() if k != "kind"})
    with pytest.raises(ValueError, match="link prediction prunes weights"):
        prune_model(model, dataset, 0.5, criterion="saliency", task=LinkTask(dataset, split))
    with pytest.raises(ValueError, match="link prediction prunes edges"):
        prune_model(model, dataset, 0.5, edge_sparsity=0.2, edge_criterion="influence",
                    task=LinkTask(dataset, split))


def test_prune_cli_on_a_link_checkpoint(tmp_path, capsys):
    dense, pruned = tmp_path / "link.safetensors", tmp_path / "link-90.safetensors"
    assert main(["train", "--task", "link", "--epochs", "20", "--no-progress",
                 "--out", str(dense)]) == 0
    assert main(["prune", str(dense), "--weight-sparsity", "0.9", "--edge-sparsity", "0.3",
                 "--epochs", "5", "--no-progress", "--out", str(pruned)]) == 0
    out = capsys.readouterr().out
    assert "ROC-AUC" in out and "kept" in out
    loaded = load_checkpoint(pruned)
    assert loaded.info["weight_sparsity"] == pytest.approx(0.9, abs=1e-3)
    assert loaded.info["task"] == "link_prediction"
    before = load_checkpoint(dense).graph
    assert loaded.graph.num_edges == pytest.approx(0.7 * before.num_edges, rel=0.01)
    masks = loaded.masks
    assert masks and all(not np.any(loaded.model.get_submodule(k.rsplit(".", 1)[0]).weight
                                    .detach().numpy()[~m]) for k, m in masks.items())
    assert isinstance(loaded.model, LinkPredictor) and torch.isfinite(
        next(loaded.model.parameters())).all()
