"""The task metrics against scikit-learn, OGB's formulas written out, and brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, ndcg_score, roc_auc_score

from sparsegnn import metrics


@st.composite
def binary_problem(draw):
    n = draw(st.integers(2, 60))
    labels = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    labels[0], labels[1] = 0, 1  # both classes present
    # few distinct values, so that ties are frequent
    scores = np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype=float)
    return labels, scores


@settings(max_examples=200, deadline=None)
@given(binary_problem())
def test_roc_auc_and_average_precision_match_sklearn_with_ties(problem):
    labels, scores = problem
    assert metrics.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics.average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12)


def test_multi_task_roc_auc_follows_ogb_nan_and_one_class_tasks_left_out():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=(50, 3)).astype(float)
    labels[rng.random((50, 3)) < 0.2] = np.nan
    labels[:, 2] = np.where(np.isnan(labels[:, 2]), np.nan, 1.0)  # one class only: left out
    scores = rng.normal(size=(50, 3))
    expected = np.mean([roc_auc_score(labels[~np.isnan(labels[:, t]), t],
                                      scores[~np.isnan(labels[:, t]), t]) for t in (0, 1)])
    assert metrics.roc_auc(labels, scores) == pytest.approx(expected)


def test_a_one_class_predictor_scores_chance():
    labels = np.r_[np.zeros(80), np.ones(20)]
    constant = np.zeros(100)
    assert metrics.accuracy(labels, constant) == 0.8 == metrics.majority_share(labels)
    assert metrics.roc_auc(labels, constant) == 0.5
    assert metrics.average_precision(labels, constant) == pytest.approx(0.2)


@pytest.mark.parametrize("labels, scores, message", [
    ([0, 0, 0], [0.1, 0.2, 0.3], "both a positive and a negative"),
    ([0, 1, 2], [0.1, 0.2, 0.3], "0 or 1"),
    ([0, 1], [0.1, np.nan], "finite"),
    ([0, 1], [0.1, 0.2, 0.3], "shape"),
])
def test_bad_binary_arguments_are_refused(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        metrics.roc_auc(labels, scores)


def test_hits_and_mrr_follow_ogb():
    rng = np.random.default_rng(1)
    positive = rng.normal(size=40)
    negative = rng.normal(size=300)
    kth = np.sort(negative)[::-1][19]
    assert metrics.hits_at_k(positive, negative, 20) == pytest.approx(np.mean(positive > kth))
    assert metrics.hits_at_k(positive, negative[:5], 20) == 1.0
    per_row = np.round(rng.normal(size=(40, 30)), 1)
    pos = np.round(positive, 1)
    ranks = [1 + 0.5 * ((row > p).sum() + (row >= p).sum()) for p, row in zip(pos, per_row)]
    assert metrics.mrr(pos, per_row) == pytest.approx(np.mean(1 / np.array(ranks)))


def test_recall_and_ndcg_at_k_against_brute_force_and_sklearn():
    rng = np.random.default_rng(2)
    num_users, num_items, k = 30, 50, 10
    held_out = [rng.choice(num_items, size=rng.integers(0, 15), replace=False) for _ in range(num_users)]
    indptr = np.r_[0, np.cumsum([h.size for h in held_out])]
    indices = np.concatenate(held_out)
    scores = rng.normal(size=(num_users, num_items))
    ranked = np.argsort(-scores, axis=1)[:, :k]
    users = np.arange(num_users)
    kept = [u for u in users if held_out[u].size]
    recall = np.mean([np.isin(ranked[u], held_out[u]).sum() / held_out[u].size for u in kept])
    assert metrics.recall_at_k(ranked, indptr, indices, users) == pytest.approx(recall)
    relevance = np.zeros((num_users, num_items))
    for u in users:
        relevance[u, held_out[u]] = 1
    # sklearn's NDCG@k: ideal DCG over the true ranking, the same as LightGCN's min(held-out, k)
    expected = ndcg_score(relevance[kept], scores[kept], k=k)
    assert metrics.ndcg_at_k(ranked, indptr, indices, users) == pytest.approx(expected)


def test_ranking_metrics_refuse_unknown_users():
    with pytest.raises(ValueError, match="user id"):
        metrics.recall_at_k(np.zeros((1, 3), dtype=int), [0, 1], [0], [5])


def test_metric_directions():
    assert metrics.higher_is_better("roc_auc") and not metrics.higher_is_better("rmse")
    assert metrics.higher_is_better("recall@50")
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.higher_is_better("f1")
