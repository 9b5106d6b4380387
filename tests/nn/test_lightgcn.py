"""LightGCN against a dense numpy computation of its propagation; BPR training, its negative
sampling, ranking metrics against brute force, and checkpoints that carry the interactions."""

import numpy as np
import pytest
import torch

from sparsegnn import data, metrics
from sparsegnn.nn import load_checkpoint, save_checkpoint
from sparsegnn.nn.checkpoint import interactions_extra
from sparsegnn.nn.lightgcn import (
    LightGCN,
    RecommenderConfig,
    bipartite_adjacency,
    evaluate_ranking,
    fit_recommender,
    unseen_negatives,
)
from sparsegnn.nn.train import seed_everything

from ..recsys_data import write_clustered_interactions


@pytest.fixture
def interactions(tmp_path):
    return data.load_recommendation(write_clustered_interactions(tmp_path / "set"))


def test_propagation_is_the_mean_of_powers_of_the_normalised_bipartite_graph(interactions):
    seed_everything(0)
    model = LightGCN(interactions.num_users, interactions.num_items, 8, num_layers=3)
    r = interactions.train.toarray(np.float64)
    adjacency = np.block([[np.zeros((r.shape[0],) * 2), r], [r.T, np.zeros((r.shape[1],) * 2)]])
    degree = adjacency.sum(1)
    scale = np.where(degree > 0, 1 / np.sqrt(np.maximum(degree, 1)), 0)
    normalised = scale[:, None] * adjacency * scale[None, :]
    e = torch.cat([model.user_embedding.weight, model.item_embedding.weight]).detach().double().numpy()
    layers = [e]
    for _ in range(3):
        layers.append(normalised @ layers[-1])
    expected = np.mean(layers, axis=0)
    with torch.no_grad():
        users, items = model.propagate(bipartite_adjacency(interactions.train))
    np.testing.assert_allclose(np.concatenate([users.numpy(), items.numpy()]), expected,
                               rtol=1e-5, atol=1e-6)


def test_propagation_gradient_matches_torch_autograd_through_a_dense_matrix(interactions):
    seed_everything(0)
    model = LightGCN(interactions.num_users, interactions.num_items, 4, num_layers=2)
    adjacency = bipartite_adjacency(interactions.train)
    users, items = model.propagate(adjacency)
    (users.square().sum() + items.sin().sum()).backward()
    sparse_grads = [p.grad.clone() for p in (model.user_embedding.weight, model.item_embedding.weight)]
    model.zero_grad()
    dense = adjacency.to_dense()
    e = torch.cat([model.user_embedding.weight, model.item_embedding.weight])
    total, layer = e, e
    for _ in range(2):
        layer = dense @ layer
        total = total + layer
    total = total / 3
    u, i = total[:interactions.num_users], total[interactions.num_users:]
    (u.square().sum() + i.sin().sum()).backward()
    for sparse_grad, parameter in zip(sparse_grads, (model.user_embedding.weight,
                                                     model.item_embedding.weight)):
        torch.testing.assert_close(sparse_grad, parameter.grad, rtol=1e-5, atol=1e-6)


def test_negatives_are_never_seen_items(interactions, rng):
    users = rng.integers(0, interactions.num_users, size=5000)
    negatives = unseen_negatives(users, interactions.train, rng)
    train = interactions.train.toarray() > 0
    assert not train[users, negatives].any()
    assert negatives.min() >= 0 and negatives.max() < interactions.num_items


def test_ranking_metrics_are_brute_force_over_unseen_items(interactions):
    seed_everything(0)
    model = LightGCN(interactions.num_users, interactions.num_items, 8)
    adjacency = bipartite_adjacency(interactions.train)
    result = evaluate_ranking(model, adjacency, interactions, "test", k=5)
    with torch.no_grad():
        users, items = model.propagate(adjacency)
    scores = (users @ items.T).double().numpy()
    scores[interactions.train.toarray() > 0] = -np.inf
    test = interactions.test
    with_test = np.flatnonzero(np.diff(test.indptr) > 0)
    ranked = np.argsort(-scores[with_test], axis=1, kind="stable")[:, :5]
    assert result["recall@5"] == pytest.approx(
        metrics.recall_at_k(ranked, test.indptr, test.indices, with_test))
    assert result["ndcg@5"] == pytest.approx(
        metrics.ndcg_at_k(ranked, test.indptr, test.indices, with_test))


def test_bpr_training_learns_the_groups_and_checkpoints_carry_the_interactions(interactions,
                                                                                tmp_path):
    seed_everything(0)
    model = LightGCN(interactions.num_users, interactions.num_items, 16, num_layers=2)
    before = evaluate_ranking(model, bipartite_adjacency(interactions.train), interactions, "test")
    config = RecommenderConfig(epochs=60, batch_size=256, lr=0.02, eval_every=5, patience=None,
                               progress=False)
    result = fit_recommender(model, interactions, config)
    assert result.test["recall@20"] > max(0.6, before["recall@20"] + 0.2)
    assert result.val["recall@20"] == max(r["val"]["recall@20"] for r in result.history
                                          if "val" in r)
    path = save_checkpoint(tmp_path / "lightgcn.safetensors", model,
                           extra=interactions_extra(interactions.train))
    loaded = load_checkpoint(path)
    assert isinstance(loaded.model, LightGCN) and loaded.model.config == model.config
    np.testing.assert_array_equal(loaded.interactions.indices, interactions.train.indices)
    again = evaluate_ranking(loaded.model, bipartite_adjacency(loaded.interactions), interactions,
                             "test")
    assert again == pytest.approx(result.test)
