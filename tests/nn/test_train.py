"""Training: learning happens, runs are deterministic, best epochs are restored; plus the
accuracy targets on real data (GCN on Planetoid Cora and CiteSeer, mean over 5 seeds)."""

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.nn import TrainConfig, build_model, evaluate, fit
from sparsegnn.nn.recipes import make_model, model_config, train_config
from sparsegnn.nn.train import seed_everything


def _train(kind, dataset, seed=0, **overrides):
    seed_everything(seed)
    model = make_model(kind, dataset)
    config = train_config(kind, dataset, seed=seed, progress=False, **overrides)
    return model, fit(model, dataset, 0, config)


@pytest.mark.parametrize("kind", ["gcn", "sage", "gin", "gat"])
def test_every_model_learns_the_synthetic_graph(kind):
    dataset = data.load("synthetic")
    model, result = _train(kind, dataset, epochs=60)
    chance = 1 / dataset.num_classes
    assert result.test_score > chance + 0.3
    assert evaluate(model, dataset)["test"] == pytest.approx(result.test_score)


def test_training_is_deterministic_for_a_seed():
    dataset = data.load("synthetic")
    first = _train("gcn", dataset, seed=3, epochs=20)[1]
    second = _train("gcn", dataset, seed=3, epochs=20)[1]
    assert [r["loss"] for r in first.history] == [r["loss"] for r in second.history]


def test_early_stopping_restores_the_best_epoch():
    dataset = data.load("synthetic")
    model, result = _train("gcn", dataset, epochs=200, patience=5)
    assert result.epochs_run <= 200 and result.epochs_run - result.best_epoch == 5
    best = max(result.history, key=lambda r: (r["val"], -r["val_loss"]))
    assert result.val_score == best["val"]
    assert evaluate(model, dataset)["val"] == pytest.approx(best["val"])


def test_graph_classification_and_regression_train():
    graphs = data.load("synthetic-graphs")
    _, result = _train("gin", graphs, epochs=15)
    assert result.metric == "accuracy" and result.test_score > 0.75


def test_regression_reports_rmse(datasets_root):
    esol = data.load("ogbg-molfreesolv", datasets_root)
    config = model_config("gin", esol)
    assert config["head_out_channels"] == 1
    seed_everything(0)
    result = fit(build_model(config), esol, 0, TrainConfig(epochs=5, progress=False))
    assert result.metric == "rmse"
    assert result.val_score == min(r["val"] for r in result.history)


def test_binary_molecules_are_scored_and_selected_by_roc_auc(datasets_root):
    from sklearn.metrics import roc_auc_score

    from sparsegnn.nn.train import graph_batches

    bace = data.load("ogbg-molbace", datasets_root)
    assert bace.metric == "roc_auc"
    seed_everything(0)
    model = make_model("gin", bace)
    result = fit(model, bace, 0, train_config("gin", bace, epochs=3, progress=False))
    assert result.metric == "roc_auc"
    assert result.val_score == max(r["val"] for r in result.history)
    test = bace.splits[0].test
    with torch.no_grad():
        logits = torch.cat([model(x, g, b, num_graphs=n) for x, g, b, _, n in
                            graph_batches(bace, test, 256)])
    probability = torch.softmax(logits, dim=-1)[:, 1].numpy()
    assert result.test_score == pytest.approx(roc_auc_score(bace.y[test], probability), abs=1e-6)


def test_bad_split_index_is_rejected():
    dataset = data.load("synthetic")
    with pytest.raises(ValueError, match="split must lie in"):
        fit(make_model("gcn", dataset), dataset, 3, TrainConfig(epochs=1, progress=False))


@pytest.mark.parametrize("name, target", [("cora", 0.805), ("citeseer", 0.69)])
def test_gcn_planetoid_accuracy_over_five_seeds(name, target, datasets_root):
    dataset = data.load(name, datasets_root)
    scores = [_train("gcn", dataset, seed=seed)[1].test_score for seed in range(5)]
    assert np.mean(scores) >= target, scores


def test_models_accept_edge_index_and_graph_inputs():
    dataset = data.load("synthetic")
    model = make_model("gcn", dataset).eval()
    x = torch.from_numpy(dataset.dense_x())
    with torch.no_grad():
        a = model(x, torch.from_numpy(dataset.graph.edge_index))
        b = model(x, dataset.graph)
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="nodes but x has"):
        model(x[:10], dataset.graph)
