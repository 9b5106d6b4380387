"""prune auto (prune.auto): the search, its costs, its front, and that it never reads test."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch

from sparsegnn.artifact import load_artifact
from sparsegnn.nn import TrainConfig, evaluate, fit
from sparsegnn.nn.recipes import make_model
from sparsegnn.nn.train import seed_everything
from sparsegnn.prune import auto as auto_module
from sparsegnn.prune import schedules
from sparsegnn.prune.auto import (
    SearchSpace,
    auto_markdown,
    auto_prune,
    model_cost,
    pareto_front,
    write_auto,
)

pytest.importorskip("optuna", reason="prune auto needs the 'auto' extra (optuna)")


@pytest.fixture(scope="module")
def trained(synthetic):
    seed_everything(0)
    model = make_model("gcn", synthetic)
    fit(model, synthetic, 0, TrainConfig(epochs=60, progress=False))
    return model.eval()


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        points = [tuple(map(float, p)) for p in rng.integers(0, 6, size=(12, 2))]
        expected = [i for i, (d, c) in enumerate(points)
                    if not any((d2 <= d and c2 <= c and (d2, c2) != (d, c))
                               or ((d2, c2) == (d, c) and j < i)
                               for j, (d2, c2) in enumerate(points) if j != i)]
        front = pareto_front(points)
        assert sorted(front) == expected
        costs = [points[i][1] for i in front]
        assert costs == sorted(costs)
        # along the front, a higher cost always buys a strictly lower drop
        for a, b in itertools.pairwise(front):
            assert points[b][0] < points[a][0]


def test_costs_follow_their_definitions(trained, synthetic, tmp_path):
    """size is the exported artifact's bytes; flops of a dense 2-layer GCN are the weights'
    multiply-adds on every node plus the edges times each layer's narrower width."""
    size = model_cost("size", trained, synthetic)
    from sparsegnn.export import export_artifact
    from sparsegnn.nn.models import plain_copy

    path = export_artifact(plain_copy(trained).eval(), tmp_path / "m.sgnn", graph=synthetic.graph)
    assert size == path.stat().st_size
    load_artifact(path)
    n, edges = synthetic.num_nodes, synthetic.graph.num_edges
    widths = [(conv.lin.in_features, conv.lin.out_features) for conv in trained.convs]
    expected = sum(n * i * o + edges * min(i, o) for i, o in widths)
    assert model_cost("flops", trained, synthetic) == expected
    assert 0 < model_cost("latency", trained, synthetic) < 10
    with pytest.raises(ValueError, match="objective"):
        model_cost("energy", trained, synthetic)


def test_search_stays_within_the_drop_and_never_sees_test(trained, synthetic, monkeypatch):
    seen = []  # the test part of every split that training or scoring was given
    for module, name in ((schedules, "fit"), (schedules, "evaluate"), (auto_module, "evaluate")):
        original = getattr(module, name)

        def spy(model, dataset, split=0, *args, _original=original, **kwargs):
            seen.append(dataset.splits[split].test.size)
            return _original(model, dataset, split, *args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    state = {k: v.clone() for k, v in trained.state_dict().items()}
    result = auto_prune(trained, synthetic, max_drop=2.0, objective="size", trials=8,
                        space=SearchSpace(weights=(0.3, 0.95), edges=(0.0, 0.5)),
                        finetune=TrainConfig(epochs=20, patience=None, progress=False))
    # the dense model's and the chosen model's test scores are the only ones read
    assert seen.count(0) == len(seen) - 2
    assert all(torch.equal(v, state[k]) for k, v in trained.state_dict().items())
    assert len(result.trials) == 8
    feasible = [t for t in result.trials if t.feasible]
    assert result.chosen is not None and feasible
    assert result.chosen.cost == min(t.cost for t in feasible)
    assert all(t.drop <= 2.0 + 1e-9 for t in feasible)
    assert all(0.3 - 1e-3 <= t.weights <= 0.95 + 1e-3 and 0 <= t.edges <= 0.5
               for t in result.trials)
    # the kept model is the chosen trial's: its sparsity, its graph, its scores
    assert result.masks.sparsity == pytest.approx(result.chosen.weights, abs=1e-3)
    pruned = synthetic if result.graph is None else replace(synthetic, graph=result.graph)
    scores = evaluate(result.model, pruned)
    assert scores["val"] == pytest.approx(result.chosen.val)
    assert scores["test"] == pytest.approx(result.test)
    assert set(result.front) <= {t.number for t in result.trials}


def test_block_patterns_are_searched_and_carried(trained, synthetic):
    """With 1x4 the only pattern, every trial and the chosen masks keep whole blocks of four
    consecutive outputs of one input (rows of a torch weight)."""
    result = auto_prune(trained, synthetic, max_drop=100.0, trials=3,
                        space=SearchSpace(weights=(0.5, 0.9), edges=None, patterns=("1x4",)),
                        finetune=TrainConfig(epochs=4, patience=None, progress=False))
    assert {t.pattern for t in result.trials} == {"1x4"} and result.masks.pattern == "1x4"
    for mask in result.masks.weights.values():
        whole = mask[: mask.shape[0] // 4 * 4].reshape(-1, 4, mask.shape[1])
        assert np.all(whole.all(axis=1) == whole.any(axis=1))
    assert result.masks.sparsity > 0.4


def test_budget_stops_the_search(trained, synthetic):
    result = auto_prune(trained, synthetic, trials=50, budget_seconds=0.5,
                        finetune=TrainConfig(epochs=10, patience=None, progress=False))
    assert 1 <= len(result.trials) < 50


def test_no_feasible_trial_keeps_nothing(trained, synthetic, tmp_path, monkeypatch):
    monkeypatch.setattr(auto_module, "_drop", lambda dense, score, metric: float("inf"))
    result = auto_prune(trained, synthetic, trials=2,
                        finetune=TrainConfig(epochs=1, patience=None, progress=False))
    assert result.chosen is None and result.model is None and result.test is None
    assert not any(t.feasible for t in result.trials)
    assert "No trial stayed within" in auto_markdown(result)
    paths = write_auto(result, tmp_path / "front")
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("space, message", [
    (dict(weights=(0.9, 0.5)), "weights range"),
    (dict(edges=(0.0, 1.0)), "edges range"),
    (dict(patterns=("2:4",)), "N:M patterns fix the sparsity"),
    (dict(patterns=()), "at least one pattern"),
])
def test_bad_search_spaces_are_refused(space, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace(**space)


def test_bad_arguments_are_refused_before_searching(trained, synthetic):
    for kwargs, message in ((dict(max_drop=-1), "max_drop"), (dict(trials=0), "trials"),
                            (dict(objective="energy"), "objective"),
                            (dict(budget_seconds=0), "budget")):
        with pytest.raises(ValueError, match=message):
            auto_prune(trained, synthetic, **kwargs)
