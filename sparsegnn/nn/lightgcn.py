"""LightGCN (He et al., SIGIR 2020) for user-item recommendation, trained with BPR.

Users and items get free embeddings ``E0 (U + I, D)``; ``K`` propagations over the symmetric
normalised bipartite graph ``A_hat = D^-1/2 A D^-1/2`` (``A = [[0, R], [R^T, 0]]``, ``R`` the
training interactions) give ``E_k = A_hat E_{k-1}``, and the final embeddings are their mean
``(E0 + ... + EK) / (K + 1)``. A user's score for an item is the dot product of their final
embeddings.

``fit_recommender`` trains with the BPR loss over (user, item seen in training, item not seen)
triples, one uniformly sampled unseen item per training interaction and epoch, plus L2 on the
batch's initial embeddings (LightGCN's ``decay``); it selects the epoch by validation Recall@20
and reports Recall@20 and NDCG@20 on test, ranking every item not seen in training.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import metrics
from ..data.recsys import Interactions
from ..sparse import CSRMatrix
from .train import BestEpoch, _progress, seed_everything

__all__ = ["LightGCN", "RecommenderConfig", "RecommenderResult", "fit_recommender",
           "bipartite_adjacency", "evaluate_ranking", "top_k_items", "unseen_negatives"]


def bipartite_adjacency(interactions: CSRMatrix) -> Tensor:
    """``A_hat`` of the ``(U, I)`` interactions as a torch sparse CSR matrix ``(U + I, U + I)``:
    users first, then items, each edge weighted ``1 / sqrt(deg u * deg i)``. Symmetric (the
    propagation's backward relies on it); built from a validated CSRMatrix, so torch's
    invariant checks are not repeated."""
    num_users, num_items = interactions.shape
    users = interactions.row_ids().astype(np.int64)
    items = interactions.indices.astype(np.int64) + num_users
    degree = np.bincount(np.concatenate([users, items]), minlength=num_users + num_items)
    scale = np.zeros(degree.shape, dtype=np.float64)
    np.divide(1.0, np.sqrt(degree), out=scale, where=degree > 0)
    rows, cols = np.concatenate([users, items]), np.concatenate([items, users])
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(num_users + num_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_users + num_items), out=indptr[1:])
    values = (scale[rows] * scale[cols]).astype(np.float32)
    size = (num_users + num_items,) * 2
    with warnings.catch_warnings():  # "sparse CSR support is in beta": it is what we test
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(torch.from_numpy(indptr), torch.from_numpy(cols),
                                       torch.from_numpy(values), size, check_invariants=False)


class _SymmetricPropagation(torch.autograd.Function):
    """``A @ E`` for a symmetric sparse ``A``: the gradient ``A^T @ G`` is ``A @ G``, one more
    CSR product instead of torch's generic sparse backward (several times slower)."""

    @staticmethod
    def forward(ctx, adjacency: Tensor, embeddings: Tensor) -> Tensor:
        ctx.adjacency = adjacency
        return adjacency @ embeddings

    @staticmethod
    def backward(ctx, gradient: Tensor):
        return None, ctx.adjacency @ gradient


class LightGCN(torch.nn.Module):
    """Shapes: ``propagate(adjacency)`` -> users ``(U, D)``, items ``(I, D)``."""

    kind = "lightgcn"

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64,
                 num_layers: int = 3, masked: bool = False):
        super().__init__()
        if min(num_users, num_items, embedding_dim) < 1 or num_layers < 0:
            raise ValueError("users, items and embedding_dim must be >= 1, num_layers >= 0")
        self.num_users, self.num_items = int(num_users), int(num_items)
        self.embedding_dim, self.num_layers = int(embedding_dim), int(num_layers)
        self.user_embedding = torch.nn.Embedding(num_users, embedding_dim)
        self.item_embedding = torch.nn.Embedding(num_items, embedding_dim)
        torch.nn.init.normal_(self.user_embedding.weight, std=0.1)  # LightGCN's initialisation
        torch.nn.init.normal_(self.item_embedding.weight, std=0.1)
        self.masked = bool(masked)
        if self.masked:  # pruned entries of the embedding tables (1 kept, 0 pruned)
            self.register_buffer("embedding_mask", torch.ones(num_users + num_items, embedding_dim))

    @property
    def config(self) -> dict:
        config = {"kind": self.kind, "num_users": self.num_users, "num_items": self.num_items,
                  "embedding_dim": self.embedding_dim, "num_layers": self.num_layers}
        if self.masked:
            config["masked"] = True
        return config

    def set_mask(self, keep: Tensor) -> None:
        """Prune the embedding entries where ``keep (U + I, D)`` is False: they read as zero
        from now on and get no gradient."""
        shape = (self.num_users + self.num_items, self.embedding_dim)
        if tuple(keep.shape) != shape:
            raise ValueError(f"the mask must have shape {shape}, got {tuple(keep.shape)}")
        if not self.masked:
            self.masked = True
            self.register_buffer("embedding_mask", torch.ones_like(keep, dtype=torch.float32))
        self.embedding_mask.copy_(keep.float())

    def initial_embeddings(self) -> Tensor:
        """``E0 (U + I, D)``: users, then items, with pruned entries zero."""
        embeddings = torch.cat([self.user_embedding.weight, self.item_embedding.weight])
        return embeddings * self.embedding_mask if self.masked else embeddings

    def propagate(self, adjacency: Tensor) -> tuple[Tensor, Tensor]:
        embeddings = self.initial_embeddings()
        total = embeddings
        for _ in range(self.num_layers):
            embeddings = _SymmetricPropagation.apply(adjacency, embeddings)
            total = total + embeddings
        total = total / (self.num_layers + 1)
        return total[: self.num_users], total[self.num_users:]

    def forward(self, adjacency: Tensor, users: Tensor, items: Tensor) -> Tensor:
        """Scores of ``(users[j], items[j])`` pairs. Shape ``(P,)``."""
        user_final, item_final = self.propagate(adjacency)
        return (user_final[users] * item_final[items]).sum(dim=-1)


def unseen_negatives(users: np.ndarray, seen: CSRMatrix, rng: np.random.Generator) -> np.ndarray:
    """One item per entry of ``users`` drawn uniformly from the items that user has not seen."""
    num_items = seen.shape[1]
    seen_keys = seen.row_ids().astype(np.int64) * num_items + seen.indices  # sorted: CSR order
    negatives = rng.integers(0, num_items, size=users.size)
    redraw = np.arange(users.size)
    while redraw.size:  # users see a small share of the catalogue: few rounds
        keys = users[redraw] * num_items + negatives[redraw]
        position = np.minimum(np.searchsorted(seen_keys, keys), seen_keys.size - 1)
        redraw = redraw[seen_keys[position] == keys]
        negatives[redraw] = rng.integers(0, num_items, size=redraw.size)
    return negatives


def top_k_items(user_final: Tensor, item_final: Tensor, users: np.ndarray, exclude: CSRMatrix,
                k: int, batch: int = 1024) -> np.ndarray:
    """Each user's ``k`` best items by score, best first, leaving out the user's row of
    ``exclude``. Shape ``(len(users), k)``."""
    ranked = np.empty((users.size, k), dtype=np.int64)
    with torch.no_grad():
        for start in range(0, users.size, batch):
            chosen = users[start:start + batch]
            scores = user_final[torch.from_numpy(chosen)] @ item_final.T
            rows = exclude.take_rows(chosen)
            scores[torch.from_numpy(rows.row_ids().astype(np.int64)),
                   torch.from_numpy(rows.indices.astype(np.int64))] = -torch.inf
            ranked[start:start + batch] = torch.topk(scores, k, dim=1).indices.numpy()
    return ranked


def evaluate_ranking(model: LightGCN, adjacency: Tensor, interactions: Interactions, part: str,
                     k: int = 20) -> dict:
    """Recall@k and NDCG@k on ``part`` ("valid" or "test") over the users with items there,
    ranking every item not seen in training."""
    model.eval()
    with torch.no_grad():
        user_final, item_final = model.propagate(adjacency)
    held_out = interactions.part(part)
    users = np.flatnonzero(np.diff(held_out.indptr) > 0)
    ranked = top_k_items(user_final, item_final, users, interactions.train, k)
    return {f"recall@{k}": metrics.recall_at_k(ranked, held_out.indptr, held_out.indices, users),
            f"ndcg@{k}": metrics.ndcg_at_k(ranked, held_out.indptr, held_out.indices, users)}


@dataclass
class RecommenderConfig:
    """BPR training. ``eval_every`` epochs the validation Recall@k is computed; training stops
    after ``patience`` evaluations without a gain (None: never)."""

    epochs: int = 50
    batch_size: int = 8192
    lr: float = 0.005
    decay: float = 1e-4  # L2 on the batch's initial embeddings, LightGCN's regulariser
    eval_every: int = 5
    patience: int | None = 4
    k: int = 20
    seed: int = 0
    progress: bool = True
    # with a teacher (``fit_recommender``): weight of the squared gap between the batch's
    # positive-minus-negative score margins and the teacher's (prediction-level distillation)
    distill: float = 0.0

    def __post_init__(self):
        if min(self.epochs, self.batch_size, self.eval_every, self.k) < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size, eval_every and k must be >= 1 and lr > 0")
        if self.decay < 0 or self.distill < 0:
            raise ValueError("decay and distill must be >= 0")


@dataclass
class RecommenderResult:
    best_epoch: int
    val: dict
    test: dict
    epochs_run: int
    seconds: float
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("history")
        return data


def fit_recommender(model: LightGCN, interactions: Interactions,
                    config: RecommenderConfig | None = None,
                    adjacency: Tensor | None = None,
                    teacher: tuple[Tensor, Tensor] | None = None) -> RecommenderResult:
    """Train ``model`` with BPR on ``interactions.train`` (message passing over ``adjacency``,
    by default that of the training interactions), restore the best validation epoch, and
    score test once at the end. ``teacher``: final ``(user (U, D), item (I, D))`` embeddings
    of a model to distil from (``config.distill`` weighs how closely the batch's score
    margins follow its)."""
    config = config or RecommenderConfig()
    if (model.num_users, model.num_items) != interactions.train.shape:
        raise ValueError(f"the model has {model.num_users} users and {model.num_items} items, "
                         f"the interactions {interactions.train.shape}")
    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    adjacency = adjacency if adjacency is not None else bipartite_adjacency(interactions.train)
    train = interactions.train
    users_all = train.row_ids().astype(np.int64)
    items_all = train.indices.astype(np.int64)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    recall_key = f"recall@{config.k}"
    best, history = BestEpoch(config.patience), []
    started = time.perf_counter()
    with _progress(config.progress, config.epochs, "training lightgcn") as tick:
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = rng.permutation(users_all.size)
            negatives_all = unseen_negatives(users_all[order], train, rng)
            total = 0.0
            for start in range(0, order.size, config.batch_size):
                batch = order[start:start + config.batch_size]
                users = torch.from_numpy(users_all[batch])
                positives = torch.from_numpy(items_all[batch])
                negatives = torch.from_numpy(negatives_all[start:start + config.batch_size])
                user_final, item_final = model.propagate(adjacency)
                user_vectors = user_final[users]
                margin = ((user_vectors * item_final[positives]).sum(-1)
                          - (user_vectors * item_final[negatives]).sum(-1))
                ego = model.initial_embeddings()
                items_ego = ego[model.num_users:]
                initial = (ego[users].square().sum() + items_ego[positives].square().sum()
                           + items_ego[negatives].square().sum())
                loss = -F.logsigmoid(margin).mean() + config.decay * initial / (2 * batch.size)
                if teacher is not None and config.distill:
                    teacher_users = teacher[0][users]
                    teacher_margin = ((teacher_users * teacher[1][positives]).sum(-1)
                                      - (teacher_users * teacher[1][negatives]).sum(-1))
                    loss = loss + config.distill * (margin - teacher_margin).square().mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * batch.size
            record = {"epoch": epoch, "loss": total / order.size}
            stop = False
            if epoch % config.eval_every == 0 or epoch == config.epochs:
                record["val"] = evaluate_ranking(model, adjacency, interactions, "valid", config.k)
                stop = best.offer(record["val"][recall_key], record, model)
            history.append(record)
            tick(loss=record["loss"], **({"val": record["val"][recall_key]} if "val" in record
                                         else {}))
            if stop:
                break
    best_record = best.restore(model)
    test = evaluate_ranking(model, adjacency, interactions, "test", config.k)
    return RecommenderResult(best_epoch=best_record["epoch"], val=best_record["val"], test=test,
                             epochs_run=len(history), seconds=time.perf_counter() - started,
                             history=history)
