"""`sparsegnn prune auto --max-drop 1.0` on Cora GCN, CiteSeer GCN and PROTEINS GIN, each
against the time its dense model took to train (issue 18's acceptance).

Run (one thread, a quiet machine: the default budget is 10 dense trainings, in seconds):

    OMP_NUM_THREADS=1 python bench/prune_auto.py                 # ~4 min

For each model it trains the dense checkpoint with `sparsegnn train`, runs `sparsegnn prune
auto` with its default budget, and writes the front (``MODEL-DATASET-front.{json,md,png}``)
and a summary (``summary.{json,md}``) under ``bench/results/auto/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

from sparsegnn import __version__
from sparsegnn._fileio import atomic_write_text
from sparsegnn.cli import main as cli
from sparsegnn.nn import load_checkpoint

CASES = [("gcn", "cora", []), ("gcn", "citeseer", []),
         ("gin", "proteins", ["--scope", "layer"])]  # the hand-made GIN recipe's scope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/auto"))
    parser.add_argument("--max-drop", type=float, default=1.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind, dataset, options in CASES:
            dense = Path(folder) / f"{kind}-{dataset}.safetensors"
            chosen = Path(folder) / f"{kind}-{dataset}-auto.safetensors"
            front = args.out / f"{kind}-{dataset}-front"
            assert cli(["train", "--model", kind, "--dataset", dataset, "--no-progress",
                        "--out", str(dense)]) == 0
            trained = load_checkpoint(dense).info
            code = cli(["prune", "auto", str(dense), "--max-drop", str(args.max_drop),
                        *options, "--no-progress", "--out", str(chosen), "--front", str(front)])
            result = json.loads(front.with_suffix(".json").read_text())
            trial = None if result["chosen"] is None else result["trials"][result["chosen"]]
            auto = load_checkpoint(chosen).info if code == 0 else {}
            rows.append({"model": kind, "dataset": dataset, "metric": result["metric"],
                         "train_seconds": trained["train_seconds"],
                         "search_seconds": result["seconds"], "trials": len(result["trials"]),
                         "dense": result["dense"], "chosen": trial, "test": result["test"],
                         "val": auto.get("val_score")})
    lines = ["| model | dense training | search (all of it) | ratio | trials | weights | "
             "edges | weights kept | val drop | dense test | chosen test |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        trial = row["chosen"] or {}
        lines.append(
            f"| {row['model']} {row['dataset']} | {row['train_seconds']:.1f} s | "
            f"{row['search_seconds']:.1f} s | {row['search_seconds'] / row['train_seconds']:.1f}x"
            f" | {row['trials']} | {100 * trial.get('weights', 0):.1f} % | "
            f"{100 * trial.get('edges', 0):.1f} % | {100 * trial.get('weights_kept', 1):.2f} % | "
            f"{trial.get('drop', float('nan')):+.2f} | {100 * row['dense']['test']:.2f} | "
            + (f"{100 * row['test']:.2f} |" if row["test"] is not None else "none found |"))
    summary = {"sparsegnn": __version__, "machine": platform.processor() or platform.machine(),
               "max_drop": args.max_drop, "rows": rows}
    atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=2))
    atomic_write_text(args.out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
