"""Each task's standard metric, in numpy only (the runtime, the CLI and the benchmarks share it).

- Classification: ``accuracy``; for binary tasks ``roc_auc`` (and ``average_precision``),
  computed from a score per example, following OGB's evaluator: a multi-task label array
  ``(n, T)`` may hold NaN for missing labels, and the result is the mean over the tasks that have
  both classes.
- Regression: ``rmse``.
- Link prediction (the GAE protocol): ``roc_auc`` and ``average_precision`` over positive and
  negative pairs; ``hits_at_k`` and ``mrr`` following OGB's link evaluators.
- Recommendation: ``recall_at_k`` and ``ndcg_at_k`` of ranked item lists against each user's
  held-out items (LightGCN's definitions: recall divides by the user's held-out count, the ideal
  DCG counts ``min(held-out, k)`` hits; users with nothing held out are left out).

Every function validates its arguments and raises ``ValueError`` naming the problem.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "rmse", "roc_auc", "average_precision", "hits_at_k", "mrr",
           "recall_at_k", "ndcg_at_k", "METRICS", "higher_is_better", "majority_share",
           "score_outputs", "format_score"]

# name -> True when a higher value is better
METRICS = {"accuracy": True, "roc_auc": True, "average_precision": True, "rmse": False,
           "recall@20": True, "ndcg@20": True, "hits@20": True, "mrr": True}


def higher_is_better(metric: str) -> bool:
    base = metric if metric in METRICS else metric.split("@")[0] + "@20"
    if base not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
    return METRICS[base]


def score_outputs(metric: str, outputs, labels) -> float:
    """``metric`` of a model's outputs ``(n, C)`` (logits; ``(n, 1)`` or ``(n,)`` for regression)
    against ``labels (n,)``. ROC-AUC ranks by the logit margin of class 1 over class 0 (the
    order of its softmax probability) and is NaN when the labels hold one class only."""
    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    if metric == "accuracy":
        return accuracy(labels, outputs.argmax(axis=-1))
    if metric == "roc_auc":
        if outputs.ndim != 2 or outputs.shape[1] != 2:
            raise ValueError(f"ROC-AUC needs two logits per example, got shape {outputs.shape}")
        if np.unique(labels).size < 2:
            return float("nan")
        return roc_auc(labels, outputs[:, 1].astype(np.float64) - outputs[:, 0])
    if metric == "rmse":
        return rmse(labels, outputs.reshape(-1))
    raise ValueError(f"unknown metric {metric!r}")


_DISPLAY = {"roc_auc": "ROC-AUC", "average_precision": "AP", "rmse": "RMSE", "mrr": "MRR"}


def format_score(value: float, metric: str) -> str:
    """``81.50 % accuracy``, ``0.8975 ROC-AUC``, ``0.4310 RMSE``, ``0.1720 recall@20``."""
    if metric == "accuracy":
        return f"{100 * value:.2f} % accuracy"
    return f"{value:.4f} {_DISPLAY.get(metric, metric)}"


def _as_1d(name: str, values, dtype=np.float64) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def accuracy(labels, predictions) -> float:
    """Share of ``predictions (n,)`` equal to ``labels (n,)``; NaN for no examples."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ")
    return float(np.mean(labels == predictions)) if labels.size else float("nan")


def majority_share(labels) -> float:
    """The accuracy of always predicting the most frequent class of ``labels (n,)``."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    return float(np.unique(labels, return_counts=True)[1].max() / labels.size)


def rmse(targets, predictions) -> float:
    targets, predictions = _as_1d("targets", targets), _as_1d("predictions", predictions)
    if targets.shape != predictions.shape:
        raise ValueError(f"targets {targets.shape} and predictions {predictions.shape} differ")
    return float(np.sqrt(np.mean((targets - predictions) ** 2))) if targets.size else float("nan")


def _binary_columns(labels, scores) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (labels, scores) of every task with both classes; NaN labels are left out."""
    labels, scores = np.asarray(labels, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim not in (1, 2):
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} must have one equal "
                         "shape, (n,) or (n, tasks)")
    if labels.ndim == 1:
        labels, scores = labels[:, None], scores[:, None]
    known = ~np.isnan(labels)
    if not np.all(np.isin(labels[known], (0.0, 1.0))):
        raise ValueError("binary labels must be 0 or 1 (NaN for a missing label)")
    if not np.all(np.isfinite(scores[known])):
        raise ValueError("scores must be finite")
    columns = []
    for task in range(labels.shape[1]):
        y, s = labels[known[:, task], task], scores[known[:, task], task]
        if 0 < y.sum() < y.size:
            columns.append((y, s))
    if not columns:
        raise ValueError("no task has both a positive and a negative label")
    return columns


def _roc_auc_one(labels: np.ndarray, scores: np.ndarray) -> float:
    # Mann-Whitney: the probability that a random positive outscores a random negative, ties
    # counting one half; average ranks make tied scores share their ranks.
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size, dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], scores.size]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    positives = labels.sum()
    negatives = labels.size - positives
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _average_precision_one(labels: np.ndarray, scores: np.ndarray) -> float:
    # sum over thresholds (distinct scores, descending) of (recall step) * precision there
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[scores[1:] != scores[:-1], True]
    true_positives = np.cumsum(labels)[last_of_tie]
    predicted = (np.arange(scores.size) + 1)[last_of_tie]
    precision = true_positives / predicted
    recall_steps = np.diff(np.r_[0.0, true_positives]) / labels.sum()
    return float(np.sum(recall_steps * precision))


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve of ``scores`` against binary ``labels``, both ``(n,)`` or
    ``(n, tasks)`` (NaN labels ignored; mean over tasks with both classes, as OGB does)."""
    return float(np.mean([_roc_auc_one(y, s) for y, s in _binary_columns(labels, scores)]))


def average_precision(labels, scores) -> float:
    """Average precision (area under the precision-recall steps, no interpolation), shapes as
    :func:`roc_auc`."""
    return float(np.mean([_average_precision_one(y, s) for y, s in _binary_columns(labels, scores)]))


def _pair_scores(positive, negative) -> tuple[np.ndarray, np.ndarray]:
    positive = _as_1d("positive scores", positive)
    negative = np.asarray(negative, dtype=np.float64)
    if not (np.all(np.isfinite(positive)) and np.all(np.isfinite(negative))):
        raise ValueError("scores must be finite")
    return positive, negative


def hits_at_k(positive, negative, k: int) -> float:
    """OGB's Hits@K: the share of ``positive (n,)`` scores above the k-th highest of the shared
    ``negative (m,)`` scores (1.0 when there are fewer than k negatives)."""
    positive, negative = _pair_scores(positive, negative)
    if k < 1 or negative.ndim != 1:
        raise ValueError("k must be >= 1 and the negative scores one-dimensional")
    if negative.size < k:
        return 1.0
    threshold = np.partition(negative, negative.size - k)[negative.size - k]
    return float(np.mean(positive > threshold)) if positive.size else float("nan")


def mrr(positive, negative) -> float:
    """OGB's mean reciprocal rank: each ``positive[i]`` ranked among its own ``negative[i, :]``
    (shape ``(n, m)``), ties counting half."""
    positive, negative = _pair_scores(positive, negative)
    if negative.ndim != 2 or negative.shape[0] != positive.shape[0]:
        raise ValueError(f"negative scores must have shape ({positive.shape[0]}, m), "
                         f"got {negative.shape}")
    above = (negative > positive[:, None]).sum(axis=1)
    tied = (negative >= positive[:, None]).sum(axis=1)
    return float(np.mean(1.0 / (0.5 * (above + tied) + 1))) if positive.size else float("nan")


def _ranking_hits(ranked, relevant_indptr, relevant_indices, users) -> tuple[np.ndarray, ...]:
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ValueError(f"ranked items must have shape (users, k), got {ranked.shape}")
    users = np.asarray(users, dtype=np.int64)
    indptr = np.asarray(relevant_indptr, dtype=np.int64)
    if users.shape != (ranked.shape[0],) or (users.size and (users.min() < 0
                                                              or users.max() >= indptr.size - 1)):
        raise ValueError("users must give one valid user id per row of the ranked items")
    relevant_indices = np.asarray(relevant_indices)
    counts = indptr[users + 1] - indptr[users]
    hits = np.zeros(ranked.shape, dtype=bool)
    for row, user in enumerate(users):
        held_out = relevant_indices[indptr[user]:indptr[user + 1]]
        hits[row] = np.isin(ranked[row], held_out)
    return hits, counts


def recall_at_k(ranked, relevant_indptr, relevant_indices, users) -> float:
    """Mean over users with held-out items of ``|top-k ∩ held-out| / |held-out|``.

    ``ranked (U, k)``: item ids, best first, one row per entry of ``users (U,)``; each user's
    held-out items are ``relevant_indices[relevant_indptr[u]:relevant_indptr[u + 1]]``.
    """
    hits, counts = _ranking_hits(ranked, relevant_indptr, relevant_indices, users)
    kept = counts > 0
    return float(np.mean(hits[kept].sum(axis=1) / counts[kept])) if kept.any() else float("nan")


def ndcg_at_k(ranked, relevant_indptr, relevant_indices, users) -> float:
    """Mean NDCG@k over users with held-out items (binary relevance, ``1 / log2(rank + 1)``),
    arguments as :func:`recall_at_k`."""
    hits, counts = _ranking_hits(ranked, relevant_indptr, relevant_indices, users)
    k = hits.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)
    kept = counts > 0
    if not kept.any():
        return float("nan")
    dcg = (hits[kept] * discounts).sum(axis=1)
    return float(np.mean(dcg / ideal[np.minimum(counts[kept], k) - 1]))
