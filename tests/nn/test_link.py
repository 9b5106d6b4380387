"""Link prediction models and training: scores against a hand computation, metrics against
scikit-learn, checkpoints, and the GAE figure on Cora."""

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from sparsegnn import data
from sparsegnn.data.links import random_link_split
from sparsegnn.nn import load_checkpoint, save_checkpoint
from sparsegnn.nn.link import LinkPredictor, evaluate_links, fit_links, link_inputs
from sparsegnn.nn.recipes import link_config, link_train_config
from sparsegnn.nn.train import seed_everything


def _model(dataset, kind="gcn", decoder="dot", **overrides):
    config = link_config(kind, dataset, decoder, **overrides)
    return LinkPredictor(**{k: v for k, v in config.items() if k != "kind"})


@pytest.mark.parametrize("decoder", ["dot", "mlp"])
def test_pair_scores_are_the_decoder_on_the_encoder_embeddings(decoder):
    dataset = data.load("synthetic")
    split = random_link_split(dataset.graph, seed=0)
    seed_everything(0)
    model = _model(dataset, decoder=decoder).eval()
    x, graph = link_inputs(dataset, split)
    pairs = torch.from_numpy(split.test)
    with torch.no_grad():
        z = model.encoder(x, graph)
        product = z[pairs[0]] * z[pairs[1]]
        if decoder == "dot":
            expected = product.sum(-1)
        else:
            lins = model.decoder.lins
            expected = lins[1](torch.relu(lins[0](product))).view(-1)
        torch.testing.assert_close(model(x, graph, pairs), expected)


@pytest.mark.parametrize("kind, decoder", [("gcn", "dot"), ("sage", "mlp"), ("gat", "dot"),
                                           ("gin", "mlp"), ("sgc", "dot")])
def test_every_encoder_learns_coras_links(kind, decoder, datasets_root):
    dataset = data.load("cora", datasets_root)
    split = random_link_split(dataset.graph, seed=0)
    seed_everything(0)
    model = _model(dataset, kind, decoder)
    result = fit_links(model, dataset, split, link_train_config(epochs=100, seed=0, progress=False))
    assert result.metric == "roc_auc" and result.test_score > 0.78  # chance: 0.5
    # the restored epoch reproduces its recorded scores, and they are scikit-learn's figures
    x, graph = link_inputs(dataset, split)
    pairs, labels = split.labelled("test")
    with torch.no_grad():
        scores = model(x, graph, torch.from_numpy(pairs)).numpy()
    assert result.test_score == pytest.approx(roc_auc_score(labels, scores), abs=1e-6)
    assert result.details["test_average_precision"] == pytest.approx(
        average_precision_score(labels, scores), abs=1e-6)
    assert result.val_score == max(r["val"] for r in result.history)
    assert evaluate_links(model, dataset, split)["test"]["roc_auc"] == pytest.approx(result.test_score)
    # Hits@K by its definition: positives scoring above the K-th best negative
    negatives = np.sort(scores[labels == 0])[::-1]
    for k, hits in result.details["test_hits"].items():
        kth = negatives[int(k.split("@")[1]) - 1]
        assert hits == pytest.approx(np.mean(scores[labels == 1] > kth), abs=1e-6)


def test_link_checkpoints_round_trip(tmp_path):
    dataset = data.load("synthetic")
    seed_everything(0)
    model = _model(dataset, "sage", "mlp").eval()
    path = save_checkpoint(tmp_path / "link.safetensors", model)
    loaded = load_checkpoint(path).model
    assert isinstance(loaded, LinkPredictor) and loaded.config == model.config
    split = random_link_split(dataset.graph, seed=0)
    x, graph = link_inputs(dataset, split)
    pairs = torch.from_numpy(split.test)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, graph, pairs), model(x, graph, pairs))


def test_gae_protocol_on_cora_reaches_the_papers_roc_auc(datasets_root):
    """GAE (Kipf & Welling, 2016) reports 91.0 ROC-AUC on Cora: 85/5/10 edge split, 5 seeds."""
    cora = data.load("cora", datasets_root)
    scores = []
    for seed in range(5):
        split = random_link_split(cora.graph, seed=seed)
        seed_everything(seed)
        model = _model(cora)
        scores.append(fit_links(model, cora, split, link_train_config(seed=seed, progress=False))
                      .test_score)
    assert np.mean(scores) >= 0.91, scores
