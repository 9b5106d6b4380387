"""Link prediction: a GNN encoder, a pair decoder, and their training with sampled negatives.

``LinkPredictor`` embeds nodes with any node-level model of :mod:`sparsegnn.nn.models` (GCN,
GraphSAGE, GIN, GAT, SGC) and scores a pair ``(u, v)`` by

- ``dot``: ``z_u · z_v`` (GAE; Kipf & Welling, 2016), or
- ``mlp``: an MLP on the Hadamard product ``z_u ⊙ z_v`` (PyG's link examples, OGB baselines).

Scores are logits: ``sigmoid(score)`` is the predicted probability of an edge. ``fit_links``
trains with binary cross-entropy over the training pairs against as many uniformly sampled node
pairs per epoch, and selects the epoch by validation ROC-AUC (the GAE protocol; AP reported
beside it). Message passing sees only the split's training pairs.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import metrics
from ..data.dataset import Dataset
from ..data.links import LinkSplit
from .graph_tensors import TorchGraph
from .layers import MLP
from .models import build_model
from .train import BestEpoch, TrainConfig, TrainResult, _progress, feature_tensor, seed_everything

__all__ = ["LinkPredictor", "DECODERS", "fit_links", "evaluate_links", "link_inputs"]

DECODERS = ("dot", "mlp")


class LinkPredictor(torch.nn.Module):
    """An encoder (a node-level model's config) and a pair decoder.

    Shapes: ``x (N, F)``, ``pairs (2, P)`` -> scores ``(P,)`` (logits).
    """

    kind = "link"

    def __init__(self, encoder: dict, decoder: str = "dot", decoder_hidden: int = 64):
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        self.encoder = build_model(encoder)
        if self.encoder.pool is not None:
            raise ValueError("a link predictor's encoder embeds nodes: it takes no pool")
        self.decoder_name, self.decoder_hidden = decoder, int(decoder_hidden)
        width = self.encoder.output_channels
        self.decoder = MLP([width, self.decoder_hidden, 1]) if decoder == "mlp" else None

    @property
    def config(self) -> dict:
        return {"kind": self.kind, "encoder": self.encoder.config, "decoder": self.decoder_name,
                "decoder_hidden": self.decoder_hidden}

    @property
    def embedding_channels(self) -> int:
        return self.encoder.output_channels

    def embed(self, x: Tensor, graph) -> Tensor:
        """Node embeddings ``(N, D)``."""
        return self.encoder(x, graph)

    def score(self, z: Tensor, pairs: Tensor) -> Tensor:
        """Logits of ``pairs (2, P)`` from embeddings ``z (N, D)``. Shape ``(P,)``."""
        product = z[pairs[0]] * z[pairs[1]]
        if self.decoder is None:
            return product.sum(dim=-1)
        return self.decoder(product).view(-1)

    def forward(self, x: Tensor, graph, pairs: Tensor) -> Tensor:
        return self.score(self.embed(x, graph), pairs)


def link_inputs(dataset: Dataset, split: LinkSplit) -> tuple[Tensor, TorchGraph]:
    """Features and the split's message-passing graph as torch inputs."""
    return feature_tensor(dataset.x), TorchGraph.from_graph(split.graph)


# OGB's link benchmarks rank positives against shared negatives at these K (ddi 20, collab
# 50, ppa 100); reported beside the GAE protocol's ROC-AUC and AP.
HITS_AT = (20, 50, 100)


def _pair_metrics(model: LinkPredictor, z: Tensor, split: LinkSplit, part: str) -> dict:
    pairs, labels = split.labelled(part)
    with torch.no_grad():
        scores = model.score(z, torch.from_numpy(pairs)).double().numpy()
    positive, negative = scores[labels == 1], scores[labels == 0]
    return {"roc_auc": metrics.roc_auc(labels, scores),
            "average_precision": metrics.average_precision(labels, scores),
            **{f"hits@{k}": metrics.hits_at_k(positive, negative, k) for k in HITS_AT}}


def evaluate_links(model: LinkPredictor, dataset: Dataset, split: LinkSplit) -> dict:
    """``{"val": {...}, "test": {...}}``: ROC-AUC, AP and Hits@K (``HITS_AT``, against the
    part's own negatives) of each held-out part (a part without pairs is left out)."""
    x, graph = link_inputs(dataset, split)
    model.eval()
    with torch.no_grad():
        z = model.embed(x, graph)
    return {part: _pair_metrics(model, z, split, part) for part in ("val", "test")
            if getattr(split, part).shape[1]}


def fit_links(model: LinkPredictor, dataset: Dataset, split: LinkSplit,
              config: TrainConfig | None = None) -> TrainResult:
    """Train ``model`` on ``split``'s training pairs and restore its best validation epoch
    (ROC-AUC). Scores in the result are ROC-AUC; ``details`` holds the AP."""
    config = config or TrainConfig()
    if config.teacher is not None:
        raise ValueError("distillation is not implemented for link prediction")
    if split.val.shape[1] == 0:
        raise ValueError("link prediction selects its epoch on validation pairs: the split has none")
    seed_everything(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    x, graph = link_inputs(dataset, split)
    positives = torch.from_numpy(split.train)
    num_nodes, count = dataset.num_nodes, positives.shape[1]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best, history, started = BestEpoch(config.patience), [], time.perf_counter()
    with _progress(config.progress, config.epochs, f"training link {model.encoder.kind} on "
                   f"{dataset.name}") as tick:
        for epoch in range(1, config.epochs + 1):
            model.train()
            optimizer.zero_grad()
            z = model.embed(x, graph)
            negatives = torch.randint(0, num_nodes, (2, count), generator=generator)
            logits = model.score(z, torch.cat([positives, negatives], dim=1))
            targets = torch.cat([torch.ones(count), torch.zeros(count)])
            loss = F.binary_cross_entropy_with_logits(logits, targets)
            if config.l1:
                loss = loss + config.l1 * sum(m.weight.abs().sum() for m in model.modules()
                                              if isinstance(m, torch.nn.Linear))
            loss.backward()
            optimizer.step()
            model.eval()
            with torch.no_grad():
                z = model.embed(x, graph)
            val, test = (_pair_metrics(model, z, split, part) for part in ("val", "test"))
            record = {"epoch": epoch, "loss": float(loss.detach()), "val": val["roc_auc"],
                      "test": test["roc_auc"], "val_ap": val["average_precision"],
                      "test_ap": test["average_precision"],
                      "test_hits": {key: test[key] for key in test if key.startswith("hits@")}}
            history.append(record)
            tick(loss=record["loss"], val=record["val"])
            if best.offer((record["val"], record["val_ap"]), record, model):
                break
    best_record = best.restore(model)
    return TrainResult(
        best_epoch=best_record["epoch"], train_score=float("nan"), val_score=best_record["val"],
        test_score=best_record["test"], epochs_run=len(history),
        seconds=time.perf_counter() - started, metric="roc_auc", history=history,
        details={"val_average_precision": best_record["val_ap"],
                 "test_average_precision": best_record["test_ap"],
                 "test_hits": best_record["test_hits"], "split": split.summary()},
    )
