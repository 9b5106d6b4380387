"""Regenerate every committed result in ``bench/results/`` with one command.

Run: ``python bench/run_all.py`` (35 minutes from scratch on the 2-core development machine; ``--only
gcn-cora scale`` runs some cases). For each model case it trains the dense model and prunes it
through the ``sparsegnn`` CLI (checkpoints are kept in ``runs/bench-suite/`` and reused by later
runs unless ``--retrain``), then runs ``sparsegnn bench`` on every backend and writes
``bench/results/<case>/bench.{json,md}`` and PNG plots. ``sparsity`` writes the pruned-vs-dense
speed-ups (``bench/sparsity_speedup.py``), ``ratio_noise`` how far such a ratio strays by noise
(``bench/ratio_noise.py``), ``pruning_floor`` how far pruning can speed up the Cora GCN at most
(``bench/pruning_floor.py``), ``panel_parts`` where a very sparse layer's time goes
(``bench/panel_parts.py``), ``handoff`` what a split call costs the thread pool
(``bench/handoff.py``), ``scale`` the power-law scale sweep and ``spmm`` the
SpMM-vs-STREAM-triad figures. ``bench/results/README.md`` is rebuilt from
whatever results exist, with the headline ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sparsegnn._fileio import atomic_write_text

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = HERE.parent / "runs" / "bench-suite"

# case -> (model, dataset, pruned variants as extra `sparsegnn prune` arguments, train extras,
#          extra `sparsegnn bench` arguments). Coauthor CS (6,805 features) is the slow one for
# the peers: PyG's SAGE aggregates the raw features (its edge_index path gathers 1.1e9 floats
# per call, ~6 s here), so its cases time fewer calls.
PLANETOID_VARIANTS = {
    "w90": ["--weight-sparsity", "0.9", "--schedule", "gradual"],
    "w95": ["--weight-sparsity", "0.95", "--schedule", "gradual"],
    "w98": ["--weight-sparsity", "0.98", "--schedule", "gradual"],
    "w95-e40": ["--weight-sparsity", "0.95", "--edge-sparsity", "0.4", "--schedule", "gradual"],
    "w95-1x16": ["--weight-sparsity", "0.95", "--pattern", "1x16", "--schedule", "gradual"],
    "c50": ["--channel-sparsity", "0.5"],
}
LARGE_VARIANTS = {
    "w90": ["--weight-sparsity", "0.9", "--schedule", "gradual", "--epochs", "30"],
    "w95": ["--weight-sparsity", "0.95", "--schedule", "gradual", "--epochs", "30"],
    "w90-1x16": ["--weight-sparsity", "0.9", "--pattern", "1x16", "--schedule", "gradual",
                 "--epochs", "30"],
}
# The acceptance pair against torch with sparse inputs (dense, and 95 % weights + 40 % edges) for
# every full-graph GCN and GraphSAGE: GCN on the large graphs and GraphSAGE on Planetoid too.
PAIR_VARIANTS = {"w95-e40": PLANETOID_VARIANTS["w95-e40"]}
SAGE_VARIANTS = {**LARGE_VARIANTS, "w95-e40": [*PLANETOID_VARIANTS["w95-e40"], "--epochs", "30"]}
# Batch-normed GINs keep more accuracy when every layer is pruned to the same sparsity (global
# ranking emptied whole layers: NCI1 fell to 50 % at 90 %, layer scope keeps 65 %).
GRAPH_VARIANTS = {
    "w90": ["--weight-sparsity", "0.9", "--schedule", "gradual", "--epochs", "20", "--scope",
            "layer"],
    "w90-1x16": ["--weight-sparsity", "0.9", "--pattern", "1x16", "--schedule", "gradual",
                 "--epochs", "20", "--scope", "layer"],
}
FEW_CALLS = ["--min-seconds", "0", "--max-repeat", "5"]
CASES = {
    "gcn-cora": ("gcn", "cora", PLANETOID_VARIANTS, [], []),
    "gcn-citeseer": ("gcn", "citeseer", PLANETOID_VARIANTS, [], []),
    "sage-cora": ("sage", "cora", PAIR_VARIANTS, [], []),
    "sage-citeseer": ("sage", "citeseer", PAIR_VARIANTS, [], []),
    "gcn-amazon-computers": ("gcn", "amazon-computers", PAIR_VARIANTS, ["--epochs", "100"], []),
    "gcn-coauthor-cs": ("gcn", "coauthor-cs", PAIR_VARIANTS, ["--epochs", "100"], FEW_CALLS),
    "sage-amazon-computers": ("sage", "amazon-computers", SAGE_VARIANTS, ["--epochs", "100"], []),
    "gat-amazon-computers": ("gat", "amazon-computers", LARGE_VARIANTS, ["--epochs", "100"], []),
    "sage-coauthor-cs": ("sage", "coauthor-cs", SAGE_VARIANTS, ["--epochs", "100"], FEW_CALLS),
    "gat-coauthor-cs": ("gat", "coauthor-cs", LARGE_VARIANTS, ["--epochs", "100"], FEW_CALLS),
    "gin-proteins": ("gin", "proteins", GRAPH_VARIANTS, [], []),
    "gin-nci1": ("gin", "nci1", GRAPH_VARIANTS, [], []),
}
EXTRA = ("sparsity", "ratio_noise", "pruning_floor", "panel_parts", "handoff", "scale", "spmm")


def _cli(argv: list[str]) -> None:
    from sparsegnn.cli import main

    print(f"$ sparsegnn {' '.join(argv)}", flush=True)
    code = main(argv)
    if code != 0:
        raise SystemExit(f"sparsegnn {argv[0]} failed with exit code {code}")


def run_model_case(name: str, retrain: bool, min_seconds: float) -> None:
    kind, dataset, variants, train_extra, bench_extra = CASES[name]
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    dense = folder / "dense.safetensors"
    if retrain or not dense.exists():
        _cli(["train", "--model", kind, "--dataset", dataset, "--out", str(dense),
              "--no-progress", *train_extra])
    checkpoints = [dense]
    for label, options in variants.items():
        pruned = folder / f"{label}.safetensors"
        if retrain or not pruned.exists():
            _cli(["prune", str(dense), "--dataset", dataset, "--out", str(pruned),
                  "--no-progress", *options])
        checkpoints.append(pruned)
    _cli(["bench", *map(str, checkpoints), "--dataset", dataset, "--out", str(RESULTS / name),
          "--export-dir", str(folder / "exported"), "--min-seconds", str(min_seconds),
          "--no-progress", *bench_extra])


def run_scale() -> None:
    from scale_sweep import measure_scale, plot_scale, scale_markdown

    result = measure_scale([1e5, 1e6, 1e7])
    (RESULTS / "scale").mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "scale" / "scale.json", json.dumps(result, indent=2))
    atomic_write_text(
        RESULTS / "scale" / "scale.md",
        f"# Scale sweep: {result['model']} on {result['graphs']}\n\n"
        f"Machine: {result['machine']['cpu']}, {result['machine']['logical_cores']} cores.\n\n"
        + scale_markdown(result) + "\n")
    plot_scale(result, RESULTS / "scale" / "scale.png")


def run_spmm() -> None:
    from spmm_vs_stream import measure_spmm

    from sparsegnn.benchmark.stats import machine_info

    result = dict(measure_spmm(), machine_info=machine_info())
    (RESULTS / "spmm").mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "spmm" / "spmm.json", json.dumps(result, indent=2))
    lines = ["# CSR SpMM vs STREAM triad and torch.sparse.mm", "",
             f"{result['rows']:,} rows, {result['nonzeros']:,} nonzeros, F={result['features']}, "
             f"{result['kernel_threads']} threads; {result['machine_info']['cpu']}.", "",
             "| kernel | median ms | effective GB/s |", "|---|---|---|"]
    lines += [f"| {k} | {v:.2f} | {result['bandwidth_gb_s'][k]:.1f} |"
              for k, v in result["median_ms"].items()]
    lines += ["", f"SpMM bandwidth / triad bandwidth: {result['spmm_over_triad_bandwidth']:.2f}; "
              f"torch.sparse.mm time / SpMM time: {result['torch_time_over_spmm_time']:.2f}×", ""]
    atomic_write_text(RESULTS / "spmm" / "spmm.md", "\n".join(lines))


def _headline(result: dict) -> list[str]:
    """One row per model: sparsegnn's best p50 and its speed-up over each peer family."""
    rows = []
    for model in result["models"]:
        runs = {r["backend"]: r for r in result["runs"]
                if r["model"] == model["label"] and r["status"] == "ok"}
        ours = [runs[b] for b in ("sparsegnn", "sparsegnn-1t") if b in runs]
        if not ours:
            continue
        best = min(r["latency_ms"]["p50"] for r in ours)
        accuracy = ours[0]["accuracy"]

        def ratio(names, best=best, runs=runs):
            times = [runs[n]["latency_ms"]["p50"] for n in names if n in runs]
            return f"{min(times) / best:.2f}×" if times else "–"

        pattern = model.get("pattern") or "unstructured"
        # At the thread count where the pruned model ran fastest, timed call by call against
        # the unpruned model at the same threads (older results: best p50 against best p50).
        fastest = min(ours, key=lambda r: r["latency_ms"]["p50"])
        dense_self = "–" if model["weight_sparsity"] == 0 else (
            f"{fastest['dense_self']['ratio']:.2f}×" if "dense_self" in fastest
            else ratio(["sparsegnn-dense", "sparsegnn-dense-1t"]))
        rows.append(f"| {result['dataset']['name']} | {model['label']} ({model['kind']}) | "
                    f"{100 * model['weight_sparsity']:.0f} % / "
                    f"{100 * (model.get('edge_sparsity') or 0):.0f} %"
                    f"{'' if pattern == 'unstructured' else f', {pattern}'} | {best:.3f} | "
                    f"{dense_self} | {ratio(['torch-dense'])} | {ratio(['torch-sparse'])} | "
                    f"{ratio(['torch-masked'])} | "
                    f"{ratio(['pyg-edge_index'])} | {ratio(['pyg-csr', 'pyg-sparsetensor'])} | "
                    f"{ratio(['onnxruntime'])} | "
                    f"{'–' if accuracy is None else f'{100 * accuracy:.1f} %'} |")
    return rows


def write_index(total_seconds: float | None, retrained: bool) -> None:
    from sparsegnn.benchmark.schema import load_result

    lines = ["# Benchmark results", "",
             "Regenerated by `python bench/run_all.py` (never edited by hand). Speed-ups are p50 "
             "ratios measured in the same run on the same inputs: peer p50 / sparsegnn's best "
             "p50 (1 or all threads), so > 1 means sparsegnn is faster. \"vs its dense self\" "
             "is the unpruned model in the sparsegnn runtime over the pruned one, at the thread "
             "count where the pruned one ran fastest, the two timed in turn call by call. Each "
             "peer gets "
             "the input it handles best: torch-sparse CSR features (where the dataset stores "
             "them sparse) and a CSR adjacency; PyG CSR features where its model takes them "
             "(GCN, GAT), else dense; ONNX Runtime dense features (ONNX has no sparse inputs); "
             "the per-case tables name each backend's input. Accuracy is on the test split, "
             "from the runtime's own outputs.", ""]
    machines: dict[str, list[str]] = {}  # machine line -> the cases measured there
    table = ["| dataset | model | weights / edges pruned | sparsegnn p50 ms | vs its dense self | "
             "vs dense torch | vs torch sparse | vs masked torch | vs PyG edge_index | "
             "vs PyG CSR | vs ONNX Runtime | accuracy |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for case in CASES:
        path = RESULTS / case / "bench.json"
        if path.exists():
            result = load_result(path)
            machine = result["machine"]
            line = (f"{machine['cpu']}, {machine['logical_cores']} logical cores, "
                    f"{machine['memory_gib']} GiB; {machine['system']}; "
                    + ", ".join(f"{k} {v}" for k, v in machine["libraries"].items() if v))
            machines.setdefault(line, []).append(case)
            table += _headline(result)
    if len(machines) == 1:
        lines += [f"Machine: {next(iter(machines))}.", ""]
    elif machines:  # a partial rerun elsewhere: ratios hold within a run, times within a machine
        lines += ["Machines (cases were last run on different ones: compare ratios within a "
                  "row, milliseconds only between cases of one machine):", ""]
        lines += [f"- {line}: {', '.join(cases)}" for line, cases in machines.items()] + [""]
    lines += table + [""]
    sparsity = RESULTS / "sparsity" / "sparsity.md"
    if sparsity.exists():
        lines += ["## Pruned against dense (`bench/sparsity_speedup.py`)", "",
                  sparsity.read_text(), "![speed-up against sparsity](sparsity/sparsity.png)", ""]
    # the same bench on an AVX2-only CPU (`--quick --out bench/results/sparsity-avx2`, and
    # `--only layer` for the full layer table): the kernels' vector width changes the ratios
    avx2 = RESULTS / "sparsity-avx2"
    if (avx2 / "sparsity.md").exists():
        lines += ["### On an AVX2-only CPU", "", (avx2 / "sparsity.md").read_text(),
                  "![speed-up against sparsity, AVX2](sparsity-avx2/sparsity.png)", ""]
        if (avx2 / "layer-full.md").exists():
            lines += ["#### The full layer table", "", (avx2 / "layer-full.md").read_text(), ""]
    noise = RESULTS / "ratio_noise" / "ratio_noise.md"
    if noise.exists():
        lines += ["### The noise of a ratio (`bench/ratio_noise.py`)", "", noise.read_text(), ""]
    floor = RESULTS / "pruning_floor" / "pruning_floor.md"
    if floor.exists():
        lines += ["### How far pruning can speed up the Cora GCN (`bench/pruning_floor.py`)", "",
                  floor.read_text(), ""]
    parts = RESULTS / "panel_parts" / "panel_parts.md"
    if parts.exists():
        lines += ["### Where a very sparse layer's time goes (`bench/panel_parts.py`)", "",
                  parts.read_text(), ""]
    handoff = RESULTS / "handoff" / "handoff.md"
    if handoff.exists():
        lines += ["### What a split call costs (`bench/handoff.py`)", "", handoff.read_text(), ""]
    scale = RESULTS / "scale" / "scale.json"
    if scale.exists():
        from scale_sweep import scale_markdown

        lines += ["## Scale sweep (time per edge)", "", scale_markdown(json.loads(scale.read_text())),
                  "", "![scale](scale/scale.png)", ""]
    spmm = RESULTS / "spmm" / "spmm.md"
    if spmm.exists():
        lines += ["## " + spmm.read_text().split("\n", 1)[0].lstrip("# "),
                  spmm.read_text().split("\n", 1)[1], ""]
    lines += ["## Per case", ""]
    for case in CASES:
        if (RESULTS / case / "bench.md").exists():
            lines.append(f"- [{case}]({case}/bench.md): "
                         f"[latency]({case}/bench-latency.png), "
                         f"[accuracy]({case}/bench-accuracy.png), [Pareto]({case}/bench-pareto.png)")
    # The duration of the last full run survives partial (--only) reruns.
    timing = RESULTS / "full-run.json"
    if total_seconds is not None:
        atomic_write_text(timing, json.dumps({"minutes": round(total_seconds / 60, 1),
                                              "finished": time.strftime("%Y-%m-%d %H:%M %Z"),
                                              "retrained": retrained}, indent=2) + "\n")
    if timing.exists():
        last = json.loads(timing.read_text())
        how = "training and pruning every model from scratch" if last["retrained"] else \
            "reusing cached checkpoints"
        lines += ["", f"The last full run (`python bench/run_all.py`, {how}) took "
                  f"{last['minutes']:.0f} minutes; it finished {last['finished']}."]
    atomic_write_text(RESULTS / "README.md", "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[*CASES, *EXTRA], default=None)
    parser.add_argument("--retrain", action="store_true", help="ignore cached checkpoints")
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    started = time.perf_counter()
    # A run trains from scratch when asked to, or when nothing was cached yet.
    retrained = args.retrain or not any(WORK.glob("*/dense.safetensors"))
    for case in args.only or [*CASES, *EXTRA]:
        print(f"\n##### {case}", flush=True)
        if case == "sparsity":
            from sparsity_speedup import run as run_sparsity

            run_sparsity(RESULTS / "sparsity")
        elif case == "ratio_noise":
            from ratio_noise import run as run_ratio_noise

            run_ratio_noise(RESULTS / "ratio_noise")
        elif case == "pruning_floor":
            from pruning_floor import run as run_pruning_floor

            run_pruning_floor(RESULTS / "pruning_floor")
        elif case == "panel_parts":
            from panel_parts import run as run_panel_parts

            run_panel_parts(RESULTS / "panel_parts")
        elif case == "handoff":
            from handoff import run as run_handoff

            run_handoff(RESULTS / "handoff")
        elif case == "scale":
            run_scale()
        elif case == "spmm":
            run_spmm()
        else:
            run_model_case(case, args.retrain, args.min_seconds)
    write_index(time.perf_counter() - started if args.only is None else None, retrained)
    print(f"done in {(time.perf_counter() - started) / 60:.1f} min; see {RESULTS / 'README.md'}")


if __name__ == "__main__":
    main()
