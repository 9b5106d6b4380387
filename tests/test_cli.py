"""The sparsegnn command end to end: help everywhere, datasets, train writes a usable checkpoint."""

import json
import subprocess
import sys

import pytest
import torch

from sparsegnn.cli import build_parser, main
from sparsegnn.nn import evaluate, load_checkpoint


def _commands():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return sorted(subparsers.choices)


def test_the_commands_are_exactly_the_implemented_ones():
    assert _commands() == ["datasets", "train"]


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
    assert "gcn on synthetic: test accuracy" in out
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


def test_checkpoint_runs_on_edge_index(tmp_path):
    checkpoint = tmp_path / "m.safetensors"
    assert main(["train", "--model", "sage", "--epochs", "3", "--no-progress",
                 "--out", str(checkpoint)]) == 0
    model = load_checkpoint(checkpoint).model
    x = torch.rand(5, model.in_channels)
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
    assert model(x, edge_index).shape == (5, model.output_channels)
