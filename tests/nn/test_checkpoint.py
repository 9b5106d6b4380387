"""Checkpoints round-trip exactly, never unpickle, and reject anything that is not one."""

import json
import pickle

import pytest
import torch

from sparsegnn.graph import Graph
from sparsegnn.nn import GAT, GIN, CheckpointError, TorchGraph, load_checkpoint, save_checkpoint


def _graph(rng):
    return TorchGraph.from_graph(Graph.from_edge_index(rng.integers(0, 20, (2, 60)), 20))


@pytest.mark.parametrize("make", [
    lambda: GIN(6, 8, 3, None, norm="batch_norm", pool="sum", head=[8], head_out_channels=2,
                train_eps=True),
    lambda: GAT(6, 8, 2, 3, heads=2, last_heads=1, residual=True, act="elu"),
])
def test_round_trip_reproduces_outputs(make, rng, tmp_path):
    torch.manual_seed(0)
    model = make()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-1, 1)
    model.eval()
    x, graph = torch.randn(20, 6), _graph(rng)
    batch = torch.zeros(20, dtype=torch.long)
    path = save_checkpoint(tmp_path / "model.safetensors", model, info={"note": "ok"},
                           extra={"mask.convs.0.lin.weight": torch.ones(3, 3, dtype=torch.bool)})
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    assert loaded.info == {"note": "ok"}
    assert loaded.extra["mask.convs.0.lin.weight"].dtype == torch.bool
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x, graph, batch), model(x, graph, batch),
                                   atol=0, rtol=0)


def test_a_pickle_is_rejected_without_being_run(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle was executed')",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"state": Exploit()}))
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        load_checkpoint(path)


def test_truncated_and_foreign_files_are_rejected(rng, tmp_path):
    from safetensors.torch import save_file

    model = GIN(6, 8, 2, 3)
    path = save_checkpoint(tmp_path / "model.safetensors", model)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CheckpointError, match="truncated.safetensors"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="header format is None"):
        load_checkpoint(foreign)
    future = tmp_path / "future.safetensors"
    save_file({"w": torch.zeros(2)}, str(future), metadata={"format": "sparsegnn.checkpoint",
                                                            "version": "99", "config": "{}"})
    with pytest.raises(CheckpointError, match="version '99' is not supported"):
        load_checkpoint(future)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_weights_must_fit_the_config(tmp_path):
    from safetensors.torch import save_file

    model = GIN(6, 8, 2, 3)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    config = dict(model.config, hidden_channels=16)
    metadata = {"format": "sparsegnn.checkpoint", "version": "1", "config": json.dumps(config)}
    path = tmp_path / "mismatch.safetensors"
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(CheckpointError, match="has shape"):
        load_checkpoint(path)
    metadata["config"] = json.dumps(dict(model.config, kind="transformer"))
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(CheckpointError, match="unknown model kind 'transformer'"):
        load_checkpoint(path)


def test_failed_save_keeps_the_earlier_file(tmp_path, monkeypatch):
    import safetensors.torch

    model = GIN(6, 8, 2, 3)
    path = save_checkpoint(tmp_path / "model.safetensors", model, info={"generation": 1})
    before = path.read_bytes()

    def explode(*args, **kwargs):
        with open(args[1], "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, info={"generation": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_a_pruned_checkpoint_carries_its_masks_and_graph(tmp_path):
    """The typed API for a pruned checkpoint's extra tensors: what ``pruning_extra`` stores,
    ``Checkpoint.masks`` and ``Checkpoint.graph`` read back."""
    import numpy as np

    from sparsegnn.graph import Graph
    from sparsegnn.nn import GCN, load_checkpoint, save_checkpoint
    from sparsegnn.nn.checkpoint import pruning_extra

    model = GCN(5, 4, 2, 3)
    masks = {"convs.0.lin.weight": np.random.default_rng(0).random((4, 5)) < 0.5}
    graph = Graph.from_edge_index(np.array([[0, 1, 2], [1, 2, 0]]), 3)
    path = save_checkpoint(tmp_path / "p.safetensors", model, extra=pruning_extra(masks, graph))
    loaded = load_checkpoint(path)
    assert set(loaded.masks) == set(masks)
    np.testing.assert_array_equal(loaded.masks["convs.0.lin.weight"], masks["convs.0.lin.weight"])
    np.testing.assert_array_equal(loaded.graph.edge_index, graph.edge_index)
    unpruned = load_checkpoint(save_checkpoint(tmp_path / "d.safetensors", model))
    assert unpruned.masks == {} and unpruned.graph is None
