"""``sparsegnn prune`` and ``sparsegnn prune sweep``."""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ._common import MODEL_KINDS, _add_data_options, _add_pruning_options, _pattern_name

# a recommender's distillation weight (``RecommenderConfig.distill``) under ``--distill``
DISTILL_WEIGHT = 0.1


def _prune_recommender(args, checkpoint) -> int:
    """``prune`` of a LightGCN checkpoint: interactions of its graph and embedding entries."""
    from .._fileio import atomic_write_text
    from ..data import load_recommendation
    from ..nn import save_checkpoint
    from ..nn.checkpoint import interactions_extra
    from ..nn.lightgcn import RecommenderConfig
    from ..prune.recommend import prune_recommender

    if args.weight_sparsity or args.channel_sparsity or ":" in args.pattern:
        raise ValueError("a LightGCN has no weight matrices: prune it with --edge-sparsity and "
                         "--embedding-sparsity")
    if args.report is not None:
        raise ValueError("--report draws node and graph classification models; a recommender's "
                         "JSON report is written beside --out")
    interactions = load_recommendation(args.dataset or checkpoint.info.get("dataset"),
                                       args.data_dir)
    if (interactions.num_users, interactions.num_items) != checkpoint.interactions.shape:
        raise ValueError(f"{interactions.name} is {interactions.num_users} x "
                         f"{interactions.num_items}, the checkpoint "
                         f"{checkpoint.interactions.shape}")
    # the model's own scores keep the most recall (docs/pruning-results.md compares criteria)
    criterion = "score" if args.edge_criterion == "auto" else args.edge_criterion
    finetune = RecommenderConfig(epochs=args.epochs or 20, seed=args.seed,
                                 progress=not args.no_progress,
                                 distill=DISTILL_WEIGHT if args.distill else 0.0)
    model = checkpoint.model
    result = prune_recommender(model, interactions, edge_sparsity=args.edge_sparsity,
                               embedding_sparsity=args.embedding_sparsity,
                               embedding_scope=args.embedding_scope, edge_criterion=criterion,
                               finetune=finetune, seed=args.seed,
                               rounds=1 if args.schedule == "oneshot" else args.rounds)
    for label, scores in (("before", result.before), ("after", result.after)):
        print(f"{label}: test recall@20 {scores['test']['recall@20']:.4f}, ndcg@20 "
              f"{scores['test']['ndcg@20']:.4f} (valid recall@20 {scores['valid']['recall@20']:.4f})")
    print(f"edges: kept {result.graph.nnz:,} of {interactions.train.nnz:,} interactions "
          f"({100 * result.edges_kept:.1f} %); embedding entries kept "
          f"{100 * result.embedding_kept:.1f} % ({result.seconds:.1f} s)")
    info = dict(checkpoint.info, pruned_from=str(args.checkpoint),
                edge_sparsity=1 - result.edges_kept, embedding_sparsity=1 - result.embedding_kept,
                edge_criterion=criterion, embedding_scope=args.embedding_scope,
                val_score=result.after["valid"]["recall@20"],
                test_score=result.after["test"]["recall@20"],
                **{"test_ndcg@20": result.after["test"]["ndcg@20"]})
    save_checkpoint(args.out, model, info=info,
                    extra=interactions_extra(interactions.train, result.graph))
    report = {"sparsegnn": __version__, "checkpoint": str(args.checkpoint),
              "dataset": interactions.name, "edge_criterion": criterion,
              "rounds": 1 if args.schedule == "oneshot" else args.rounds,
              "distill": finetune.distill, **result.report()}
    report_path = args.out.with_suffix(".json")
    atomic_write_text(report_path, json.dumps(report, indent=2))
    print(f"saved {args.out} and {report_path}")
    return 0


def cmd_prune(args) -> int:
    from .._fileio import atomic_write_text
    from ..data import load
    from ..metrics import format_score
    from ..nn import load_checkpoint, save_checkpoint
    from ..nn.checkpoint import pruning_extra
    from ..nn.recipes import train_config
    from ..prune import MaskSet, prunable_weights, prune_model, resolve_edge_criterion, resolve_sparsity
    from ..prune.unstructured import MIN_LAYER_DENSITY

    # Everything is checked before the checkpoint and the dataset load (seconds to minutes).
    for flag, value in (("--weight-sparsity", args.weight_sparsity),
                        ("--channel-sparsity", args.channel_sparsity),
                        ("--edge-sparsity", args.edge_sparsity),
                        ("--embedding-sparsity", args.embedding_sparsity)):
        if value is not None and not 0.0 <= value < 1.0:
            raise ValueError(f"{flag} must lie in [0, 1) (1 would remove everything), got {value}")
    if not 0.0 <= args.min_layer_density <= 1.0:
        raise ValueError(f"--min-layer-density must lie in [0, 1], got {args.min_layer_density}")
    if args.weight_sparsity is None and ":" not in args.pattern and not args.channel_sparsity \
            and not args.edge_sparsity and not args.embedding_sparsity:
        raise ValueError("nothing to prune: give --weight-sparsity, --channel-sparsity, "
                         "--edge-sparsity, --embedding-sparsity or an N:M --pattern")
    # an N:M pattern fixes the sparsity; otherwise none given means 0 (channels or edges only)
    weight_sparsity = args.weight_sparsity
    if weight_sparsity is None and ":" not in args.pattern:
        weight_sparsity = 0.0
    weight_sparsity = resolve_sparsity(weight_sparsity, args.pattern)
    if not args.checkpoint.is_file():
        raise FileNotFoundError(f"no checkpoint at {args.checkpoint}")
    checkpoint = load_checkpoint(args.checkpoint)
    if checkpoint.interactions is not None:
        return _prune_recommender(args, checkpoint)
    if args.embedding_sparsity:
        raise ValueError("--embedding-sparsity is for recommenders (LightGCN checkpoints)")
    model = checkpoint.model
    dataset = load(args.dataset or checkpoint.info.get("dataset", "synthetic"), args.data_dir,
                   seed=args.seed)
    links = checkpoint.info.get("task") == "link_prediction"
    if args.report is not None and links:
        raise ValueError("--report draws node and graph classification models; a link "
                         "predictor's JSON report is written beside --out")
    structured = task = None
    dense = None
    if args.report is not None:
        from ..nn.models import plain_copy

        dense = plain_copy(model).eval()
    if links:  # the checkpoint's edge split again: the same held-out pairs before and after
        from ..data.links import random_link_split
        from ..nn.recipes import link_train_config
        from ..prune.links import LinkTask

        if args.channel_sparsity:
            raise ValueError("--channel-sparsity is not implemented for link prediction")
        edge_split = checkpoint.info.get("edge_split") or {}
        split = random_link_split(dataset.graph, edge_split.get("val", 0.05),
                                  edge_split.get("test", 0.10), seed=edge_split.get("seed", 0))
        task = LinkTask(dataset, split)
        finetune = link_train_config(epochs=args.epochs or 200, patience=None, seed=args.seed,
                                     progress=not args.no_progress)
        metric = "roc_auc"
        edge_criterion = "degree" if args.edge_criterion == "auto" else args.edge_criterion
        dense_scores = task.evaluate(model)
    else:
        finetune = train_config(model.kind, dataset, epochs=args.epochs,
                                progress=not args.no_progress, seed=args.seed)
        from ..nn import evaluate

        metric = dataset.metric
        edge_criterion = resolve_edge_criterion(args.edge_criterion, model)
        dense_scores = evaluate(model, dataset, args.split)
    if args.channel_sparsity:
        from ..prune.structured import prune_channels

        model, structured = prune_channels(model, dataset, args.channel_sparsity,
                                           args.channel_criterion, split=args.split,
                                           seed=args.seed, finetune=finetune)
        print(f"channels: hidden width {structured['hidden_before']} -> "
              f"{structured['hidden_after']}; new weight "
              f"shapes: " + ", ".join(f"{n}.weight {tuple(m.weight.shape)}" for n, m in
                                      prunable_weights(model).items()))
    result = prune_model(model, dataset, weight_sparsity, criterion=args.criterion,
                         scope=args.scope, schedule=args.schedule, rounds=args.rounds,
                         rewind=args.rewind, split=args.split, finetune=finetune, seed=args.seed,
                         edge_sparsity=args.edge_sparsity, edge_criterion=edge_criterion,
                         distill=args.distill, pattern=args.pattern,
                         min_layer_density=args.min_layer_density, task=task)
    result.before = dense_scores  # before any pruning, channels included
    MaskSet.bake(model)
    model.eval()
    print(result.masks.table())
    for key in result.masks.thin_layers(MIN_LAYER_DENSITY):
        print(f"warning: {key} keeps less than {MIN_LAYER_DENSITY:.0%} of its weights")
    print(f"before: val {format_score(result.before['val'], metric)}, test "
          f"{format_score(result.before['test'], metric)}; after: val "
          f"{format_score(result.after['val'], metric)}, test "
          f"{format_score(result.after['test'], metric)} ({result.seconds:.1f} s)")
    info = dict(checkpoint.info, pruned_from=str(args.checkpoint),
                weight_sparsity=result.masks.sparsity, pattern=result.masks.pattern,
                criterion=args.criterion,
                schedule=args.schedule, scope=args.scope, val_score=result.after["val"],
                test_score=result.after["test"], dataset=dataset.name)
    if result.graph is not None:  # the pruned graph travels with the model
        print(f"edges: kept {result.graph.num_edges:,} directed edges "
              f"({100 * result.edges_kept:.1f}% of the non-loop edges)")
        info["edge_sparsity"] = 1 - result.edges_kept
    # a link predictor's message-passing graph travels with it, pruned or not
    graph = result.graph if result.graph is not None or not links else task.graph
    save_checkpoint(args.out, model, info=info, extra=pruning_extra(result.masks.weights, graph))
    if not args.edge_sparsity:
        edge_criterion = None
    report = {"sparsegnn": __version__, "checkpoint": str(args.checkpoint),
              "dataset": dataset.name, "criterion": args.criterion, "schedule": args.schedule,
              "scope": args.scope, "edge_criterion": edge_criterion,
              "target_weight_sparsity": weight_sparsity,
              "channels": structured, **result.report()}
    report_path = args.out.with_suffix(".json")
    atomic_write_text(report_path, json.dumps(report, indent=2))
    print(f"saved {args.out} and {report_path}")
    if args.report is not None:
        from ..prune.pictures import pruning_report
        from ..report import write_report

        for path in write_report(pruning_report(dense, model, dataset, result, structured,
                                                metric), args.report):
            print(f"wrote {path}")
    return 0


def cmd_prune_sweep(args) -> int:
    from ..data import load
    from ..prune.sweep import sweep, sweep_markdown, write_sweep

    dataset = load(args.dataset, args.data_dir)
    result = sweep(dataset, kind=args.model, weights=args.weights, edges=args.edges,
                   seeds=args.seeds, criterion=args.criterion, schedule=args.schedule,
                   edge_criterion=args.edge_criterion, rounds=args.rounds, scope=args.scope,
                   patterns=args.patterns or [args.pattern],
                   progress=None if args.no_progress else print)
    print(sweep_markdown(result))
    for path in write_sweep(result, args.out):
        print(f"wrote {path}")
    return 0


def _auto_space(args):
    """The search space from ``prune auto``'s options (checked before anything loads)."""
    from ..prune.auto import SearchSpace

    if not args.max_drop >= 0:
        raise ValueError(f"--max-drop must be >= 0, got {args.max_drop}")
    for flag, value in (("--budget-minutes", args.budget_minutes),
                        ("--budget-trainings", args.budget_trainings)):
        if value is not None and not value > 0:
            raise ValueError(f"{flag} must be > 0, got {value}")
    if args.trials < 1:
        raise ValueError(f"--trials must be >= 1, got {args.trials}")
    return SearchSpace(weights=tuple(args.weights), edges=tuple(args.edges) if args.edges else None,
                       channels=tuple(args.channels) if args.channels else None,
                       patterns=tuple(args.patterns))


def cmd_prune_auto(args) -> int:
    from .._fileio import atomic_write_text
    from ..data import load
    from ..nn import load_checkpoint, save_checkpoint
    from ..nn.checkpoint import pruning_extra
    from ..nn.recipes import train_config
    from ..prune.auto import auto_markdown, auto_prune, write_auto

    space = _auto_space(args)
    if not args.checkpoint.is_file():
        raise FileNotFoundError(f"no checkpoint at {args.checkpoint}")
    checkpoint = load_checkpoint(args.checkpoint)
    if checkpoint.interactions is not None or checkpoint.info.get("task") == "link_prediction":
        raise ValueError("prune auto searches node and graph classification checkpoints; prune "
                         "link predictors and recommenders with `sparsegnn prune`")
    dataset = load(args.dataset or checkpoint.info.get("dataset", "synthetic"), args.data_dir,
                   seed=args.seed)
    budget = None if args.budget_minutes is None else 60 * args.budget_minutes
    trained = checkpoint.info.get("train_seconds")
    if budget is None and trained:
        budget = args.budget_trainings * trained
        print(f"budget: {budget:.0f} s, {args.budget_trainings:g} x the {trained:.1f} s the "
              f"dense model took to train (--budget-minutes sets another)")
    finetune = train_config(checkpoint.model.kind, dataset, epochs=args.epochs, progress=False,
                            seed=args.seed)
    result = auto_prune(checkpoint.model, dataset, max_drop=args.max_drop,
                        objective=args.objective, trials=args.trials, budget_seconds=budget,
                        space=space, split=args.split, seed=args.seed, finetune=finetune,
                        search_epochs=args.search_epochs, criterion=args.criterion,
                        edge_criterion=args.edge_criterion, schedule=args.schedule,
                        rounds=args.rounds, scope=args.scope,
                        progress=None if args.no_progress else print)
    print(auto_markdown(result))
    front = args.front if args.front is not None else args.out.with_name(args.out.stem + "-front")
    for path in write_auto(result, front):
        print(f"wrote {path}")
    if result.chosen is None:
        print(f"no trial stayed within a drop of {args.max_drop}; nothing saved to {args.out}")
        return 3
    chosen = result.chosen
    info = dict(checkpoint.info, pruned_from=str(args.checkpoint), dataset=dataset.name,
                weight_sparsity=result.masks.sparsity, pattern=result.masks.pattern,
                criterion=args.criterion, schedule=args.schedule, scope=args.scope,
                val_score=chosen.val, test_score=result.test,
                auto={"objective": args.objective, "max_drop": args.max_drop,
                      "trial": chosen.number, "trials": len(result.trials),
                      "channel_sparsity": chosen.channels, "weights_kept": chosen.weights_kept})
    if result.graph is not None:
        info["edge_sparsity"] = chosen.edges
    save_checkpoint(args.out, result.model, info=info,
                    extra=pruning_extra(result.masks.weights, result.graph))
    report = {"sparsegnn": __version__, "checkpoint": str(args.checkpoint),
              "dataset": dataset.name, **result.to_json()}
    report_path = args.out.with_suffix(".json")
    atomic_write_text(report_path, json.dumps(report, indent=2))
    print(f"saved {args.out} and {report_path}")
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    prune = commands.add_parser(
        "prune", help="prune a checkpoint's weights and fine-tune it",
        description="Prune the weights of a trained checkpoint to a target sparsity with a "
                    "criterion and schedule, fine-tune with the masks fixed, and write the pruned "
                    "checkpoint (masks included) and a JSON report.")
    prune.add_argument("checkpoint", type=Path)
    prune.add_argument("--dataset", default=None, help="default: the checkpoint's dataset")
    _add_data_options(prune)
    prune.add_argument("--weight-sparsity", type=float, default=None,
                       help="fraction of prunable weights to remove, e.g. 0.95 (an N:M "
                            "--pattern fixes it)")
    prune.add_argument("--channel-sparsity", type=float, default=0.0,
                       help="fraction of hidden channels to remove first (gcn, sage, gin; for "
                            "gat: whole attention heads); the model becomes physically narrower")
    prune.add_argument("--channel-criterion", choices=("l2", "l1", "taylor", "ig"), default="l2",
                       help="channel/head importance: group L2 or L1 norm, first-order Taylor "
                            "(Σ w·dL/dw)² over the training loss, or |Σ integrated gradients| "
                            "of the group's weights")
    _add_pruning_options(prune)
    prune.add_argument("--min-layer-density", type=float, default=0.01,
                       help="under global scope, the share of each weight matrix kept whatever "
                            "the ranking (default 0.01; 0 lets a matrix vanish entirely)")
    prune.add_argument("--rewind", action="store_true",
                       help="iterative: rewind kept weights to the checkpoint's before retraining")
    prune.add_argument("--edge-sparsity", type=float, default=0.0,
                       help="fraction of edges to remove: undirected edges (node classification), "
                            "the message-passing graph (link prediction), interactions "
                            "(recommenders)")
    prune.add_argument("--embedding-sparsity", type=float, default=0.0,
                       help="share of embedding entries to prune (recommenders)")
    prune.add_argument("--embedding-scope", choices=("row", "global"), default="row",
                       help="embedding entries ranked per user / item row (default) or over "
                            "both tables")
    prune.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs per round")
    prune.add_argument("--distill", action="store_true",
                       help="fine-tune against the dense model's outputs too (distillation; "
                            "recommenders: the pairs' score margins)")
    prune.add_argument("--split", type=int, default=0)
    prune.add_argument("--seed", type=int, default=0)
    prune.add_argument("--out", type=Path, required=True, help="pruned checkpoint path")
    prune.add_argument("--report", type=Path, default=None, metavar="DIR",
                       help="also draw what was pruned into DIR: PNGs (kept per layer, mask heat "
                            "maps, channels, degrees, a small graph with pruned edges dashed) "
                            "and index.html, with scores, size and latency before and after "
                            "(the JSON report is always written beside --out)")
    prune.add_argument("--no-progress", action="store_true")
    prune.set_defaults(handler=cmd_prune)

    sweep = commands.add_parser(
        "prune-sweep", help="accuracy over a grid of sparsities (also: sparsegnn prune sweep)",
        description="Train a dense model per seed, prune copies to every weight x edge sparsity "
                    "of the grid, fine-tune, and write the accuracy table (JSON, markdown) and a "
                    "PNG plot. `sparsegnn prune sweep ...` is the same command.")
    sweep.add_argument("--model", choices=MODEL_KINDS, default="gcn")
    sweep.add_argument("--dataset", default="synthetic")
    _add_data_options(sweep)
    sweep.add_argument("--weights", type=float, nargs="+", default=[0.9, 0.95, 0.98],
                       help="weight sparsities (rows)")
    sweep.add_argument("--edges", type=float, nargs="+", default=[0.0],
                       help="edge sparsities (columns; node classification)")
    sweep.add_argument("--seeds", type=int, default=5)
    _add_pruning_options(sweep)
    sweep.add_argument("--patterns", nargs="+", type=_pattern_name, default=None,
                       help="several patterns, one group of rows each (an N:M pattern is one "
                            "row at the sparsity it fixes)")
    sweep.add_argument("--out", type=Path, default=Path("sweep"),
                       help="output prefix: writes PREFIX.json, PREFIX.md and PREFIX.png")
    sweep.add_argument("--no-progress", action="store_true")
    sweep.set_defaults(handler=cmd_prune_sweep)

    auto = commands.add_parser(
        "prune-auto", help="search the sparsest pruning within an accuracy drop (also: "
                           "sparsegnn prune auto)",
        description="Search weight, edge and (optionally) channel sparsity and pattern with "
                    "Optuna's Gaussian-process sampler for the cheapest pruned model whose "
                    "validation score stays within --max-drop of the dense model's. Test "
                    "scores are not read during the search; the chosen model's is reported once "
                    "at the end. Writes the chosen checkpoint, its JSON report, and the Pareto "
                    "front (JSON, markdown, PNG). `sparsegnn prune auto ...` is the same command.")
    auto.add_argument("checkpoint", type=Path)
    auto.add_argument("--dataset", default=None, help="default: the checkpoint's dataset")
    _add_data_options(auto)
    auto.add_argument("--max-drop", type=float, default=1.0,
                      help="largest validation drop allowed: points of accuracy or ROC-AUC (1.0 "
                           "= one point), or the rise in RMSE (default 1.0)")
    auto.add_argument("--objective", choices=("size", "flops", "latency"), default="size",
                      help="what to minimise: artifact bytes (default), multiply-adds of one "
                           "inference, or the runtime's latency on this machine")
    auto.add_argument("--trials", type=int, default=60, help="at most this many trials")
    auto.add_argument("--budget-minutes", type=float, default=None,
                      help="stop starting trials after this long (default: --budget-trainings "
                           "times the checkpoint's training time, when it recorded one)")
    auto.add_argument("--budget-trainings", type=float, default=10.0,
                      help="the default budget in dense trainings (default 10)")
    auto.add_argument("--weights", type=float, nargs=2, default=[0.5, 0.995],
                      metavar=("LOW", "HIGH"), help="weight sparsity range (default 0.5 0.995)")
    auto.add_argument("--edges", type=float, nargs=2, default=[0.0, 0.8], metavar=("LOW", "HIGH"),
                      help="edge sparsity range, node tasks (default 0 0.8)")
    auto.add_argument("--channels", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                      help="also search channel (head) sparsity in this range; off by default: "
                           "on small models it cost more accuracy per byte saved than weights")
    auto.add_argument("--patterns", nargs="+", type=_pattern_name, default=["unstructured"],
                      help="patterns to choose from (unstructured and RxC blocks)")
    _add_pruning_options(auto)
    auto.add_argument("--epochs", type=int, default=None,
                      help="fine-tuning epochs of the chosen model (default: the recipe's)")
    auto.add_argument("--search-epochs", type=int, default=None,
                      help="fine-tuning epochs per trial (default: a quarter of --epochs, >= 20)")
    auto.add_argument("--split", type=int, default=0)
    auto.add_argument("--seed", type=int, default=0)
    auto.add_argument("--out", type=Path, required=True, help="the chosen checkpoint's path")
    auto.add_argument("--front", type=Path, default=None,
                      help="prefix of the front's files (default: --out's stem + '-front')")
    auto.add_argument("--no-progress", action="store_true")
    auto.set_defaults(handler=cmd_prune_auto)
