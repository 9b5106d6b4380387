"""The sparsegnn command end to end: help everywhere, datasets, train writes a usable checkpoint."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sparsegnn.cli import build_parser, main
from sparsegnn.nn import evaluate, load_checkpoint


def _commands():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return sorted(subparsers.choices)


def test_the_commands_are_exactly_the_implemented_ones():
    assert _commands() == ["bench", "bench-compare", "compile", "datasets", "export", "inspect",
                           "prune", "prune-auto", "prune-sweep", "quickstart", "run", "train",
                           "tune"]


def test_model_choices_are_the_model_kinds():
    from sparsegnn.cli._common import MODEL_KINDS
    from sparsegnn.nn import MODELS

    assert sorted(MODEL_KINDS) == sorted(MODELS)


@pytest.mark.parametrize("command", [[]] + [[name] for name in _commands()])
def test_help_on_every_command(command):
    result = subprocess.run([sys.executable, "-m", "sparsegnn.cli", *command, "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "usage: sparsegnn" in result.stdout


def test_datasets_lists_what_is_found(datasets_root, capsys):
    assert main(["datasets", "--data-dir", str(datasets_root)]) == 0
    out = capsys.readouterr().out
    assert "cora" in out and "synthetic" in out and str(datasets_root) in out


def test_train_on_the_default_writes_checkpoint_and_report(tmp_path, capsys):
    checkpoint, report = tmp_path / "gcn.safetensors", tmp_path / "report.json"
    code = main(["train", "--epochs", "30", "--no-progress", "--out", str(checkpoint),
                 "--report", str(report)])
    assert code == 0
    out = capsys.readouterr().out
    assert "gcn on synthetic: test " in out and "% accuracy over 1 split(s) x 1 seed(s)" in out
    assert "one class alone: " in out  # an accuracy is shown beside what one class scores
    loaded = load_checkpoint(checkpoint)
    summary = json.loads(report.read_text())
    assert summary["runs"][0]["test_score"] == pytest.approx(loaded.info["test_score"])
    from sparsegnn import data

    # the saved weights reproduce the reported test accuracy
    assert evaluate(loaded.model, data.load("synthetic"))["test"] == pytest.approx(
        loaded.info["test_score"])


def test_train_graph_classification_with_cross_validation(datasets_root, tmp_path, capsys):
    code = main(["train", "--model", "gin", "--dataset", "mutag", "--data-dir",
                 str(datasets_root), "--epochs", "2", "--cv", "--no-progress", "--report",
                 str(tmp_path / "r.json")])
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["cross_validation"]["folds"] == 10
    assert 0 <= report["cross_validation"]["paper_protocol"]["mean"] <= 1


def test_unknown_dataset_is_a_clean_error(capsys):
    assert main(["train", "--dataset", "no-such-set", "--no-progress"]) == 1
    assert "unknown dataset 'no-such-set'" in capsys.readouterr().err


def test_bad_split_is_a_clean_error(capsys):
    assert main(["train", "--split", "4", "--no-progress"]) == 2
    assert "--split must lie in" in capsys.readouterr().out


def test_train_scores_a_binary_node_set_by_roc_auc_over_all_its_splits(datasets_root, tmp_path,
                                                                        capsys):
    """minesweeper is 80 % one class: its report must be a ROC-AUC, per split and averaged."""
    report = tmp_path / "r.json"
    code = main(["train", "--dataset", "minesweeper", "--data-dir", str(datasets_root),
                 "--epochs", "3", "--input-dropout", "0", "--cv", "--no-progress",
                 "--report", str(report)])
    assert code == 0
    out = capsys.readouterr().out
    assert "--split all" in out and "ROC-AUC" in out and "% accuracy" not in out
    summary = json.loads(report.read_text())
    assert summary["metric"] == "roc_auc" and summary["model"]["input_dropout"] == 0
    assert [run["split"] for run in summary["runs"]] == list(range(10))
    assert summary["test_mean"] == pytest.approx(np.mean([r["test_score"] for r in summary["runs"]]))


def test_heterophilous_recipe_is_the_residual_stack_and_runs_as_trained(datasets_root,
                                                                         tmp_path, capsys):
    """minesweeper's recipe is Platonov et al.'s residual layer-norm stack; exported, the
    runtime scores the test split as training did; --norm none, --act and --no-residual
    override it."""
    checkpoint, report, artifact = tmp_path / "m.safetensors", tmp_path / "r.json", \
        tmp_path / "m.sgnn"
    data_dir = ["--data-dir", str(datasets_root)]
    assert main(["train", "--dataset", "minesweeper", *data_dir, "--epochs", "5",
                 "--no-progress", "--out", str(checkpoint), "--report", str(report)]) == 0
    summary = json.loads(report.read_text())
    assert summary["model"]["residual_blocks"] and summary["model"]["norm"] == "layer_norm"
    assert main(["export", str(checkpoint), "--out", str(artifact)]) == 0
    capsys.readouterr()
    assert main(["run", str(artifact), *data_dir, "--repeat", "1"]) == 0
    assert f"test {summary['runs'][0]['test_score']:.4f} ROC-AUC" in capsys.readouterr().out
    assert main(["train", "--dataset", "minesweeper", *data_dir, "--epochs", "1", "--norm",
                 "none", "--act", "relu", "--no-progress", "--report", str(report)]) == 0
    model = json.loads(report.read_text())["model"]
    assert model["norm"] is None and model["act"] == "relu" and model["residual_blocks"]
    assert main(["train", "--dataset", "minesweeper", *data_dir, "--epochs", "1",
                 "--no-residual", "--no-progress", "--report", str(report)]) == 0
    assert not json.loads(report.read_text())["model"]["residual_blocks"]


def test_recommend_train_export_run(tmp_path, capsys):
    from ..recsys_data import write_clustered_interactions

    folder = write_clustered_interactions(tmp_path / "set")
    checkpoint, index, report = tmp_path / "m.safetensors", tmp_path / "m.sgnn", tmp_path / "r.json"
    assert main(["train", "--task", "recommend", "--dataset", str(folder), "--epochs", "10",
                 "--batch-size", "256", "--lr", "0.02", "--no-progress", "--out", str(checkpoint),
                 "--report", str(report)]) == 0
    summary = json.loads(report.read_text())
    trained = summary["runs"][0]["test"]
    assert main(["export", str(checkpoint), "--out", str(index)]) == 0
    assert "retrieval index of 80 users and 60 items" in capsys.readouterr().out
    assert main(["inspect", str(index)]) == 0
    assert "retrieval index" in capsys.readouterr().out
    assert main(["bench", str(index), "--max-repeat", "3", "--users", "8",
                 "--out", str(tmp_path / "bench")]) == 0
    timed = json.loads((tmp_path / "bench" / "recommend.json").read_text())
    assert {row["case"] for row in timed["rows"]} == {"1 user", "8 users"}
    # on a CPU with VNNI the portable float layout is timed beside the byte layout
    extra = {"sparsegnn-float"} if timed["layout"] == "bytes" else set()
    assert set(timed["rows"][0]["p50_ms"]) == {"sparsegnn", "torch", "numpy"} | extra
    # the runtime's recommendations reproduce the metrics torch measured in training
    assert main(["run", str(index), "--dataset", str(folder), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert f"recall@20 {trained['recall@20']:.4f}, ndcg@20 {trained['ndcg@20']:.4f}" in out
    assert main(["run", str(index), "--users", "0,7", "--k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("user 0: ") and lines[-1].startswith("user 7: ")
    assert main(["run", str(index), "--users", "500"]) == 1
    assert "users must lie in [0, 80)" in capsys.readouterr().err


def test_link_prediction_trains_and_saves_the_training_graph(tmp_path, capsys):
    checkpoint = tmp_path / "link.safetensors"
    assert main(["train", "--task", "link", "--epochs", "20", "--no-progress", "--decoder", "mlp",
                 "--out", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "link gcn (mlp) on synthetic: test" in out and "ROC-AUC" in out and "AP " in out
    loaded = load_checkpoint(checkpoint)
    assert loaded.info["task"] == "link_prediction" and loaded.info["edge_split"]["test"] == 0.1
    from sparsegnn import data

    full = data.load("synthetic").graph
    assert 0.8 * full.num_edges < loaded.graph.num_edges < 0.9 * full.num_edges
    # exported with its message-passing graph, the runtime reproduces the test ROC-AUC
    artifact = tmp_path / "link.sgnn"
    assert main(["export", str(checkpoint), "--out", str(artifact)]) == 0
    capsys.readouterr()
    assert main(["run", str(artifact), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert f"test ROC-AUC {loaded.info['test_score']:.4f}" in out and "mlp decoder" in out


def test_cv_is_refused_before_training_where_there_are_no_folds(capsys):
    assert main(["train", "--cv", "--no-progress"]) == 2
    assert "--cv needs a dataset with several splits" in capsys.readouterr().out


def test_checkpoint_runs_on_edge_index(tmp_path):
    checkpoint = tmp_path / "m.safetensors"
    assert main(["train", "--model", "sage", "--epochs", "3", "--no-progress",
                 "--out", str(checkpoint)]) == 0
    model = load_checkpoint(checkpoint).model
    x = torch.rand(5, model.in_channels)
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
    assert model(x, edge_index).shape == (5, model.output_channels)


def test_export_inspect_run_pipeline(tmp_path, capsys):
    checkpoint, artifact = tmp_path / "gcn.safetensors", tmp_path / "gcn.sgnn"
    assert main(["train", "--epochs", "40", "--no-progress", "--out", str(checkpoint)]) == 0
    trained_accuracy = load_checkpoint(checkpoint).info["test_score"]
    onnx_path, ort_path = tmp_path / "gcn.onnx", tmp_path / "gcn.ort"
    assert main(["export", str(checkpoint), "--out", str(artifact), "--store-graph",
                 "--onnx", str(onnx_path), "--ort", str(ort_path)]) == 0
    out = capsys.readouterr().out
    assert "dense fp32 weights" in out and artifact.is_file()
    assert "onnx:" in out and "ort (mobile):" in out
    import onnxruntime as ort

    from sparsegnn import data

    synthetic = data.load("synthetic")
    feed = {"x": synthetic.dense_x(), "edge_index": synthetic.graph.edge_index}
    from_onnx = ort.InferenceSession(str(onnx_path)).run(None, feed)[0]
    from_ort = ort.InferenceSession(str(ort_path)).run(None, feed)[0]
    np.testing.assert_allclose(from_ort, from_onnx, atol=1e-5)
    assert main(["inspect", str(artifact)]) == 0
    out = capsys.readouterr().out
    assert "gcn_conv" in out and "stored graph: 3,000 nodes" in out
    predictions = tmp_path / "pred.npy"
    assert main(["run", str(artifact), "--repeat", "2", "--threads", "1", "--predictions",
                 str(predictions)]) == 0
    out = capsys.readouterr().out
    reported = float(out.split("test ")[-1].split(" % accuracy")[0]) / 100
    assert reported == pytest.approx(trained_accuracy, abs=1e-3)  # the runtime reproduces torch
    assert np.load(predictions).shape == (3000, 5)


def test_run_on_a_user_graph_file(tmp_path, capsys):
    import numpy as np

    from sparsegnn import data

    checkpoint, artifact = tmp_path / "gin.safetensors", tmp_path / "gin.sgnn"
    assert main(["train", "--model", "gin", "--dataset", "synthetic-graphs", "--epochs", "2",
                 "--no-progress", "--out", str(checkpoint)]) == 0
    assert main(["export", str(checkpoint), "--out", str(artifact)]) == 0
    graph, x, batch = data.load("synthetic-graphs").select_graphs([0, 1, 2, 3])
    user = tmp_path / "graphs.npz"
    np.savez(user, x=x, edge_index=graph.edge_index, batch=batch)
    assert main(["run", str(artifact), "--input", str(user), "--repeat", "1"]) == 0
    assert "output (4, 2)" in capsys.readouterr().out
    np.savez(user, features=x)
    assert main(["run", str(artifact), "--input", str(user)]) == 1
    assert "missing arrays ['x', 'edge_index']" in capsys.readouterr().err


def test_run_uses_the_recorded_dataset_and_files_say_what_they_are(tmp_path, capsys):
    """``run`` without ``--dataset`` takes the dataset the artifact records (not the synthetic
    default, whose width differs); a checkpoint given to ``run`` and an artifact given to
    ``prune`` are named as what they are, with the command that takes them."""
    checkpoint, artifact = tmp_path / "gin.safetensors", tmp_path / "gin.sgnn"
    assert main(["train", "--model", "gin", "--dataset", "synthetic-graphs", "--epochs", "2",
                 "--no-progress", "--out", str(checkpoint)]) == 0
    assert main(["export", str(checkpoint), "--out", str(artifact)]) == 0
    capsys.readouterr()
    assert main(["run", str(artifact), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "dataset: synthetic-graphs (recorded in the artifact" in out and "% accuracy on" in out
    assert main(["run", str(checkpoint)]) == 1
    assert "this is a sparsegnn checkpoint" in capsys.readouterr().err
    assert main(["prune", str(artifact), "--weight-sparsity", "0.5", "--out",
                 str(tmp_path / "p.safetensors"), "--no-progress"]) == 1
    assert "this is a sparsegnn artifact" in capsys.readouterr().err


def test_logs_and_sizes_read_well_when_redirected(tmp_path):
    """Redirected output: no blank lines, no wrapping at 80 columns, a tiny model's size is
    not a percentage in the thousands; bench with a missing file writes nothing."""
    checkpoint, artifact = tmp_path / "tiny.safetensors", tmp_path / "tiny.sgnn"
    run = [sys.executable, "-m", "sparsegnn.cli"]
    train = subprocess.run([*run, "train", "--epochs", "2", "--hidden", "4", "--out",
                            str(checkpoint)], capture_output=True, text=True, check=True)
    lines = train.stdout.splitlines()
    assert lines and all(line.strip() for line in lines)
    assert lines[0].startswith("Dataset(") and lines[0].endswith(")")  # one line, unwrapped
    export = subprocess.run([*run, "export", str(checkpoint), "--out", str(artifact)],
                            capture_output=True, text=True, check=True).stdout
    percentages = [float(part.split("%")[0]) for part in export.split("(")[1:] if "%" in part]
    assert percentages and all(p <= 100 for p in percentages)
    out = tmp_path / "bench"
    assert main(["bench", str(artifact), str(tmp_path / "absent.safetensors"), "--out",
                 str(out)]) == 2
    assert not out.exists()


def test_broken_artifact_is_a_clean_error(tmp_path, capsys):
    broken = tmp_path / "broken.sgnn"
    broken.write_bytes(b"\x00" * 20)
    assert main(["inspect", str(broken)]) == 1
    assert "broken.sgnn" in capsys.readouterr().err


def test_prune_writes_checkpoint_masks_and_report(tmp_path, capsys):
    import json

    dense, pruned = tmp_path / "dense.safetensors", tmp_path / "pruned.safetensors"
    assert main(["train", "--epochs", "30", "--no-progress", "--out", str(dense)]) == 0
    assert main(["prune", str(dense), "--weight-sparsity", "0.8", "--epochs", "10",
                 "--no-progress", "--out", str(pruned)]) == 0
    out = capsys.readouterr().out
    assert "overall" in out and "before: val " in out and "% accuracy" in out
    loaded = load_checkpoint(pruned)
    assert loaded.info["weight_sparsity"] == pytest.approx(0.8, abs=1e-3)
    for key, mask in ((k[len("mask."):], m) for k, m in loaded.extra.items()):
        weight = dict(loaded.model.named_parameters())[key]
        assert torch.all(weight[~mask.bool()] == 0)
    report = json.loads(pruned.with_suffix(".json").read_text())
    assert report["masks"]["overall"]["fraction_pruned"] == pytest.approx(0.8, abs=1e-3)
    assert set(report) >= {"before", "after", "seconds", "rounds"}


def test_prune_channels_makes_the_exported_model_narrower(tmp_path, capsys):
    dense, pruned, artifact = (tmp_path / n for n in ("d.safetensors", "p.safetensors", "p.sgnn"))
    assert main(["train", "--epochs", "20", "--hidden", "16", "--no-progress",
                 "--out", str(dense)]) == 0
    assert main(["prune", str(dense), "--channel-sparsity", "0.5", "--weight-sparsity", "0.5",
                 "--channel-criterion", "taylor", "--criterion", "l1", "--distill",
                 "--epochs", "5", "--no-progress", "--out", str(pruned)]) == 0
    assert "hidden width 16 -> 8" in capsys.readouterr().out
    assert load_checkpoint(pruned).model.hidden_channels == 8
    assert main(["export", str(pruned), "--out", str(artifact)]) == 0
    assert main(["inspect", str(artifact)]) == 0
    assert "weight 128x8" in capsys.readouterr().out


@pytest.mark.parametrize("criteria", [
    ["--criterion", "ig", "--channel-criterion", "ig", "--channel-sparsity", "0.25"],
    ["--criterion", "explainer", "--edge-criterion", "explainer", "--edge-sparsity", "0.3"],
])
def test_prune_with_explainability_criteria(criteria, tmp_path, capsys):
    dense, pruned = tmp_path / "d.safetensors", tmp_path / "p.safetensors"
    assert main(["train", "--epochs", "20", "--hidden", "16", "--no-progress",
                 "--out", str(dense)]) == 0
    assert main(["prune", str(dense), "--weight-sparsity", "0.8", *criteria, "--epochs", "5",
                 "--no-progress", "--out", str(pruned)]) == 0
    info = load_checkpoint(pruned).info
    assert info["criterion"] == criteria[1]
    assert info["weight_sparsity"] == pytest.approx(0.8, abs=1e-3)
    if "--edge-sparsity" in criteria:
        assert info["edge_sparsity"] == pytest.approx(0.3, abs=0.01)
    else:
        assert load_checkpoint(pruned).model.hidden_channels == 12


def test_prune_auto_saves_the_chosen_checkpoint_and_the_front(tmp_path, capsys):
    import json

    pytest.importorskip("optuna", reason="prune auto needs the 'auto' extra (optuna)")
    dense, chosen = tmp_path / "d.safetensors", tmp_path / "auto.safetensors"
    assert main(["train", "--epochs", "30", "--no-progress", "--out", str(dense)]) == 0
    assert load_checkpoint(dense).info["train_seconds"] > 0
    capsys.readouterr()
    assert main(["prune", "auto", str(dense), "--max-drop", "20", "--weights", "0.3", "0.6",
                 "--edges", "0", "0.2", "--trials", "4",
                 "--budget-minutes", "5", "--epochs", "10", "--out", str(chosen)]) == 0
    out = capsys.readouterr().out
    assert "trial 4/4:" in out and "| trial | weights | edges |" in out
    report = json.loads(chosen.with_suffix(".json").read_text())
    front = json.loads((tmp_path / "auto-front.json").read_text())
    assert len(front["trials"]) == 4 and report["chosen"] == front["chosen"]
    trial = front["trials"][front["chosen"]]
    info = load_checkpoint(chosen).info
    assert trial["feasible"] and trial["drop"] <= 20
    assert info["weight_sparsity"] == pytest.approx(trial["weights"], abs=1e-3)
    assert info["test_score"] == pytest.approx(front["test"])
    assert (tmp_path / "auto-front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("arguments, message", [
    (["--max-drop", "-1"], "--max-drop must be >= 0"),
    (["--trials", "0"], "--trials must be >= 1"),
    (["--weights", "0.9", "0.5"], "weights range"),
    (["--budget-minutes", "0"], "--budget-minutes must be > 0"),
    (["--patterns", "2:4"], "N:M patterns"),
])
def test_prune_auto_checks_its_arguments_before_loading(arguments, message, tmp_path, capsys):
    assert main(["prune", "auto", str(tmp_path / "absent.safetensors"), *arguments,
                 "--out", str(tmp_path / "a.safetensors")]) == 1
    assert message in capsys.readouterr().err


def test_prune_report_and_inspect_plot_draw_what_was_pruned(tmp_path, capsys):
    dense, pruned, artifact = (tmp_path / n for n in ("d.safetensors", "p.safetensors", "p.sgnn"))
    assert main(["train", "--epochs", "20", "--no-progress", "--out", str(dense)]) == 0
    assert main(["prune", str(dense), "--weight-sparsity", "0.9", "--edge-sparsity", "0.3",
                 "--channel-sparsity", "0.25", "--epochs", "5", "--no-progress",
                 "--out", str(pruned), "--report", str(tmp_path / "report")]) == 0
    names = {p.name for p in (tmp_path / "report").iterdir()}
    assert names == {"layers.png", "masks.png", "channels.png", "degrees.png", "graph.png",
                     "index.html", "report.json"}
    page = (tmp_path / "report" / "index.html").read_text()
    for quantity in ("val accuracy", "test accuracy", "weights stored", "edges",
                     "artifact size", "runtime latency", "hidden width"):
        assert quantity in page
    assert pruned.with_suffix(".json").is_file()
    assert main(["export", str(pruned), "--out", str(artifact)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(artifact), "--plot", str(tmp_path / "plots")]) == 0
    assert "index.html" in capsys.readouterr().out
    assert (tmp_path / "plots" / "masks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_prune_sweep_writes_table_json_and_plot(tmp_path, capsys):
    import json

    prefix = tmp_path / "sweep"
    assert main(["prune", "sweep", "--weights", "0.5", "0.9", "--edges", "0", "0.3",
                 "--patterns", "unstructured", "1x8", "2:4",
                 "--seeds", "1", "--no-progress", "--out", str(prefix)]) == 0
    out = capsys.readouterr().out
    assert "| pattern | weights \\ edges | 0 % | 30 % |" in out and "| 1x8 | 90 % |" in out
    result = json.loads(prefix.with_suffix(".json").read_text())
    # two sparsities for each of two patterns, one for 2:4; two edge sparsities each
    assert len(result["cells"]) == 10 and len(result["dense"]) == 1
    assert prefix.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 2:4 | 50 % |" in prefix.with_suffix(".md").read_text()


def test_prune_with_a_pattern_carries_it_to_the_artifact(tmp_path, capsys):
    dense, pruned, artifact = (tmp_path / n for n in ("d.safetensors", "p.safetensors", "p.sgnn"))
    assert main(["train", "--epochs", "20", "--no-progress", "--out", str(dense)]) == 0
    assert main(["prune", str(dense), "--weight-sparsity", "0.9", "--pattern", "1X8",
                 "--epochs", "5", "--no-progress", "--out", str(pruned)]) == 0
    checkpoint = load_checkpoint(pruned)
    assert checkpoint.info["pattern"] == "1x8"
    assert main(["export", str(pruned), "--out", str(artifact)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(artifact)]) == 0
    out = capsys.readouterr().out
    assert "bsr 1x8" in out and " -> " in out  # the storage, the pattern and the kernel


def test_prune_refuses_a_sparsity_that_contradicts_an_n_of_m_pattern(tmp_path, capsys):
    assert main(["prune", str(tmp_path / "absent.safetensors"), "--pattern", "2:4",
                 "--weight-sparsity", "0.9", "--out", str(tmp_path / "p.safetensors")]) == 1
    assert "fixes the weight sparsity at 0.5000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prune", "x.safetensors", "--pattern", "3x", "--out", "y.safetensors"])
    assert "unknown pattern '3x'" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    ([], "nothing to prune"),
    (["--weight-sparsity", "1.0"], "--weight-sparsity must lie in [0, 1)"),
    (["--weight-sparsity", "1.5"], "--weight-sparsity must lie in [0, 1)"),
    (["--edge-sparsity", "-0.1"], "--edge-sparsity must lie in [0, 1)"),
    (["--weight-sparsity", "0.5", "--min-layer-density", "2"], "--min-layer-density"),
])
def test_prune_checks_its_arguments_before_loading_anything(arguments, message, tmp_path,
                                                            capsys):
    """Each is refused at once, before the (absent) checkpoint is opened: no sparsity at all
    once fine-tuned at 0 % for minutes, and 1.0 removed every weight."""
    assert main(["prune", str(tmp_path / "absent.safetensors"), *arguments, "--out",
                 str(tmp_path / "p.safetensors")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p.safetensors").exists()


def test_tune_measures_writes_and_shows(tmp_path, capsys):
    from sparsegnn.runtime.tuning import DEFAULT, load_tuning

    path = tmp_path / "tuning.json"
    assert main(["tune", "--rows", "512", "--out", str(path)]) == 0
    assert "crossovers for a 256 x 256 layer" in capsys.readouterr().out
    measured = load_tuning(path)
    assert measured.machine["rows"] == 512 and measured != DEFAULT
    assert main(["tune", "--show", "--out", str(path)]) == 0
    assert str(path) in capsys.readouterr().out
