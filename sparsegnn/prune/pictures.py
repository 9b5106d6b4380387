"""The report of one pruning run (``sparsegnn prune --report``): the data that
``sparsegnn.report`` draws, taken from the models before and after, the run's masks and graph,
and the size and latency measured through the runtime."""

from __future__ import annotations

from ..data.dataset import Dataset
from ..metrics import format_score
from ..report import PruneReport, degrees, ego_net, feature_labels, whole_graph
from .auto import format_cost, model_costs
from .masks import prunable_weights
from .schedules import PruneResult

__all__ = ["pruning_report"]


def pruning_report(dense, pruned, dataset: Dataset, result: PruneResult, structured: dict | None,
                   metric: str) -> PruneReport:
    """What ``sparsegnn prune --report`` draws: ``dense`` (the model before) against
    ``pruned`` (masks baked) and ``result``'s masks and graph; ``structured`` is
    ``prune_channels``'s record (or None). Size and latency are measured here, through an
    exported artifact and the runtime (``prune.auto.model_cost``)."""
    graph = result.graph if result.graph is not None else (
        None if dataset.is_graph_task else dataset.graph)
    table = [(f"{part} {metric}", format_score(result.before[part], metric),
              format_score(result.after[part], metric)) for part in ("val", "test")]
    dense_weights = sum(int(m.weight.count_nonzero()) for m in prunable_weights(dense).values())
    kept = sum(int(mask.sum()) for mask in result.masks.weights.values())
    table.append(("weights stored", f"{dense_weights:,}", f"{kept:,}"))
    if structured:
        table.append(("hidden width", str(structured["hidden_before"]),
                      str(structured["hidden_after"])))
    if not dataset.is_graph_task:
        table.append(("edges", f"{dataset.graph.num_edges:,}", f"{graph.num_edges:,}"))
    before = model_costs(("size", "latency"), dense, dataset)
    after = model_costs(("size", "latency"), pruned, dataset, graph, pattern=result.masks.pattern)
    for objective, label, gain in (("size", "artifact size", "smaller"),
                                   ("latency", "runtime latency (1 thread)", "faster")):
        table.append((label, format_cost(before[objective], objective),
                      f"{format_cost(after[objective], objective)} "
                      f"({before[objective] / after[objective]:.2f}x {gain})"))
    channels = []
    if structured:
        unit = "heads" if dense.kind == "gat" else "channels"
        width = dense.convs[0].out_channels if dense.kind == "gat" else 1
        channels = [(f"hidden {layer}", structured["hidden_before"] // width,
                     structured["hidden_after"] // width, unit)
                    for layer in range(dense.num_layers - 1)]
    if dataset.is_graph_task:
        index = int(dataset.splits[0].val[0])
        small, x = dataset.graph_at(index)
        small_graph = whole_graph(small, feature_labels(x),
                                  f"graph {index} of {dataset.name} (graph tasks prune no "
                                  f"edges; colour: a node's largest input feature)", "feature")
    else:
        small_graph = ego_net(dataset.graph, graph, dataset.y)
    return PruneReport(
        title=f"{dense.kind} on {dataset.name}: {100 * result.masks.sparsity:.1f} % of the "
              f"weights pruned" + (f", {100 * (1 - result.edges_kept):.1f} % of the edges"
                                   if result.graph is not None else ""),
        masks=result.masks.weights, table=table, channels=channels,
        degrees_before=None if result.graph is None else degrees(dataset.graph),
        degrees_after=None if result.graph is None else degrees(result.graph),
        small_graph=small_graph,
        notes=["latency: the sparsegnn runtime, one thread, median of 10 calls on this "
               "machine; size: the .sgnn artifact" + (" with its graph" if graph is not None
                                                      else "")])
