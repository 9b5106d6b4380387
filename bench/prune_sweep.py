"""Accuracy of GCN on Planetoid Cora/CiteSeer pruned jointly: weight sparsity x edge sparsity,
mean and std over seeds, next to the dense mean (the issue-3 table).

Run: ``python bench/prune_sweep.py --dataset cora --edge-criterion random --seeds 5``.
Each cell trains a dense GCN per seed, prunes edges then weights (global magnitude, one-shot),
fine-tunes with the masks fixed, and reports test accuracy on the public split.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sparsegnn import data
from sparsegnn.nn import fit
from sparsegnn.nn.recipes import make_model, train_config
from sparsegnn.nn.train import seed_everything
from sparsegnn.prune import prune_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--edge-criterion", default="random", choices=("learned", "degree", "random"))
    parser.add_argument("--weights", type=float, nargs="+", default=[0.9, 0.95, 0.98])
    parser.add_argument("--edges", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the table as JSON")
    args = parser.parse_args()
    dataset = data.load(args.dataset)
    dense, cells = [], {}
    started = time.perf_counter()
    for seed in range(args.seeds):
        seed_everything(seed)
        base = make_model("gcn", dataset)
        dense.append(fit(base, dataset, 0, train_config("gcn", dataset, progress=False,
                                                        seed=seed)).test_score)
        state = {k: v.clone() for k, v in base.state_dict().items()}
        for weights in args.weights:
            for edges in args.edges:
                model = make_model("gcn", dataset)
                model.load_state_dict(state)
                result = prune_model(model, dataset, weights, seed=seed, edge_sparsity=edges,
                                     edge_criterion=args.edge_criterion,
                                     finetune=train_config("gcn", dataset, progress=False,
                                                           seed=seed))
                cells.setdefault((weights, edges), []).append(result.after["test"])
    print(f"GCN on {dataset.name}, {args.seeds} seeds, edge criterion {args.edge_criterion}; "
          f"dense {100 * np.mean(dense):.2f} ± {100 * np.std(dense):.2f} "
          f"({time.perf_counter() - started:.0f} s)")
    print("| weights \\ edges | " + " | ".join(f"{100 * e:.0f} %" for e in args.edges) + " |")
    print("|---|" + "---|" * len(args.edges))
    for weights in args.weights:
        row = [f"{100 * np.mean(cells[(weights, e)]):.2f} ± {100 * np.std(cells[(weights, e)]):.2f}"
               for e in args.edges]
        print(f"| {100 * weights:.0f} % | " + " | ".join(row) + " |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"dense": dense, "cells": {f"{w},{e}": v for (w, e), v in cells.items()}},
                      handle, indent=2)


if __name__ == "__main__":
    main()
