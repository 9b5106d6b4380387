"""``sparsegnn quickstart``: the whole pipeline on the built-in graph."""

from __future__ import annotations

import sys
from pathlib import Path


def cmd_quickstart(args) -> int:
    """train -> prune -> export -> run -> bench, through the same commands a user types."""
    from . import main

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    dense, pruned = out / "dense.safetensors", out / "pruned.safetensors"
    artifact, onnx = out / "pruned.sgnn", out / "pruned.onnx"
    quiet = ["--no-progress"] if args.no_progress else []
    steps = [
        ("train a GCN on the built-in graph", ["train", "--dataset", args.dataset, "--out",
                                               str(dense), *quiet]),
        ("prune 80% of its weights and 20% of the edges, fine-tune",
         ["prune", str(dense), "--weight-sparsity", "0.8", "--edge-sparsity", "0.2",
          "--schedule", "gradual", "--out", str(pruned), *quiet]),
        ("export the artifact (with its pruned graph) and ONNX",
         ["export", str(pruned), "--store-graph", "--out", str(artifact), "--onnx", str(onnx)]),
        ("run the artifact with the runtime", ["run", str(artifact), "--dataset", args.dataset]),
        ("benchmark every backend", ["bench", str(dense), str(pruned), "--dataset", args.dataset,
                                     "--out", str(out / "bench"), "--min-seconds", "0.3",
                                     "--max-repeat", "100", *quiet]),
    ]
    for number, (title, argv) in enumerate(steps, 1):
        print(f"\n== {number}/{len(steps)} {title}: sparsegnn {' '.join(argv)}", flush=True)
        code = main(argv)
        if code != 0:
            print(f"sparsegnn quickstart: step {number} failed (exit {code})", file=sys.stderr)
            return code
    print(f"\nquickstart done: every file is in {out}/")
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    quickstart = commands.add_parser(
        "quickstart", help="the whole pipeline on the built-in graph, in one folder",
        description="Train a GCN on the built-in synthetic graph, prune it (weights and edges), "
                    "export it (artifact and ONNX), run it with the runtime and benchmark it "
                    "against PyTorch, PyG and ONNX Runtime. Takes a few minutes.")
    quickstart.add_argument("--out", type=Path, default=Path("runs/quickstart"))
    quickstart.add_argument("--dataset", default="synthetic")
    quickstart.add_argument("--no-progress", action="store_true")
    quickstart.set_defaults(handler=cmd_quickstart)
