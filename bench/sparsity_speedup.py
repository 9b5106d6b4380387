"""Does pruning make the runtime faster, in proportion to what was removed? One layer against
BLAS, whole models against themselves dense, and aggregation against the edges kept.

Run: ``python bench/sparsity_speedup.py [--out bench/results/sparsity] [--quick]``.

- **One layer**: ``x (N x 256) @ W (256 x 256)``, dense activations, N = 10k and 100k, each
  pattern at each weight sparsity, on every sparse kernel the pattern can use (node panels for
  unstructured, 4x1 and N:M; node panels with blocks of outputs, and output vectors, for blocks
  along the outputs) against numpy's BLAS (OpenBLAS) on the same input, both on one thread and
  both on every core (``threadpoolctl`` sets BLAS's threads): BLAS's dense product is bound by
  the cores' multiply-adds and gains from a second one, a very sparse layer is bound by memory
  the cores share, so each count gets its own ratio;
  BLAS and the kernel are timed in alternating blocks (five rounds; BLAS's spinning worker
  threads let go idle, then the kernel called untimed for 50 ms, before each kernel block),
  and the median of the rounds' ratios is reported: each round's ratio comes from one spell
  of a shared machine. Not call by call, as the models are: with OpenBLAS's workers made to
  sleep at once (``OPENBLAS_THREAD_TIMEOUT=4``), a 98 % layer timed in turns with BLAS still
  ran 1.8 ms against 1.3 ms in blocks of its own calls in the same process, BLAS 7.1-7.2 ms
  either way: BLAS's buffers evict the memory-bound kernel's activations between calls. The
  kernel that this machine's cost model (``sparsegnn tune``) picks is marked.
  Unstructured node panels are also timed on panel-major activations in and out
  (``PanelMajor``, how the layers of an MLP pass them to each other): the same multiply-adds
  without the transposes. Two floors per size, timed the same way: a plain copy of the
  activations into an output as large, its rows split between the threads (what any kernel
  reading row-major activations and
  writing row-major outputs pays at least) and the node panels with one stored weight (that,
  plus their transposes): the speed-up a sparsity can reach on this machine's memory.
- **Whole models**: each model with untrained weights (speed does not depend on their values)
  pruned per layer by magnitude to each sparsity and pattern, exported, and run by
  ``Session`` on the dataset's own features (CSR where the dataset stores them so, as an app
  would pass them), on one thread and on every core; the speed-up is over the same model at
  0 % in the same runtime with as many threads, each choosing its kernels with the planner,
  the two timed in turns call by call (``_timing.interleaved_medians``: on a shared machine,
  back-to-back blocks of calls catch different load and their ratio drifts), for ``--repeat``
  rounds or half a second, whichever is longer. Each table also
  gives the dense model timed the same way against a second session of itself: how far from
  1x a ratio strays by noise alone. A model whose edges are pruned too (the Cora GCN) runs
  pruned on the pruned graph and dense on the whole one: the edges are part of what was
  pruned.
  "ideal" is the ratio of multiply-adds, dense over pruned, aggregation included (on CSR
  features, the first layer's are the features' entries times the weights stored in the rows
  they hit).
- **Edges**: the GCN aggregation over Amazon Computers (64 features) with a share of the
  undirected edges removed at random, against the edges kept.

Medians over ``--repeat`` calls after a warm-up; ratios compare timings of the same run.
Writes ``sparsity.json``, ``sparsity.md`` and ``sparsity.png`` (speed-up against sparsity,
with the ideal line) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import interleaved_medians, median_seconds  # bench/ is on sys.path when a script runs

from sparsegnn._fileio import atomic_path, atomic_write_text

SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
PATTERNS = ("unstructured", "4x1", "1x4", "1x8", "1x16")
N_OF_M = ("2:4",)  # runs on the unstructured kernel; its only sparsity is 50 %
BLAS_IDLE_SECONDS = 0.2  # OpenBLAS's workers spin ~0.1 s after a call
# alternating BLAS and kernel blocks per layer case: with 3, a full run on this shared VM gave
# 5.8x at 98 % where a quieter --quick run of the same code gave 7.1x
LAYER_ROUNDS = 5
WARM_SECONDS = 0.05  # untimed calls after the pause, before a kernel block
# A model cell's rounds last at least this long: the rounds of a sub-millisecond model would
# otherwise all fall in one spell of a shared machine (docs/architecture.md, the bench's entry).
MODEL_MIN_SECONDS = 0.5
# The sparse kernels each pattern can run on, as (kernel, pack_weight options); unlisted
# patterns run on unstructured node panels.
PATTERN_KERNELS = {
    "4x1": [("panels", {"run": 4})],
    "1x4": [("panels", {"block": 4}), ("vectors", {})],
    "1x8": [("panels", {"block": 4}), ("vectors", {})],
    "1x16": [("panels", {"block": 4}), ("vectors", {})],
}
# Whole models run on one thread (how an app on a busy device would run them) and on every core.
THREADS = tuple(dict.fromkeys((1, len(os.sched_getaffinity(0)))))
MODELS = {  # label: (kind, dataset, overrides, graphs per call (graph tasks), edges pruned)
    "sage-256 amazon-computers": ("sage", "amazon-computers", {"hidden_channels": 256}, None, 0),
    "gin-128 proteins, batch 64": ("gin", "proteins", {"hidden_channels": 128, "num_layers": 3},
                                   64, 0),
    "gin-128 proteins, batch 1": ("gin", "proteins", {"hidden_channels": 128, "num_layers": 3},
                                  1, 0),
    "gcn cora, 40 % edges pruned": ("gcn", "cora", {}, None, 0.4),
    "gat coauthor-cs": ("gat", "coauthor-cs", {}, None, 0),
}


def machine() -> dict:
    from sparsegnn.benchmark.stats import cpu_description
    from sparsegnn.kernels._intrinsics import VECTOR_BYTES

    return {"cpu": cpu_description(), "threads": len(os.sched_getaffinity(0)),
            "simd_bits": VECTOR_BYTES * 8,
            "python": platform.python_version(), "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M")}


def pattern_mask(rng, shape, pattern: str, sparsity: float) -> np.ndarray:
    """A random keep-mask of ``shape (in, out)`` at ``sparsity`` in ``pattern``."""
    from sparsegnn.patterns import Pattern

    parsed = Pattern.parse(pattern)
    if parsed.kind == "n:m":
        scores = rng.random((shape[1], shape[0]))
        from sparsegnn.patterns import n_of_m_mask

        return n_of_m_mask(scores, np.ones_like(scores, bool), parsed.keep, parsed.group).T
    rows, cols = parsed.inputs, parsed.outputs
    blocks = rng.random((-(-shape[0] // rows), -(-shape[1] // cols))) >= sparsity
    return np.repeat(np.repeat(blocks, rows, 0), cols, 1)[:shape[0], :shape[1]]


# ----------------------------------------------------------------------------- one layer
def _busy(call, seconds: float) -> None:
    """Call ``call`` until ``seconds`` have passed (at least once)."""
    end = time.perf_counter() + seconds
    call()
    while time.perf_counter() < end:
        call()


def _kernel_label(kind: str, packed) -> str:
    if kind != "panels":
        return kind
    if packed.block > 1:
        return f"panels, {packed.block} outputs per entry"
    return f"panels, runs of {packed.run}" if packed.run > 1 else "panels"


def layer_section(sizes, repeat: int, quick: bool) -> list[dict]:
    """The layer rows of every size, on one thread and on every core (``THREADS``)."""
    from threadpoolctl import threadpool_limits

    rows_out = []
    for threads in THREADS:
        with threadpool_limits(threads, user_api="blas"):
            rows_out += _layer_rows_measured(sizes, repeat, quick, threads)
    return rows_out


def _layer_rows_measured(sizes, repeat: int, quick: bool, threads: int) -> list[dict]:
    """``layer_section`` with the kernels on ``threads`` threads (BLAS's already limited)."""
    from sparsegnn.kernels import PanelMajor, pack_weight, sparse_linear
    from sparsegnn.kernels._memory import aligned_empty
    from sparsegnn.runtime.planner import plan_matrix
    from sparsegnn.runtime.tuning import load_tuning

    tuning = load_tuning()  # this machine's calibration (`sparsegnn tune`), else the defaults
    per_round = max(3, -(-repeat // LAYER_ROUNDS))
    rng = np.random.default_rng(0)
    rows_out = []
    width = 256
    for rows in sizes:
        x = aligned_empty((rows, width), np.float32)
        x[:] = rng.standard_normal((rows, width))
        dense = rng.standard_normal((width, width)).astype(np.float32)
        x_major = PanelMajor.from_rows(x)  # the node panels' own layout, as inside an MLP

        def blas_call(x=x, dense=dense):
            return x @ dense

        cases = [(p, s) for p in PATTERNS for s in SPARSITIES] + \
            [(p, 0.5) for p in N_OF_M]
        if quick:
            cases = [(p, s) for p, s in cases if s in (0.0, 0.9, 0.98)]
        for pattern, sparsity in cases:
            matrix = dense * pattern_mask(rng, (width, width), pattern, sparsity)
            run = 4 if pattern == "4x1" else 1
            plan = plan_matrix(matrix, tuning, run=run)
            kind = plan.kind(rows)
            planned = _kernel_label(kind, plan.panels if kind == "panels" else plan.vectors)
            kept = np.count_nonzero(matrix) / matrix.size
            variants = []
            kernels = [(kernel, pack_weight(matrix, kernel, **options))
                       for kernel, options in PATTERN_KERNELS.get(pattern, [("panels", {})])]
            if kind != "blas" and planned not in {_kernel_label(k, p) for k, p in kernels}:
                # the cost model picked another packing (4 outputs per entry for a 1x8 matrix)
                kernels.append((kind, plan.panels if kind == "panels" else plan.vectors))
            for kernel, packed in kernels:
                label = _kernel_label(kernel, packed)
                variants.append((label, label == planned,
                                 lambda packed=packed, x=x: sparse_linear(x, packed,
                                                                          threads=threads)))
                if label == "panels":  # also without transposes in or out
                    variants.append(("panels, panel-major", False,
                                     lambda packed=packed, fm=x_major: sparse_linear(
                                         fm, packed, panel_major_out=True, threads=threads)))
            for name, chosen, call in variants:
                speedup, blas, seconds = _over_blas(call, blas_call, per_round)
                rows_out.append({"rows": rows, "threads": threads, "pattern": pattern,
                                 "sparsity": sparsity,
                                 "measured_sparsity": 1 - kept, "kernel": name,
                                 "planned": chosen, "planner_choice": planned,
                                 "blas_ms": 1e3 * blas, "sparse_ms": 1e3 * seconds,
                                 "speedup": speedup, "ideal": 1 / max(kept, 1e-9)})
                print(f"layer N={rows:,} {threads}t {pattern:12s} {100 * sparsity:4.0f} %: "
                      f"{1e3 * seconds:8.2f} ms ({name}{', planned' * chosen}), BLAS "
                      f"{1e3 * blas:8.2f} ms -> {speedup:5.2f}x")
        # What no row-major kernel beats at this size: reading the activations and writing
        # an output as large (a plain copy), and the node panels with a single stored weight
        # (their transposes in and out, and the memory traffic, without multiply-adds).
        copy_out = aligned_empty((rows, width), np.float32)
        one_weight = np.zeros((width, width), np.float32)
        one_weight[0, 0] = 1.0
        single = pack_weight(one_weight, "panels")
        for name, call in (("copy of the activations (np.copyto)",
                            lambda x=x, o=copy_out: _copy(o, x, threads)),
                           ("panels, one stored weight",
                            lambda x=x, w=single: sparse_linear(x, w, threads=threads))):
            speedup, blas, seconds = _over_blas(call, blas_call, per_round)
            rows_out.append({"rows": rows, "threads": threads, "floor": name,
                             "blas_ms": 1e3 * blas, "sparse_ms": 1e3 * seconds,
                             "speedup": speedup})
            print(f"layer N={rows:,} {threads}t floor, {name}: {1e3 * seconds:8.2f} ms, BLAS "
                  f"{1e3 * blas:8.2f} ms -> {speedup:5.2f}x")
    return rows_out


def _copy(out: np.ndarray, x: np.ndarray, threads: int) -> None:
    """``np.copyto(out, x)``, its rows split between ``threads`` threads of the kernels' pool
    (numpy lets go of the GIL while it copies)."""
    from sparsegnn.kernels._parallel import run_row_chunks

    cuts = np.linspace(0, x.shape[0], threads + 1).astype(np.int64)
    run_row_chunks(lambda first, last: np.copyto(out[cuts[first]:cuts[last]],
                                                 x[cuts[first]:cuts[last]]),
                   np.arange(threads + 1, dtype=np.int64), 1 << 40, threads)


def _over_blas(call, blas_call, per_round: int) -> tuple[float, float, float]:
    """``(speed-up, BLAS seconds, call seconds)``: BLAS in a block just before each of the
    call's (not in turns: OpenBLAS's workers spin ~0.1 s after a call and would slow the
    kernel), in ``LAYER_ROUNDS`` rounds; each round's ratio comes from one spell of a shared
    machine, and the median ratio is reported."""
    blas_times, kernel_times = [], []
    for _ in range(LAYER_ROUNDS):
        blas_times.append(median_seconds(blas_call, per_round))
        time.sleep(BLAS_IDLE_SECONDS)
        _busy(call, WARM_SECONDS)  # a core that slept starts slow
        kernel_times.append(median_seconds(call, per_round))
    return (float(np.median(np.divide(blas_times, kernel_times))),
            float(np.median(blas_times)), float(np.median(kernel_times)))


# ----------------------------------------------------------------------------- whole models
def _prune(model, sparsity: float, pattern: str) -> None:
    """Per-layer magnitude pruning in ``pattern``, masks baked."""
    from sparsegnn.prune import MaskSet, magnitude, prune_weights

    if sparsity == 0:
        return
    masks = prune_weights(model, magnitude(model), sparsity, scope="layer", pattern=pattern)
    masks.apply(model)
    MaskSet.bake(model)


def _madds(session, x, graph) -> float:
    """Multiply-adds of one call: every weight's nonzeros per node row (for CSR features, the
    weight's nonzeros in the rows of the inputs each feature entry hits: a dense model on
    sparse features does ``nnz(x) * outputs``, not ``rows * inputs * outputs``), plus each
    aggregation's edges times the width it moves (narrower side first, as the runtime orders
    GCN and GraphSAGE; pooling, norms and attention scores are left out)."""
    from sparsegnn.ir import matrix_to_dense

    rows, edges = x.shape[0], graph.num_edges
    width = {"x": x.shape[1]}
    sparse = {"x"} if hasattr(x, "indptr") else set()  # values that are the CSR features
    hits = np.bincount(x.indices, minlength=x.shape[1]) if sparse else None  # entries per input
    total = 0.0
    for node in session.model.nodes:
        incoming = width.get(node.inputs[0], x.shape[1])
        matrices = [matrix_to_dense(v, session.model.tensors) for v in node.attrs.values()
                    if isinstance(v, dict) and "format" in v]
        for matrix in matrices:
            stored_per_input = np.count_nonzero(matrix, axis=1)
            total += float(hits @ stored_per_input) if node.inputs[0] in sparse \
                else rows * float(stored_per_input.sum())
        out = matrices[0].shape[1] if matrices else incoming
        if node.op == "gat_conv" and not node.attrs.get("concat", True):
            out = node.attrs["channels"]
        if "graph" in node.inputs:
            total += edges * (min(incoming, out) if node.op in ("gcn_conv", "sage_conv")
                              else out if node.op == "gat_conv" else incoming)
        if node.op == "input_norm" and node.inputs[0] in sparse:
            sparse.add(node.outputs[0])
        width[node.outputs[0]] = out
    return total


def model_inputs(label: str, keep_edges: bool = False):
    """``(model config, x, graph, batch)`` of the model ``label`` of ``MODELS``: the dataset's
    own features (CSR where it stores them so), its full graph or a batch of its test graphs
    (batch 1: the median-sized one), with the model's share of edges pruned at random unless
    ``keep_edges`` (the dense model's graph)."""
    from sparsegnn import data
    from sparsegnn.nn.recipes import model_config
    from sparsegnn.prune.edges import prune_edges, random_edge_scores

    kind, name, overrides, graphs, edge_fraction = MODELS[label]
    dataset = data.load(name)
    x, graph, batch = dataset.x, dataset.graph, None
    if graphs is not None:
        test = dataset.splits[0].test
        if graphs == 1:
            sizes = np.diff(dataset.ptr)[test]
            chosen = [int(test[np.argsort(sizes)[len(sizes) // 2]])]
        else:
            chosen = list(test[:graphs])
        graph, x, batch = dataset.select_graphs(chosen)
    if edge_fraction and not keep_edges:
        graph = prune_edges(graph, random_edge_scores(graph), edge_fraction)
    return model_config(kind, dataset, **overrides), x, graph, batch


def model_section(repeat: int, quick: bool, only: list[str] | None) -> list[dict]:
    import torch

    from sparsegnn.export import export_artifact
    from sparsegnn.nn import build_model
    from sparsegnn.runtime import Session

    rows_out = []
    folder = Path(tempfile.mkdtemp(prefix="sparsegnn-speedup-"))
    sparsities = (0.0, 0.9, 0.95) if quick else SPARSITIES
    for label in MODELS:
        if only and not any(o in label for o in only):
            continue
        config, x, graph, batch = model_inputs(label)
        # the dense self runs on the whole graph: pruning edges is part of the pruning
        dense_graph = model_inputs(label, keep_edges=True)[2] if MODELS[label][4] else graph
        dense_sessions = {}
        for pattern in PATTERNS + N_OF_M:
            for sparsity in ((0.5,) if pattern in N_OF_M else sparsities):
                if sparsity == 0 and dense_sessions:
                    continue  # the dense model is the same whatever the pattern
                torch.manual_seed(0)
                model = build_model(config).eval()
                _prune(model, sparsity, pattern)
                path = export_artifact(model, folder / f"model-{pattern.replace(':', '-')}-"
                                       f"{sparsity}.sgnn", pattern=pattern)
                run_graph = dense_graph if sparsity == 0 else graph
                for threads in THREADS:
                    session = Session(path, num_threads=threads)
                    def call(s=session, x=x, g=run_graph, b=batch):
                        return s.run(x, g, b)

                    madds = _madds(session, x, run_graph)
                    if sparsity == 0:
                        dense_sessions[threads] = (call, madds)
                        # timed in turns with a second session of itself, as the pruned ones
                        # are with it below: the ratio's noise, and the dense time
                        twin = Session(path, num_threads=threads)
                        seconds, second = interleaved_medians(
                            [call, lambda s=twin, x=x, g=run_graph, b=batch: s.run(x, g, b)],
                            repeat, MODEL_MIN_SECONDS)
                        dense_seconds, self_ratio = seconds, seconds / second
                    else:  # timed in turns with the dense model: the ratio of one spell
                        dense_seconds, seconds = interleaved_medians(
                            [dense_sessions[threads][0], call], repeat, MODEL_MIN_SECONDS)
                    dense_madds = dense_sessions[threads][1]
                    speedup, ideal = dense_seconds / seconds, dense_madds / max(madds, 1)
                    rows_out.append({"model": label, "threads": threads,
                                     "pattern": "dense" if sparsity == 0 else pattern,
                                     "sparsity": sparsity, "ms": 1e3 * seconds,
                                     "dense_ms": 1e3 * dense_seconds,
                                     "self_ratio": self_ratio if sparsity == 0 else None,
                                     "speedup": speedup, "ideal": ideal,
                                     "input": "csr" if hasattr(x, "indptr") else "dense",
                                     "nodes": int(x.shape[0]),
                                     "edges": int(run_graph.num_edges)})
                    print(f"{label:30s} {threads}t {rows_out[-1]['pattern']:12s} "
                          f"{100 * sparsity:4.0f} %: {1e3 * seconds:8.3f} ms -> {speedup:5.2f}x "
                          f"(ideal {ideal:5.2f}x)")
    return rows_out


# ----------------------------------------------------------------------------- edges
def edge_section(repeat: int) -> list[dict]:
    from sparsegnn import data
    from sparsegnn.kernels._convert import gcn_degree_scales
    from sparsegnn.kernels._spmm import GCN_SYMMETRIC, spmm_csr_unchecked
    from sparsegnn.prune.edges import prune_edges, random_edge_scores

    dataset = data.load("amazon-computers")
    h = np.random.default_rng(0).standard_normal((dataset.num_nodes, 64)).astype(np.float32)
    epilogue = (np.empty(0, np.float32), False, 0, 0.01)
    scores = random_edge_scores(dataset.graph)
    rows_out, base = [], None
    for fraction in (0.0, 0.2, 0.4, 0.6, 0.8):
        graph = prune_edges(dataset.graph, scores, fraction)
        scales = gcn_degree_scales(graph.indptr, graph.indices)
        seconds = median_seconds(lambda g=graph, s=scales: spmm_csr_unchecked(
            g.indptr, g.indices, s, h, g.num_nodes, GCN_SYMMETRIC, epilogue, None), repeat)
        base = base or (seconds, graph.num_edges)
        rows_out.append({"edges_pruned": fraction, "edges": graph.num_edges, "ms": 1e3 * seconds,
                         "speedup": base[0] / seconds,
                         "ideal": (base[1] + dataset.num_nodes) / (graph.num_edges
                                                                   + dataset.num_nodes)})
        print(f"GCN aggregation, {100 * fraction:3.0f} % edges pruned: {1e3 * seconds:6.2f} ms "
              f"-> {rows_out[-1]['speedup']:.2f}x (ideal {rows_out[-1]['ideal']:.2f}x)")
    return rows_out


# ----------------------------------------------------------------------------- output
def _layer_threads(result: dict, row: dict) -> int:
    """The threads a layer row ran on (results written before one-thread rows were measured
    ran every core)."""
    return row.get("threads", result["machine"]["threads"])


def _layer_rows(result: dict, rows: int, threads: int) -> tuple[list[dict], list[dict]]:
    """The layer section's rows at ``rows`` nodes on ``threads`` threads: ``(kernels,
    floors)``."""
    part = [r for r in result["layer"]
            if r["rows"] == rows and _layer_threads(result, r) == threads]
    return [r for r in part if "floor" not in r], [r for r in part if "floor" in r]


def _layer_cases(result: dict) -> list[tuple[int, int]]:
    """``(rows, threads)`` of each layer table, one thread first."""
    return sorted({(r["rows"], _layer_threads(result, r)) for r in result["layer"]},
                  key=lambda case: (case[1], case[0]))


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Measured on {m['cpu']}, {m['threads']} threads, {m['simd_bits']}-bit SIMD, "
             f"{m['date']} (`python bench/sparsity_speedup.py`).", ""]
    for rows, threads in _layer_cases(result):
        part, floors = _layer_rows(result, rows, threads)
        blas = np.median([r["blas_ms"] for r in part])
        sparsities = sorted({r["sparsity"] for r in part})
        lines += [f"One layer, {rows:,} x 256 @ 256 x 256, dense activations, "
                  f"{threads} thread{'s' * (threads > 1)}: speed-up over numpy BLAS on as many "
                  f"({blas:.2f} ms)", "",
                  "| pattern | kernel | " + " | ".join(f"{100 * s:.0f} %" for s in sparsities)
                  + " |", "|---|---|" + "---|" * len(sparsities)]
        for pattern, kernel in dict.fromkeys((r["pattern"], r["kernel"]) for r in part):
            cells = {r["sparsity"]: r for r in part
                     if r["pattern"] == pattern and r["kernel"] == kernel}
            lines.append(f"| {pattern} | {kernel} | " + " | ".join(
                f"{cells[s]['speedup']:.2f}x{' *' * cells[s].get('planned', False)}"
                if s in cells else "" for s in sparsities) + " |")
        lines.append("| ideal (FLOPs) | | " + " | ".join(
            f"{1 / (1 - s):.0f}x" if s < 1 else "" for s in sparsities) + " |")
        lines += ["", "\\* the kernel this machine's cost model picks for the layer (`sparsegnn "
                  "tune`); a pattern and sparsity without one goes to BLAS.", ""]
        if floors:  # results written before the floors were measured have none
            lines += ["Floors, timed the same way: " + "; ".join(
                f"{r['floor']} {r['speedup']:.2f}x ({r['sparse_ms']:.2f} ms)" for r in floors)
                + ". A row-major kernel reads the activations and writes the outputs, so it "
                "runs no faster than the copy; the second adds the node panels' transposes.",
                ""]
    for label, threads in dict.fromkeys((r["model"], r["threads"]) for r in result["models"]):
        part = [r for r in result["models"] if r["model"] == label and r["threads"] == threads]
        dense = next(r for r in part if r["pattern"] == "dense")
        sparsities = sorted({r["sparsity"] for r in part if r["pattern"] != "dense"})
        twin = f"; the dense model against a second session of itself, timed the same way: " \
            f"{dense['self_ratio']:.2f}x" if dense.get("self_ratio") else ""
        pruned_edges = next((r["edges"] for r in part if r["pattern"] != "dense"),
                            dense["edges"])
        edges = f"{dense['edges']:,} edges" if pruned_edges == dense["edges"] else \
            f"{dense['edges']:,} edges dense, {pruned_edges:,} pruned"
        lines += [f"{label} ({dense['nodes']:,} nodes, {edges}, "
                  f"{dense['input']} features), {threads} thread{'s' * (threads > 1)}: speed-up "
                  f"over the same model dense in this runtime ({dense['ms']:.3f} ms{twin}); "
                  "ideal in brackets", "",
                  "| pattern | " + " | ".join(f"{100 * s:.0f} %" for s in sparsities) + " |",
                  "|---|" + "---|" * len(sparsities)]
        for pattern in dict.fromkeys(r["pattern"] for r in part if r["pattern"] != "dense"):
            cells = {r["sparsity"]: r for r in part if r["pattern"] == pattern}
            lines.append(f"| {pattern} | " + " | ".join(
                f"{cells[s]['speedup']:.2f}x ({cells[s]['ideal']:.1f}x)" if s in cells else ""
                for s in sparsities) + " |")
        lines.append("")
    if result["edges"]:
        lines += ["GCN aggregation over Amazon Computers (64 features), random edges pruned:",
                  "", "| edges pruned | edges | ms | speed-up | ideal |", "|---|---|---|---|---|"]
        for r in result["edges"]:
            lines.append(f"| {100 * r['edges_pruned']:.0f} % | {r['edges']:,} | {r['ms']:.2f} | "
                         f"{r['speedup']:.2f}x | {r['ideal']:.2f}x |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r["model"] for r in result["models"]))
    panels = [("layer", case) for case in _layer_cases(result)] + \
        [("model", label) for label in labels]
    columns = 3
    figure, axes = plt.subplots(-(-len(panels) // columns), columns,
                                figsize=(4.2 * columns, 3.4 * -(-len(panels) // columns)),
                                squeeze=False)
    for axis, (kind, key) in zip(axes.flat, panels):
        if kind == "layer":
            part, floors = _layer_rows(result, *key)
            for floor, style in zip(floors, ("--", "-.")):
                axis.axhline(floor["speedup"], color="grey", linestyle=style,
                             label=f"floor: {floor['floor']}")
            title = f"one layer, {key[0]:,} x 256 x 256, {key[1]} thread" \
                f"{'s' * (key[1] > 1)} (vs BLAS)"
        else:
            part = [r for r in result["models"] if r["model"] == key and r["pattern"] != "dense"
                    and r["threads"] == 1]
            title = f"{key}, 1 thread (vs dense)"
        for pattern, kernel in dict.fromkeys((r["pattern"], r.get("kernel")) for r in part):
            points = sorted((r["sparsity"], r["speedup"]) for r in part
                            if r["pattern"] == pattern and r.get("kernel") == kernel)
            label = pattern + (", panel-major" if kernel and "panel-major" in kernel else "")
            axis.plot([100 * s for s, _ in points], [v for _, v in points], marker="o",
                      label=label)
        grid = np.linspace(0, 0.99, 100)
        axis.plot(100 * grid, 1 / (1 - grid), color="grey", linestyle=":", label="ideal (FLOPs)")
        axis.axhline(1, color="black", linewidth=0.6)
        axis.set_yscale("log")
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("weights pruned (%)")
        axis.set_ylabel("speed-up")
        axis.legend(fontsize=6)
    for axis in list(axes.flat)[len(panels):]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def run(out: Path, repeat: int = 21, quick: bool = False, only: list[str] | None = None) -> dict:
    """Measure the chosen sections (``layer``, ``models``, ``edges``; model labels pick
    models) and write ``out/sparsity.{json,md,png}``."""
    sections = {"layer", "models", "edges"}
    chosen = set(only or sections)
    models_only = [o for o in (only or []) if o not in sections]
    result = {"machine": machine(), "layer": [], "models": [], "edges": []}
    started = time.perf_counter()
    if "layer" in chosen:
        result["layer"] = layer_section((10_000,) if quick else (10_000, 100_000), repeat, quick)
    if "models" in chosen or models_only:
        result["models"] = model_section(repeat, quick, models_only or None)
    if "edges" in chosen:
        result["edges"] = edge_section(repeat)
    result["seconds"] = time.perf_counter() - started
    atomic_write_text(out / "sparsity.json", json.dumps(result, indent=2))
    atomic_write_text(out / "sparsity.md", markdown(result))
    with atomic_path(out / "sparsity.png") as temporary:
        plot(result, temporary)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/sparsity"))
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="fewer sparsities and sizes")
    parser.add_argument("--only", nargs="+", default=None,
                        help="sections (layer, models, edges) or model labels to run")
    args = parser.parse_args()
    result = run(args.out, args.repeat, args.quick, args.only)
    print(markdown(result))
    print(f"wrote {args.out}/sparsity.{{json,md,png}} in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
