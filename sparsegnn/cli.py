"""The ``sparsegnn`` command line.

Commands import what they need when they run, so ``sparsegnn --help`` and ``sparsegnn datasets``
start without torch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__

__all__ = ["main", "build_parser"]


def _console():
    """Rich output; redirected to a file or pipe, lines are not wrapped at 80 columns and
    tables get room for every column."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=200)
    return console


def _add_data_options(parser: argparse.ArgumentParser, *, download: bool = False,
                      mirror: bool = False) -> None:
    """The data options, declared once: ``--data-dir`` for every command that reads datasets;
    ``--download`` and ``--mirror`` where the command can fetch them."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data root laid out like shared/datasets (default: $SPARSEGNN_DATA, "
                             "../shared/datasets, then the download cache)")
    if download:
        parser.add_argument("--download", action="store_true",
                            help="fetch missing dataset files (sha256-checked) into the cache")
    if download or mirror:
        parser.add_argument("--mirror", default=None,
                            help="base URL laid out like the data root, used instead of the "
                                 "public sources when downloading")


# ----------------------------------------------------------------------------- datasets
def cmd_datasets(args) -> int:
    from rich.table import Table

    from .data import available, download_files, load
    from .data.registry import REGISTRY, data_roots

    console = _console()
    for name in args.fetch or []:
        if name not in REGISTRY or not REGISTRY[name].files():
            console.print(f"[red]cannot download {name!r}: not a registered file dataset")
            return 2
        root = download_files(REGISTRY[name].files(), args.data_dir, mirror=args.mirror,
                              progress=console.print)
        console.print(f"{name}: files ready under {root}")
    table = Table(title="datasets")
    for column in ("name", "format", "found under", "description"):
        table.add_column(column)
    if args.counts:
        for column in ("nodes", "edges", "features", "classes", "graphs"):
            table.add_column(column, justify="right")
    for spec, root in available(args.data_dir):
        found = "built in" if spec.kind == "synthetic" else (str(root) if root else "[dim]absent")
        row = [spec.name, spec.kind, found, spec.description]
        if args.counts:
            if root is None and spec.kind != "synthetic":
                row += [""] * 5
            else:
                info = load(spec.name, args.data_dir).summary()
                row += [f"{info[k]:,}" if k in info else "" for k in
                        ("nodes", "edges", "features", "classes", "graphs")]
        table.add_row(*row)
    console.print(table)
    console.print("searched: " + ", ".join(str(r) for r in data_roots(args.data_dir)))
    return 0


# ----------------------------------------------------------------------------- train
def _format_score(value: float, metric: str) -> str:
    return f"{value:.4f}" if metric == "rmse" else f"{100 * value:.2f}%"


def cmd_train(args) -> int:
    import numpy as np

    from .data import load
    from .nn import cross_validate, fit, save_checkpoint
    from .nn.models import build_model
    from .nn.recipes import model_config, train_config
    from .nn.train import seed_everything

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
        from ._fileio import atomic_write_text

        atomic_write_text(args.report, json.dumps(report, indent=2))
        console.print(f"wrote {args.report}")
    return 0


# ----------------------------------------------------------------------------- prune
def cmd_prune(args) -> int:
    from ._fileio import atomic_write_text
    from .data import load
    from .nn import load_checkpoint, save_checkpoint
    from .nn.checkpoint import pruning_extra
    from .nn.recipes import train_config
    from .prune import MaskSet, prunable_weights, prune_model, resolve_edge_criterion, resolve_sparsity

    # an N:M pattern fixes the sparsity; otherwise none given means 0
    weight_sparsity = args.weight_sparsity
    if weight_sparsity is None and ":" not in args.pattern:
        weight_sparsity = 0.0
    weight_sparsity = resolve_sparsity(weight_sparsity, args.pattern)
    checkpoint = load_checkpoint(args.checkpoint)
    model = checkpoint.model
    dataset = load(args.dataset or checkpoint.info.get("dataset", "synthetic"), args.data_dir,
                   seed=args.seed)
    finetune = train_config(model.kind, dataset, epochs=args.epochs, progress=not args.no_progress,
                            seed=args.seed)
    from .nn import evaluate

    dense_scores = evaluate(model, dataset, args.split)
    structured = None
    if args.channel_sparsity:
        from .prune.structured import prune_channels

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
                         edge_sparsity=args.edge_sparsity, edge_criterion=args.edge_criterion,
                         distill=args.distill, pattern=args.pattern)
    result.before = dense_scores  # before any pruning, channels included
    MaskSet.bake(model)
    model.eval()
    metric = "rmse" if dataset.task == "graph_regression" else "accuracy"
    print(result.masks.table())
    print(f"{metric} before: val {result.before['val']:.4f} test {result.before['test']:.4f}; "
          f"after: val {result.after['val']:.4f} test {result.after['test']:.4f} "
          f"({result.seconds:.1f} s)")
    info = dict(checkpoint.info, pruned_from=str(args.checkpoint),
                weight_sparsity=result.masks.sparsity, pattern=result.masks.pattern,
                criterion=args.criterion,
                schedule=args.schedule, scope=args.scope, val_score=result.after["val"],
                test_score=result.after["test"], dataset=dataset.name)
    if result.graph is not None:  # the pruned graph travels with the model
        print(f"edges: kept {result.graph.num_edges:,} directed edges "
              f"({100 * result.edges_kept:.1f}% of the non-loop edges)")
        info["edge_sparsity"] = 1 - result.edges_kept
    save_checkpoint(args.out, model, info=info,
                    extra=pruning_extra(result.masks.weights, result.graph))
    edge_criterion = resolve_edge_criterion(args.edge_criterion, model) if args.edge_sparsity \
        else None
    report = {"sparsegnn": __version__, "checkpoint": str(args.checkpoint),
              "dataset": dataset.name, "criterion": args.criterion, "schedule": args.schedule,
              "scope": args.scope, "edge_criterion": edge_criterion,
              "target_weight_sparsity": weight_sparsity,
              "channels": structured, **result.report()}
    report_path = args.report or args.out.with_suffix(".json")
    atomic_write_text(report_path, json.dumps(report, indent=2))
    print(f"saved {args.out} and {report_path}")
    return 0


def cmd_prune_sweep(args) -> int:
    from .data import load
    from .prune.sweep import sweep, sweep_markdown, write_sweep

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


# ----------------------------------------------------------------------------- export
def _weight_bytes(model) -> int:
    return sum(p.numel() * 4 for p in model.parameters())


def cmd_export(args) -> int:
    from .export import export_checkpoint
    from .nn import load_checkpoint

    checkpoint = load_checkpoint(args.checkpoint)
    graph = checkpoint.graph if args.store_graph else None  # a pruned graph travels along
    if args.store_graph and graph is None:
        from .data import load

        if checkpoint.info.get("dataset") is None and args.dataset is None:
            print("sparsegnn export: error: --store-graph needs --dataset (the checkpoint names "
                  "none)", file=sys.stderr)
            return 2
        dataset = load(args.dataset or checkpoint.info["dataset"], args.data_dir)
        if dataset.is_graph_task:
            print("sparsegnn export: error: --store-graph is for node-level (transductive) "
                  "models", file=sys.stderr)
            return 2
        graph = dataset.graph
    path = export_checkpoint(checkpoint, args.out, source=args.checkpoint, graph=graph,
                             csr_max_density=args.csr_max_density)
    from .artifact import load_artifact
    from .ir import STORED_GRAPH

    dense = _weight_bytes(checkpoint.model)
    size = path.stat().st_size
    tensors = load_artifact(path).tensors
    graph_bytes = sum(a.nbytes for n, a in tensors.items() if n.startswith(f"{STORED_GRAPH}."))
    weight_bytes = sum(a.nbytes for a in tensors.values()) - graph_bytes
    print(f"wrote {path}")
    print(f"dense fp32 weights: {dense:,} bytes")
    # the header (manifest, tensor table) is a fixed cost: a percentage of the whole file would
    # read as thousands of percent for a tiny model
    print(f"artifact:           {size:,} bytes: weights {weight_bytes:,} "
          f"({100 * weight_bytes / dense:.1f}% of dense), header {size - weight_bytes - graph_bytes:,}"
          f"{f', stored graph {graph_bytes:,}' if graph_bytes else ''}")
    if args.onnx is not None:
        from .export.onnx_writer import save_onnx, save_ort

        onnx_path = save_onnx(load_artifact(path), args.onnx, sparse_weights=args.sparse_onnx)
        onnx_size = onnx_path.stat().st_size
        print(f"onnx:               {onnx_size:,} bytes"
              f"{' (sparse weights)' if args.sparse_onnx else ''}")
        if args.ort is not None:
            ort_size = save_ort(onnx_path, args.ort).stat().st_size
            print(f"ort (mobile):       {ort_size:,} bytes")
    return 0


# ----------------------------------------------------------------------------- inspect
def cmd_inspect(args) -> int:
    from .runtime.describe import describe_artifact

    for line in describe_artifact(args.artifact):
        print(line)
    return 0


# ----------------------------------------------------------------------------- run
def _load_user_graph(path: Path):
    """``x`` and ``edge_index`` (and optionally ``batch``) from an npz, without pickle."""
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        missing = [k for k in ("x", "edge_index") if k not in archive]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing} (expected x, edge_index[, batch])")
        return archive["x"], archive["edge_index"], archive["batch"] if "batch" in archive else None


def cmd_run(args) -> int:
    import time

    import numpy as np

    from .runtime import Session

    session = Session(args.artifact, num_threads=args.threads)
    labels = split_ids = None
    if args.input is not None:
        x, graph, batch = _load_user_graph(args.input)
    else:
        from .data import load

        recorded = session.metadata.get("train_dataset")
        name = args.dataset or (recorded if isinstance(recorded, str) else None)
        if args.dataset is None:
            print(f"dataset: {name or 'synthetic'} ("
                  f"{'recorded in the artifact' if name else 'the artifact records none'}; "
                  f"--dataset chooses another)")
        dataset = load(name or "synthetic", args.data_dir)
        x, graph, batch = dataset.x, dataset.graph, dataset.batch
        if session.model.has_stored_graph and not args.dataset_graph:
            graph = None  # the (possibly edge-pruned) graph exported with the model
            print("using the graph stored in the artifact (--dataset-graph uses the dataset's)")
        labels = dataset.y
        split_ids = dataset.splits[args.split].test if dataset.splits else None
    times = []
    for _ in range(max(args.repeat, 1)):
        started = time.perf_counter()
        output = session.run(x, graph, batch)
        times.append(time.perf_counter() - started)
    print(f"output {output.shape}, first call {1e3 * times[0]:.2f} ms, median of {len(times)} "
          f"calls {1e3 * float(np.median(times)):.2f} ms ({args.threads or 'all'} threads)")
    if labels is not None and split_ids is not None and labels.dtype.kind in "iu":
        accuracy = float((output[split_ids].argmax(axis=1) == labels[split_ids]).mean())
        print(f"test accuracy: {100 * accuracy:.2f}% on {split_ids.size} "
              f"{'graphs' if batch is not None else 'nodes'}")
    if args.predictions is not None:
        from ._fileio import atomic_path

        with atomic_path(args.predictions) as temporary, open(temporary, "wb") as handle:
            np.save(handle, output)
        print(f"wrote {args.predictions}")
    return 0


# ----------------------------------------------------------------------------- parser
def _add_pruning_options(parser: argparse.ArgumentParser) -> None:
    """Criterion and schedule options shared by `prune` and `prune sweep`."""
    parser.add_argument("--criterion", choices=("magnitude", "random", "saliency", "l1"),
                        default="magnitude",
                        help="weight importance: |w|, random, |w·dL/dw| (gradient saliency), or "
                             "|w| after L1-regularised training")
    parser.add_argument("--schedule", choices=("oneshot", "iterative", "gradual"),
                        default="oneshot")
    parser.add_argument("--rounds", type=int, default=3,
                        help="pruning steps of the iterative and gradual schedules")
    parser.add_argument("--scope", choices=("global", "layer"), default="global",
                        help="rank all weights together, or prune every layer to the same "
                             "sparsity")
    parser.add_argument("--pattern", default="unstructured", type=_pattern_name,
                        help="which weights go together: unstructured (default); RxC blocks "
                             "of R inputs x C outputs (1x4, 1x8, 1x16 along the outputs, 4x1 "
                             "along the inputs: the runtime's kernels turn them into more "
                             "speed); N:M keeps N of every M consecutive inputs (2:4 is 50 %%)")
    parser.add_argument("--edge-criterion", default="auto",
                        choices=("auto", "influence", "agreement", "learned", "degree", "random"),
                        help="auto (default): influence for GCN, agreement for other models; "
                             "influence: greedy removal, in 25 steps, of the edges whose removal "
                             "moves the model's outputs least from its full-graph predictions, "
                             "never a node's last neighbour while others can go (GCN); "
                             "agreement: edges whose ends the model puts in different classes "
                             "first, then by degree; learned: UGS-style jointly trained edge "
                             "mask (GCN); degree: 1/sqrt(deg u deg v) heuristic; random")


def _pattern_name(text: str) -> str:
    """argparse type: a valid pattern name, normalised (checked before anything loads)."""
    from .patterns import Pattern, PatternError

    try:
        return Pattern.parse(text).name
    except PatternError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ----------------------------------------------------------------------------- bench
def _bench_settings(args):
    from .benchmark import Settings

    return Settings(min_seconds=args.min_seconds, max_repeat=args.max_repeat,
                    min_repeat=min(Settings.min_repeat, args.max_repeat),
                    batch_size=args.batch_size, split=args.split,
                    process_metrics=not args.no_process_metrics,
                    memory_limit_mb=args.memory_limit_mb)


def _print_bench(result) -> None:
    from .benchmark.schema import HEADER, dense_self_p50, reference_p50, run_row

    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # the runtime-only install: plain markdown
        from .benchmark import markdown

        print(markdown(result))
        return
    for model in result["models"]:
        runs = [r for r in result["runs"] if r["model"] == model["label"]]
        table = Table(title=f"{result['dataset']['name']} / {model['label']}: "
                            f"{100 * model['weight_sparsity']:.1f}% weights pruned, "
                            f"{100 * (model.get('edge_sparsity') or 0):.1f}% edges pruned")
        for column in HEADER:
            table.add_column(column)
        reference = reference_p50(runs)
        for run in runs:
            table.add_row(*run_row(run, reference, dense_self_p50(runs, run)))
        Console(width=max(Console().width, 150)).print(table)


def cmd_bench(args) -> int:
    from .benchmark import RUNTIME_BACKENDS, run_bench, write_outputs
    from .benchmark.prepare import artifact_models, prepare_checkpoints
    from .data import load

    if args.max_repeat < 1 or args.min_seconds < 0 or args.batch_size < 1:
        print("sparsegnn bench: error: --max-repeat and --batch-size must be >= 1 and "
              "--min-seconds >= 0", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.models if not p.is_file()]
    if missing:  # before anything is written
        print(f"sparsegnn bench: error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    artifacts = [p for p in args.models if p.suffix == ".sgnn"]
    checkpoints = [p for p in args.models if p.suffix != ".sgnn"]
    backends = args.backends.split(",") if args.backends else None
    if args.runtime_only:
        if checkpoints:
            print("sparsegnn bench: error: --runtime-only takes .sgnn artifacts (export them "
                  f"first), got {[str(p) for p in checkpoints]}", file=sys.stderr)
            return 2
        backends = backends or list(RUNTIME_BACKENDS)
        outside = sorted(set(backends) - set(RUNTIME_BACKENDS))
        if outside:
            print(f"sparsegnn bench: error: --runtime-only runs {list(RUNTIME_BACKENDS)}, not "
                  f"{outside}", file=sys.stderr)
            return 2
    models, entries = artifact_models(artifacts) if artifacts else ([], [])
    if checkpoints:
        more, more_entries = prepare_checkpoints(checkpoints, args.export_dir or args.out / "models")
        models, entries = more + models, more_entries + entries
    name = args.dataset or next((m.info.get("dataset") for m in models if m.info.get("dataset")),
                                None)
    if name is None and artifacts:
        from .artifact import load_artifact

        name = load_artifact(artifacts[0]).metadata.get("train_dataset")
    dataset = load(name or "synthetic", args.data_dir)
    result = run_bench(models, dataset, backends=backends, settings=_bench_settings(args),
                       progress=not args.no_progress, model_info=entries)
    _print_bench(result)
    for path in write_outputs(result, args.out):
        print(f"wrote {path}")
    if not any(run["status"] == "ok" for run in result["runs"]):
        print("sparsegnn bench: error: no backend ran (see the reasons above)", file=sys.stderr)
        return 1
    return 0


def cmd_bench_compare(args) -> int:
    import json

    from ._fileio import atomic_write_text
    from .benchmark import load_result, merge

    merged = merge([load_result(p) for p in args.results],
                   args.names.split(",") if args.names else None)
    print(merged["markdown"])
    args.out.mkdir(parents=True, exist_ok=True)
    written = [atomic_write_text(args.out / "compare.json", json.dumps(
                   {k: v for k, v in merged.items() if k != "markdown"}, indent=2)),
               atomic_write_text(args.out / "compare.md", merged["markdown"])]
    try:
        from .benchmark.plots import plot_compare
    except ImportError:
        pass
    else:
        written.append(plot_compare(merged, args.out / "compare.png"))
    for path in written:
        print(f"wrote {path}")
    return 0


# ----------------------------------------------------------------------------- tune
def cmd_tune(args) -> int:
    from .runtime.tuning import DEFAULT, calibrate, load_tuning, save_tuning, tuning_path

    if args.show:
        tuning = load_tuning(args.out) if args.out else load_tuning()
        source = args.out or (tuning_path() if tuning is not DEFAULT else "built-in defaults")
        print(f"tuning in use: {source}")
    else:
        print(f"measuring the kernels on this machine ({args.rows:,} rows; the first run "
              f"compiles them)")
        tuning = calibrate(rows=args.rows, progress=lambda step: print(f"  {step} ..."))
        path = save_tuning(tuning, args.out)
        print(f"wrote {path}")
    for name, value in tuning.to_json().items():
        print(f"  {name:28s} {value}")
    print("crossovers for a 256 x 256 layer (weight density below which a sparse kernel beats "
          "the dense one):")
    for line in _crossovers(tuning):
        print(f"  {line}")
    return 0


def _crossovers(tuning) -> list[str]:
    """Where each sparse kernel's price meets the dense product's, for a 256 x 256 layer."""
    width, lanes = 256, 16
    dense = min(width * width * tuning.vector_madd + width * tuning.vector_element,
                width * width * tuning.dense_madd)
    panels = (dense - 2 * width * tuning.panel_element) / (width * width * tuning.panel_madd)
    vectors = (dense - width * tuning.vector_element) / (width * width * tuning.vector_madd)
    return [f"node panels (unstructured, 4x1): {100 * min(max(panels, 0), 1):.0f} % dense",
            f"output vectors (blocks of {lanes} outputs): {100 * min(max(vectors, 0), 1):.0f} % "
            f"of the vectors stored"]


# ----------------------------------------------------------------------------- quickstart
def cmd_quickstart(args) -> int:
    """train -> prune -> export -> run -> bench, through the same commands a user types."""
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparsegnn",
        description="Prune, export and run graph neural networks on CPUs.")
    parser.add_argument("--version", action="version", version=f"sparsegnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    datasets = commands.add_parser(
        "datasets", help="list the datasets found under the data root",
        description="List every registered dataset and where it was found; optionally fetch "
                    "dataset files (checked against their sha256) into the cache.")
    _add_data_options(datasets, mirror=True)
    datasets.add_argument("--fetch", nargs="+", metavar="NAME",
                          help="download these datasets into --data-dir or the cache")
    datasets.add_argument("--counts", action="store_true",
                          help="load each dataset found and show its node/edge/feature counts")
    datasets.set_defaults(handler=cmd_datasets)

    train = commands.add_parser(
        "train", help="train and evaluate a GNN, save a checkpoint",
        description="Train a GNN with the recipe for its kind and task, report validation and "
                    "test scores, and save a safetensors checkpoint.")
    train.add_argument("--model", choices=("gcn", "sage", "gin", "gat"), default="gcn")
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
    prune.add_argument("--channel-criterion", choices=("l2", "l1", "taylor"), default="l2",
                       help="channel/head importance: group L2 or L1 norm, or first-order Taylor "
                            "(Σ w·dL/dw)² over the training loss")
    _add_pruning_options(prune)
    prune.add_argument("--rewind", action="store_true",
                       help="iterative: rewind kept weights to the checkpoint's before retraining")
    prune.add_argument("--edge-sparsity", type=float, default=0.0,
                       help="fraction of undirected edges to remove (node classification)")
    prune.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs per round")
    prune.add_argument("--distill", action="store_true",
                       help="fine-tune against the dense model's outputs too (distillation)")
    prune.add_argument("--split", type=int, default=0)
    prune.add_argument("--seed", type=int, default=0)
    prune.add_argument("--out", type=Path, required=True, help="pruned checkpoint path")
    prune.add_argument("--report", type=Path, default=None,
                       help="JSON report path (default: --out with .json)")
    prune.add_argument("--no-progress", action="store_true")
    prune.set_defaults(handler=cmd_prune)

    sweep = commands.add_parser(
        "prune-sweep", help="accuracy over a grid of sparsities (also: sparsegnn prune sweep)",
        description="Train a dense model per seed, prune copies to every weight x edge sparsity "
                    "of the grid, fine-tune, and write the accuracy table (JSON, markdown) and a "
                    "PNG plot. `sparsegnn prune sweep ...` is the same command.")
    sweep.add_argument("--model", choices=("gcn", "sage", "gin", "gat"), default="gcn")
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

    export = commands.add_parser(
        "export", help="export a checkpoint to a .sgnn artifact",
        description="Bake the checkpoint's weights into a .sgnn artifact (batch norms folded, "
                    "dropout dropped, sparse weights in CSR) and print its size against the "
                    "dense fp32 weights.")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--out", type=Path, required=True, help="artifact path (.sgnn)")
    export.add_argument("--store-graph", action="store_true",
                        help="store the dataset's graph in the artifact (transductive models)")
    export.add_argument("--dataset", default=None,
                        help="dataset whose graph to store (default: the checkpoint's)")
    _add_data_options(export)
    export.add_argument("--csr-max-density", type=float, default=0.4,
                        help="store weights at or below this density as CSR")
    export.add_argument("--onnx", type=Path, default=None,
                        help="also write a standard ONNX model (inputs x, edge_index[, batch])")
    export.add_argument("--sparse-onnx", action="store_true",
                        help="write CSR weights as ONNX sparse initializers (smaller file; ONNX "
                             "Runtime densifies them at load)")
    export.add_argument("--ort", type=Path, default=None,
                        help="also convert the ONNX model to ONNX Runtime Mobile's ORT format")
    export.set_defaults(handler=cmd_export)

    inspect = commands.add_parser(
        "inspect", help="describe a .sgnn artifact",
        description="Print an artifact's provenance, ops, weight shapes, storage and sparsity.")
    inspect.add_argument("artifact", type=Path)
    inspect.set_defaults(handler=cmd_inspect)

    run = commands.add_parser(
        "run", help="run a .sgnn artifact with the numpy + numba runtime",
        description="Run an artifact on a dataset (reporting test accuracy) or on your own graph, "
                    "and report latency. Needs only the runtime (numpy + numba).")
    run.add_argument("artifact", type=Path)
    source = run.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None,
                        help="registered dataset name or path (default: the one the artifact "
                             "records, else synthetic)")
    source.add_argument("--input", type=Path, default=None,
                        help="an .npz with x (N, F), edge_index (2, E) and optionally batch (N,)")
    _add_data_options(run)
    run.add_argument("--split", type=int, default=0, help="split whose test part is scored")
    run.add_argument("--dataset-graph", action="store_true",
                     help="use the dataset's graph even if the artifact stores one")
    run.add_argument("--threads", type=int, default=None, help="kernel threads (default: all)")
    run.add_argument("--repeat", type=int, default=10, help="calls to time")
    run.add_argument("--predictions", type=Path, default=None, help="write the output (.npy)")
    run.set_defaults(handler=cmd_run)

    bench = commands.add_parser(
        "bench", help="latency, memory, size and accuracy on every backend (also: bench compare)",
        description="Run the same models on every available backend (dense and masked PyTorch, "
                    "PyG edge_index / CSR / SparseTensor, torch-scatter, ONNX Runtime, the "
                    "sparsegnn runtime at 1 and all threads) over the same inputs; report p50/"
                    "p95/p99 latency, throughput, cold start and peak memory (a fresh process "
                    "per backend), file size and accuracy. Writes JSON, markdown and PNG plots. "
                    "`sparsegnn bench compare A.json B.json` merges runs from several machines.")
    bench.add_argument("models", type=Path, nargs="+",
                       help="checkpoints (.safetensors; exported here) and/or artifacts (.sgnn)")
    bench.add_argument("--dataset", default=None, help="default: the first model's dataset")
    _add_data_options(bench)
    bench.add_argument("--split", type=int, default=0, help="split whose test part is evaluated")
    bench.add_argument("--backends", default=None,
                       help="comma-separated subset (default: all; absent ones are reported)")
    bench.add_argument("--runtime-only", action="store_true",
                       help="only the sparsegnn runtime: needs numpy + numba, no torch (devices)")
    bench.add_argument("--min-seconds", type=float, default=1.0,
                       help="time each backend at least this long (after warm-up)")
    bench.add_argument("--max-repeat", type=int, default=200, help="at most this many calls")
    bench.add_argument("--batch-size", type=int, default=64,
                       help="graphs per call for the throughput of graph-level models")
    bench.add_argument("--no-process-metrics", action="store_true",
                       help="skip the fresh process per backend (cold start, peak memory, and "
                            "the check that the backend fits in memory)")
    bench.add_argument("--memory-limit-mb", type=float, default=None,
                       help="a backend whose first run needs more is reported absent (default: "
                            "80 %% of the memory available)")
    bench.add_argument("--out", type=Path, default=Path("runs/bench"), help="output folder")
    bench.add_argument("--export-dir", type=Path, default=None,
                       help="where checkpoints are exported (default: OUT/models)")
    bench.add_argument("--no-progress", action="store_true")
    bench.set_defaults(handler=cmd_bench)

    compare = commands.add_parser(
        "bench-compare", help="merge bench JSON files (also: sparsegnn bench compare)",
        description="Merge the JSON results of several `sparsegnn bench` runs (e.g. one per "
                    "machine) into one table and plot.")
    compare.add_argument("results", type=Path, nargs="+")
    compare.add_argument("--names", default=None, help="comma-separated machine names")
    compare.add_argument("--out", type=Path, default=Path("runs/bench-compare"))
    compare.set_defaults(handler=cmd_bench_compare)

    tune = commands.add_parser(
        "tune", help="measure this machine's kernel costs for the runtime's planner",
        description="Time the runtime's kernels (BLAS, node panels, output vectors, CSR "
                    "features) on synthetic layers, fit the cost model the session uses to "
                    "choose a kernel per weight, and cache it for this machine (sessions "
                    "then use it; without it, they use figures measured on the development "
                    "machine). Needs only numpy + numba.")
    tune.add_argument("--rows", type=int, default=8192, help="rows of the synthetic layers")
    tune.add_argument("--out", type=Path, default=None,
                      help="write (or with --show, read) this file instead of the cache")
    tune.add_argument("--show", action="store_true",
                      help="print the tuning in use without measuring")
    tune.set_defaults(handler=cmd_tune)

    quickstart = commands.add_parser(
        "quickstart", help="the whole pipeline on the built-in graph, in one folder",
        description="Train a GCN on the built-in synthetic graph, prune it (weights and edges), "
                    "export it (artifact and ONNX), run it with the runtime and benchmark it "
                    "against PyTorch, PyG and ONNX Runtime. Takes a few minutes.")
    quickstart.add_argument("--out", type=Path, default=Path("runs/quickstart"))
    quickstart.add_argument("--dataset", default="synthetic")
    quickstart.add_argument("--no-progress", action="store_true")
    quickstart.set_defaults(handler=cmd_quickstart)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `prune sweep` and `bench compare` read better; argparse needs one name
    if argv[:2] in (["prune", "sweep"], ["bench", "compare"]):
        argv = [f"{argv[0]}-{argv[1]}", *argv[2:]]
    args = build_parser().parse_args(argv)
    from .artifact import ArtifactError
    from .data import DatasetError
    from .sparse import SparseFormatError

    errors = (DatasetError, SparseFormatError, ArtifactError, FileNotFoundError, ValueError)
    if args.command in ("train", "export", "prune", "prune-sweep", "bench", "quickstart"):
        try:
            from .nn import CheckpointError
        except ImportError:  # the runtime-only install has no torch
            pass
        else:
            errors += (CheckpointError,)
    if args.command == "bench-compare":
        from .benchmark import BenchSchemaError

        errors += (BenchSchemaError,)
    # TuningError, PatternError and the runtime's errors are ValueErrors, caught above
    try:
        return args.handler(args)
    except errors as exc:
        print(f"sparsegnn {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
