"""The benchmark harness: statistics, the result schema, absent backends, agreement of every
backend's outputs, compare merging and the runtime-only mode without torch. Checks behaviour
on tiny inputs; no test asserts a timing."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.benchmark import (
    BACKENDS,
    BenchSchemaError,
    ModelFiles,
    Settings,
    load_result,
    markdown,
    merge,
    run_bench,
    validate,
    write_outputs,
)
from sparsegnn.benchmark.backends import Absent, make_backend
from sparsegnn.benchmark.plots import pareto_front
from sparsegnn.benchmark.prepare import artifact_models, prepare_checkpoints
from sparsegnn.benchmark.schema import dense_self_p50, dense_self_ratio
from sparsegnn.benchmark.stats import (
    cpu_description,
    machine_info,
    measure,
    measure_interleaved,
    peak_rss_mb,
    summarize,
)
from sparsegnn.cli import main
from sparsegnn.nn import evaluate, save_checkpoint
from sparsegnn.nn.recipes import make_model
from sparsegnn.prune import MaskSet, magnitude, prune_weights

QUICK = Settings(warmup=1, min_repeat=3, max_repeat=3, min_seconds=0.0, batch_size=16,
                 single_graphs=4, process_metrics=False)
ROOT = Path(__file__).parents[2]


# ----------------------------------------------------------------------------- statistics
def test_summarize_matches_numpy_percentiles():
    times = np.random.default_rng(0).exponential(0.01, size=101)
    stats = summarize(list(times))
    for key, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        assert stats[key] == pytest.approx(1e3 * np.percentile(times, q))
    assert stats["mean"] == pytest.approx(1e3 * times.mean())
    assert stats["min"] == pytest.approx(1e3 * times.min()) and stats["repeats"] == 101
    for bad in ([], [0.1, float("nan")], [-1.0], [[0.1]]):
        with pytest.raises(ValueError):
            summarize(bad)


def test_measure_honours_warmup_and_repeat_bounds():
    calls = []
    times = measure(lambda: calls.append(1), warmup=2, min_repeat=5, max_repeat=7, min_seconds=0)
    assert len(times) == 5 and len(calls) == 7  # 2 warm-up calls are not timed
    times = measure(lambda: None, warmup=0, min_repeat=1, max_repeat=4, min_seconds=3600)
    assert len(times) == 4  # max_repeat stops a long min_seconds
    with pytest.raises(ValueError):
        measure(lambda: None, min_repeat=5, max_repeat=2)


def test_measure_interleaved_times_the_calls_in_turn():
    order = []
    first, second = (lambda: order.append("a")), (lambda: order.append("b"))
    times = measure_interleaved([first, second], warmup=1, min_rounds=3, max_rounds=5,
                                min_seconds=0)
    assert [len(t) for t in times] == [3, 3] and order == ["a", "b"] * 4  # one warm-up round
    times = measure_interleaved([first], warmup=0, min_rounds=1, max_rounds=4,
                                min_seconds=3600)
    assert len(times[0]) == 4  # max_rounds stops a long min_seconds
    with pytest.raises(ValueError):
        measure_interleaved([first], min_rounds=5, max_rounds=2)


def test_machine_info_names_cpu_cores_and_libraries():
    info = machine_info()
    assert info["logical_cores"] >= 1 and info["cpu"]
    assert info["libraries"]["numpy"] == np.__version__
    assert info["libraries"]["torch"] == torch.__version__
    assert peak_rss_mb() > 10  # this process holds torch


def test_cpu_description_tells_apart_cpus_with_one_model_name():
    # the first lines of /proc/cpuinfo on the two development VMs (Zen 1 and Zen 4), which
    # both name themselves "AMD EPYC"
    zen1 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 1\n"
            "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx fma avx2 bmi2\n\n"
            "processor\t: 1\ncpu family\t: 23\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n")
    zen4 = zen1.replace(": 23", ": 25").replace(": 1\n", ": 17\n").replace(
        "avx2 bmi2", "avx2 bmi2 avx512f avx512vl avx512_vnni")
    assert cpu_description(zen1) == "AMD EPYC (family 23 model 1, AVX2)"
    assert cpu_description(zen4) == "AMD EPYC (family 25 model 17, AVX-512)"
    arm = "processor\t: 0\nFeatures\t: fp asimd\nCPU part\t: 0xd0c\n\nHardware\t: Graviton\n"
    assert cpu_description(arm) == "Graviton"  # no family, model or x86 vector flags to add
    assert cpu_description("")  # an unreadable cpuinfo still names something
    assert machine_info()["cpu"] == cpu_description()


def test_pareto_front_keeps_exactly_the_undominated_points():
    rng = np.random.default_rng(1)
    points = [tuple(p) for p in rng.random((40, 2))]
    front = set(pareto_front(points))
    for i, (latency, accuracy) in enumerate(points):
        dominated = any(l2 <= latency and a2 >= accuracy and (l2, a2) != (latency, accuracy)
                        for l2, a2 in points)
        assert (i in front) == (not dominated)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def node_models(tmp_path_factory):
    """A dense and a 90%-pruned GCN checkpoint on the synthetic graph, exported."""
    folder = tmp_path_factory.mktemp("bench-node")
    dataset = data.load("synthetic")
    torch.manual_seed(0)
    dense = make_model("gcn", dataset).eval()
    dense_path = save_checkpoint(folder / "dense.safetensors", dense,
                                 info={"dataset": "synthetic"})
    pruned = make_model("gcn", dataset)
    pruned.load_state_dict(dense.state_dict())
    masks = prune_weights(pruned, magnitude(pruned), 0.9, scope="global")
    masks.apply(pruned)
    MaskSet.bake(pruned)
    extra = {f"mask.{k}": torch.from_numpy(v) for k, v in masks.weights.items()}
    pruned_path = save_checkpoint(folder / "pruned.safetensors", pruned.eval(), extra=extra,
                                  info={"dataset": "synthetic", "pruned_from": str(dense_path)})
    models, entries = prepare_checkpoints([dense_path, pruned_path], folder / "exported")
    return dataset, models, entries, pruned


# ----------------------------------------------------------------------------- running
def test_every_backend_agrees_and_reports_the_schema(node_models):
    dataset, models, entries, pruned = node_models
    result = run_bench(models, dataset, settings=QUICK, progress=False, model_info=entries)
    validate(result)
    assert [m["label"] for m in result["models"]] == ["dense", "pruned"]
    assert result["models"][1]["weight_sparsity"] == pytest.approx(0.9, abs=0.01)
    assert len(result["runs"]) == 2 * len(BACKENDS)  # absent backends are listed, not skipped
    runs = {(r["model"], r["backend"]): r for r in result["runs"]}
    for name in ("torch-dense", "torch-sparse", "pyg-edge_index", "pyg-csr", "onnxruntime",
                 "sparsegnn-dense", "sparsegnn-dense-1t", "sparsegnn-1t", "sparsegnn"):
        assert runs[("pruned", name)]["status"] == "ok", runs[("pruned", name)]
    assert runs[("dense", "torch-masked")]["status"] == "absent"  # no masks in a dense model
    expected = evaluate(pruned, dataset)["test"]
    for (label, name), run in runs.items():
        if run["status"] != "ok":
            assert run["reason"]
            continue
        assert run["latency_ms"]["p50"] > 0 and run["throughput"]["unit"] == "inferences/s"
        if label == "pruned" and name not in ("torch-dense", "sparsegnn-dense",
                                              "sparsegnn-dense-1t"):
            assert run["max_abs_diff"] < 1e-4, (name, run["max_abs_diff"])
            assert run["accuracy"] == pytest.approx(expected, abs=1e-6), name
    # the dense baselines run the unpruned checkpoint named by pruned_from, in torch and in the
    # runtime (its dense self), and agree
    assert runs[("pruned", "torch-dense")]["accuracy"] == runs[("dense", "torch-dense")]["accuracy"]
    for name in ("sparsegnn-dense", "sparsegnn-dense-1t"):
        assert runs[("pruned", name)]["accuracy"] == pytest.approx(
            runs[("pruned", "torch-dense")]["accuracy"], abs=1e-6)
    # the pruned model's runtime backends were timed call by call against its dense self at
    # the same threads, and the tables show that ratio
    for name in ("sparsegnn-1t", "sparsegnn"):
        paired = runs[("pruned", name)]["dense_self"]
        assert paired["ratio"] == pytest.approx(paired["dense_p50"] / paired["p50"])
        assert paired["rounds"] >= QUICK.min_repeat
        assert f"{paired['ratio']:.2f}×" in markdown(result)
        assert "dense_self" not in runs[("dense", name)]  # no pruned_from: no dense self
    # every table says what each backend was given: sparse features where a peer takes them
    assert runs[("pruned", "torch-sparse")]["input"].startswith("CSR x, CSR adjacency")
    assert runs[("pruned", "pyg-csr")]["input"] == "CSR x, CSR adj_t"  # PyG's GCN takes CSR x
    assert runs[("pruned", "onnxruntime")]["input"].startswith("dense x")
    assert runs[("pruned", "sparsegnn")]["input"].startswith("CSR x")


def test_missing_libraries_make_backends_absent(node_models, monkeypatch):
    dataset, models, entries, _ = node_models
    import builtins

    real_import = builtins.__import__

    def no_pyg(name, *args, **kwargs):
        if name.split(".")[0] in ("torch_geometric", "onnxruntime"):
            raise ImportError(f"blocked {name}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyg)
    monkeypatch.delitem(sys.modules, "onnxruntime", raising=False)
    monkeypatch.delitem(sys.modules, "torch_geometric", raising=False)
    result = run_bench(models[1:], dataset, backends=["pyg-edge_index", "onnxruntime",
                                                       "sparsegnn-1t"],
                       settings=QUICK, progress=False, model_info=entries[1:])
    statuses = {r["backend"]: (r["status"], r.get("reason", "")) for r in result["runs"]}
    assert statuses["pyg-edge_index"][0] == "absent" and "torch_geometric" in statuses["pyg-edge_index"][1]
    assert statuses["onnxruntime"][0] == "absent"
    assert statuses["sparsegnn-1t"][0] == "ok"


def test_an_artifact_alone_runs_only_where_it_can(node_models):
    dataset, models, _, _ = node_models
    only, entries = artifact_models([models[1].artifact])
    result = run_bench(only, dataset, backends=["torch-masked", "sparsegnn-1t"], settings=QUICK,
                       progress=False, model_info=entries)
    runs = {r["backend"]: r for r in result["runs"]}
    assert runs["torch-masked"]["status"] == "absent"
    assert "checkpoint" in runs["torch-masked"]["reason"]
    assert runs["sparsegnn-1t"]["status"] == "ok"
    assert result["models"][0]["weight_sparsity"] == pytest.approx(0.9, abs=0.01)


def test_a_failing_backend_is_reported_and_the_others_still_run(node_models, monkeypatch):
    dataset, models, entries, _ = node_models

    def broken(self, files):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(type(make_backend("pyg-csr")), "load", broken)
    result = run_bench(models[1:], dataset, backends=["pyg-csr", "sparsegnn-1t"], settings=QUICK,
                       progress=False, model_info=entries[1:])
    runs = {r["backend"]: r for r in result["runs"]}
    assert runs["pyg-csr"]["status"] == "failed" and "kernel exploded" in runs["pyg-csr"]["reason"]
    assert runs["sparsegnn-1t"]["status"] == "ok"


def test_graph_level_models_report_batch_one_latency_and_graph_throughput(tmp_path):
    dataset = data.load("synthetic-graphs")
    torch.manual_seed(0)
    model = make_model("gin", dataset, num_layers=2, hidden_channels=16).eval()
    path = save_checkpoint(tmp_path / "gin.safetensors", model)
    models, entries = prepare_checkpoints([path], tmp_path / "exported")
    result = run_bench(models, dataset, backends=["torch-dense", "pyg-edge_index", "sparsegnn-1t"],
                       settings=QUICK, progress=False, model_info=entries)
    expected = evaluate(model, dataset)["test"]
    for run in result["runs"]:
        assert run["status"] == "ok", run
        assert run["throughput"]["unit"] == "graphs/s"
        assert run["accuracy"] == pytest.approx(expected, abs=1e-6)
        assert run["max_abs_diff"] < 1e-4
    assert "batch 1" in result["settings"]["workload"]


def test_child_process_reports_cold_start_and_memory(node_models):
    dataset, models, entries, _ = node_models
    settings = Settings(**{**QUICK.__dict__, "process_metrics": True})
    result = run_bench(models[1:], dataset, backends=["sparsegnn-1t"], settings=settings,
                       progress=False, model_info=entries[1:])
    run = result["runs"][0]
    assert "process_metrics_problem" not in run, run
    assert 0 < run["cold_start_s"] < 120 and run["peak_rss_mb"] > 10


def test_a_backend_that_does_not_fit_in_memory_is_absent_and_the_json_is_written(
        node_models, tmp_path):
    """A backend whose first run passes the memory limit is stopped in its child process and
    reported absent, the others still run, and the result is written (a peer that needed
    16.7 GB once took the whole bench down with no output)."""
    dataset, models, entries, _ = node_models
    settings = Settings(**{**QUICK.__dict__, "process_metrics": True, "memory_limit_mb": 50})
    result = run_bench(models[1:], dataset, backends=["sparsegnn-1t"], settings=settings,
                       progress=False, model_info=entries[1:])
    run = result["runs"][0]
    assert run["status"] == "absent" and "needs more than 50 MiB" in run["reason"], run
    paths = write_outputs(result, tmp_path)
    assert json.loads(paths[0].read_text())["runs"][0]["status"] == "absent"


# ----------------------------------------------------------------------------- schema, outputs
def _result(node_models):
    dataset, models, entries, _ = node_models
    return run_bench(models[1:], dataset, backends=["sparsegnn-1t", "pyg-sparsetensor"],
                     settings=QUICK, progress=False, model_info=entries[1:])


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r.pop("machine"), "missing field 'machine'"),
    (lambda r: r.update(schema="other/9"), "expected 'sparsegnn-bench/1'"),
    (lambda r: r["runs"][0].update(status="maybe"), "status must be one of"),
    (lambda r: r["runs"][0].update(model="nobody"), "is not one of the models"),
    (lambda r: r["runs"][0]["latency_ms"].update(p95=-1.0), "percentiles out of order"),
    (lambda r: r["runs"][0].update(accuracy="high"), "accuracy"),
    (lambda r: r["runs"][0]["latency_ms"].update(repeats=True), "repeats"),
])
def test_schema_rejects_broken_documents(node_models, breakage, message):
    result = json.loads(json.dumps(_result(node_models)))
    breakage(result)
    with pytest.raises(BenchSchemaError, match=message):
        validate(result)


def test_outputs_and_compare_merge_machines(node_models, tmp_path, capsys):
    result = _result(node_models)
    written = write_outputs(result, tmp_path / "a")
    assert {p.name for p in written} >= {"bench.json", "bench.md", "bench-latency.png"}
    assert load_result(tmp_path / "a" / "bench.json") == json.loads(json.dumps(result))
    other = json.loads(json.dumps(result))
    other["machine"]["hostname"] = "device"
    other["runs"][0]["latency_ms"].update(p50=4.0, p95=5.0, p99=6.0)
    write_outputs(other, tmp_path / "b")
    merged = merge([result, other])
    assert len(merged["rows"]) == 2 * len(result["runs"])
    assert {row["machine"] for row in merged["rows"]} == {result["machine"]["hostname"], "device"}
    assert main(["bench", "compare", str(tmp_path / "a" / "bench.json"),
                 str(tmp_path / "b" / "bench.json"), "--names", "dev,edge",
                 "--out", str(tmp_path / "cmp")]) == 0
    merged_json = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [m["name"] for m in merged_json["machines"]] == ["dev", "edge"]
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 1000
    (tmp_path / "bad.json").write_text('{"schema": "sparsegnn-bench/1"}')
    assert main(["bench", "compare", str(tmp_path / "bad.json")]) == 1
    assert "missing field" in capsys.readouterr().err


# ----------------------------------------------------------------------------- CLI
def test_cli_bench_writes_json_markdown_and_plots(node_models, tmp_path):
    _, models, _, _ = node_models
    code = main(["bench", models[1].checkpoint, "--backends", "torch-dense,sparsegnn-1t",
                 "--min-seconds", "0", "--max-repeat", "3", "--no-process-metrics",
                 "--no-progress", "--out", str(tmp_path)])
    assert code == 0
    result = load_result(tmp_path / "bench.json")
    assert result["dataset"]["name"] == "synthetic"  # from the checkpoint's info
    assert "| sparsegnn-1t |" in (tmp_path / "bench.md").read_text()
    assert main(["bench", models[1].checkpoint, "--runtime-only", "--out", str(tmp_path)]) == 2
    assert main(["bench", models[1].artifact, "--runtime-only", "--backends", "onnxruntime",
                 "--out", str(tmp_path)]) == 2


def test_runtime_only_bench_runs_without_torch(node_models, tmp_path):
    """`sparsegnn bench --runtime-only` where torch, scipy, onnx, PyG, rich and matplotlib
    cannot be imported (a device with only the runtime installed)."""
    _, models, _, _ = node_models
    script = f"""
import sys
for name in ("torch", "scipy", "onnx", "onnxruntime", "torch_geometric", "rich", "matplotlib",
             "safetensors"):
    sys.modules[name] = None
from sparsegnn.cli import main
code = main(["bench", {models[1].artifact!r}, "--runtime-only", "--dataset", "synthetic",
             "--min-seconds", "0", "--max-repeat", "5", "--out", {str(tmp_path)!r}])
leaked = [m for m in ("torch", "scipy", "onnx") if sys.modules.get(m) is not None]
assert not leaked, leaked
sys.exit(code)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = load_result(tmp_path / "bench.json")
    runs = {r["backend"]: r for r in result["runs"]}
    assert set(runs) == {"sparsegnn-dense", "sparsegnn-dense-1t", "sparsegnn-1t", "sparsegnn"}
    # an artifact alone names no unpruned model: its dense self is absent, with the reason
    assert runs.pop("sparsegnn-dense")["status"] == "absent"
    assert runs.pop("sparsegnn-dense-1t")["status"] == "absent"
    assert all(r["status"] == "ok" and r["cold_start_s"] > 0 for r in runs.values())
    assert not list(tmp_path.glob("*.png"))  # no matplotlib there: JSON and markdown only
    assert "| sparsegnn |" in done.stdout


def test_speedup_over_the_dense_self_compares_the_same_thread_count():
    def run(backend, p50):
        return {"backend": backend, "status": "ok", "latency_ms": {"p50": p50}}

    runs = [run("sparsegnn-dense-1t", 6.0), run("sparsegnn-dense", 4.0),
            run("sparsegnn-1t", 2.0), run("sparsegnn", 1.0)]
    assert dense_self_p50(runs, runs[2]) == 6.0  # one thread against one thread: 3x
    assert dense_self_p50(runs, runs[3]) == 4.0  # all threads against all threads: 4x
    assert dense_self_p50(runs[1:], runs[2]) is None  # no one-thread dense self ran
    # the ratio timed call by call, where it was; else the ratio of the two blocks' p50s
    assert dense_self_ratio(runs[2], dense_self_p50(runs, runs[2])) == 3.0
    runs[2]["dense_self"] = {"p50": 2.5, "dense_p50": 5.0, "ratio": 2.0, "rounds": 10}
    assert dense_self_ratio(runs[2], dense_self_p50(runs, runs[2])) == 2.0
    assert dense_self_ratio(runs[3]) is None


def test_absent_reason_for_a_model_without_a_checkpoint():
    backend = make_backend("torch-dense")
    with pytest.raises(Absent, match="checkpoint"):
        backend.load(ModelFiles(label="m", kind="gcn", artifact="unused.sgnn"))
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend("tensorflow")


def test_quickstart_runs_the_whole_pipeline(tmp_path, capsys):
    """README's first command: train, prune, export, run and bench in one folder."""
    assert main(["quickstart", "--out", str(tmp_path), "--no-progress"]) == 0
    for name in ("dense.safetensors", "pruned.safetensors", "pruned.json", "pruned.sgnn",
                 "pruned.onnx", "bench/bench.json", "bench/bench.md", "bench/bench-pareto.png"):
        assert (tmp_path / name).is_file(), name
    result = load_result(tmp_path / "bench" / "bench.json")
    runs = {(r["model"], r["backend"]): r for r in result["runs"]}
    assert runs[("pruned", "sparsegnn")]["status"] == "ok"
    assert runs[("pruned", "sparsegnn")]["max_abs_diff"] < 1e-4
    report = json.loads((tmp_path / "pruned.json").read_text())
    assert runs[("pruned", "sparsegnn")]["accuracy"] == pytest.approx(report["after"]["test"],
                                                                      abs=1e-6)
    assert "quickstart done" in capsys.readouterr().out
    assert main(["bench", str(tmp_path / "pruned.sgnn"), "--max-repeat", "0"]) == 2
