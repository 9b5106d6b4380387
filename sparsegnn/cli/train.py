"""``sparsegnn train``: train, evaluate, save a checkpoint."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..ops import ACTIVATIONS
from ._common import MODEL_KINDS, _add_data_options, _console


def _parse_split(text: str) -> int | str:
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a split number or 'all', got {text!r}") from None


def _mean_std(mean: float, std: float, metric: str) -> str:
    if metric == "accuracy":
        return f"{100 * mean:.2f} ± {100 * std:.2f} % accuracy"
    from ..metrics import format_score

    return f"{format_score(mean, metric)} ± {std:.4f}"


def _settings(training) -> dict:
    """A training config as the report records it."""
    return {k: v for k, v in vars(training).items() if k != "progress"}


def _summarise(report: dict, name: str, values) -> None:
    """``report[name_mean]`` and ``report[name_std]`` of the runs' ``values``."""
    report[f"{name}_mean"], report[f"{name}_std"] = float(np.mean(values)), float(np.std(values))


def _save_and_report(args, console, model, info: dict, report: dict, extra=None) -> None:
    from .._fileio import atomic_write_text
    from ..nn import save_checkpoint

    if args.out is not None:
        save_checkpoint(args.out, model, info={**info, "sparsegnn": __version__}, extra=extra)
        console.print(f"saved {args.out} (seed {args.seed})")
    if args.report is not None:
        atomic_write_text(args.report, json.dumps(report, indent=2))
        console.print(f"wrote {args.report}")


def _train_links(args, dataset, overrides: dict, console) -> int:
    """``train --task link``: the GAE protocol on a node dataset, one edge split per seed."""
    from ..data.links import random_link_split
    from ..metrics import format_score
    from ..nn.checkpoint import pruning_extra
    from ..nn.link import fit_links
    from ..nn.models import build_model
    from ..nn.recipes import link_config, link_train_config
    from ..nn.train import seed_everything

    if dataset.is_graph_task:
        console.print("[red]--task link needs a node dataset (one graph whose edges are split)")
        return 2
    if args.seeds < 1:
        console.print("[red]--seeds must be at least 1")
        return 2
    overrides["out_channels"] = args.embedding
    config = link_config(args.model, dataset, args.decoder, **overrides)
    if args.norm == "none":
        config["encoder"]["norm"] = None
    if args.input_norm:
        config["encoder"]["input_norm"] = "row_sum"
    training = link_train_config(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                                 progress=not args.no_progress)
    if args.patience is not None:
        training.patience = args.patience if args.patience > 0 else None
    report = {"sparsegnn": __version__, "dataset": dataset.summary(), "task": "link_prediction",
              "model": config, "metric": "roc_auc",
              "train": _settings(training), "runs": []}
    saved = None
    for seed in range(args.seed, args.seed + args.seeds):
        split = random_link_split(dataset.graph, args.val_edges, args.test_edges, seed=seed)
        seed_everything(seed)
        model = build_model(config)
        training.seed = seed
        result = fit_links(model, dataset, split, training)
        report["runs"].append({"seed": seed, **result.to_dict()})
        console.print(f"seed {seed}: best epoch {result.best_epoch}, val "
                      f"{format_score(result.val_score, 'roc_auc')}, test "
                      f"{format_score(result.test_score, 'roc_auc')}, AP "
                      f"{result.details['test_average_precision']:.4f}, Hits@20 "
                      f"{result.details['test_hits']['hits@20']:.4f} ({result.seconds:.1f} s)")
        if saved is None:
            saved = model, result, split
    _summarise(report, "test", [run["test_score"] for run in report["runs"]])
    _summarise(report, "test_ap", [run["details"]["test_average_precision"]
                                   for run in report["runs"]])
    _summarise(report, "test_hits@20", [run["details"]["test_hits"]["hits@20"]
                                        for run in report["runs"]])
    console.print(f"[bold]link {args.model} ({args.decoder}) on {dataset.name}: test "
                  f"{_mean_std(report['test_mean'], report['test_std'], 'roc_auc')}, AP "
                  f"{report['test_ap_mean']:.4f} ± {report['test_ap_std']:.4f}, Hits@20 "
                  f"{report['test_hits@20_mean']:.4f} ± {report['test_hits@20_std']:.4f} over "
                  f"{args.seeds} split(s)")
    model, result, split = saved
    info = {"dataset": dataset.name, "task": "link_prediction", "seed": args.seed,
            "metric": "roc_auc", "val_score": result.val_score, "test_score": result.test_score,
            "edge_split": {"val": args.val_edges, "test": args.test_edges, "seed": split.seed}}
    # the training pairs travel with the model: message passing at inference sees those alone
    _save_and_report(args, console, model, info, report, extra=pruning_extra({}, split.graph))
    return 0


def _train_recommender(args, console) -> int:
    """``train --task recommend``: LightGCN with BPR on a user-item set, one run per seed."""
    from ..data import load_recommendation
    from ..nn.checkpoint import interactions_extra
    from ..nn.lightgcn import LightGCN, RecommenderConfig, fit_recommender
    from ..nn.train import seed_everything

    if args.seeds < 1:
        console.print("[red]--seeds must be at least 1")
        return 2
    interactions = load_recommendation(args.dataset, args.data_dir, download=args.download,
                                       mirror=args.mirror)
    console.print(f"{interactions!r}")
    config = {"num_users": interactions.num_users, "num_items": interactions.num_items,
              "embedding_dim": args.embedding or 64,
              "num_layers": 3 if args.layers is None else args.layers}
    training = RecommenderConfig(**{key: value for key, value in (
        ("epochs", args.epochs), ("lr", args.lr), ("batch_size", args.batch_size),
        ("decay", args.weight_decay)) if value is not None}, progress=not args.no_progress)
    report = {"sparsegnn": __version__, "dataset": interactions.summary(),
              "task": "recommendation", "model": {"kind": "lightgcn", **config},
              "train": _settings(training), "runs": []}
    saved = None
    for seed in range(args.seed, args.seed + args.seeds):
        training.seed = seed
        seed_everything(seed)
        model = LightGCN(**config)
        result = fit_recommender(model, interactions, training)
        report["runs"].append({"seed": seed, **result.to_dict()})
        console.print(f"seed {seed}: best epoch {result.best_epoch}, val recall@20 "
                      f"{result.val['recall@20']:.4f}; test recall@20 "
                      f"{result.test['recall@20']:.4f}, ndcg@20 {result.test['ndcg@20']:.4f} "
                      f"({result.seconds:.1f} s)")
        if saved is None:
            saved = model, result
    for key in ("recall@20", "ndcg@20"):
        _summarise(report, f"test_{key}", [run["test"][key] for run in report["runs"]])
    console.print(f"[bold]lightgcn on {interactions.name}: test recall@20 "
                  f"{report['test_recall@20_mean']:.4f} ± {report['test_recall@20_std']:.4f}, "
                  f"ndcg@20 {report['test_ndcg@20_mean']:.4f} ± {report['test_ndcg@20_std']:.4f} "
                  f"over {args.seeds} seed(s)")
    model, result = saved
    info = {"dataset": interactions.name, "task": "recommendation", "seed": args.seed,
            "metric": "recall@20", "val_score": result.val["recall@20"],
            "test_score": result.test["recall@20"], "test_ndcg@20": result.test["ndcg@20"]}
    _save_and_report(args, console, model, info, report,
                     extra=interactions_extra(interactions.train))
    return 0


def cmd_train(args) -> int:
    from ..data import load
    from ..metrics import format_score, majority_share
    from ..nn import cross_validate, fit
    from ..nn.models import build_model
    from ..nn.recipes import model_config, train_config
    from ..nn.train import seed_everything

    console = _console()
    if args.task == "recommend":
        return _train_recommender(args, console)
    dataset = load(args.dataset, args.data_dir, seed=args.seed, download=args.download,
                   mirror=args.mirror)
    console.print(f"{dataset!r}")
    overrides = dict(hidden_channels=args.hidden, num_layers=args.layers, dropout=args.dropout,
                     input_dropout=args.input_dropout, act=args.act,
                     norm=None if args.norm in (None, "none") else args.norm,
                     residual_blocks=args.residual,
                     heads=args.heads if args.model == "gat" else None)
    if args.task == "link":
        return _train_links(args, dataset, overrides, console)
    config = model_config(args.model, dataset, **overrides)
    if args.norm == "none":  # an override of None keeps the recipe's: remove it here
        config["norm"] = None
    training = train_config(args.model, dataset, epochs=args.epochs, lr=args.lr,
                            weight_decay=args.weight_decay, batch_size=args.batch_size,
                            progress=not args.no_progress)
    if args.patience is not None:
        training.patience = args.patience if args.patience > 0 else None
    if args.cv and not dataset.is_graph_task:
        if len(dataset.splits) < 2:
            console.print("[red]--cv needs a dataset with several splits (graph folds, or a node "
                          "dataset's given splits such as minesweeper's 10)")
            return 2
        console.print("node dataset: --cv trains on each of its given splits (--split all)")
        args.split, args.cv = "all", False
    if args.cv and len(dataset.splits) < 2:
        console.print("[red]--cv needs a graph dataset with folds (e.g. mutag, proteins)")
        return 2
    if args.split != "all" and not 0 <= args.split < len(dataset.splits):
        console.print(f"[red]--split must lie in [0, {len(dataset.splits)}) or be 'all'")
        return 2
    if args.seeds < 1:
        console.print("[red]--seeds must be at least 1")
        return 2
    splits = range(len(dataset.splits)) if args.split == "all" else [args.split]
    metric = dataset.metric

    report = {"sparsegnn": __version__, "dataset": dataset.summary(), "model": config,
              "metric": metric,
              "train": _settings(training), "runs": []}
    started = time.perf_counter()
    saved_model = None
    for split in splits:
        for seed in range(args.seed, args.seed + args.seeds):
            seed_everything(seed)
            model = build_model(config)
            training.seed = seed
            result = fit(model, dataset, split, training)
            run = {"split": split, "seed": seed, **result.to_dict()}
            line = (f"split {split} seed {seed}: best epoch {result.best_epoch}, "
                    f"val {format_score(result.val_score, metric)}, "
                    f"test {format_score(result.test_score, metric)}")
            if metric == "accuracy" and dataset.num_classes:  # what predicting one class scores
                run["test_majority_share"] = majority_share(dataset.y[dataset.splits[split].test])
                line += f" (one class alone: {100 * run['test_majority_share']:.2f} %)"
            report["runs"].append(run)
            console.print(f"{line} ({result.seconds:.1f} s)")
            if saved_model is None:
                saved_model, saved_result = model, result
    _summarise(report, "test", [run["test_score"] for run in report["runs"]])
    console.print(f"[bold]{args.model} on {dataset.name}: test "
                  f"{_mean_std(report['test_mean'], report['test_std'], metric)} over "
                  f"{len(splits)} split(s) x {args.seeds} seed(s)")

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
                      f"{epoch}): {_mean_std(mean, std, metric)}; selected by validation: "
                      f"{_mean_std(*cv.selected, metric)}")
    report["seconds"] = time.perf_counter() - started
    info = {"dataset": dataset.name, "split": report["runs"][0]["split"], "seed": args.seed,
            "metric": metric, "val_score": saved_result.val_score,
            "test_score": saved_result.test_score,
            "train_seconds": saved_result.seconds}  # prune auto's default budget counts in these
    _save_and_report(args, console, saved_model, info, report)
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    train = commands.add_parser(
        "train", help="train and evaluate a GNN, save a checkpoint",
        description="Train a GNN with the recipe for its kind and task, report validation and "
                    "test scores, and save a safetensors checkpoint.")
    train.add_argument("--task", choices=("predict", "link", "recommend"), default="predict",
                       help="predict: the dataset's own labels (nodes or graphs); link: link "
                            "prediction on a node dataset's edges (the GAE protocol); recommend: "
                            "LightGCN on a user-item set (gowalla, ml-1m)")
    train.add_argument("--model", choices=MODEL_KINDS, default="gcn",
                       help="the model, or the encoder with --task link")
    train.add_argument("--dataset", default="synthetic",
                       help="registered name (see `sparsegnn datasets`) or a path")
    _add_data_options(train, download=True)
    train.add_argument("--out", type=Path, default=None, help="checkpoint path to write")
    train.add_argument("--report", type=Path, default=None, help="JSON report path to write")
    train.add_argument("--hidden", type=int, default=None, help="hidden width")
    train.add_argument("--layers", type=int, default=None, help="number of message-passing layers")
    train.add_argument("--heads", type=int, default=None, help="attention heads (gat)")
    train.add_argument("--dropout", type=float, default=None, help="dropout between layers")
    train.add_argument("--norm", choices=("none", "batch_norm", "layer_norm"), default=None,
                       help="normalisation between layers (default: the recipe's)")
    train.add_argument("--residual", action=argparse.BooleanOptionalAction, default=None,
                       help="residual blocks: a linear map in, h = h + act(conv(norm(h))) per "
                            "layer, a linear map out (the heterophilous-graph stack; default: "
                            "the recipe's, on for minesweeper, tolokers, ...)")
    train.add_argument("--act", choices=sorted(ACTIVATIONS), default=None,
                       help="activation (default: the recipe's)")
    train.add_argument("--input-dropout", type=float, default=None,
                       help="dropout on the input features (node tasks; the recipe's default "
                            "suits bag-of-words inputs, 0 suits a few dense features)")
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--lr", type=float, default=None)
    train.add_argument("--weight-decay", type=float, default=None)
    train.add_argument("--batch-size", type=int, default=None,
                       help="graphs per batch (graph tasks), interactions per batch (recommend)")
    train.add_argument("--patience", type=int, default=None,
                       help="stop after this many epochs without validation gain (0: never)")
    train.add_argument("--seed", type=int, default=0, help="first seed")
    train.add_argument("--seeds", type=int, default=1, help="number of seeds to train and average")
    train.add_argument("--split", "--splits", type=_parse_split, default=0,
                       help="which split/fold of the dataset, or 'all' to train on each and "
                            "average (the checkpoint keeps the first split's first seed)")
    train.add_argument("--cv", action="store_true",
                       help="also run cross-validation over every fold (graph datasets)")
    link = train.add_argument_group("link prediction and recommendation (--task link / recommend)")
    link.add_argument("--decoder", choices=("dot", "mlp"), default="dot",
                      help="pair score: dot product of embeddings, or an MLP on their product")
    link.add_argument("--embedding", type=int, default=None,
                      help="embedding width (link: 16; recommend: 64)")
    link.add_argument("--val-edges", type=float, default=0.05, help="share of edges held out "
                      "for validation")
    link.add_argument("--test-edges", type=float, default=0.10, help="share held out for test")
    link.add_argument("--input-norm", action="store_true",
                      help="row-normalise the features (the recipe feeds them raw, as GAE does)")
    train.add_argument("--no-progress", action="store_true", help="hide progress bars")
    train.set_defaults(handler=cmd_train)
