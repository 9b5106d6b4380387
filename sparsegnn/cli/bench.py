"""``sparsegnn bench`` and ``sparsegnn bench compare``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ._common import _add_data_options


def _bench_settings(args):
    from ..benchmark import Settings

    return Settings(min_seconds=args.min_seconds, max_repeat=args.max_repeat,
                    min_repeat=min(Settings.min_repeat, args.max_repeat),
                    batch_size=args.batch_size, split=args.split,
                    process_metrics=not args.no_process_metrics,
                    memory_limit_mb=args.memory_limit_mb)


def _print_bench(result) -> None:
    from ..benchmark.schema import HEADER, dense_self_p50, reference_p50, run_row

    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # the runtime-only install: plain markdown
        from ..benchmark import markdown

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


def _bench_recommender(args, path: Path) -> int:
    """``bench INDEX``: top-k retrieval against torch and numpy (``benchmark.recommend``)."""
    from .._fileio import atomic_write_text
    from ..benchmark.recommend import bench_recommender, recommend_markdown
    from ..runtime import Recommender

    result = bench_recommender(Recommender(path), k=args.k, batch=args.users,
                               repeat=args.max_repeat, name=path.stem)
    args.out.mkdir(parents=True, exist_ok=True)
    text = recommend_markdown(result, f"sparsegnn bench {path}")
    written = [atomic_write_text(args.out / "recommend.json", json.dumps(result, indent=2)),
               atomic_write_text(args.out / "recommend.md", text)]
    print(text)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_bench(args) -> int:
    from ..benchmark import RUNTIME_BACKENDS, run_bench, write_outputs
    from ..benchmark.prepare import artifact_models, prepare_checkpoints
    from ..data import load

    if args.max_repeat < 1 or args.min_seconds < 0 or args.batch_size < 1:
        print("sparsegnn bench: error: --max-repeat and --batch-size must be >= 1 and "
              "--min-seconds >= 0", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.models if not p.is_file()]
    if missing:  # before anything is written
        print(f"sparsegnn bench: error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    from ..artifact import RETRIEVAL, artifact_kind

    indexes = [p for p in args.models if p.suffix == ".sgnn" and artifact_kind(p) == RETRIEVAL]
    if indexes:
        if len(args.models) != 1:
            print("sparsegnn bench: error: a retrieval index is benchmarked alone",
                  file=sys.stderr)
            return 2
        return _bench_recommender(args, indexes[0])
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
        from ..artifact import load_artifact

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

    from .._fileio import atomic_write_text
    from ..benchmark import load_result, merge

    merged = merge([load_result(p) for p in args.results],
                   args.names.split(",") if args.names else None)
    print(merged["markdown"])
    args.out.mkdir(parents=True, exist_ok=True)
    written = [atomic_write_text(args.out / "compare.json", json.dumps(
                   {k: v for k, v in merged.items() if k != "markdown"}, indent=2)),
               atomic_write_text(args.out / "compare.md", merged["markdown"])]
    try:
        from ..benchmark.plots import plot_compare
    except ImportError:
        pass
    else:
        written.append(plot_compare(merged, args.out / "compare.png"))
    for path in written:
        print(f"wrote {path}")
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    bench = commands.add_parser(
        "bench", help="latency, memory, size and accuracy on every backend (also: bench compare)",
        description="Run the same models on every available backend (dense and masked PyTorch, "
                    "PyG edge_index / CSR / SparseTensor, torch-scatter, ONNX Runtime, the "
                    "sparsegnn runtime at 1 and all threads) over the same inputs; report p50/"
                    "p95/p99 latency, throughput, cold start and peak memory (a fresh process "
                    "per backend), file size and accuracy. Writes JSON, markdown and PNG plots. "
                    "`sparsegnn bench compare A.json B.json` merges runs from several machines.")
    bench.add_argument("models", type=Path, nargs="+",
                       help="checkpoints (.safetensors; exported here) and/or artifacts (.sgnn); "
                            "or one retrieval index (top-k against torch and numpy)")
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
    bench.add_argument("--k", type=int, default=20, help="items per user (a retrieval index)")
    bench.add_argument("--users", type=int, default=1024,
                       help="users per batch call (a retrieval index)")
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
