"""Serving a recommender: the exported retrieval index and ``Recommender`` against torch's own
top-k over the same embeddings, bad input, and hostile files."""

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.artifact import (
    ArtifactError,
    RetrievalIndex,
    artifact_kind,
    load_artifact,
    load_retrieval_index,
    save_retrieval_index,
)
from sparsegnn.export import export_recommender
from sparsegnn.nn import load_checkpoint, save_checkpoint
from sparsegnn.nn.checkpoint import interactions_extra
from sparsegnn.nn.lightgcn import LightGCN, bipartite_adjacency
from sparsegnn.nn.train import seed_everything
from sparsegnn.runtime import InputError, Recommender, Session

from ..recsys_data import write_clustered_interactions


@pytest.fixture
def exported(tmp_path):
    interactions = data.load_recommendation(write_clustered_interactions(tmp_path / "set"))
    seed_everything(0)
    model = LightGCN(interactions.num_users, interactions.num_items, 16, num_layers=2)
    checkpoint = save_checkpoint(tmp_path / "m.safetensors", model, info={"dataset": "set"},
                                 extra=interactions_extra(interactions.train))
    path = export_recommender(load_checkpoint(checkpoint), tmp_path / "m.sgnn", source=checkpoint)
    return path, model, interactions


def test_recommendations_are_torchs_top_k_over_unseen_items(exported):
    path, model, interactions = exported
    assert artifact_kind(path) == "retrieval"
    with torch.no_grad():
        users, items = model.propagate(bipartite_adjacency(interactions.train))
    scores = users @ items.T
    seen = torch.from_numpy(interactions.train.toarray() > 0)
    scores[seen] = -torch.inf
    expected_scores, expected_ids = torch.topk(scores, 10, dim=1)
    recommender = Recommender(path, num_threads=2)
    ids, got = recommender.recommend(np.arange(interactions.num_users), 10)
    np.testing.assert_allclose(got, expected_scores.numpy(), rtol=1e-5, atol=1e-6)
    # ids agree wherever the scores are not tied
    distinct = np.abs(np.diff(expected_scores.numpy(), axis=1)).min(axis=1) > 1e-6
    np.testing.assert_array_equal(ids[distinct], expected_ids.numpy()[distinct])
    assert recommender.metadata["train_dataset"] == "set"
    np.testing.assert_allclose(recommender.score([0, 1], [2, 3]),
                               (users[[0, 1]] * items[[2, 3]]).sum(1).numpy(), rtol=1e-6)
    everything, _ = recommender.recommend([0], 10, exclude_seen=False)
    np.testing.assert_array_equal(np.sort(everything[0]),
                                  np.sort(torch.topk(users[0] @ items.T, 10).indices.numpy()))
    by_vector, _ = recommender.recommend_vectors(users[0].numpy(), 10)
    np.testing.assert_array_equal(by_vector, everything)


def test_a_user_who_has_seen_nearly_everything_gets_what_is_left(tmp_path):
    index = RetrievalIndex(np.ones((2, 3), np.float32), np.eye(3, dtype=np.float32),
                           np.array([0, 2, 2]), np.array([0, 2], np.int32))
    recommender = Recommender(index)
    ids, scores = recommender.recommend([0, 1], 3)
    assert ids[0].tolist() == [1, -1, -1] and np.isneginf(scores[0, 1:]).all()
    assert sorted(ids[1].tolist()) == [0, 1, 2]


@pytest.mark.parametrize("call, message", [
    (lambda r: r.recommend([10_000]), "users must lie in"),
    (lambda r: r.recommend([-1]), "users must lie in"),
    (lambda r: r.recommend([0.5]), "integer ids"),
    (lambda r: r.recommend([0], k=0), "k must"),
    (lambda r: r.recommend([0], k=10_000), "k must"),
    (lambda r: r.score([0, 1], [0]), "pair up"),
    (lambda r: r.recommend_vectors(np.zeros(3)), "queries must"),
    (lambda r: r.recommend_vectors(np.full(16, np.nan)), "queries must"),
])
def test_bad_requests_are_clear_errors(exported, call, message):
    with pytest.raises(InputError, match=message):
        call(Recommender(exported[0]))


def test_model_and_index_files_are_not_confused(exported, tmp_path):
    path = exported[0]
    with pytest.raises(ArtifactError, match="retrieval index"):
        load_artifact(path)
    with pytest.raises(ArtifactError, match="retrieval index"):
        Session(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.update(items=np.full_like(t["items"], np.nan)), "NaN or inf"),
    (lambda t: t.update(indices=np.full_like(t["indices"], 10_000)), "seen sets"),
    (lambda t: t.update(indptr=t["indptr"][:-1]), "row pointers"),
    (lambda t: t.update(users=t["users"][:, :3]), "dimensions"),
])
def test_inconsistent_indexes_are_refused_on_load(exported, tmp_path, mutate, message):
    good = load_retrieval_index(exported[0])
    tensors = {"users": np.array(good.users), "items": np.array(good.items),
               "indptr": np.array(good.seen_indptr), "indices": np.array(good.seen_indices)}
    mutate(tensors)
    bad = RetrievalIndex(tensors["users"], tensors["items"], tensors["indptr"],
                         tensors["indices"])
    with pytest.raises(ValueError, match=message):
        save_retrieval_index(bad, tmp_path / "bad.sgnn")
    # written anyway (bypassing the writer's check), the reader refuses it
    from sparsegnn import artifact

    path = artifact._write(tmp_path / "bad.sgnn", {
        "users": bad.users, "items": bad.items, "seen.indptr": bad.seen_indptr.astype(np.int64),
        "seen.indices": bad.seen_indices.astype(np.int32)}, {"kind": "retrieval", "metadata": {}})
    with pytest.raises(ArtifactError, match=message):
        load_retrieval_index(path)


def test_corrupt_bytes_are_caught(exported, tmp_path):
    raw = bytearray(exported[0].read_bytes())
    raw[-5] ^= 0xFF
    corrupt = tmp_path / "corrupt.sgnn"
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="CRC-32"):
        Recommender(corrupt)
