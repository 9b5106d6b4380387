"""Explainability-based importance: what the trained model's own explanations say it uses.

Two families, both scored against the model's own predictions (no label is read), on every
node of a node task (``nodes="train"``: the split's training nodes only) or on a fixed batch of
a graph task's training graphs. Explaining every node matters for edges: 140 training nodes
see a small part of Cora, and an edge outside every explained receptive field gets no signal,
so its mask only drifts with the size penalty (docs/pruning-results.md has the comparison):

* ``integrated_gradients``: attributions of every weight (Sundararajan et al., 2017), with the
  weights as the input being attributed: the path scales every prunable weight matrix from 0 to
  its trained value together, and a weight's attribution is ``w · mean_k dF/dw (α_k w)`` over
  ``steps`` midpoints, where ``F`` is the summed log-probability of the model's predicted class
  (its output, for regression). Attributions add up to ``F(model) - F(weights at zero)``
  (completeness); the criterion scores ``|attribution|``. ``ig_channel_scores`` sums them over
  a hidden channel's group (``prune.structured``) for channel and head pruning.
* ``explain_masks``: learned soft masks in the style of GNNExplainer (Ying et al., 2019): a
  sigmoid mask over every Linear layer's input channels (for the first layer, the input
  features) and, for models that weigh edges (GCN), one over the undirected edges, optimised
  so that the masked model keeps its predictions under size and entropy penalties. One mask is
  learned for all the explained outputs together, not one per node: the average explanation
  is what pruning needs. A weight scores
  ``|w_ij| · m_j`` (magnitude, times how much the explanation keeps its input channel); an
  edge scores its mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..data.dataset import GRAPH_REGRESSION, Dataset
from ..nn.graph_tensors import TorchGraph
from ..nn.layers import effective_weight
from ..nn.train import node_inputs, seed_everything
from .edges import EdgePairs, _check_edge_weighted, _pair_weighting
from .masks import prunable_weights

__all__ = ["Explanation", "explain_masks", "explainer_scores", "integrated_gradients",
           "ig_channel_scores", "explained_forward", "MAX_EXPLAINED_GRAPHS"]

# Graph tasks are explained on one fixed batch of at most this many training graphs.
MAX_EXPLAINED_GRAPHS = 512

Scores = dict[str, np.ndarray]


def explained_forward(dataset: Dataset, split: int = 0, seed: int = 0, nodes: str = "all"):
    """``forward(model, params=None, inputs=None) -> outputs`` on what is explained: the nodes
    of the one graph (``nodes``: "all", or "train" for the split's training nodes), or one
    fixed batch of up to ``MAX_EXPLAINED_GRAPHS`` training graphs. ``params`` replaces named
    parameters (``torch.func.functional_call``); ``inputs`` replaces the node task's
    ``(x, graph)``. Shape: ``(n, C)``."""
    if nodes not in ("all", "train"):
        raise ValueError(f"nodes must be 'all' or 'train', got {nodes!r}")
    chosen = dataset.splits[split]
    if not dataset.is_graph_task:
        x, graph, _ = node_inputs(dataset)
        part = torch.from_numpy(chosen.train) if nodes == "train" else slice(None)

        def forward(model, params=None, inputs=None):
            args = inputs if inputs is not None else (x, graph)
            return functional_call(model, params or {}, args)[part]

        return forward
    ids = np.asarray(chosen.train)
    if ids.size > MAX_EXPLAINED_GRAPHS:
        ids = np.sort(np.random.default_rng(seed).choice(ids, MAX_EXPLAINED_GRAPHS, replace=False))
    graph, x, batch = dataset.select_graphs(ids)
    args = (torch.from_numpy(x), TorchGraph.from_graph(graph), torch.from_numpy(batch))

    def forward(model, params=None, inputs=None):
        return functional_call(model, params or {}, args, {"num_graphs": int(ids.size)})

    return forward


def _weight_parameters(model) -> dict[str, tuple[str, torch.Tensor]]:
    """Per prunable weight key: the parameter that holds it (``weight_orig`` when a mask is
    applied: scaling it scales the masked weight) and the effective weight. Shapes ``(out, in)``."""
    return {f"{name}.weight": (f"{name}.weight_orig" if hasattr(module, "weight_orig")
                               else f"{name}.weight", effective_weight(module).detach())
            for name, module in prunable_weights(model).items()}


def _own_prediction_objective(dataset: Dataset, reference: torch.Tensor):
    """``F(outputs)``: the summed log-probability of the classes ``reference`` predicts (the
    summed output for regression). Shape: a scalar."""
    if dataset.task == GRAPH_REGRESSION:
        return lambda out: out.sum()
    predicted = reference.argmax(dim=-1, keepdim=True)
    return lambda out: F.log_softmax(out, dim=-1).gather(1, predicted).sum()


def integrated_gradients(model, dataset: Dataset, split: int = 0, *, steps: int = 16,
                         nodes: str = "all", seed: int = 0) -> Scores:
    """Signed integrated-gradient attribution of every prunable weight (see the module doc).
    Shapes: each ``(out, in)``, keyed like ``MaskSet``. The model is not changed."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    forward = explained_forward(dataset, split, seed, nodes)
    was_training = model.training
    model.eval()
    weights = _weight_parameters(model)
    with torch.no_grad():
        objective = _own_prediction_objective(dataset, forward(model))
    totals = {key: torch.zeros_like(value) for key, (_, value) in weights.items()}
    for k in range(steps):
        alpha = (k + 0.5) / steps
        scaled = {key: (alpha * value).requires_grad_(True) for key, (_, value) in weights.items()}
        params = {weights[key][0]: tensor for key, tensor in scaled.items()}
        grads = torch.autograd.grad(objective(forward(model, params)), list(scaled.values()),
                                    allow_unused=True)
        for key, grad in zip(scaled, grads):
            if grad is not None:
                totals[key] += grad
    model.train(was_training)
    return {key: (weights[key][1] * totals[key] / steps).numpy().astype(np.float64)
            for key in weights}


def ig_channel_scores(model, dataset: Dataset, split: int = 0, *, steps: int = 16,
                      seed: int = 0) -> dict[int, np.ndarray]:
    """Per hidden boundary, ``|Σ attribution|`` over each unit's group (its producer rows and
    consumer columns; ``prune.structured.channel_groups``). Shapes: ``(units,)`` per layer."""
    from .structured import _per_unit, channel_groups, unit_width

    attributions = integrated_gradients(model, dataset, split, steps=steps, seed=seed)
    width = unit_width(model)
    scores = {}
    for group in channel_groups(model):
        total = 0.0
        for name in group["producers"]:
            total = total + attributions[f"{name}.weight"].sum(axis=1)
        for name in group["consumers"]:
            total = total + attributions[f"{name}.weight"].sum(axis=0)
        scores[group["id"]] = np.abs(_per_unit(torch.from_numpy(np.asarray(total)), width).numpy())
    return scores


@dataclass
class Explanation:
    """Learned masks in [0, 1]: ``channels[key]`` over the inputs of each prunable weight
    (shape ``(in,)``; the first layer's are the input features; empty if not learned) and ``edges`` over the
    undirected pairs (``(num_pairs,)``, ``prune.edges.EdgePairs`` order) or None."""

    channels: dict[str, np.ndarray]
    edges: np.ndarray | None
    fidelity: float  # share of explained outputs whose predicted class the masked model keeps


def _entropy(mask: torch.Tensor) -> torch.Tensor:
    mask = mask.clamp(1e-6, 1 - 1e-6)
    return -(mask * mask.log() + (1 - mask) * (1 - mask).log()).mean()


def explain_masks(model, dataset: Dataset, split: int = 0, *, epochs: int = 100,
                  lr: float = 0.05, channels: bool = True, edges: bool = False,
                  channel_size: float = 1.0,
                  channel_entropy: float = 0.1, edge_size: float = 1.0,
                  edge_entropy: float = 0.1, nodes: str = "all", seed: int = 0) -> Explanation:
    """Learn GNNExplainer-style masks (see the module doc) with Adam for ``epochs`` steps.

    The loss is the cross-entropy of the masked model's explained outputs against the unmasked
    model's predicted classes (squared error to its outputs, for regression), plus ``*_size``
    times a mask's mean and ``*_entropy`` times its mean binary entropy (which pushes it towards
    0 or 1). PyG's GNNExplainer sums the edge mask for its size term, which suits one node's
    few dozen edges; over a whole graph's edges the mean keeps the same balance. The size terms
    must outweigh the entropy terms, or a mask that nothing needs drifts to 1 with the entropy.
    ``channels`` and ``edges`` choose the masks learned (the edge mask needs a model that weighs
    edges); the criteria learn each alone: learned together on a GCN, the channel masks took
    the predictions with them, and the edge mask ranked edges worse than random. The model is
    not changed.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not channels and not edges:
        raise ValueError("nothing to explain: ask for channel masks, an edge mask, or both")
    if edges:
        if dataset.is_graph_task:
            raise ValueError("an edge mask is for node tasks (one stored graph)")
        _check_edge_weighted(model, "explainer")
    seed_everything(seed)
    forward = explained_forward(dataset, split, seed, nodes)
    was_training = model.training
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    weights = _weight_parameters(model)
    with torch.no_grad():
        reference = forward(model)
    regression = dataset.task == GRAPH_REGRESSION
    predicted = reference.argmax(dim=-1)
    # GNNExplainer's initialisation: near 1 after the sigmoid, with a little noise
    logits = {key: torch.nn.Parameter(2.0 + 0.1 * torch.randn(value.shape[1]))
              for key, (_, value) in weights.items()} if channels else {}
    edge_logits, weigh = None, None
    if edges:
        edge_logits = torch.nn.Parameter(2.0 + 0.1 * torch.randn(EdgePairs(dataset.graph).num_pairs))
        weigh = _pair_weighting(dataset)
    optimizer = torch.optim.Adam(list(logits.values()) + ([edge_logits] if edges else []), lr=lr)
    try:
        for _ in range(epochs):
            optimizer.zero_grad()
            masks = {key: torch.sigmoid(value) for key, value in logits.items()}
            params = {weights[key][0]: weights[key][1] * masks[key] for key in masks}
            inputs = weigh(torch.sigmoid(edge_logits)) if edges else None
            out = forward(model, params, inputs)
            loss = F.mse_loss(out, reference) if regression else F.cross_entropy(out, predicted)
            for mask in masks.values():
                loss = loss + channel_size * mask.mean() + channel_entropy * _entropy(mask)
            if edges:
                edge_mask = torch.sigmoid(edge_logits)
                loss = loss + edge_size * edge_mask.mean() + edge_entropy * _entropy(edge_mask)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            masks = {key: torch.sigmoid(value) for key, value in logits.items()}
            params = {weights[key][0]: weights[key][1] * masks[key] for key in masks}
            inputs = weigh(torch.sigmoid(edge_logits)) if edges else None
            out = forward(model, params, inputs)
            fidelity = 1.0 if regression else float((out.argmax(dim=-1) == predicted).float().mean())
    finally:
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        model.train(was_training)
    return Explanation(
        channels={key: mask.detach().numpy().astype(np.float64) for key, mask in masks.items()},
        edges=None if not edges else torch.sigmoid(edge_logits).detach().numpy().astype(np.float64),
        fidelity=fidelity)


def explainer_scores(model, explanation: Explanation) -> Scores:
    """Weight scores ``|w_ij| · m_j``: magnitude times the explanation's mask of the input
    channel the weight reads. Shapes: each ``(out, in)``."""
    scores = {}
    for key, (_, weight) in _weight_parameters(model).items():
        mask = explanation.channels.get(key)
        if mask is None:
            raise ValueError(f"the explanation has no channel mask for {key} (learned with "
                             f"channels=False, or for another model)")
        if mask.shape != (weight.shape[1],):
            raise ValueError(f"the explanation's mask for {key} has shape {mask.shape}, the "
                             f"weight reads {weight.shape[1]} inputs")
        scores[key] = weight.abs().numpy().astype(np.float64) * mask[None, :]
    return scores
