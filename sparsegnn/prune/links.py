"""Pruning a link predictor: its weights (encoder and decoder), and the edges that message
passing sees (the UGS setting), fine-tuned on the link objective with the masks fixed.

``LinkTask`` is what ``prune_model``'s schedules train and score for link prediction:
``fit_links`` on the split's training pairs, ROC-AUC (and AP) on its held-out pairs. Only
the message-passing graph is pruned; the held-out pairs stay as they are, so the scores before
and after are on the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..data.dataset import Dataset
from ..data.links import LinkSplit
from ..graph import Graph
from ..nn.link import LinkPredictor, evaluate_links, fit_links
from ..nn.train import TrainConfig
from .edges import degree_scores, random_edge_scores
from .unstructured import magnitude, random_scores

__all__ = ["LinkTask", "LINK_CRITERIA", "LINK_EDGE_CRITERIA"]

LINK_CRITERIA = ("magnitude", "random")
LINK_EDGE_CRITERIA = ("degree", "random")


@dataclass(frozen=True)
class LinkTask:
    dataset: Dataset
    split: LinkSplit

    @property
    def graph(self) -> Graph:
        return self.split.graph

    def with_graph(self, graph: Graph) -> LinkTask:
        return replace(self, split=replace(self.split, graph=graph))

    def fit(self, model: LinkPredictor, config: TrainConfig):
        return fit_links(model, self.dataset, self.split, config)

    def evaluate(self, model: LinkPredictor) -> dict:
        scores = evaluate_links(model, self.dataset, self.split)
        return {"val": scores["val"]["roc_auc"], "test": scores["test"]["roc_auc"],
                "val_average_precision": scores["val"]["average_precision"],
                "test_average_precision": scores["test"]["average_precision"]}

    def weight_scores(self, criterion: str, model, seed: int, finetune: TrainConfig):
        if criterion == "magnitude":
            return magnitude(model)
        if criterion == "random":
            return random_scores(seed)(model)
        raise ValueError(f"link prediction prunes weights by {LINK_CRITERIA}, not {criterion!r}")

    def edge_scores(self, criterion: str, model, fraction: float, seed: int) -> np.ndarray:
        if criterion in ("auto", "degree"):  # edges between hubs go first
            return degree_scores(self.graph)
        if criterion == "random":
            return random_edge_scores(self.graph, seed)
        raise ValueError(f"link prediction prunes edges by {LINK_EDGE_CRITERIA}, not {criterion!r}")
