"""The op contracts (``sparsegnn.ops``): validation chains widths and checks every attribute, so
no crafted model reaches native code, and the backends agree on the cases where they once
diverged (the compiled path's GCN normalisation cache and output, ``input_norm`` on rows that
sum to zero, GIN batch-norm folding). References: the dense numpy interpreter
(``sparsegnn.ops.reference``), the torch model and ONNX Runtime."""

import copy

import numpy as np
import onnxruntime as ort
import pytest
import torch

from sparsegnn.artifact import ArtifactError, load_artifact, save_artifact
from sparsegnn.export import to_ir
from sparsegnn.export.onnx_writer import save_onnx
from sparsegnn.graph import Graph
from sparsegnn.ir import IRError, Model, Node
from sparsegnn.nn import GCN, GIN
from sparsegnn.ops.reference import run_reference
from sparsegnn.runtime import Session
from sparsegnn.runtime.tuning import Tuning
from sparsegnn.sparse import CSRMatrix

from ..reference import randomise_batch_norms, save_unchecked

PER_OP = Tuning(program_max_nodes=0)  # every input runs op by op
COMPILED = Tuning()  # small inputs run as one compiled program


def _dense(rng, rows, cols):
    return rng.standard_normal((rows, cols)).astype(np.float32)


def _model(nodes, tensors, x_width, out_width, output=None, batch=False):
    inputs = [{"name": "x", "dtype": "float32", "shape": [None, x_width]}]
    if batch:
        inputs.append({"name": "batch", "dtype": "int64", "shape": [None]})
    return Model(nodes=nodes, tensors=tensors, inputs=inputs,
                 outputs=[{"name": output or nodes[-1].outputs[0], "dtype": "float32",
                           "shape": [None, out_width]}])


def _matrix(name, array, tensors):
    tensors[name] = array
    return {"format": "dense", "tensor": name, "shape": list(array.shape)}


def _gcn_stack(shapes, flags=None, x_width=None, output_width=None):
    """GCN layers with dense weights of ``shapes`` ((in, out) each) and biases."""
    rng = np.random.default_rng(0)
    tensors, nodes, value = {}, [], "x"
    for i, (rows, cols) in enumerate(shapes):
        tensors[f"b{i}"] = _dense(rng, 1, cols)[0]
        attrs = {"weight": _matrix(f"w{i}", _dense(rng, rows, cols), tensors), "bias": f"b{i}",
                 "normalize": True, "add_self_loops": True,
                 "improved": bool(flags[i]) if flags else False,
                 "activation": "relu" if i < len(shapes) - 1 else "identity"}
        nodes.append(Node("gcn_conv", [value, "graph"], [f"v{i}"], attrs))
        value = f"v{i}"
    return _model(nodes, tensors, x_width or shapes[0][0], output_width or shapes[-1][1])


def _edit(model, change):
    model = copy.deepcopy(model)
    change(model)
    return model


def _rejections():
    """(label, model, message) for models that must not load."""
    base = _gcn_stack([(4, 6), (6, 3)])
    cases = [
        ("widths do not chain", _gcn_stack([(4, 64), (8, 3)]),
         r"node 1 .*8 x 3, but its input has 64 features"),
        ("first weight narrower than x", _gcn_stack([(8, 16)], x_width=1433),
         "8 x 16, but its input has 1433"),
        ("declared output width", _gcn_stack([(4, 6), (6, 3)], output_width=7),
         "declared 7 wide"),
        ("bias length", _edit(base, lambda m: m.tensors.update(b0=np.zeros(5, np.float32))),
         r"bias must be a float tensor of shape \(6,\)"),
        ("unknown attribute", _edit(base, lambda m: m.nodes[0].attrs.update(
            baas=m.nodes[0].attrs.pop("bias"))), "unknown attribute 'baas'"),
        ("missing attribute", _edit(base, lambda m: m.nodes[1].attrs.pop("improved")),
         "missing attribute 'improved'"),
        ("mistyped flag", _edit(base, lambda m: m.nodes[1].attrs.update(normalize=1)),
         "normalize must be true or false"),
        ("unknown activation", _edit(base, lambda m: m.nodes[0].attrs.update(activation="swish")),
         "activation must be one of"),
        ("fractional version", _edit(base, lambda m: setattr(m.nodes[0], "version", 1.9)),
         "op version 1.9"),
        ("unused tensor", _edit(base, lambda m: m.tensors.update(spare=np.zeros(3, np.float32))),
         "not used by any node"),
        ("matrix key", _edit(base, lambda m: m.nodes[0].attrs["weight"].update(strides=[1])),
         "unknown matrix keys"),
        ("graph as features", _edit(base, lambda m: setattr(m.nodes[1], "inputs",
                                                            ["graph", "graph"])),
         "neither the model input"),
        ("output shadows an input", _edit(base, lambda m: setattr(m.nodes[0], "outputs", ["x"])),
         "output name 'x' is taken"),
    ]
    rng = np.random.default_rng(1)
    tensors = {"att_src": _dense(rng, 2, 3), "att_dst": _dense(rng, 2, 3)}
    gat = {"weight": _matrix("w", _dense(rng, 4, 6), tensors), "att_src": "att_src",
           "att_dst": "att_dst", "heads": 2, "channels": 3, "concat": True,
           "negative_slope": 0.2, "add_self_loops": True,
           "residual": _matrix("res", _dense(rng, 4, 3), tensors)}
    cases.append(("gat residual width", _model([Node("gat_conv", ["x", "graph"], ["v0"], gat)],
                                                tensors, 4, 6), "residual has 3 outputs"))
    bad_slope = dict(gat, negative_slope=float("nan"),
                     residual=_matrix("res", _dense(rng, 4, 6), dict(tensors)))
    cases.append(("NaN slope", _model([Node("gat_conv", ["x", "graph"], ["v0"], bad_slope)],
                                      {**tensors, "res": _dense(rng, 4, 6)}, 4, 6),
                  "negative_slope must be a number of magnitude"))
    tensors = {}
    sage = {"weight_neighbor": _matrix("wn", _dense(rng, 4, 5), tensors),
            "weight_root": _matrix("wr", _dense(rng, 5, 5), tensors), "aggr": "mean"}
    cases.append(("sage root shape", _model([Node("sage_conv", ["x", "graph"], ["v0"], sage)],
                                             tensors, 4, 5), "weight_root is"))
    tensors = {"scale": np.ones(3, np.float32), "shift": np.ones(4, np.float32)}
    cases.append(("affine shift length", _model(
        [Node("affine", ["x"], ["v0"], {"scale": "scale", "shift": "shift"})], tensors, 4, 4),
        "scale must be a float tensor of shape"))
    cases.append(("input_norm kind", _model(
        [Node("input_norm", ["x"], ["v0"], {"kind": "l2"})], {}, 4, 4), "kind must be one of"))
    cases.append(("NaN eps", _model(
        [Node("gin_conv", ["x", "graph"], ["v0"], {"eps": float("nan")})], {}, 4, 4),
        "eps must be a number of magnitude"))
    tensors = {}
    pooled_then_conv = [
        Node("global_pool", ["x", "batch"], ["v0"], {"reduce": "sum"}),
        Node("gcn_conv", ["v0", "graph"], ["v1"], {
            "weight": _matrix("w", _dense(rng, 4, 2), tensors), "normalize": True,
            "add_self_loops": True, "improved": False})]
    cases.append(("graph op after pooling", _model(pooled_then_conv, tensors, 4, 2, batch=True),
                  "one row per graph"))
    return cases


REJECTIONS = _rejections()


@pytest.mark.parametrize("label, model, message", REJECTIONS, ids=[c[0] for c in REJECTIONS])
def test_validation_rejects_what_native_code_must_not_see(label, model, message, tmp_path):
    with pytest.raises(IRError, match=message):
        model.validate()
    path = save_unchecked(model, tmp_path / "crafted.sgnn")
    with pytest.raises(ArtifactError, match=message):
        load_artifact(path)
    with pytest.raises(ArtifactError):
        Session(path)


def test_the_reported_out_of_bounds_model_is_rejected(tmp_path):
    """Issue 15's case: weights 4 x 64 then 8 x 3 once loaded and read past the second weight's
    buffer on the compiled path (returning values such as 6.7e29)."""
    model = _gcn_stack([(4, 64), (8, 3)])
    with pytest.raises(ArtifactError, match="input has 64 features"):
        Session(save_unchecked(model, tmp_path / "m.sgnn"))


def _weighted_graph(num_nodes=7, seed=3):
    rng = np.random.default_rng(seed)
    edge_index = rng.integers(0, num_nodes, (2, 20))
    return Graph.from_edge_index(edge_index, num_nodes,
                                 edge_weight=rng.uniform(0.2, 3.0, 20).astype(np.float32))


def _both_paths(path, x, graph, batch=None):
    outputs = [Session(path, tuning=tuning).run(x, graph, batch) for tuning in (PER_OP, COMPILED)]
    return outputs


@pytest.mark.parametrize("flags", [(True, False), (False, True), (True, False, True)])
def test_mixed_improved_flags_agree_on_both_paths(flags, tmp_path):
    """The compiled path cached one GCN normalisation for all layers, under the first layer's
    ``improved`` flag (outputs differed by up to 0.12 on a weighted graph)."""
    widths = [5, 8, 6, 4][:len(flags) + 1]
    model = _gcn_stack(list(zip(widths[:-1], widths[1:])), flags)
    path = save_artifact(model, tmp_path / "gcn.sgnn")
    graph = _weighted_graph()
    x = np.random.default_rng(4).standard_normal((graph.num_nodes, widths[0])).astype(np.float32)
    expected = run_reference(model, x, graph)
    for out in _both_paths(path, x, graph):
        np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


def test_an_intermediate_output_never_reaches_the_compiled_path(tmp_path):
    """The compiled path returned the program's last value whatever the declared output (300
    nodes gave (300, 7) where the output was 16 wide). A model whose output is an
    intermediate value leaves a node that nothing uses, which validation rejects; and the
    compiled path's encoder declines any model that is not a straight chain to its output."""
    from sparsegnn.runtime.program import build_program

    model = _gcn_stack([(4, 6), (6, 3)])
    model.outputs = [{"name": "v0", "dtype": "float32", "shape": [None, 6]}]
    with pytest.raises(IRError, match="used by no node"):
        model.validate()
    with pytest.raises(ArtifactError, match="used by no node"):
        load_artifact(save_unchecked(model, tmp_path / "gcn.sgnn"))
    assert build_program(model, model.tensors, lambda key, matrices: None) is None


def test_input_norm_of_rows_summing_to_zero_agrees_everywhere(tmp_path):
    """A row summing to zero is divided by 1 (the torch model's choice), by the per-op and the
    compiled runtime, for dense and CSR features, by ONNX Runtime and the reference."""
    torch.manual_seed(0)
    model = GCN(2, 4, 2, 3, input_norm="row_sum").eval()
    x = np.array([[1.0, -1.0], [2.0, 1.0], [0.5, 0.25], [0.0, 0.0]], np.float32)
    graph = Graph.from_edge_index(np.array([[0, 1, 2, 3, 1], [1, 2, 0, 0, 3]]), 4)
    with torch.no_grad():
        expected = model(torch.from_numpy(x), graph).numpy()
    ir = to_ir(model)
    path = save_artifact(ir, tmp_path / "gcn.sgnn")
    np.testing.assert_allclose(run_reference(ir, x, graph), expected, atol=1e-5)
    for features in (x, CSRMatrix.from_dense(x)):
        for out in _both_paths(path, features, graph):
            np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)
    onnx_path = save_onnx(ir, tmp_path / "gcn.onnx")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"x": x, "edge_index": graph.edge_index})[0]
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("last_bias", [True, False])
def test_gin_batch_norm_folds_into_the_mlp_without_orphans(last_bias, tmp_path):
    """The batch norm after a GIN layer folds into its MLP's last linear, with or without a
    bias there; the artifact holds only the tensors its ops use (validation rejects others)."""
    torch.manual_seed(1)
    model = GIN(5, 8, 2, 3, norm="batch_norm")
    if not last_bias:
        model.convs[0].nn.lins[-1] = torch.nn.Linear(8, 8, bias=False)
    randomise_batch_norms(model)
    model.eval()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    graph = Graph.from_edge_index(rng.integers(0, 6, (2, 14)), 6)
    with torch.no_grad():
        expected = model(torch.from_numpy(x), graph).numpy()
    ir = to_ir(model)
    assert not any(node.op == "affine" for node in ir.nodes)  # folded, not kept as an op
    path = save_artifact(ir, tmp_path / "gin.sgnn")
    for out in _both_paths(path, x, graph):
        np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("normalize, add_self_loops, flags", [
    (True, True, (True, False)), (True, False, (False, True)), (False, False, (False, False))])
def test_onnx_weighs_edges_as_the_runtime_does(normalize, add_self_loops, flags, tmp_path):
    """The ONNX model takes ``edge_weight`` (it once ignored weights and ``improved``): a
    weighted graph with self loops (one duplicated) gives the reference's output; leaving the
    input out means unweighted."""
    model = _gcn_stack([(5, 8), (8, 4)], flags)
    for node in model.nodes:
        node.attrs.update(normalize=normalize, add_self_loops=add_self_loops)
    graph = _weighted_graph()
    loops = np.array([[2, 2, 5], [2, 2, 5]])
    graph = Graph.from_edge_index(np.concatenate([graph.edge_index, loops], axis=1),
                                  graph.num_nodes,
                                  np.concatenate([graph.edge_weight, [0.5, 3.0, 1.5]]).astype(np.float32))
    x = np.random.default_rng(6).standard_normal((graph.num_nodes, 5)).astype(np.float32)
    path = save_onnx(model, tmp_path / "gcn.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"x": x, "edge_index": graph.edge_index.astype(np.int64)}
    weighted = session.run(None, {**feed, "edge_weight": graph.edge_weight})[0]
    np.testing.assert_allclose(weighted, run_reference(model, x, graph), atol=1e-5, rtol=1e-5)
    runtime = Session(save_artifact(model, tmp_path / "gcn.sgnn")).run(x, graph)
    np.testing.assert_allclose(weighted, runtime, atol=1e-5, rtol=1e-5)
    unweighted = Graph(graph.indptr, graph.indices, graph.num_nodes)
    np.testing.assert_allclose(session.run(None, feed)[0], run_reference(model, x, unweighted),
                               atol=1e-5, rtol=1e-5)
