"""Fuzz every boundary of sparsegnn with hostile files and inputs, in child processes, and
report what got through.

Run: ``python bench/fuzz.py`` (defaults: 10,000 artifact cases, 1,000 run inputs, 500 dataset
files, 200 checkpoints; ``--scale 0.1`` for a quick pass). Writes ``bench/results/fuzz/`` (JSON
and markdown). Workers run the cases in order and report each before and after it, so a case
that kills its worker (a signal) or hangs is recorded as such and the next worker resumes after
it. Per case the worker's peak resident memory is reset (``/proc/self/clear_refs``) and read
back (``VmHWM``).

The oracle, per kind:

- artifacts (``sparsegnn._mutations``: one semantic edit, checksums recomputed; or a byte flip):
  ``ArtifactError`` on load, or a provenance edit, or a valid retuning of an op that runs to
  finite outputs, or the original outputs; ``InputError`` at run time is clean too;
- run inputs: ``InputError``, or outputs equal to the same input's (made well-formed) reference;
- dataset files (npz in the Shchur and heterophilous layouts, TU text folders, and, when the
  shared datasets are found, Cora's Planetoid pickles and an OGB molecule set's gzipped CSVs):
  ``DatasetError``, or a dataset that loads;
- checkpoints: ``CheckpointError``, or a checkpoint that loads.

Anything else is counted as an "other exception" (its type recorded), a crash, a hang, or
"silently wrong".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "fuzz"
KINDS = ("artifacts", "inputs", "datasets", "checkpoints")


# ----------------------------------------------------------------------------- seeds
def make_seeds(folder: Path) -> None:
    """Valid files every case starts from: four artifacts, a checkpoint, two dataset files."""
    import torch

    from sparsegnn.export import export_artifact
    from sparsegnn.nn import GAT, GCN, GIN, GraphSAGE, save_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    models = {"gcn": GCN(6, 8, 2, 3, input_norm="row_sum"), "sage": GraphSAGE(6, 8, 2, 3),
              "gat": GAT(6, 8, 2, 3, heads=2),
              "gin": GIN(6, 8, 2, pool="sum", head=[8], head_out_channels=3, norm="batch_norm")}
    for name, model in models.items():
        with torch.no_grad():
            first = next(p for n, p in model.named_parameters() if n.endswith("weight"))
            first.mul_(torch.rand_like(first) > 0.6)
        export_artifact(model.eval(), folder / f"{name}.sgnn")
    save_checkpoint(folder / "gat.safetensors", models["gat"], info={"dataset": "synthetic"})
    rng = np.random.default_rng(0)
    adjacency = (rng.random((12, 12)) < 0.3).astype(np.float32)
    indptr = np.r_[0, np.cumsum((adjacency != 0).sum(1))]
    np.savez(folder / "shchur.npz", adj_data=adjacency[adjacency != 0],
             adj_indices=np.nonzero(adjacency)[1], adj_indptr=indptr, adj_shape=[12, 12],
             attr_data=np.ones(12, np.float32), attr_indices=np.arange(12) % 5,
             attr_indptr=np.arange(13), attr_shape=[12, 5], labels=rng.integers(0, 3, 12))
    with zipfile.ZipFile(folder / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("labels.npy", "w") as member:  # 300 MiB of zeros, ~300 KiB zipped
            for _ in range(300):
                member.write(bytes(1 << 20))
    tu = folder / "tu"  # three small graphs in the TU text format
    tu.mkdir()
    (tu / "T_A.txt").write_text("1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n6, 7\n7, 6\n")
    (tu / "T_graph_indicator.txt").write_text("1\n1\n1\n2\n2\n3\n3\n")
    (tu / "T_graph_labels.txt").write_text("1\n-1\n1\n")
    (tu / "T_node_labels.txt").write_text("0\n1\n2\n0\n1\n2\n0\n")
    masks = rng.random((10, 12)) < 0.3
    np.savez(folder / "hetero.npz", node_features=rng.standard_normal((12, 4)).astype(np.float32),
             node_labels=rng.integers(0, 2, 12), edges=rng.integers(0, 12, (30, 2)),
             train_masks=masks, val_masks=masks, test_masks=masks)
    _real_dataset_seeds(folder)


def _real_dataset_seeds(folder: Path) -> None:
    """Copies of Cora's Planetoid pickles and OGB's freesolv CSVs from the shared datasets (the
    formats a hand-made seed would not reproduce faithfully), and a gzip bomb; skipped when
    the shared datasets are absent."""
    import gzip
    import shutil

    from sparsegnn.data.registry import data_roots

    for root in data_roots():
        planetoid, ogb = root / "planetoid", root / "ogb" / "ogbg_molfreesolv"
        if (planetoid / "ind.cora.x").is_file() and (ogb / "raw").is_dir():
            (folder / "planetoid").mkdir()
            for path in planetoid.glob("ind.cora.*"):
                shutil.copyfile(path, folder / "planetoid" / path.name)
            shutil.copytree(ogb, folder / "ogbg_molfreesolv")
            for path in (folder / "ogbg_molfreesolv").rglob("*"):
                path.chmod(0o755 if path.is_dir() else 0o644)  # the shared copy is read-only
            # 200 MB of one-column rows in 200 KB
            (folder / "bomb.csv.gz").write_bytes(gzip.compress(b"1\n" * 100_000_000, 9))
            return


def _reference_inputs(name: str):
    from sparsegnn.graph import Graph

    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 6)).astype(np.float32)
    graph = Graph.from_edge_index(rng.integers(0, 7, (2, 18)), 7)
    return x, graph, (np.array([0, 0, 0, 1, 1, 1, 1]) if name == "gin" else None)


# ----------------------------------------------------------------------------- cases
def artifact_case(seeds: Path, scratch: Path, index: int, rng: random.Random) -> tuple[str, str]:
    from sparsegnn._mutations import harmless, mutate, retunes_an_op
    from sparsegnn.artifact import ArtifactError
    from sparsegnn.runtime import InputError, Session

    name = ("gcn", "sage", "gat", "gin")[index % 4]
    source, target = seeds / f"{name}.sgnn", scratch / f"case-{os.getpid()}.sgnn"
    args = _reference_inputs(name)
    expected = Session(source).run(*args)
    if rng.random() < 0.25:  # a byte flip anywhere
        raw = bytearray(source.read_bytes())
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        target.write_bytes(bytes(raw))
        where, path, original, value = "bytes", (), None, None
    else:
        where, path, original, value = mutate(source, target, rng)
    try:
        session = Session(target)
    except ArtifactError:
        return "clean", ""
    if where == "manifest" and harmless(path):
        return "ok", ""
    try:
        out = session.run(*args)
    except InputError:
        return "clean", ""
    if out.shape != expected.shape or not np.all(np.isfinite(out)):
        return "wrong", f"{where} {path} -> {value!r}: output {out.shape}, finite {np.isfinite(out).all()}"
    if where == "manifest" and retunes_an_op(path, original, value):
        return "ok", ""
    if not np.allclose(out, expected, atol=1e-5):
        return "wrong", f"{where} {path}: {original!r} -> {value!r} changed the outputs"
    return "ok", ""


def _hostile_input(rng: random.Random, x, graph, batch):
    """One broken argument of ``Session.run`` (or a well-formed one)."""
    from sparsegnn.graph import Graph
    from sparsegnn.sparse import CSRMatrix

    choice = rng.randrange(14)
    edge_index = graph.edge_index.copy()
    big = rng.choice([2**31, 2**40, 2**62, -1, -(2**40), 10**7])
    if choice == 0:
        return (x[:, :-1], graph, batch)
    if choice == 1:
        bad = x.copy()
        bad[rng.randrange(x.shape[0]), 0] = rng.choice([np.nan, np.inf, -np.inf])
        return (bad, graph, batch)
    if choice == 2:
        edge_index[rng.randrange(2), rng.randrange(edge_index.shape[1])] = big
        return (x, edge_index, batch)
    if choice == 3:
        return (x, edge_index.astype(np.float64) + 0.5, batch)
    if choice == 4:
        mutable = Graph(graph.indptr.copy(), graph.indices.copy(), graph.num_nodes)
        mutable.indices[rng.randrange(mutable.indices.shape[0])] = big
        return (x, mutable, batch)
    if choice == 5:
        features = CSRMatrix.from_dense(x)
        features.indices[rng.randrange(features.nnz)] = big
        return (features, graph, batch)
    if choice == 6:
        return (x, (graph.indptr[:-1], graph.indices), batch)
    if choice == 7:
        return (x, (graph.indptr, graph.indices, np.ones(3)), batch)
    if choice == 8:
        bad = np.zeros(x.shape[0], np.int64) if batch is None else batch.copy()
        bad[-1] = big
        return (x, graph, bad)
    if choice == 9:
        return (x, graph, np.arange(x.shape[0])[::-1].copy())
    if choice == 10:
        return (x.astype(object), graph, batch)
    if choice == 11:
        return (x[:0], graph, batch)
    if choice == 12:
        return (x, edge_index[:, :0].reshape(3, 0) if rng.random() < 0.5 else edge_index.T, batch)
    return (x, graph, batch)  # well-formed


def input_case(seeds: Path, scratch: Path, index: int, rng: random.Random) -> tuple[str, str]:
    from sparsegnn.runtime import InputError, Session

    name = ("gcn", "sage", "gat", "gin")[index % 4]
    session = Session(seeds / f"{name}.sgnn")
    x, graph, batch = _reference_inputs(name)
    args = _hostile_input(rng, x, graph, batch)
    try:
        out = session.run(*args)
    except InputError:
        return "clean", ""
    if args[0] is x and args[1] is graph and args[2] is batch:
        expected = session.run(x, graph, batch)
        return ("ok", "") if np.array_equal(out, expected) else ("wrong", "reference differs")
    return "wrong", f"accepted a hostile input (case {index % 14})"


def _mutate_npz(source: Path, target: Path, rng: random.Random) -> None:
    with np.load(source) as archive:
        members = {k: archive[k] for k in archive.files}
    key = rng.choice(sorted(members))
    array = members[key]
    choice = rng.randrange(9)
    if choice == 0:
        members[key] = array.astype(np.float64) * 1e12
    elif choice == 1 and array.size:
        flat = array.reshape(-1).copy()
        flat[rng.randrange(flat.size)] = rng.choice([-1, 2**40, 10**12, 3 * 10**8])
        members[key] = flat.reshape(array.shape)
    elif choice == 2:
        members[key] = array.reshape(-1)[: max(array.size - 1, 0)]
    elif choice == 3:
        members[key] = np.array(["x"] * max(array.size, 1), dtype=object)
    elif choice == 4:
        del members[key]
    elif choice == 5:
        members[key] = np.full(array.shape, np.nan) if array.size else np.array([np.nan])
    elif choice == 6:
        members[key] = np.zeros((3, 4, 5))
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    raw = buffer.getvalue()
    if choice == 7:  # truncated
        raw = raw[: rng.randrange(len(raw))]
    elif choice == 8:  # a member that inflates far beyond its size (made once, in the seeds)
        raw = (source.parent / "bomb.npz").read_bytes()
    target.write_bytes(raw)


def _mutate_tu(source: Path, target: Path, rng: random.Random) -> None:
    """A copy of the TU folder with one line of one file replaced, removed or repeated."""
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    path = rng.choice(sorted(target.glob("*.txt")))
    lines = path.read_text().splitlines()
    where = rng.randrange(len(lines))
    choice = rng.randrange(4)
    if choice == 0:
        lines[where] = rng.choice(["10000000000", "-5", "0", "x", "", "1.5", "1, 2, 3",
                                   "99999999999999999999", "3, 1000000", "nan"])
    elif choice == 1:
        del lines[where]
    elif choice == 2:
        lines.insert(where, lines[where])
    else:
        lines = lines[: where]
    path.write_text("\n".join(lines) + "\n")


def _mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
    """A few flipped bytes, a truncation, or garbage appended."""
    choice = rng.randrange(3)
    if choice == 0 and raw:
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if choice == 1:
        return raw[: rng.randrange(len(raw) + 1)]
    return raw + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def _mutate_planetoid(source: Path, target: Path, rng: random.Random) -> None:
    """A copy of the Planetoid folder with one file's bytes mutated, a test id edited, or two
    files swapped."""
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    files = sorted(target.glob("ind.*"))
    path = rng.choice(files)
    choice = rng.randrange(3)
    if choice == 0:
        path.write_bytes(_mutate_bytes(path.read_bytes(), rng))
    elif choice == 1:
        index = target / "ind.cora.test.index"
        lines = index.read_text().splitlines()
        lines[rng.randrange(len(lines))] = rng.choice(["300000000", "-1", "x", "", "2708",
                                                       "1e9", "99999999999999999999"])
        index.write_text("\n".join(lines) + "\n")
    else:
        other = rng.choice([f for f in files if f != path])
        raw = path.read_bytes()
        path.write_bytes(other.read_bytes())
        other.write_bytes(raw)


def _mutate_ogb(source: Path, target: Path, rng: random.Random) -> None:
    """A copy of the OGB folder with one gzipped CSV edited (a line replaced, removed or
    repeated), its compressed bytes mutated, or replaced by a gzip bomb."""
    import gzip
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    path = rng.choice(sorted(target.rglob("*.csv.gz")))
    choice = rng.randrange(4)
    if choice == 0:
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        where = rng.randrange(len(lines))
        edit = rng.randrange(3)
        if edit == 0:
            lines[where] = rng.choice(["10000000000", "-5", "nan", "", "1,2,3,4,5,6,7,8,9,10",
                                       "x", "99999999999999999999", "0,1000000"])
        elif edit == 1:
            del lines[where]
        else:
            lines.insert(where, lines[where])
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    elif choice in (1, 2):
        path.write_bytes(_mutate_bytes(path.read_bytes(), rng))
    else:
        path.write_bytes((source.parent / "bomb.csv.gz").read_bytes())


def dataset_case(seeds: Path, scratch: Path, index: int, rng: random.Random) -> tuple[str, str]:
    from sparsegnn import data

    real = (seeds / "planetoid").is_dir()  # the shared datasets were found
    kind = index % (5 if real else 3)
    if kind == 3:  # Planetoid pickles
        target = scratch / f"case-{os.getpid()}-planetoid"
        _mutate_planetoid(seeds / "planetoid", target, rng)
    elif kind == 4:  # OGB gzipped CSVs
        target = scratch / f"case-{os.getpid()}-ogb" / "ogbg_molfreesolv"  # the name: its task
        _mutate_ogb(seeds / "ogbg_molfreesolv", target, rng)
    elif kind == 2:  # TU text files
        target = scratch / f"case-{os.getpid()}-tu"
        _mutate_tu(seeds / "tu", target, rng)
    else:
        source = seeds / ("shchur.npz" if kind == 0 else "hetero.npz")
        target = scratch / f"case-{os.getpid()}.npz"
        _mutate_npz(source, target, rng)
    try:
        data.load(target)
    except data.DatasetError:
        return "clean", ""
    return "ok", ""


def checkpoint_case(seeds: Path, scratch: Path, index: int, rng: random.Random) -> tuple[str, str]:
    from safetensors import safe_open
    from safetensors.torch import save_file

    from sparsegnn._mutations import hostile_values, manifest_paths
    from sparsegnn.nn import CheckpointError, load_checkpoint

    with safe_open(str(seeds / "gat.safetensors"), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    config = json.loads(metadata["config"])
    path = rng.choice([p for p in manifest_paths(config) if p])
    parent = config
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = rng.choice(hostile_values(rng, parent[path[-1]]) + [400_000, 10**6])
    metadata["config"] = json.dumps(config)
    if rng.random() < 0.2:
        metadata["config"] = '{"a":' * 5000 + "{}" + "}" * 5000
    target = scratch / f"case-{os.getpid()}.safetensors"
    save_file(tensors, str(target), metadata=metadata)
    try:
        load_checkpoint(target)
    except CheckpointError:
        return "clean", ""
    return "ok", ""


CASES = {"artifacts": artifact_case, "inputs": input_case, "datasets": dataset_case,
         "checkpoints": checkpoint_case}


# ----------------------------------------------------------------------------- worker
def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def worker(kind: str, start: int, end: int, seed: int, seeds: Path, scratch: Path) -> None:
    from sparsegnn.benchmark.stats import proc_status_mb

    run_case = CASES[kind]
    for index in range(start, end):
        print(json.dumps({"start": index}), flush=True)
        rng = random.Random(f"{seed}-{kind}-{index}")
        _reset_peak()
        try:
            outcome, detail = run_case(seeds, scratch, index, rng)
        except Exception as exc:  # noqa: BLE001 (what the fuzzer is looking for)
            outcome, detail = "other", f"{type(exc).__name__}: {str(exc)[:200]}"
        print(json.dumps({"end": index, "outcome": outcome, "detail": detail,
                          "peak_mb": proc_status_mb("VmHWM")}), flush=True)


# ----------------------------------------------------------------------------- parent
def run_kind(kind: str, cases: int, seed: int, seeds: Path, scratch: Path, timeout: float,
             memory_limit_mb: float) -> dict:
    from sparsegnn.benchmark.stats import proc_status_mb

    counts, details, peaks = Counter(), [], []
    index = 0
    started = time.perf_counter()
    while index < cases:
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind,
                   "--range", f"{index}:{cases}", "--seed", str(seed), "--seeds", str(seeds),
                   "--scratch", str(scratch)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True)
        reports: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_pump, args=(child.stdout, reports), daemon=True)
        reader.start()
        in_flight, last = None, time.monotonic()
        while True:
            try:
                report = json.loads(reports.get(timeout=0.05))
            except queue.Empty:
                report = None
            if report is not None and "start" in report:
                in_flight, last = report["start"], time.monotonic()
            elif report is not None:
                counts[report["outcome"]] += 1
                if report["peak_mb"] is not None:
                    peaks.append(report["peak_mb"])
                if report["outcome"] in ("other", "wrong"):
                    details.append({"case": report["end"], "outcome": report["outcome"],
                                    "detail": report["detail"]})
                in_flight, index = None, report["end"] + 1
            elif child.poll() is not None and not reader.is_alive() and reports.empty():
                break
            rss = proc_status_mb("VmRSS", child.pid)
            over_time = in_flight is not None and time.monotonic() - last > timeout
            if in_flight is not None and (over_time or (rss or 0) > memory_limit_mb):
                child.kill()
                child.wait()
                outcome = "hang" if over_time else "memory"
                counts[outcome] += 1
                details.append({"case": in_flight, "outcome": outcome, "detail": f"rss {rss}"})
                index, in_flight = in_flight + 1, None
                break
        if in_flight is not None:  # the worker died inside a case: a crash
            counts["crash"] += 1
            details.append({"case": in_flight, "outcome": "crash",
                            "detail": f"exit code {child.returncode}"})
            index = in_flight + 1
        elif child.returncode not in (0, None, -9):
            break  # the worker failed outside any case: stop rather than loop
        print(f"{kind}: {index}/{cases} cases, {dict(counts)}", file=sys.stderr, flush=True)
    return {"cases": cases, "counts": dict(counts), "max_peak_rss_mb": max(peaks, default=None),
            "seconds": time.perf_counter() - started, "problems": details[:50]}


def _pump(stream, reports: queue.Queue) -> None:
    for line in stream:
        reports.put(line)


def markdown(result: dict) -> str:
    lines = ["# Fuzzing the boundaries (`bench/fuzz.py`)", "",
             f"Machine: {result['machine']['cpu']}; seed {result['seed']}; "
             f"{result['created']}. Every input file is under 1 MB.", "",
             "| experiment | cases | clean errors | accepted (valid) | other exceptions | "
             "crashes | hangs | over memory | silently wrong | peak RSS per case |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, row in result["kinds"].items():
        c = row["counts"]
        lines.append(f"| {kind} | {row['cases']:,} | {c.get('clean', 0):,} | {c.get('ok', 0):,} | "
                     f"{c.get('other', 0)} | {c.get('crash', 0)} | {c.get('hang', 0)} | "
                     f"{c.get('memory', 0)} | {c.get('wrong', 0)} | "
                     f"{row['max_peak_rss_mb'] or 0:,.0f} MiB |")
    problems = [(k, p) for k, row in result["kinds"].items() for p in row["problems"]]
    if problems:
        lines += ["", "## Problems", ""] + [f"- {k} case {p['case']}: {p['outcome']}: "
                                            f"{p['detail']}" for k, p in problems]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case count")
    parser.add_argument("--only", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--memory-limit-mb", type=float, default=4096)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--range", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        start, end = map(int, args.range.split(":"))
        worker(args.worker, start, end, args.seed, args.seeds, args.scratch)
        return
    import tempfile

    from sparsegnn._fileio import atomic_write_text
    from sparsegnn.benchmark.stats import machine_info

    counts = {"artifacts": 10_000, "inputs": 1_000, "datasets": 500, "checkpoints": 200}
    with tempfile.TemporaryDirectory(prefix="sparsegnn-fuzz-") as scratch:
        seeds = Path(scratch) / "seeds"
        make_seeds(seeds)
        result = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seed": args.seed,
                  "machine": machine_info(), "kinds": {}}
        for kind in args.only:
            result["kinds"][kind] = run_kind(kind, max(1, int(counts[kind] * args.scale)),
                                             args.seed, seeds, Path(scratch), args.timeout,
                                             args.memory_limit_mb)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "fuzz.json", json.dumps(result, indent=2))
    atomic_write_text(args.out / "fuzz.md", markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
