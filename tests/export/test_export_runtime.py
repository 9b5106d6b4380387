"""torch model -> IR -> artifact -> runtime: outputs agree with torch (1e-4) and with the
numpy reference interpreter of the IR, dense and pruned, on Cora and MUTAG."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.artifact import load_artifact
from sparsegnn.export import export_artifact, to_ir
from sparsegnn.nn import build_model
from sparsegnn.nn.recipes import model_config
from sparsegnn.ops.reference import run_reference
from sparsegnn.runtime import Session
from sparsegnn.runtime.describe import describe_artifact
from sparsegnn.sparse import CSRMatrix

from ..reference import randomise_batch_norms

KINDS = ["gcn", "sage", "gin", "gat", "sgc"]
VARIANTS = {
    "dense": {},
    "batch-norm": {"norm": "batch_norm", "num_layers": 3},
    "act-first": {"norm": "batch_norm", "act_first": True, "num_layers": 3},
    "layer-norm": {"norm": "layer_norm", "num_layers": 3, "act": "gelu"},
    "residual": {"residual_blocks": True, "norm": "layer_norm", "num_layers": 2, "act": "gelu"},
    "residual-batch-norm": {"residual_blocks": True, "norm": "batch_norm", "num_layers": 2},
}


def _prune_randomly(model: torch.nn.Module, sparsity: float, seed: int = 0) -> None:
    """Zero ``sparsity`` of every Linear weight at random (a stand-in for a pruned model)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                keep = torch.rand(module.weight.shape, generator=generator) >= sparsity
                module.weight.mul_(keep)


def _model(kind: str, dataset, variant: str, sparsity: float):
    torch.manual_seed(0)
    config = model_config(kind, dataset, **VARIANTS[variant])
    if kind == "sage" and variant == "act-first":
        config["normalize"] = True  # l2-normalised SAGE: its norm cannot be folded
    model = build_model(config)
    randomise_batch_norms(model)
    if sparsity:
        _prune_randomly(model, sparsity)
    return model.eval()


def _torch_output(model, dataset):
    x = torch.from_numpy(dataset.dense_x())
    batch = torch.from_numpy(dataset.batch) if dataset.batch is not None else None
    with torch.no_grad():
        return model(x, dataset.graph, batch).numpy()


@pytest.mark.parametrize("sparsity", [0.0, 0.9])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dataset_name", ["cora", "mutag"])
def test_runtime_and_reference_match_torch(dataset_name, kind, variant, sparsity, datasets_root,
                                           tmp_path):
    dataset = data.load(dataset_name, datasets_root)
    model = _model(kind, dataset, variant, sparsity)
    expected = _torch_output(model, dataset)
    path = export_artifact(model, tmp_path / "model.sgnn")
    ir = load_artifact(path)
    if sparsity:
        formats = {n.attrs[k]["format"] for n in ir.nodes for k in ("weight", "weight_neighbor")
                   if isinstance(n.attrs.get(k), dict)}
        assert formats & {"csr", "csr_t"}, "a 90%-sparse model should store CSR weights"
    session = Session(path)
    actual = session.run(dataset.x, dataset.graph, dataset.batch)
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)
    reference = run_reference(ir, dataset.dense_x(), dataset.graph, dataset.batch)
    np.testing.assert_allclose(reference, expected, atol=1e-4, rtol=1e-4)


def test_graph_inputs_in_every_form_agree(datasets_root, tmp_path):
    cora = data.load("cora", datasets_root)
    model = _model("gcn", cora, "dense", 0.0)
    path = export_artifact(model, tmp_path / "gcn.sgnn", graph=cora.graph)
    session = Session(path)
    expected = _torch_output(model, cora)
    graph = cora.graph
    forms = [graph, graph.edge_index, graph.edge_index.astype(np.int32),
             (graph.indptr, graph.indices), None]  # None: the graph stored in the model
    for form in forms:
        np.testing.assert_allclose(session.run(cora.x, form), expected, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(session.run(cora.dense_x(), graph), expected, atol=1e-4, rtol=1e-4)
    import scipy.sparse as sp

    scipy_x = sp.csr_matrix((cora.x.data, cora.x.indices, cora.x.indptr), shape=cora.x.shape)
    np.testing.assert_allclose(session.run(scipy_x, graph), expected, atol=1e-4, rtol=1e-4)


def test_artifact_is_small_at_95_percent_sparsity(datasets_root, tmp_path):
    cora = data.load("cora", datasets_root)
    model = _model("gcn", cora, "dense", 0.95)
    dense_bytes = sum(p.numel() * 4 for p in model.parameters())
    path = export_artifact(model, tmp_path / "pruned.sgnn")
    size = path.stat().st_size
    # about 10 %: the weights' CSR plus a fixed header of ~1.7 kB (manifest, tensor table)
    assert size <= 0.105 * dense_bytes, (size, dense_bytes)


def test_ir_json_round_trip_keeps_every_node(tmp_path):
    dataset = data.load("synthetic-graphs")
    model = _model("gin", dataset, "batch-norm", 0.5)
    ir = to_ir(model, metadata={"dataset": "synthetic-graphs"})
    loaded = load_artifact(export_artifact(model, tmp_path / "gin.sgnn",
                                           metadata={"dataset": "synthetic-graphs"}))
    assert [n.to_json() for n in loaded.nodes] == [n.to_json() for n in ir.nodes]
    assert loaded.metadata["dataset"] == "synthetic-graphs"
    for name, array in ir.tensors.items():
        np.testing.assert_array_equal(loaded.tensors[name], array)
        assert not loaded.tensors[name].flags.writeable


@pytest.mark.parametrize("kind", KINDS)
def test_row_normalised_dense_and_sparse_features_match_torch(kind, datasets_root, tmp_path):
    """Cora's models normalise their input rows (``input_norm``); the runtime scales the
    products with the weights instead, for dense and CSR features alike."""
    cora = data.load("cora", datasets_root)
    model = _model(kind, cora, "dense", 0.0)
    assert model.config.get("input_norm") == "row_sum"
    expected = _torch_output(model, cora)
    session = Session(export_artifact(model, tmp_path / "model.sgnn"))
    dense_x = cora.dense_x()
    dense_x[:3] = 0  # rows summing to zero stay zero
    expected_zero_rows = _torch_output(model, replace(cora, x=CSRMatrix.from_dense(dense_x)))
    np.testing.assert_allclose(session.run(cora.dense_x(), cora.graph), expected, atol=1e-4,
                               rtol=1e-4)
    np.testing.assert_allclose(session.run(dense_x, cora.graph), expected_zero_rows, atol=1e-4,
                               rtol=1e-4)
    np.testing.assert_allclose(session.run(CSRMatrix.from_dense(dense_x), cora.graph),
                               expected_zero_rows, atol=1e-4, rtol=1e-4)


def test_sparse_and_dense_features_give_the_same_predictions(tmp_path):
    dataset = data.load("synthetic")
    model = _model("gat", dataset, "dense", 0.0)
    session = Session(export_artifact(model, tmp_path / "gat.sgnn"))
    dense = session.run(dataset.dense_x(), dataset.graph)
    sparse = session.run(CSRMatrix.from_dense(dataset.dense_x()), dataset.graph)
    np.testing.assert_allclose(sparse, dense, atol=1e-5)


def _structured(kind: str, dataset):
    """Half of the hidden channels (GAT: heads) removed and the model physically sliced."""
    from sparsegnn.prune.structured import channel_masks, slice_channels

    model = _model(kind, dataset, "batch-norm" if kind != "gat" else "dense", 0.5)
    keep, masks = channel_masks(model, 0.5)
    masks.apply(model)
    sliced = slice_channels(model, keep)
    assert sliced.hidden_channels == model.hidden_channels // 2
    return sliced


def _edge_pruned_graph(dataset):
    from sparsegnn.prune.edges import degree_scores, prune_edges

    graph = prune_edges(dataset.graph, degree_scores(dataset.graph), 0.4)
    assert graph.num_edges < 0.65 * dataset.graph.num_edges
    return graph


@pytest.mark.parametrize("kind, dataset_name, pruning", [
    ("gcn", "cora", "structured"), ("sage", "cora", "structured"), ("gat", "cora", "structured"),
    ("gin", "cora", "structured"), ("gcn", "mutag", "structured"), ("sage", "mutag", "structured"),
    ("gin", "mutag", "structured"),
    ("gcn", "cora", "edges"), ("sage", "cora", "edges"), ("gin", "cora", "edges"),
    ("gat", "cora", "edges"),
])
def test_structured_and_edge_pruned_models_match_torch(kind, dataset_name, pruning, datasets_root,
                                                       tmp_path):
    """The runtime, the IR reference and ONNX Runtime compute what torch computes, for models
    sliced narrower and for transductive models that carry their edge-pruned graph."""
    import onnxruntime as ort

    from sparsegnn.export.onnx_writer import save_onnx

    dataset = data.load(dataset_name, datasets_root)
    if pruning == "structured":
        model, graph, stored = _structured(kind, dataset), dataset.graph, None
    else:
        model, graph = _model(kind, dataset, "dense", 0.9), _edge_pruned_graph(dataset)
        stored = graph
    x = torch.from_numpy(dataset.dense_x())
    batch = torch.from_numpy(dataset.batch) if dataset.batch is not None else None
    with torch.no_grad():
        expected = model(x, graph, batch).numpy()
    ir = to_ir(model, graph=stored)
    session = Session(export_artifact(model, tmp_path / "model.sgnn", graph=stored))
    actual = session.run(dataset.x, None if stored is not None else graph, dataset.batch)
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(run_reference(ir, dataset.dense_x(), graph, dataset.batch), expected,
                               atol=1e-4, rtol=1e-4)
    onnx_session = ort.InferenceSession(str(save_onnx(ir, tmp_path / "model.onnx")),
                                        providers=["CPUExecutionProvider"])
    feed = {"x": dataset.dense_x(), "edge_index": graph.edge_index}
    if dataset.batch is not None:
        feed["batch"] = dataset.batch
    np.testing.assert_allclose(onnx_session.run(None, feed)[0], expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kernel", ["blas", "panels", "vectors"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_weight_kernel_matches_torch(kind, kernel, datasets_root, tmp_path, monkeypatch):
    """The planner prices BLAS, node panels and output vectors per matrix and runs the
    cheapest; force each choice (for dense features, and for CSR features, where "blas" means
    the features' rows gathering the weight's) and check it against torch, at graph level on
    MUTAG and at node level on Cora's CSR features, where input_norm is fused."""
    from sparsegnn.runtime.planner import MatrixPlan

    csr_kernel = "spmm" if kernel == "blas" else kernel
    monkeypatch.setattr(MatrixPlan, "kind", lambda self, rows: kernel)
    monkeypatch.setattr(MatrixPlan, "csr_kind", lambda self, rows, entries, split=None: csr_kernel)
    for name in ("mutag", "cora"):
        dataset = data.load(name, datasets_root)
        model = _model(kind, dataset, "batch-norm", 0.9)
        expected = _torch_output(model, dataset)
        session = Session(export_artifact(model, tmp_path / f"{name}.sgnn"))
        session.tuning = session.tuning.replace(program_max_nodes=0)  # the per-op path
        for x in (dataset.x, dataset.dense_x()):
            actual = session.run(x, dataset.graph, dataset.batch)
            np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)


def test_mlp_layers_pass_panel_major_activations(datasets_root, tmp_path, monkeypatch):
    """Two linear layers in a row that both run as node panels (GIN's MLPs) pass their
    activations panel-major, without transposes in between; the outputs stay torch's, on
    the per-op path with one thread and two."""
    from sparsegnn.runtime.planner import MatrixPlan

    layouts = []
    original = MatrixPlan.panels_input

    def spy(self, x, epilogue, threads, panel_major_out=False):
        layouts.append((type(x).__name__, panel_major_out))
        return original(self, x, epilogue, threads, panel_major_out)

    monkeypatch.setattr(MatrixPlan, "kind", lambda self, rows: "panels")
    monkeypatch.setattr(MatrixPlan, "panels_input", spy)
    dataset = data.load("mutag", datasets_root)
    model = _model("gin", dataset, "batch-norm", 0.9)
    expected = _torch_output(model, dataset)
    for threads in (1, 2):
        session = Session(export_artifact(model, tmp_path / "gin.sgnn"), num_threads=threads)
        session.tuning = session.tuning.replace(program_max_nodes=0)
        actual = session.run(dataset.x, dataset.graph, dataset.batch)
        np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)
    assert ("ndarray", True) in layouts and ("PanelMajor", False) in layouts


def test_compiled_programs_pass_panel_major_activations(datasets_root, tmp_path):
    """The compiled small-input path chains node-panel products too (``runtime.program``
    marks them): one molecule, a few, and a batch past one panel, all with every product on
    node panels, give torch's outputs."""
    from sparsegnn.kernels._program import LINEAR_PANEL_MAJOR_OUT, OP_LINEAR

    dataset = data.load("mutag", datasets_root)
    model = _model("gin", dataset, "batch-norm", 0.9)
    session = Session(export_artifact(model, tmp_path / "gin.sgnn"))
    session.tuning = session.tuning.replace(vector_madd=1e3)  # every product on node panels
    chained = []
    for graphs in ([0], [1, 2], list(range(3, 12))):
        graph, x, batch = dataset.select_graphs(graphs)
        with torch.no_grad():
            expected = model(torch.from_numpy(x), graph, torch.from_numpy(batch)).numpy()
        np.testing.assert_allclose(session.run(x, graph, batch), expected, atol=1e-4,
                                   rtol=1e-4)
        program = session._compiled_program(x.shape[0])[0]
        chained.append(sum(int(row[LINEAR_PANEL_MAJOR_OUT]) for row in program
                           if row[0] == OP_LINEAR))
    assert min(chained) > 0


COMPILED_CASES = [  # (kind, config overrides): every op and option the compiled path encodes
    ("gcn", {}), ("gcn", {"norm": "batch_norm", "act": "elu"}), ("gcn", {"improved": True}),
    ("sage", {}), ("sage", {"aggr": "sum", "act": "leaky_relu"}), ("sage", {"aggr": "max"}),
    ("sage", {"normalize": True, "root_weight": False, "act": "tanh"}),
    ("gin", {"norm": "batch_norm", "act": "gelu"}), ("gin", {"eps": 0.3, "act_first": True}),
]


@pytest.mark.parametrize("sparsity", [0.0, 0.9])
@pytest.mark.parametrize("kind, overrides", COMPILED_CASES)
@pytest.mark.parametrize("dataset_name", ["cora", "mutag"])
def test_compiled_small_input_path_matches_torch(dataset_name, kind, overrides, sparsity,
                                                 datasets_root, tmp_path, monkeypatch):
    """Small inputs run as one compiled call (runtime.program): it must give torch's outputs,
    on single graphs and small batches (graph level) and on a small subgraph with edge weights
    (node level: GCN normalisation inside the compiled call), and the interpreted path must
    agree on the same inputs."""
    import sparsegnn.runtime.session as session_module

    dataset = data.load(dataset_name, datasets_root)
    torch.manual_seed(0)
    model = build_model(model_config(kind, dataset, **overrides))
    randomise_batch_norms(model)
    if sparsity:
        _prune_randomly(model, sparsity)
    model.eval()
    path = export_artifact(model, tmp_path / "model.sgnn")
    if dataset.is_graph_task:
        # one graph and a small batch fit in a node panel; ten graphs take the program priced
        # for many panels
        inputs = [dataset.select_graphs([i]) for i in (0, 5)] + \
            [dataset.select_graphs([1, 2, 3]), dataset.select_graphs(list(range(8, 18)))]
    else:
        nodes = np.random.default_rng(0).choice(dataset.num_nodes, 150, replace=False)
        sub = dataset.graph.subgraph(np.sort(nodes)).symmetrize()
        weights = np.random.default_rng(1).uniform(0.5, 2.0, sub.num_edges).astype(np.float32)
        weighted = type(sub)(sub.indptr, sub.indices, sub.num_nodes, weights)
        x = dataset.dense_x()[np.sort(nodes)]
        inputs = [(sub, x, None), (weighted, x, None)]
    calls = []
    real = session_module.run_program
    monkeypatch.setattr(session_module, "run_program",
                        lambda *args: calls.append(1) or real(*args))
    session = Session(path)
    for graph, x, batch in inputs:
        with torch.no_grad():
            expected = model(torch.from_numpy(x), graph,
                             None if batch is None else torch.from_numpy(batch)).numpy()
        calls.clear()
        compiled = session.run(x, graph, batch)
        assert calls, "a small input should take the compiled path"
        np.testing.assert_allclose(compiled, expected, atol=1e-4, rtol=1e-4)
        small = session.tuning
        session.tuning = small.replace(program_max_nodes=0)
        calls.clear()
        interpreted = session.run(x, graph, batch)
        assert not calls
        np.testing.assert_allclose(interpreted, compiled, atol=1e-5, rtol=1e-5)
        session.tuning = small


def test_gat_falls_back_to_the_interpreted_path(datasets_root, tmp_path, monkeypatch):
    import sparsegnn.runtime.session as session_module

    dataset = data.load("mutag", datasets_root)
    model = _model("gat", dataset, "dense", 0.0)
    path = export_artifact(model, tmp_path / "model.sgnn")
    monkeypatch.setattr(session_module, "run_program", None)  # calling it would raise
    graph, x, batch = dataset.select_graphs([0])
    with torch.no_grad():
        expected = model(torch.from_numpy(x), graph, torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(Session(path).run(x, graph, batch), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("pattern, expected_format", [("1x8", "bsr"), ("4x1", "bsr"),
                                                      ("2:4", "dense"), ("1:8", "csr")])
@pytest.mark.parametrize("kind", ["gcn", "sage", "gin"])
def test_patterned_models_export_and_run_everywhere(kind, pattern, expected_format,
                                                    datasets_root, tmp_path):
    """A model pruned in each pattern: blocks are stored as blocks (when smaller), the pattern
    is recorded and checked on load, and the runtime (both paths), the IR reference and ONNX
    Runtime (dense and sparse initializers) all give torch's outputs."""
    import onnxruntime as ort

    from sparsegnn.export.onnx_writer import save_onnx
    from sparsegnn.patterns import Pattern
    from sparsegnn.prune import MaskSet, magnitude, prune_weights

    dataset = data.load("mutag", datasets_root)
    torch.manual_seed(0)
    model = build_model(model_config(kind, dataset))
    randomise_batch_norms(model)
    sparsity = Pattern.parse(pattern).sparsity or 0.9
    prune_weights(model, magnitude(model), sparsity, scope="layer", pattern=pattern).apply(model)
    MaskSet.bake(model)
    model.eval()
    expected = _torch_output(model, dataset)
    path = export_artifact(model, tmp_path / "model.sgnn", pattern=pattern)
    ir = load_artifact(path)
    matrices = [a for n in ir.nodes for a in n.attrs.values() if isinstance(a, dict)]
    assert ir.metadata["pattern"] == Pattern.parse(pattern).name
    assert all(m.get("pattern") == Pattern.parse(pattern).name for m in matrices)
    assert expected_format in {m["format"] for m in matrices}
    session = Session(path)
    np.testing.assert_allclose(session.run(dataset.x, dataset.graph, dataset.batch), expected,
                               atol=1e-4, rtol=1e-4)
    graph, x, batch = dataset.select_graphs([0])  # the compiled small-graph path
    with torch.no_grad():
        single = model(torch.from_numpy(x), graph, torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(session.run(x, graph, batch), single, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(run_reference(ir, dataset.dense_x(), dataset.graph,
                                             dataset.batch), expected, atol=1e-4, rtol=1e-4)
    feed = {"x": dataset.dense_x(), "edge_index": dataset.graph.edge_index,
            "batch": dataset.batch}
    for sparse_weights in (False, True):
        onnx_path = save_onnx(ir, tmp_path / f"model-{sparse_weights}.onnx",
                              sparse_weights=sparse_weights)
        outputs = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
            None, feed)[0]
        np.testing.assert_allclose(outputs, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["sage", "gat"])
def test_csr_features_skip_the_empty_rows_of_a_pruned_weight(kind, datasets_root, tmp_path,
                                                             monkeypatch):
    """Pruned in 1x16 blocks, most rows of the first weight (64 or 2 x 64 outputs) are empty:
    the planner drops Cora's feature entries on those rows before the product, priced so by
    the default tuning, and the outputs stay torch's on one thread and two."""
    from sparsegnn.kernels import _spmm
    from sparsegnn.prune import MaskSet, magnitude, prune_weights
    from sparsegnn.runtime import planner

    calls = []
    original = _spmm.live_csr_products

    def spy(*args):
        calls.append(args[4][0].shape)
        return original(*args)

    monkeypatch.setattr(planner, "live_csr_products", spy)
    # the default tuning, not one that `sparsegnn tune` cached on this machine
    monkeypatch.setenv("SPARSEGNN_CACHE", str(tmp_path / "no-cache"))
    dataset = data.load("cora", datasets_root)
    torch.manual_seed(0)
    model = build_model(model_config(kind, dataset))
    prune_weights(model, magnitude(model), 0.95, scope="layer", pattern="1x16").apply(model)
    MaskSet.bake(model)
    model.eval()
    expected = _torch_output(model, dataset)
    path = export_artifact(model, tmp_path / "model.sgnn", pattern="1x16")
    for threads in (1, 2):
        session = Session(path, num_threads=threads)
        np.testing.assert_allclose(session.run(dataset.x, dataset.graph), expected, atol=1e-4,
                                   rtol=1e-4)
    # the live rows of the first weight only: fewer rows than Cora's 1,433 features
    assert len(calls) == 2 and all(0 < shape[0] < dataset.x.shape[1] for shape in calls)
    first_layer = next(line for line in describe_artifact(path) if "1433x" in line)
    assert "CSR features drop the entries of its" in first_layer  # what inspect prints


def _rewrite_manifest(path, tmp_path, edit):
    """A copy of an artifact with its manifest edited (checksums, the manifest's own included,
    recomputed: only the deeper checks can catch the edit)."""
    import json
    import struct

    from sparsegnn.artifact import manifest_checksum

    raw = path.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    manifest = json.loads(header["__metadata__"]["sparsegnn"])
    edit(manifest)
    manifest["manifest_crc32"] = manifest_checksum(manifest)
    header["__metadata__"]["sparsegnn"] = json.dumps(manifest)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-(8 + len(encoded)) % 8)
    out = tmp_path / "edited.sgnn"
    out.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + length:])
    return out


def test_artifacts_that_break_their_pattern_are_refused(tmp_path):
    """An N:M pattern claimed but not followed, and malformed block matrices, fail the load
    with ArtifactError before anything runs."""
    from sparsegnn.artifact import ArtifactError

    cora = data.load("synthetic")
    torch.manual_seed(0)
    model = build_model(model_config("gcn", cora)).eval()
    _prune_randomly(model, 0.9)
    path = export_artifact(model, tmp_path / "model.sgnn")

    def claim(manifest):
        manifest["nodes"][1]["attrs"]["weight"]["pattern"] = "1:64"

    with pytest.raises(ArtifactError, match="do not follow their pattern 1:64"):
        load_artifact(_rewrite_manifest(path, tmp_path, claim))

    def bad_name(manifest):
        manifest["nodes"][1]["attrs"]["weight"]["pattern"] = "blocks"

    with pytest.raises(ArtifactError, match="unknown pattern"):
        load_artifact(_rewrite_manifest(path, tmp_path, bad_name))
    blocked = export_artifact(model, tmp_path / "blocked.sgnn", pattern="4x1")
    for block, message in (([4, 2], "indices must be <"), ([0, 1], "needs \"block\""),
                           ([4], "needs \"block\"")):
        def resize(manifest, block=block):
            for node in manifest["nodes"]:
                weight = node["attrs"].get("weight")
                if weight and weight["format"] == "bsr":
                    weight["block"] = block

        with pytest.raises(ArtifactError, match=message):
            load_artifact(_rewrite_manifest(blocked, tmp_path, resize))


def test_block_matrices_with_values_past_their_edge_are_refused(tmp_path):
    from sparsegnn.artifact import ArtifactError, save_artifact
    from sparsegnn.ir import Model, Node

    values = np.ones((1, 4, 1), np.float32)  # one 4x1 block over a 3-input matrix: row 3 pads
    tensors = {"w.indptr": np.array([0, 1], np.int32), "w.indices": np.array([0], np.int32),
               "w.values": values}
    matrix = {"format": "bsr", "tensor": "w", "shape": [3, 1], "block": [4, 1]}
    model = Model(nodes=[Node("linear", ["x"], ["y"], {"weight": matrix})], tensors=tensors,
                  inputs=[{"name": "x", "dtype": "float32", "shape": [None, 3]}],
                  outputs=[{"name": "y", "dtype": "float32", "shape": [None, 1]}])
    path = save_artifact(model, tmp_path / "edge.sgnn")
    with pytest.raises(ArtifactError, match="past the 3 x 1 matrix must hold zeros"):
        load_artifact(path)
    values[0, 3, 0] = 0
    session = Session(save_artifact(model, tmp_path / "edge.sgnn"))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    no_edges = np.zeros((2, 0), np.int64)
    np.testing.assert_allclose(session.run(x, no_edges), x.sum(axis=1, keepdims=True))
