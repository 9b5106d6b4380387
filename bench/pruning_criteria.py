"""Pruning criteria side by side at one cell: every weight criterion with the default edge
criterion, then every edge criterion with magnitude weights, 5 seeds, each pruned copy starting
from the same dense model per seed (issue 18's table in docs/pruning-results.md).

Run (one thread, ~10 min for Cora, ~10 min CiteSeer, ~25 min PROTEINS):

    OMP_NUM_THREADS=1 python bench/pruning_criteria.py --dataset cora --weights 0.95 --edges 0.4
    OMP_NUM_THREADS=1 python bench/pruning_criteria.py --dataset citeseer --weights 0.97 --edges 0.5
    OMP_NUM_THREADS=1 python bench/pruning_criteria.py --dataset proteins --model gin \\
        --weights 0.9 --schedule oneshot --scope layer

Writes ``bench/results/criteria/MODEL-DATASET.{json,md}``. Test scores are read once per cell,
after pruning and fine-tuning; nothing is selected on them.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from sparsegnn import __version__, data
from sparsegnn._fileio import atomic_write_text
from sparsegnn.nn import fit
from sparsegnn.nn.models import build_model
from sparsegnn.nn.recipes import model_config, train_config
from sparsegnn.nn.train import seed_everything
from sparsegnn.prune import PruningWarning, prune_model, resolve_edge_criterion
from sparsegnn.prune.edges import EDGE_WEIGHTED_KINDS

WEIGHT_CRITERIA = ("magnitude", "saliency", "ig", "explainer", "random")
EDGE_CRITERIA = ("influence", "agreement", "learned", "explainer", "degree", "random")
EDGE_WEIGHTED = ("influence", "learned", "explainer")  # need a model that weighs edges


def cells(model, edges: float) -> list[tuple[str, str]]:
    """(weight criterion, edge criterion) pairs: the weight criteria under the default edge
    criterion, then the edge criteria under magnitude weights."""
    default = resolve_edge_criterion("auto", model) if edges else "-"
    chosen = [(weight, default) for weight in WEIGHT_CRITERIA]
    if edges:
        chosen += [("magnitude", edge) for edge in EDGE_CRITERIA if edge != default
                   and (model.kind in EDGE_WEIGHTED_KINDS or edge not in EDGE_WEIGHTED)]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--model", default="gcn")
    parser.add_argument("--weights", type=float, default=0.95)
    parser.add_argument("--edges", type=float, default=0.0)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--schedule", default="gradual")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scope", default="global")
    parser.add_argument("--out", type=Path, default=Path("bench/results/criteria"))
    args = parser.parse_args()
    warnings.simplefilter("ignore", PruningWarning)
    dataset = data.load(args.dataset)
    config = model_config(args.model, dataset)
    chosen = cells(build_model(config), args.edges)
    dense, scores, seconds = [], {cell: [] for cell in chosen}, {cell: [] for cell in chosen}
    for seed in range(args.seeds):
        seed_everything(seed)
        base = build_model(config)
        dense.append(fit(base, dataset, 0, train_config(args.model, dataset, progress=False,
                                                        seed=seed)).test_score)
        state = {k: v.clone() for k, v in base.state_dict().items()}
        for weight, edge in chosen:
            model = build_model(config)
            model.load_state_dict(state)
            started = time.perf_counter()
            result = prune_model(model, dataset, args.weights, criterion=weight, scope=args.scope,
                                 schedule=args.schedule, rounds=args.rounds, seed=seed,
                                 edge_sparsity=args.edges,
                                 edge_criterion=edge if args.edges else "auto",
                                 finetune=train_config(args.model, dataset, progress=False,
                                                       seed=seed))
            scores[(weight, edge)].append(result.after["test"])
            seconds[(weight, edge)].append(time.perf_counter() - started)
            print(f"seed {seed}: {weight} / {edge} -> {result.after['test']:.4f}", flush=True)
    rows = [{"weight_criterion": w, "edge_criterion": e, "scores": scores[(w, e)],
             "seconds": float(np.median(seconds[(w, e)]))} for w, e in chosen]
    result = {"sparsegnn": __version__, "machine": platform.processor() or platform.machine(),
              "dataset": dataset.name, "model": args.model, "weights": args.weights,
              "edges": args.edges, "schedule": args.schedule, "rounds": args.rounds,
              "scope": args.scope, "seeds": args.seeds, "metric": dataset.metric or "accuracy",
              "dense": dense, "rows": rows}
    mean = np.mean(dense)
    lines = [f"{args.model} on {dataset.name}: {100 * args.weights:.0f} % weights, "
             f"{100 * args.edges:.0f} % edges, {args.schedule}, {args.seeds} seeds; dense "
             f"{100 * mean:.2f} ± {100 * np.std(dense):.2f}", "",
             "| weight criterion | edge criterion | test | vs dense | seconds per prune |",
             "|---|---|---|---|---|"]
    for row in rows:
        values = np.array(row["scores"])
        lines.append(f"| {row['weight_criterion']} | {row['edge_criterion']} | "
                     f"{100 * values.mean():.2f} ± {100 * values.std():.2f} | "
                     f"{100 * (values.mean() - mean):+.2f} | {row['seconds']:.1f} |")
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    prefix = args.out / f"{args.model}-{dataset.name}"
    atomic_write_text(prefix.with_suffix(".json"), json.dumps(result, indent=2))
    atomic_write_text(prefix.with_suffix(".md"), markdown)


if __name__ == "__main__":
    main()
