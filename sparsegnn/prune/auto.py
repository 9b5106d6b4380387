"""Automatic pruning: the cheapest setting whose validation score stays within a drop
(``sparsegnn prune auto``).

Optuna's Gaussian-process sampler proposes a weight sparsity (sampled as a log-uniform
density, so that 95 % and 99 % get as much attention as 50 % and 90 %), an edge sparsity (node
tasks), a channel sparsity (models whose channels can be removed, when asked) and a pattern,
minimising the cost with the validation drop as a constraint. Each trial prunes a copy of the
trained model with the given recipe and fine-tunes it briefly, then scores it on validation;
its cost is one of:

* ``size``: bytes of the exported artifact (weights as stored, with the graph for node tasks);
* ``flops``: multiply-adds of one inference, counted by forward hooks: stored weights times
  the rows each Linear processes, plus, per message-passing layer, the kept edges times the
  narrower of its input and output widths (an estimate of the aggregation: the runtime
  chooses its order per layer);
* ``latency``: the runtime's median time for one inference on this machine (one thread), on
  the whole graph (node tasks) or a batch of 64 validation graphs.

The search never sees test labels: it works on a copy of the split whose test part is empty.
The chosen trial is the cheapest whose validation drop is at most ``max_drop`` (points, i.e.
100 × the metric, for accuracy and ROC-AUC; the rise in RMSE for regression); its model is kept
from the search (no second pruning run), fine-tuned in full, and its test score is read once,
at the end. Every trial goes into the Pareto front of drop against cost (``write_auto``).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..data.dataset import Dataset, Split
from ..metrics import higher_is_better
from ..nn.layers import effective_weight
from ..nn.models import plain_copy
from ..nn.train import TrainConfig, evaluate, node_inputs
from ..patterns import Pattern
from .masks import MaskSet, prunable_weights
from .schedules import LabelTask, prune_model
from .unstructured import max_global_sparsity

__all__ = ["OBJECTIVES", "SearchSpace", "AutoTrial", "AutoResult", "auto_prune", "model_cost",
           "pareto_front", "format_cost", "model_costs", "auto_markdown", "write_auto"]

OBJECTIVES = ("size", "flops", "latency")
LATENCY_GRAPHS = 64  # graphs per inference for the latency of graph tasks
DROP_TOLERANCE = 1e-9  # 100 * (0.798 - 0.788) is 1.0000000000000009: within a drop of 1


@dataclass(frozen=True)
class SearchSpace:
    """Ranges searched: ``weights`` (sparsity, sampled as a log-uniform density), ``edges`` and
    ``channels`` (sparsity, uniform; None: not searched), and ``patterns`` to choose from."""

    weights: tuple[float, float] = (0.5, 0.995)
    edges: tuple[float, float] | None = (0.0, 0.8)
    channels: tuple[float, float] | None = (0.0, 0.5)
    patterns: tuple[str, ...] = ("unstructured",)

    def __post_init__(self):
        for name in ("weights", "edges", "channels"):
            bounds = getattr(self, name)
            if bounds is None:
                continue
            low, high = bounds
            if not 0.0 <= low <= high < 1.0:
                raise ValueError(f"the {name} range must satisfy 0 <= low <= high < 1, got "
                                 f"{bounds}")
        if not self.patterns:
            raise ValueError("give at least one pattern")
        for pattern in self.patterns:
            if Pattern.parse(pattern).kind == "n:m":
                raise ValueError(f"N:M patterns fix the sparsity; search {pattern} with "
                                 f"`sparsegnn prune --pattern {pattern}` instead")

    def for_model(self, model, dataset: Dataset) -> SearchSpace:
        """This space, less what ``model`` on ``dataset`` cannot prune: edges of graph tasks,
        channels of kinds without channel pruning."""
        from .structured import STRUCTURED_KINDS

        return replace(self, edges=None if dataset.is_graph_task else self.edges,
                       channels=self.channels if model.kind in STRUCTURED_KINDS else None)


@dataclass
class AutoTrial:
    """One pruned candidate: its settings, validation score, drop, cost and whether it is
    within the drop. ``weights_kept`` counts stored weights against the unpruned model's."""

    number: int
    weights: float
    edges: float
    channels: float
    pattern: str
    val: float
    drop: float
    cost: float
    weights_kept: float
    feasible: bool
    seconds: float

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass
class AutoResult:
    """The search and its outcome. ``model`` (masks baked), ``masks`` and ``graph`` are the
    chosen trial's (None when no trial stayed within the drop); ``test`` is its test score,
    read once after the search (as is the dense model's)."""

    metric: str
    objective: str
    max_drop: float
    dense: dict
    trials: list[AutoTrial]
    front: list[int]
    chosen: AutoTrial | None
    test: float | None
    model: torch.nn.Module | None = None
    graph: object = None
    masks: MaskSet | None = None
    seconds: float = 0.0
    space: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"metric": self.metric, "objective": self.objective, "max_drop": self.max_drop,
                "dense": self.dense, "space": self.space, "seconds": self.seconds,
                "trials": [t.to_json() for t in self.trials], "front": self.front,
                "chosen": None if self.chosen is None else self.chosen.number,
                "test": self.test}


@dataclass(frozen=True)
class _RankedEdges(LabelTask):
    """A label task whose edge scores were computed once (by the dense model, for the highest
    edge sparsity searched): every trial removes its share from the same ranking."""

    scores: np.ndarray | None = None

    def edge_scores(self, criterion: str, model, fraction: float, seed: int) -> np.ndarray:
        return self.scores


def _without_test(dataset: Dataset, split: int) -> Dataset:
    """``dataset`` whose split ``split`` has no test part: what the search may look at."""
    splits = list(dataset.splits)
    chosen = splits[split]
    splits[split] = Split(chosen.train, chosen.val, np.zeros(0, dtype=np.int64))
    return replace(dataset, splits=splits)


def _drop(dense: float, score: float, metric: str) -> float:
    """How much worse ``score`` is than ``dense``: points for accuracy and ROC-AUC, the rise
    for RMSE."""
    if higher_is_better(metric):
        return 100.0 * (dense - score)
    return score - dense


def _count_weights(model) -> int:
    return sum(int(torch.count_nonzero(module.weight)) for module in
               prunable_weights(model).values())


def _flops(model, dataset: Dataset, graph, split: int) -> float:
    """Multiply-adds of one inference (see the module doc): the whole graph for node tasks,
    the validation graphs together for graph tasks. A conv's Linear layers process the rows of
    the conv's input (a conv may multiply by its weight without calling the Linear: sparse
    inputs); any other Linear, the rows it is called with."""
    from ..nn.graph_tensors import TorchGraph

    rows, aggregation, hooks = {}, [0.0], []
    if dataset.is_graph_task:
        g, x, batch = dataset.select_graphs(dataset.splits[split].val)
        inputs = (torch.from_numpy(x), TorchGraph.from_graph(g), torch.from_numpy(batch))
        kwargs, edges = {"num_graphs": int(dataset.splits[split].val.size)}, g.num_edges
    else:
        x, _, _ = node_inputs(dataset)
        inputs, kwargs, edges = (x, TorchGraph.from_graph(graph)), {}, graph.num_edges

    def conv_hook(prefix):
        def hook(module, conv_inputs, output):
            rows[prefix] = conv_inputs[0].shape[0]
            aggregation[0] += edges * min(conv_inputs[0].shape[-1], output.shape[-1])
        return hook

    def linear_hook(name):
        def hook(module, linear_inputs, output):
            rows[name] = linear_inputs[0].shape[0] if linear_inputs[0].dim() > 1 else 1
        return hook

    for index, conv in enumerate(getattr(model, "convs", [])):
        hooks.append(conv.register_forward_hook(conv_hook(f"convs.{index}.")))
    linears = prunable_weights(model)
    for name, module in linears.items():
        hooks.append(module.register_forward_hook(linear_hook(name)))
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    weights = 0.0
    for name, module in linears.items():
        conv = next((prefix for prefix in rows if prefix.endswith(".") and
                     name.startswith(prefix)), None)
        count = rows.get(conv) if conv is not None else rows.get(name, 0)
        weights += count * int(torch.count_nonzero(effective_weight(module)))
    return weights + aggregation[0]


def model_cost(objective: str, model, dataset: Dataset, graph=None, *, split: int = 0,
               pattern: str | None = None, folder: str | Path | None = None) -> float:
    """``objective``'s cost of ``model`` (masks baked or applied) with ``graph`` (node tasks;
    default the dataset's): artifact bytes, multiply-adds, or median seconds per inference."""
    return model_costs((objective,), model, dataset, graph, split=split, pattern=pattern,
                       folder=folder)[objective]


def model_costs(objectives, model, dataset: Dataset, graph=None, *, split: int = 0,
                pattern: str | None = None, folder: str | Path | None = None) -> dict:
    """``{objective: cost}`` for several objectives, exporting the model once."""
    for objective in objectives:
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    graph = graph if graph is not None else (None if dataset.is_graph_task else dataset.graph)
    costs = {}
    if "flops" in objectives:
        costs["flops"] = _flops(model, dataset, graph, split)
    if not {"size", "latency"} & set(objectives):
        return costs
    from ..export import export_artifact

    baked = plain_copy(model).eval()
    with tempfile.TemporaryDirectory(dir=folder) as temporary:
        path = export_artifact(baked, Path(temporary) / "trial.sgnn", graph=graph,
                               pattern=pattern)
        if "size" in objectives:
            costs["size"] = float(path.stat().st_size)
        if "latency" in objectives:
            costs["latency"] = _latency(path, dataset, split)
    return costs


def _latency(path: Path, dataset: Dataset, split: int) -> float:
    from ..runtime import Session
    from ..runtime.tuning import median_seconds

    session = Session(path, num_threads=1)
    if not dataset.is_graph_task:
        x = dataset.x
        return median_seconds(lambda: session.run(x), repeat=10)
    ids = dataset.splits[split].val[:LATENCY_GRAPHS]
    graph, x, batch = dataset.select_graphs(ids)
    return median_seconds(lambda: session.run(x, graph, batch), repeat=10)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points ``(drop, cost)`` that no other point beats on both (lower is
    better for each; of identical points, the first), in order of cost."""
    front = []
    for i, (drop, cost) in enumerate(points):
        dominated = any((d <= drop and c <= cost and (d < drop or c < cost)) or
                        (d == drop and c == cost and j < i)
                        for j, (d, c) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][1], points[i][0]))


def auto_prune(model, dataset: Dataset, *, max_drop: float = 1.0, objective: str = "size",
               trials: int = 40, budget_seconds: float | None = None,
               space: SearchSpace | None = None, split: int = 0, seed: int = 0,
               finetune: TrainConfig | None = None, search_epochs: int | None = None,
               criterion: str = "magnitude",
               edge_criterion: str = "auto", channel_criterion: str = "l2",
               schedule: str = "oneshot", rounds: int = 3, scope: str = "global",
               progress: Callable[[str], None] | None = None) -> AutoResult:
    """Search prunings of ``model`` (not changed) for the cheapest within ``max_drop``.

    Runs ``trials`` trials, or fewer when ``budget_seconds`` (everything included) would run
    out (checked between trials). Each trial prunes channels first (``channel_criterion``, no
    fine-tune of its own), then weights and edges with ``prune_model``, fine-tuning for
    ``search_epochs`` (default a quarter of ``finetune.epochs``, at least 20) so that more
    trials fit the budget. The chosen trial is then fine-tuned with ``finetune`` in full (masks
    fixed), and that is kept when its validation score is at least the search's.
    """
    import optuna

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if isinstance(max_drop, bool) or not max_drop >= 0:
        raise ValueError(f"max_drop must be >= 0, got {max_drop!r}")
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if budget_seconds is not None and budget_seconds <= 0:
        raise ValueError(f"budget_seconds must be > 0, got {budget_seconds}")
    if dataset.task == "link_prediction" or getattr(model, "kind", None) in ("link", "lightgcn"):
        raise ValueError("prune auto searches node and graph tasks; prune link predictors and "
                         "recommenders with `sparsegnn prune`")
    space = (space or SearchSpace()).for_model(model, dataset)
    metric = dataset.metric or "accuracy"
    started = time.perf_counter()
    search = _without_test(dataset, split)
    finetune = finetune or TrainConfig(epochs=100, patience=None, progress=False)
    if search_epochs is None:
        search_epochs = max(20, finetune.epochs // 4)
    if search_epochs < 1:
        raise ValueError(f"search_epochs must be >= 1, got {search_epochs}")
    quick = replace(finetune, epochs=search_epochs, patience=None)
    base = plain_copy(model).eval()
    dense_val = evaluate(base, search, split)["val"]
    dense_cost = model_cost(objective, base, dataset, split=split)
    dense_weights = _count_weights(base)
    task = LabelTask(search, split)
    if space.edges and space.edges[1] > 0:
        task = _RankedEdges(search, split, task.edge_scores(edge_criterion, base, space.edges[1],
                                                            seed))
    records: list[AutoTrial] = []
    kept: dict = {}  # the cheapest feasible trial's model so far

    def run_trial(trial: optuna.Trial) -> float:
        began = time.perf_counter()
        low, high = space.weights
        density = trial.suggest_float("weight_density", 1 - high, 1 - low, log=True)
        edges = trial.suggest_float("edges", *space.edges) if space.edges else 0.0
        channels = trial.suggest_float("channels", *space.channels) if space.channels else 0.0
        pattern = (trial.suggest_categorical("pattern", list(space.patterns))
                   if len(space.patterns) > 1 else space.patterns[0])
        candidate = plain_copy(base)
        if channels:
            from .structured import prune_channels

            candidate, _ = prune_channels(candidate, search, channels, channel_criterion,
                                          split=split, seed=seed)
        weights = 1 - density
        if scope == "global":  # each matrix keeps its minimum share (prune_weights's guard)
            weights = min(weights, max_global_sparsity(candidate) - 1e-6)
        try:
            result = prune_model(candidate, search, weights, criterion=criterion, scope=scope,
                                 schedule=schedule, rounds=rounds, split=split,
                                 finetune=quick, seed=seed, edge_sparsity=edges,
                                 edge_criterion=edge_criterion, pattern=pattern, task=task)
        except ValueError as exc:  # a block pattern's whole blocks cannot reach the target
            if progress:
                progress(f"trial {trial.number + 1}/{trials}: skipped ({exc})")
            raise optuna.TrialPruned(str(exc)) from None
        val = result.after["val"]
        cost = model_cost(objective, candidate, dataset, result.graph, split=split,
                          pattern=pattern)
        drop = _drop(dense_val, val, metric)
        record = AutoTrial(number=trial.number, weights=result.masks.sparsity, edges=edges,
                           channels=channels, pattern=Pattern.parse(pattern).name, val=val,
                           drop=drop, cost=cost,
                           weights_kept=_count_weights(candidate) / max(dense_weights, 1),
                           feasible=bool(drop <= max_drop + DROP_TOLERANCE),
                           seconds=time.perf_counter() - began)
        records.append(record)
        trial.set_constraint("drop", drop - max_drop - DROP_TOLERANCE)  # <= 0: feasible
        best = kept.get("trial")
        if record.feasible and (best is None or (cost, drop) < (best.cost, best.drop)):
            kept.update(trial=record, model=candidate, graph=result.graph, masks=result.masks)
        if progress:
            status = "within" if record.feasible else "over"
            progress(f"trial {trial.number + 1}/{trials}: weights {record.weights:.3f}, edges "
                     f"{edges:.2f}, channels {channels:.2f}, {record.pattern} -> val "
                     f"{val:.4f} (drop {drop:+.2f}, {status}), {objective} "
                     f"{format_cost(cost, objective)} ({record.seconds:.1f} s)")
        return cost

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Gaussian-process search for the cheapest trial, the drop a constraint (set_constraint):
    # on Cora GCN it reached the sparsest feasible corner in fewer trials than TPE, multi- or
    # single-objective (docs/pruning-results.md); the Pareto front comes from every trial.
    sampler = optuna.samplers.GPSampler(seed=seed, n_startup_trials=max(1, min(10, trials // 3)))
    study = optuna.create_study(direction="minimize", sampler=sampler)

    def within_budget(study, frozen) -> None:
        """Stop when another trial and the chosen model's full fine-tune (its epochs over a
        trial's, times the median trial) would overrun ``budget_seconds``."""
        if budget_seconds is None or not records:
            return
        trial = float(np.median([t.seconds for t in records]))
        polish = trial * finetune.epochs / search_epochs
        if time.perf_counter() - started + trial + polish > budget_seconds:
            study.stop()

    study.optimize(run_trial, n_trials=trials, callbacks=[within_budget])
    front = [records[i].number for i in pareto_front([(t.drop, t.cost) for t in records])]
    test = None
    if kept:
        _polish(kept, search, split, finetune, metric, dense_val, progress)
        MaskSet.bake(kept["model"]).eval()  # the zeros made permanent, as `prune` saves them
        pruned = dataset if kept["graph"] is None else replace(dataset, graph=kept["graph"])
        test = evaluate(kept["model"], pruned, split)["test"]  # the one test score read
    chosen = kept.get("trial")
    dense = {"val": dense_val, "test": evaluate(base, dataset, split)["test"],
             "cost": dense_cost, "weights": dense_weights}
    return AutoResult(metric=metric, objective=objective, max_drop=float(max_drop), dense=dense,
                      trials=records, front=front, chosen=chosen, test=test,
                      model=kept.get("model"), graph=kept.get("graph"), masks=kept.get("masks"),
                      seconds=time.perf_counter() - started,
                      space={"weights": space.weights, "edges": space.edges,
                             "channels": space.channels, "patterns": list(space.patterns)})


def _polish(kept: dict, search: Dataset, split: int, finetune: TrainConfig, metric: str,
            dense_val: float, progress) -> None:
    """Fine-tune the chosen trial's model in full (its masks fixed); keep the result when its
    validation score is at least the search's (``kept`` is updated in place)."""
    from ..nn import fit

    trial = kept["trial"]
    polished = plain_copy(kept["model"])
    kept["masks"].apply(polished)
    graph = kept["graph"]
    task_data = search if graph is None else replace(search, graph=graph)
    fit(polished, task_data, split, finetune)
    val = evaluate(polished, task_data, split)["val"]
    better = val >= trial.val if higher_is_better(metric) else val <= trial.val
    if progress:
        progress(f"full fine-tune of trial {trial.number + 1}: val {val:.4f} against "
                 f"{trial.val:.4f} in the search ({'kept' if better else 'discarded'})")
    if better:
        kept["model"] = polished
        kept["trial"] = replace(trial, val=val, drop=_drop(dense_val, val, metric))


def format_cost(cost: float, objective: str) -> str:
    """A cost as the reports print it: KiB, millions of multiply-adds, or milliseconds."""
    if not math.isfinite(cost):
        return "-"
    if objective == "size":
        return f"{cost / 1024:.1f} KiB"
    if objective == "flops":
        return f"{cost / 1e6:.2f} M multiply-adds"
    return f"{1e3 * cost:.3f} ms"


def auto_markdown(result: AutoResult) -> str:
    """The Pareto front (drop against cost) as a markdown table, the chosen trial marked."""
    by_number = {t.number: t for t in result.trials}
    dense_cost = format_cost(result.dense["cost"], result.objective)
    lines = [f"{len(result.trials)} trials, {result.seconds:.0f} s; dense: val "
             f"{result.dense['val']:.4f}, {result.objective} {dense_cost}; max drop "
             f"{result.max_drop} ({'points' if higher_is_better(result.metric) else 'RMSE'})",
             "", f"| trial | weights | edges | channels | pattern | weights kept | val | drop | "
                 f"{result.objective} |", "|---|---|---|---|---|---|---|---|---|"]
    for number in result.front:
        t = by_number[number]
        mark = " (chosen)" if result.chosen is not None and t.number == result.chosen.number else ""
        lines.append(f"| {t.number + 1}{mark} | {100 * t.weights:.1f} % | {100 * t.edges:.1f} % | "
                     f"{100 * t.channels:.1f} % | {t.pattern} | {100 * t.weights_kept:.2f} % | "
                     f"{t.val:.4f} | {t.drop:+.2f} | {format_cost(t.cost, result.objective)} |")
    if result.chosen is None:
        lines += ["", f"No trial stayed within a drop of {result.max_drop}."]
    else:
        chosen = result.chosen
        lines += ["", f"Chosen: trial {chosen.number + 1}, val {chosen.val:.4f} after its full "
                      f"fine-tune, test {result.test:.4f} against dense {result.dense['test']:.4f} "
                      f"(test read once, after the search)."]
    return "\n".join(lines) + "\n"


def write_auto(result: AutoResult, prefix: str | Path) -> list[Path]:
    """Write ``prefix.json`` (every trial), ``prefix.md`` (the front) and ``prefix.png`` (drop
    against cost: every trial, the front, the allowed drop and the chosen trial)."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._fileio import atomic_write_text
    from ..report import save_figure

    prefix = Path(prefix)
    paths = [prefix.with_suffix(".json"), prefix.with_suffix(".md"), prefix.with_suffix(".png")]
    atomic_write_text(paths[0], json.dumps(result.to_json(), indent=2))
    atomic_write_text(paths[1], auto_markdown(result))
    scale = {"size": 1 / 1024, "flops": 1e-6, "latency": 1e3}[result.objective]
    unit = {"size": "KiB", "flops": "M multiply-adds", "latency": "ms"}[result.objective]
    figure, axes = plt.subplots(figsize=(6, 4))
    for feasible, color, label in ((False, "lightgrey", "over the drop"),
                                   (True, "tab:blue", "within the drop")):
        chosen = [t for t in result.trials if t.feasible == feasible]
        axes.scatter([scale * t.cost for t in chosen], [t.drop for t in chosen], s=14,
                     color=color, label=label)
    by_number = {t.number: t for t in result.trials}
    front = [by_number[n] for n in result.front]
    axes.plot([scale * t.cost for t in front], [t.drop for t in front], color="tab:orange",
              marker="o", markersize=4, label="Pareto front")
    axes.axhline(result.max_drop, color="grey", linestyle="--", label="allowed drop")
    axes.scatter([scale * result.dense["cost"]], [0.0], marker="s", color="black", label="dense")
    if result.chosen is not None:
        axes.scatter([scale * result.chosen.cost], [result.chosen.drop], marker="*", s=160,
                     color="tab:red", label="chosen", zorder=3)
    axes.set_xlabel(f"{result.objective} ({unit})")
    axes.set_ylabel("validation drop" + (" (points)" if higher_is_better(result.metric) else ""))
    drops = [t.drop for t in result.trials if math.isfinite(t.drop)]
    axes.set_ylim(min(drops + [0.0]) - 0.5, max(3 * max(result.max_drop, 0.5),
                                               min(max(drops + [0.0]), 10)) + 0.5)
    axes.set_title(f"prune auto: {len(result.trials)} trials")
    axes.legend(fontsize="small")
    figure.tight_layout()
    save_figure(figure, paths[2], dpi=120)
    return paths
