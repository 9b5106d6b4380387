"""The issue-3 table: GCN accuracy on Planetoid Cora (or CiteSeer) pruned jointly, weights x
edges, mean and std over seeds, next to the dense mean.

Run: ``python bench/prune_sweep.py --dataset cora --edge-criterion random --seeds 5``; the same
as ``sparsegnn prune sweep --dataset cora --weights 0.9 0.95 0.98 --edges 0 0.2 0.4 0.6``.
"""

import argparse
from pathlib import Path

from sparsegnn import data
from sparsegnn.prune.sweep import sweep, sweep_markdown, write_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--edge-criterion", default="random",
                        choices=("learned", "degree", "random"))
    parser.add_argument("--schedule", default="oneshot", choices=("oneshot", "iterative", "gradual"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="also write PREFIX.json/.md/.png")
    args = parser.parse_args()
    result = sweep(data.load(args.dataset), weights=(0.9, 0.95, 0.98),
                   edges=(0.0, 0.2, 0.4, 0.6), seeds=args.seeds, schedule=args.schedule,
                   edge_criterion=args.edge_criterion)
    print(sweep_markdown(result) + f"({result['seconds']:.0f} s)")
    if args.out is not None:
        write_sweep(result, args.out)


if __name__ == "__main__":
    main()
