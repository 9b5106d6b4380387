"""Accuracy against sparsity: a grid of (pattern, weight sparsity) x edge sparsity over seeds,
as JSON, a markdown table and a PNG plot (``sparsegnn prune sweep``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .._fileio import atomic_write_text
from ..data.dataset import Dataset
from ..nn import fit
from ..nn.models import build_model
from ..nn.recipes import model_config, train_config
from ..nn.train import seed_everything
from ..patterns import Pattern
from .edges import resolve_edge_criterion
from .schedules import prune_model

__all__ = ["sweep", "sweep_markdown", "sweep_rows", "write_sweep"]


def sweep_rows(patterns, weights) -> list[tuple[str, float]]:
    """The grid's rows: every pattern at every weight sparsity, except that an N:M pattern
    has the one sparsity it fixes."""
    rows = []
    for name in patterns:
        fixed = Pattern.parse(name).sparsity
        for weight in ([fixed] if fixed is not None else weights):
            if (Pattern.parse(name).name, weight) not in rows:
                rows.append((Pattern.parse(name).name, float(weight)))
    return rows


def sweep(dataset: Dataset, *, kind: str = "gcn", weights=(0.9, 0.95, 0.98), edges=(0.0,),
          seeds: int = 5, criterion: str = "magnitude", schedule: str = "oneshot",
          edge_criterion: str = "auto", rounds: int = 3, scope: str = "global",
          patterns=("unstructured",), progress=None) -> dict:
    """Train a dense model per seed, then prune a copy of it to every grid cell and fine-tune.

    Returns ``{"dense": [score per seed], "cells": [{"pattern", "weights", "edges",
    "scores"}], ...}`` with test scores on split 0.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    rows = sweep_rows(patterns, weights)
    config = model_config(kind, dataset)
    dense, cells, started = [], {}, time.perf_counter()
    for seed in range(seeds):
        seed_everything(seed)
        base = build_model(config)
        dense.append(fit(base, dataset, 0, train_config(kind, dataset, progress=False,
                                                        seed=seed)).test_score)
        state = {k: v.clone() for k, v in base.state_dict().items()}
        for pattern, weight_sparsity in rows:
            for edge_sparsity in edges:
                model = build_model(config)
                model.load_state_dict(state)
                result = prune_model(model, dataset, weight_sparsity, criterion=criterion,
                                     scope=scope, schedule=schedule, rounds=rounds, seed=seed,
                                     edge_sparsity=edge_sparsity, edge_criterion=edge_criterion,
                                     pattern=pattern,
                                     finetune=train_config(kind, dataset, progress=False,
                                                           seed=seed))
                cells.setdefault((pattern, weight_sparsity, edge_sparsity), []).append(
                    result.after["test"])
                if progress:
                    progress(f"seed {seed}: {pattern} weights {weight_sparsity:.2f}, edges "
                             f"{edge_sparsity:.2f} -> test {result.after['test']:.4f}")
    return {"dataset": dataset.name, "model": kind, "criterion": criterion, "schedule": schedule,
            "scope": scope,
            "edge_criterion": resolve_edge_criterion(edge_criterion, base),
            "seeds": seeds, "dense": dense,
            "rows": [{"pattern": p, "weights": w} for p, w in rows], "edges": list(edges),
            "cells": [{"pattern": p, "weights": w, "edges": e, "scores": s}
                      for (p, w, e), s in cells.items()],
            "seconds": time.perf_counter() - started}


def _mean_std(values) -> str:
    return f"{100 * np.mean(values):.2f} ± {100 * np.std(values):.2f}"


def _cells(result: dict) -> dict:
    return {(c.get("pattern", "unstructured"), c["weights"], c["edges"]): c["scores"]
            for c in result["cells"]}


def _rows(result: dict) -> list[tuple[str, float]]:
    """The grid's rows; results written before patterns existed list ``weights`` only."""
    if "rows" in result:
        return [(row["pattern"], row["weights"]) for row in result["rows"]]
    return [("unstructured", w) for w in result["weights"]]


def sweep_markdown(result: dict) -> str:
    """The grid as a markdown table (rows: pattern and weight sparsity, columns: edge
    sparsity)."""
    scores = _cells(result)
    lines = [f"{result['model']} on {result['dataset']}, {result['seeds']} seeds, "
             f"{result['criterion']} ({result.get('scope', 'global')}) / {result['schedule']}, "
             f"edges by {result['edge_criterion']}; "
             f"dense {_mean_std(result['dense'])}", "",
             "| pattern | weights \\ edges | "
             + " | ".join(f"{100 * e:.0f} %" for e in result["edges"]) + " |",
             "|---|---|" + "---|" * len(result["edges"])]
    for pattern, w in _rows(result):
        lines.append(f"| {pattern} | {100 * w:.0f} % | " +
                     " | ".join(_mean_std(scores[(pattern, w, e)]) for e in result["edges"])
                     + " |")
    return "\n".join(lines) + "\n"


def write_sweep(result: dict, prefix: Path) -> list[Path]:
    """Write ``prefix.json``, ``prefix.md`` and ``prefix.png`` (accuracy vs weight sparsity,
    one line per pattern and edge sparsity, the dense mean as a reference line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report import save_figure

    prefix = Path(prefix)
    paths = [prefix.with_suffix(".json"), prefix.with_suffix(".md"), prefix.with_suffix(".png")]
    atomic_write_text(paths[0], json.dumps(result, indent=2))
    atomic_write_text(paths[1], sweep_markdown(result))
    scores = _cells(result)
    rows = _rows(result)
    figure, axes = plt.subplots(figsize=(6, 4))
    for pattern in dict.fromkeys(p for p, _ in rows):
        weights = [w for p, w in rows if p == pattern]
        for e in result["edges"]:
            means = [100 * np.mean(scores[(pattern, w, e)]) for w in weights]
            stds = [100 * np.std(scores[(pattern, w, e)]) for w in weights]
            axes.errorbar([100 * w for w in weights], means, yerr=stds, marker="o", capsize=3,
                          label=f"{pattern}, {100 * e:.0f} % edges pruned")
    axes.axhline(100 * np.mean(result["dense"]), color="grey", linestyle="--", label="dense")
    axes.set_xlabel("weights pruned (%)")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(f"{result['model']} on {result['dataset']} ({result['seeds']} seeds)")
    axes.legend(fontsize="small")
    figure.tight_layout()
    save_figure(figure, paths[2], dpi=120)
    return paths
