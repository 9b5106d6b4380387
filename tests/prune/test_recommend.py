"""Pruning a LightGCN: interactions of its propagation graph and embedding entries, exact counts,
masks that hold through fine-tuning, and an export that propagates over the pruned graph while
still leaving out every seen item."""

import copy
import json

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.cli import main
from sparsegnn.nn import load_checkpoint
from sparsegnn.nn.lightgcn import (
    LightGCN,
    RecommenderConfig,
    bipartite_adjacency,
    fit_recommender,
)
from sparsegnn.nn.train import seed_everything
from sparsegnn.prune.recommend import drop_interactions, interaction_scores, prune_recommender
from sparsegnn.runtime import Recommender

from ..recsys_data import write_clustered_interactions


@pytest.fixture
def interactions(tmp_path):
    return data.load_recommendation(write_clustered_interactions(tmp_path / "set"))


@pytest.mark.parametrize("criterion, rounds", [("degree", 1), ("score", 1), ("random", 1),
                                              ("score", 3)])
def test_pruning_keeps_exact_shares_and_the_masks_hold(interactions, criterion, rounds,
                                                       monkeypatch):
    seed_everything(0)
    model = LightGCN(interactions.num_users, interactions.num_items, 10, num_layers=2)
    config = RecommenderConfig(epochs=5, batch_size=128, lr=0.02, eval_every=5, progress=False)
    graphs, masks = [], []  # each round's graph and mask: the pruned stays pruned
    original_fit = prune_recommender.__globals__["fit_recommender"]

    def recording_fit(model, interactions, config, adjacency, teacher):
        graphs.append(adjacency.to_sparse_coo().coalesce().indices().T.tolist())
        masks.append(model.embedding_mask.clone())
        return original_fit(model, interactions, config, adjacency=adjacency, teacher=teacher)

    monkeypatch.setitem(prune_recommender.__globals__, "fit_recommender", recording_fit)
    result = prune_recommender(model, interactions, edge_sparsity=0.5, embedding_sparsity=0.8,
                               edge_criterion=criterion, finetune=config, rounds=rounds)
    assert len(masks) == rounds
    for r in range(1, rounds):
        assert set(map(tuple, graphs[r])) < set(map(tuple, graphs[r - 1]))
        assert not (masks[r].bool() & ~masks[r - 1].bool()).any()
        assert masks[r].float().mean() < masks[r - 1].float().mean()
    train = interactions.train
    assert result.graph.nnz == train.nnz - round(0.5 * train.nnz)
    kept = set(zip(result.graph.row_ids().tolist(), result.graph.indices.tolist()))
    assert kept <= set(zip(train.row_ids().tolist(), train.indices.tolist()))
    assert result.embedding_kept == pytest.approx(0.2, abs=1e-3)
    # pruned entries read as zero after fine-tuning
    pruned = model.embedding_mask == 0
    assert pruned.float().mean() == pytest.approx(0.8, abs=1e-3)
    assert (model.initial_embeddings()[pruned] == 0).all()
    assert set(result.after) == {"valid", "test"}


def test_row_scope_keeps_each_rows_strongest_entries(interactions):
    from sparsegnn.prune.recommend import embedding_keep

    seed_everything(0)
    model = LightGCN(interactions.num_users, interactions.num_items, 10, num_layers=1)
    keep = embedding_keep(model, 0.7, "row")
    assert (keep.sum(1) == 3).all()  # 30 % of 10 dimensions in every row
    magnitudes = model.initial_embeddings().detach().abs()
    kept_min = torch.where(keep, magnitudes, torch.inf).min(1).values
    dropped_max = torch.where(keep, -torch.inf, magnitudes).max(1).values
    assert (kept_min >= dropped_max).all()
    everything = embedding_keep(model, 0.7, "global")
    assert int(everything.sum()) == round(0.3 * magnitudes.numel())
    with pytest.raises(ValueError, match="embedding scope"):
        embedding_keep(model, 0.5, "column")


def test_degree_scores_put_hub_to_hub_interactions_first(interactions):
    train = interactions.train
    scores = interaction_scores("degree", None, train)
    users, items = train.row_ids(), train.indices
    user_degree = np.diff(train.indptr)
    item_degree = np.bincount(items, minlength=train.shape[1])
    np.testing.assert_allclose(scores, 1 / np.sqrt(user_degree[users] * item_degree[items]))
    dropped = drop_interactions(train, scores, 0.25)
    assert dropped.nnz == train.nnz - round(0.25 * train.nnz)
    kept = set(zip(dropped.row_ids().tolist(), dropped.indices.tolist()))
    is_kept = np.array([pair in kept for pair in zip(users.tolist(), items.tolist())])
    assert scores[~is_kept].max() <= scores[is_kept].min()  # the lowest scores went


def test_prune_cli_then_export_propagates_over_the_pruned_graph(tmp_path, capsys):
    folder = write_clustered_interactions(tmp_path / "set")
    dense, pruned, index = (tmp_path / n for n in ("m.safetensors", "p.safetensors", "p.sgnn"))
    assert main(["train", "--task", "recommend", "--dataset", str(folder), "--epochs", "5",
                 "--batch-size", "256", "--no-progress", "--out", str(dense)]) == 0
    assert main(["prune", str(dense), "--dataset", str(folder), "--edge-sparsity", "0.5",
                 "--embedding-sparsity", "0.8", "--epochs", "5", "--no-progress",
                 "--distill", "--out", str(pruned)]) == 0
    out = capsys.readouterr().out
    assert "embedding entries kept 20.3 %" in out  # 13 of 64 dimensions per row
    report = json.loads(pruned.with_suffix(".json").read_text())
    assert report["edge_criterion"] == "score" and report["distill"] > 0
    checkpoint = load_checkpoint(pruned)
    assert checkpoint.propagation.nnz < checkpoint.interactions.nnz
    assert main(["export", str(pruned), "--out", str(index)]) == 0
    recommender = Recommender(index)
    with torch.no_grad():
        users, items = checkpoint.model.propagate(bipartite_adjacency(checkpoint.propagation))
    np.testing.assert_allclose(recommender.index.users, users.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(recommender.index.seen_indices, checkpoint.interactions.indices)
    assert main(["prune", str(dense), "--dataset", str(folder), "--weight-sparsity", "0.5",
                 "--out", str(tmp_path / "x.safetensors")]) == 1
    assert "no weight matrices" in capsys.readouterr().err


def test_distillation_keeps_the_pruned_scores_closer_to_the_dense_ones(interactions):
    """With ``distill`` the fine-tuned model's scores of the training pairs follow the dense
    model's more closely than without (both pruned and fine-tuned alike otherwise)."""
    seed_everything(0)
    dense = LightGCN(interactions.num_users, interactions.num_items, 10, num_layers=2)
    adjacency = bipartite_adjacency(interactions.train)
    fit_recommender(dense, interactions, RecommenderConfig(epochs=10, batch_size=128, lr=0.02,
                                                           eval_every=10, progress=False),
                    adjacency=adjacency)
    with torch.no_grad():
        users, items = (t.clone() for t in dense.propagate(adjacency))
    pairs = (torch.from_numpy(interactions.train.row_ids().astype(np.int64)),
             torch.from_numpy(interactions.train.indices.astype(np.int64)))
    teacher_scores = (users[pairs[0]] * items[pairs[1]]).sum(-1)
    gaps = {}
    for distill in (0.0, 1.0):
        student = copy.deepcopy(dense)
        config = RecommenderConfig(epochs=10, batch_size=128, lr=0.02, eval_every=10,
                                   progress=False, distill=distill)
        result = prune_recommender(student, interactions, edge_sparsity=0.5,
                                   embedding_sparsity=0.8, finetune=config)
        with torch.no_grad():
            s_users, s_items = student.propagate(bipartite_adjacency(result.graph))
        scores = (s_users[pairs[0]] * s_items[pairs[1]]).sum(-1)
        gaps[distill] = float((scores - teacher_scores).square().mean())
    assert gaps[1.0] < gaps[0.0]
