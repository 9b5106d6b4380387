"""``sparsegnn train``: train, evaluate, save a checkpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import __version__
from ._common import MODEL_KINDS, _add_data_options, _console


def _format_score(value: float, metric: str) -> str:
    return f"{value:.4f}" if metric == "rmse" else f"{100 * value:.2f}%"


def cmd_train(args) -> int:
    import numpy as np

    from ..data import load
    from ..nn import cross_validate, fit, save_checkpoint
    from ..nn.models import build_model
    from ..nn.recipes import model_config, train_config
    from ..nn.train import seed_everything

    console = _console()
    dataset = load(args.dataset, args.data_dir, seed=args.seed, download=args.download,
                   mirror=args.mirror)
    console.print(f"{dataset!r}")
    overrides = dict(hidden_channels=args.hidden, num_layers=args.layers, dropout=args.dropout,
                     heads=args.heads if args.model == "gat" else None)
    config = model_config(args.model, dataset, **overrides)
    training = train_config(args.model, dataset, epochs=args.epochs, lr=args.lr,
                            weight_decay=args.weight_decay, batch_size=args.batch_size,
                            progress=not args.no_progress)
    if args.patience is not None:
        training.patience = args.patience if args.patience > 0 else None
    if not 0 <= args.split < len(dataset.splits):
        console.print(f"[red]--split must lie in [0, {len(dataset.splits)})")
        return 2
    if args.seeds < 1:
        console.print("[red]--seeds must be at least 1")
        return 2

    report = {"sparsegnn": __version__, "dataset": dataset.summary(), "model": config,
              "train": {k: v for k, v in vars(training).items() if k != "progress"}, "runs": []}
    started = time.perf_counter()
    saved_model = None
    for seed in range(args.seed, args.seed + args.seeds):
        seed_everything(seed)
        model = build_model(config)
        training.seed = seed
        result = fit(model, dataset, args.split, training)
        report["runs"].append({"seed": seed, **result.to_dict()})
        console.print(f"seed {seed}: best epoch {result.best_epoch}, "
                      f"val {_format_score(result.val_score, result.metric)}, "
                      f"test {_format_score(result.test_score, result.metric)} "
                      f"({result.seconds:.1f} s)")
        if saved_model is None:
            saved_model, saved_result = model, result
    tests = np.array([run["test_score"] for run in report["runs"]])
    metric = saved_result.metric
    report["test_mean"], report["test_std"] = float(tests.mean()), float(tests.std())
    console.print(f"[bold]{args.model} on {dataset.name}: test {metric} "
                  f"{_format_score(tests.mean(), metric)} ± {_format_score(tests.std(), metric)} "
                  f"over {args.seeds} seed(s)")

    if args.cv:
        if not dataset.is_graph_task or len(dataset.splits) < 2:
            console.print("[red]--cv needs a graph dataset with folds (e.g. mutag, proteins)")
            return 2
        seed_everything(args.seed)
        cv = cross_validate(lambda: build_model(config), dataset, training)
        mean, std, epoch = cv.paper_protocol
        report["cross_validation"] = {
            "folds": len(dataset.splits), "paper_protocol": {"mean": mean, "std": std,
                                                             "epoch": epoch},
            "selected": {"mean": cv.selected[0], "std": cv.selected[1]},
        }
        console.print(f"[bold]{len(dataset.splits)}-fold CV (GIN paper protocol, best mean epoch "
                      f"{epoch}): {100 * mean:.2f} ± {100 * std:.2f}; selected by validation: "
                      f"{100 * cv.selected[0]:.2f} ± {100 * cv.selected[1]:.2f}")
    report["seconds"] = time.perf_counter() - started

    if args.out is not None:
        info = {"dataset": dataset.name, "split": args.split, "seed": args.seed,
                "metric": metric, "val_score": saved_result.val_score,
                "test_score": saved_result.test_score, "sparsegnn": __version__}
        save_checkpoint(args.out, saved_model, info=info)
        console.print(f"saved {args.out} (seed {args.seed})")
    if args.report is not None:
        from .._fileio import atomic_write_text

        atomic_write_text(args.report, json.dumps(report, indent=2))
        console.print(f"wrote {args.report}")
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    train = commands.add_parser(
        "train", help="train and evaluate a GNN, save a checkpoint",
        description="Train a GNN with the recipe for its kind and task, report validation and "
                    "test scores, and save a safetensors checkpoint.")
    train.add_argument("--model", choices=MODEL_KINDS, default="gcn")
    train.add_argument("--dataset", default="synthetic",
                       help="registered name (see `sparsegnn datasets`) or a path")
    _add_data_options(train, download=True)
    train.add_argument("--out", type=Path, default=None, help="checkpoint path to write")
    train.add_argument("--report", type=Path, default=None, help="JSON report path to write")
    train.add_argument("--hidden", type=int, default=None, help="hidden width")
    train.add_argument("--layers", type=int, default=None, help="number of message-passing layers")
    train.add_argument("--heads", type=int, default=None, help="attention heads (gat)")
    train.add_argument("--dropout", type=float, default=None)
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--lr", type=float, default=None)
    train.add_argument("--weight-decay", type=float, default=None)
    train.add_argument("--batch-size", type=int, default=None, help="graphs per batch (graph tasks)")
    train.add_argument("--patience", type=int, default=None,
                       help="stop after this many epochs without validation gain (0: never)")
    train.add_argument("--seed", type=int, default=0, help="first seed")
    train.add_argument("--seeds", type=int, default=1, help="number of seeds to train and average")
    train.add_argument("--split", type=int, default=0, help="which split/fold of the dataset")
    train.add_argument("--cv", action="store_true",
                       help="also run cross-validation over every fold (graph datasets)")
    train.add_argument("--no-progress", action="store_true", help="hide progress bars")
    train.set_defaults(handler=cmd_train)
