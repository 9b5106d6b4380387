"""Hostile files and inputs fail with the boundary's own error type, before native code or a
large allocation (issue 16's audit: each case below once crashed, escaped as another exception
or allocated gigabytes)."""

import json

import numpy as np
import pytest
import torch

from sparsegnn.artifact import ArtifactError, load_artifact
from sparsegnn.export import export_artifact
from sparsegnn.graph import Graph
from sparsegnn.ir import Model
from sparsegnn.nn import GCN, GIN
from sparsegnn.runtime import InputError, Session

from .reference import run_in_child, save_unchecked
from .test_artifact import _parts, _write


@pytest.fixture
def gcn_artifact(tmp_path):
    torch.manual_seed(0)
    return export_artifact(GCN(6, 8, 2, 3).eval(), tmp_path / "gcn.sgnn")


def _edit_manifest(path, change):
    table, manifest, data = _parts(path)
    change(table, manifest)
    _write(path, table, manifest, data)
    return path


def test_deeply_nested_metadata_is_an_artifact_error(gcn_artifact):
    table, manifest, data = _parts(gcn_artifact)
    manifest["metadata"]["deep"] = "DEEP"
    deep = '{"a":' * 5000 + "{}" + "}" * 5000  # json.dumps itself cannot nest this deep
    text = json.dumps(manifest).replace('"DEEP"', deep)
    header = json.dumps(dict(table, __metadata__={"sparsegnn": text})).encode()
    gcn_artifact.write_bytes(len(header).to_bytes(8, "little") + header + data)
    with pytest.raises(ArtifactError, match="nested too deeply"):
        load_artifact(gcn_artifact)


def _first_tensor(table):
    return next(name for name in table if name != "__metadata__")


EDITS = {
    "a bool in a tensor shape": lambda t, m: t[_first_tensor(t)].update(shape=[True, 16, 7]),
    "a dimension of 2**64": lambda t, m: t[_first_tensor(t)].update(shape=[2**64]),
    "an op given as a list": lambda t, m: m["nodes"][0].update(op=["gcn_conv"]),
    "a version of 1.9": lambda t, m: m["nodes"][0].update(version=1.9),
    "an attribute as text": lambda t, m: m["nodes"][0]["attrs"].update(improved="yes"),
    "a node that is a list": lambda t, m: m["nodes"].__setitem__(0, ["gcn_conv"]),
    "an unknown manifest field": lambda t, m: m.update(extras={}),
    "a spec with an unhashable name": lambda t, m: m["inputs"][0].update(name=["x"]),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_manifest_edits_raise_artifact_error_only(edit, gcn_artifact):
    _edit_manifest(gcn_artifact, EDITS[edit])
    with pytest.raises(ArtifactError):
        load_artifact(gcn_artifact)


def test_a_stored_graph_needs_its_indices(tmp_path):
    torch.manual_seed(0)
    graph = Graph.from_edge_index(np.array([[0, 1], [1, 2]]), 3)
    path = export_artifact(GCN(6, 8, 2, 3).eval(), tmp_path / "gcn.sgnn", graph=graph)
    model = load_artifact(path)
    tensors = {k: v for k, v in model.tensors.items() if k != "stored_graph.indices"}
    crafted = Model(model.nodes, tensors, model.inputs, model.outputs, model.metadata)
    with pytest.raises(ArtifactError, match="stored graph needs"):
        load_artifact(save_unchecked(crafted, tmp_path / "crafted.sgnn"))


def test_a_huge_sparse_head_is_refused_before_it_is_expanded(tmp_path):
    """A GIN head declared as a 64 x 2**23 CSR matrix with one stored value returned a
    (3, 8,388,608) output at 2.3 GB of memory."""
    torch.manual_seed(0)
    model = GIN(5, 64, 2, pool="sum", head=[64], head_out_channels=4).eval()
    ir = load_artifact(export_artifact(model, tmp_path / "gin.sgnn"))
    last = ir.nodes[-1]
    name = last.attrs["weight"]["tensor"]
    tensors = {k: v for k, v in ir.tensors.items() if not k.startswith(name)}
    tensors.pop(last.attrs.get("bias") or "", None)
    tensors.update({f"{name}.indptr": np.r_[0, np.ones(64, np.int32)].astype(np.int32),
                    f"{name}.indices": np.zeros(1, np.int32),
                    f"{name}.values": np.ones(1, np.float32)})
    last.attrs = {"weight": {"format": "csr", "tensor": name, "shape": [64, 1 << 23]}}
    ir.outputs[0]["shape"] = [None, 1 << 23]
    crafted = Model(ir.nodes, tensors, ir.inputs, ir.outputs, ir.metadata)
    with pytest.raises(ArtifactError, match="implausibly sparse"):
        load_artifact(save_unchecked(crafted, tmp_path / "crafted.sgnn"))


def test_a_huge_graph_id_is_an_input_error(tmp_path):
    """A 43-node batch whose last graph id is 10**7 returned (10,000,001, 2) at 5 GB."""
    torch.manual_seed(0)
    session = Session(export_artifact(GIN(5, 8, 2, 2, pool="sum").eval(), tmp_path / "g.sgnn"))
    x = np.ones((43, 5), np.float32)
    graph = Graph.from_edge_index(np.array([[0, 1], [1, 2]]), 43)
    batch = np.zeros(43, np.int64)
    batch[-1] = 10**7
    with pytest.raises(InputError, match="graph id 10000000"):
        session.run(x, graph, batch)


def test_graphs_and_features_changed_after_construction_are_rechecked(gcn_artifact):
    """``Graph`` and ``CSRMatrix`` keep the caller's arrays: changing them after they were
    checked gave native code an index of 2**40 (signal 11). Run in a child process, so that a
    regression fails this test instead of killing the test run."""
    code = f"""
import numpy as np
from sparsegnn.graph import Graph
from sparsegnn.runtime import InputError, Session
from sparsegnn.sparse import CSRMatrix

session = Session({str(gcn_artifact)!r})
x = np.ones((5, 6), np.float32)
graph = Graph(np.array([0, 1, 2, 3, 4, 5]), np.array([1, 2, 3, 4, 0]), 5)
features = CSRMatrix.from_dense(x)
good = Graph(np.array([0, 1, 2, 3, 4, 5]), np.array([1, 2, 3, 4, 0]), 5)
weighted = Graph(good.indptr, good.indices, 5, np.ones(5, np.float32))
nan_features = CSRMatrix.from_dense(x)
graph.indices[0] = 2**40
features.indices[0] = 2**40
weighted.edge_weight[0] = np.nan
nan_features.data[0] = np.inf
for args in ((x, graph), (features, good), (x, weighted), (nan_features, good)):
    try:
        session.run(*args)
    except InputError as exc:
        print("InputError:", exc)
"""
    stdout = run_in_child(code)
    assert stdout.count("InputError:") == 4, stdout
    assert stdout.count("finite") == 2, stdout


def test_attribute_values_must_be_of_their_type(gcn_artifact):
    _edit_manifest(gcn_artifact, lambda t, m: m["nodes"][0]["attrs"].update(
        normalize=json.loads("NaN")))
    with pytest.raises(ArtifactError, match="normalize must be true or false"):
        load_artifact(gcn_artifact)


def _checkpoint_with_config(tmp_path, change):
    """A real checkpoint whose config JSON was edited (what a crafted file holds)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from sparsegnn.nn import GAT, save_checkpoint

    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "gat.safetensors", GAT(6, 8, 2, 3, heads=2))
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    config = json.loads(metadata["config"])
    text = change(config)
    metadata["config"] = text if isinstance(text, str) else json.dumps(config)
    save_file(tensors, str(path), metadata=metadata)
    return path


CONFIG_EDITS = {
    "hidden_channels 400,000": lambda c: c.update(hidden_channels=400_000),
    "num_layers 10**6": lambda c: c.update(num_layers=10**6),
    "a negative width": lambda c: c.update(hidden_channels=-8),
    "zero heads": lambda c: c.update(heads=0),
    "a list as kind": lambda c: c.update(kind=["gat"]),
    "deep JSON": lambda c: '{"a":' * 5000 + "{}" + "}" * 5000,
    "a bool as a width": lambda c: c.update(in_channels=True),
}


@pytest.mark.parametrize("edit", CONFIG_EDITS, ids=list(CONFIG_EDITS))
def test_hostile_checkpoint_configs_raise_checkpoint_error_only(edit, tmp_path):
    """Each once escaped as another exception, or allocated gigabytes before failing."""
    import resource

    from sparsegnn.nn import CheckpointError, load_checkpoint

    path = _checkpoint_with_config(tmp_path, CONFIG_EDITS[edit])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    assert grown < 200 * 1024
