"""The ONNX export: standard ops, onnx.checker clean, dynamic node/edge counts, and ONNX
Runtime's outputs equal the torch model's within 1e-4 (dense and pruned weights)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from sparsegnn import data
from sparsegnn.export import to_ir
from sparsegnn.export.onnx_writer import OPSET, save_onnx, to_onnx

from .test_export_runtime import KINDS, _model, _torch_output


def _feed(dataset, x=None, graph=None, batch=None):
    feed = {"x": dataset.dense_x() if x is None else x,
            "edge_index": (dataset.graph if graph is None else graph).edge_index}
    if dataset.is_graph_task:
        feed["batch"] = dataset.batch if batch is None else batch
    return feed


@pytest.mark.parametrize("sparse_weights", [False, True])
@pytest.mark.parametrize("variant, sparsity", [("dense", 0.0), ("batch-norm", 0.9),
                                               ("act-first", 0.5), ("layer-norm", 0.0),
                                               ("residual", 0.5)])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dataset_name", ["cora", "mutag"])
def test_onnx_runtime_matches_torch(dataset_name, kind, variant, sparsity, sparse_weights,
                                    datasets_root, tmp_path):
    dataset = data.load(dataset_name, datasets_root)
    model = _model(kind, dataset, variant, sparsity)
    path = save_onnx(to_ir(model), tmp_path / "model.onnx", sparse_weights=sparse_weights)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(None, _feed(dataset))[0]
    np.testing.assert_allclose(actual, _torch_output(model, dataset), atol=1e-4, rtol=1e-4)


def test_standard_ops_dynamic_sizes_and_checker(datasets_root, tmp_path):
    mutag = data.load("mutag", datasets_root)
    model = _model("gin", mutag, "batch-norm", 0.0)
    proto = to_onnx(to_ir(model))
    onnx.checker.check_model(proto, full_check=True)
    assert {imp.domain for imp in proto.opset_import} == {""}
    assert proto.opset_import[0].version == OPSET >= 18
    dims = [d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] == "num_nodes"
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    import torch

    for ids in ([0], [3, 5, 7], list(range(40))):  # different node and edge counts, one model
        graph, x, batch = mutag.select_graphs(ids)
        out = session.run(None, {"x": x, "edge_index": graph.edge_index, "batch": batch})[0]
        with torch.no_grad():
            expected = model(torch.from_numpy(x), graph, torch.from_numpy(batch)).numpy()
        np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)


def test_sparse_weights_shrink_the_file_and_pass_the_full_check(datasets_root, tmp_path):
    cora = data.load("cora", datasets_root)
    ir = to_ir(_model("gcn", cora, "dense", 0.95))
    dense = save_onnx(ir, tmp_path / "dense.onnx").stat().st_size
    sparse_path = save_onnx(ir, tmp_path / "sparse.onnx", sparse_weights=True)
    assert sparse_path.stat().st_size < 0.3 * dense
    onnx.checker.check_model(onnx.load(str(sparse_path)), full_check=True)


def test_output_name_is_stable(datasets_root):
    """Every model's output is called ``logits`` (it was ``logits_<counter>``)."""
    for dataset_name, kind in (("cora", "gcn"), ("mutag", "gin"), ("cora", "gat")):
        dataset = data.load(dataset_name, datasets_root)
        proto = to_onnx(to_ir(_model(kind, dataset, "dense", 0.0)))
        assert [output.name for output in proto.graph.output] == ["logits"]


def test_repeated_runs_are_identical_with_many_threads(datasets_root):
    """Guards against ONNX Runtime's racy multi-threaded ScatterND (why ScatterElements is used)."""
    mutag = data.load("mutag", datasets_root)
    proto = to_onnx(to_ir(_model("gat", mutag, "dense", 0.0)))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 4
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    outputs = [session.run(None, _feed(mutag))[0] for _ in range(10)]
    for output in outputs[1:]:
        np.testing.assert_array_equal(output, outputs[0])
