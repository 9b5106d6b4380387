"""A link predictor exported: the encoder runs in the runtime (and ONNX Runtime) like torch, and
the runtime's pair scores are torch's decoder's; a decoder that does not fit is refused."""

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.artifact import ArtifactError, load_artifact, save_artifact
from sparsegnn.data.links import random_link_split
from sparsegnn.export import to_ir
from sparsegnn.ir import IRError
from sparsegnn.nn.link import LinkPredictor, link_inputs
from sparsegnn.nn.recipes import link_config
from sparsegnn.nn.train import seed_everything
from sparsegnn.prune import prune_model
from sparsegnn.prune.links import LinkTask
from sparsegnn.runtime import InputError, Session


def _model(dataset, decoder, kind="gcn"):
    seed_everything(0)
    config = link_config(kind, dataset, decoder)
    return LinkPredictor(**{k: v for k, v in config.items() if k != "kind"}).eval()


@pytest.mark.parametrize("decoder, kind", [("dot", "gcn"), ("mlp", "sage"), ("mlp", "gat")])
def test_runtime_scores_pairs_as_torch_does(decoder, kind, tmp_path):
    dataset = data.load("synthetic")
    split = random_link_split(dataset.graph, seed=0)
    model = _model(dataset, decoder, kind)
    path = save_artifact(to_ir(model, graph=split.graph), tmp_path / "link.sgnn")
    session = Session(path)
    assert session.decoder == decoder
    x, graph = link_inputs(dataset, split)
    pairs, _ = split.labelled("test")
    with torch.no_grad():
        embeddings = model.embed(x, graph)
        expected = model.score(embeddings, torch.from_numpy(pairs)).numpy()
    ours = session.run(dataset.x)  # the stored graph: the split's training pairs
    np.testing.assert_allclose(ours, embeddings.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(session.score_pairs(ours, pairs), expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(InputError, match="pair node ids"):
        session.score_pairs(ours, np.array([[0], [10**6]]))
    with pytest.raises(InputError, match="embeddings must be"):
        session.score_pairs(ours[:, :3], pairs)


@pytest.mark.parametrize("decoder, kind", [("dot", "gcn"), ("mlp", "sage")])
def test_onnx_runtime_scores_pairs_as_torch_does(decoder, kind):
    """The ONNX model carries the pair scorer: ``pairs`` in, ``scores`` out, beside the
    embeddings; without pairs (the empty default) it still runs and scores nothing."""
    ort = pytest.importorskip("onnxruntime")
    from sparsegnn.export.onnx_writer import to_onnx

    dataset = data.load("synthetic")
    split = random_link_split(dataset.graph, seed=0)
    model = _model(dataset, decoder, kind)
    proto = to_onnx(to_ir(model))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x, graph = link_inputs(dataset, split)
    pairs, _ = split.labelled("test")
    with torch.no_grad():
        embeddings = model.embed(x, graph)
        expected = model.score(embeddings, torch.from_numpy(pairs)).numpy()
    feeds = {"x": dataset.dense_x(),
             "edge_index": np.stack([split.graph.indices, split.graph.dst]).astype(np.int64)}
    logits, scores = session.run(["logits", "scores"], {**feeds, "pairs": pairs.astype(np.int64)})
    np.testing.assert_allclose(logits, embeddings.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    logits, scores = session.run(["logits", "scores"], feeds)
    assert scores.shape == (0,)


def test_a_pruned_link_predictor_exports_with_its_masks_baked(tmp_path):
    dataset = data.load("synthetic")
    split = random_link_split(dataset.graph, seed=0)
    model = _model(dataset, "mlp")
    from sparsegnn.nn.recipes import link_train_config

    prune_model(model, dataset, 0.8, task=LinkTask(dataset, split),
                finetune=link_train_config(epochs=2, progress=False))
    model.eval()
    ir = to_ir(model, graph=split.graph)
    stored = sum(int(np.count_nonzero(t)) for n, t in ir.tensors.items()
                 if n.startswith("decoder.") and n.endswith("weight"))
    dense = sum(t.size for n, t in ir.tensors.items() if n.startswith("decoder.") and n.endswith("weight"))
    assert stored < 0.5 * dense  # the decoder's pruned weights are zeros in the artifact
    session = Session(save_artifact(ir, tmp_path / "pruned.sgnn"))
    x, graph = link_inputs(dataset, split)
    pairs, _ = split.labelled("val")
    with torch.no_grad():
        expected = model(x, graph, torch.from_numpy(pairs)).numpy()
    np.testing.assert_allclose(session.score_pairs(session.run(dataset.x), pairs), expected,
                               rtol=1e-4, atol=1e-4)


def test_a_decoder_that_does_not_fit_is_refused(tmp_path):
    dataset = data.load("synthetic")
    ir = to_ir(_model(dataset, "mlp"))
    ir.tensors["decoder.0.weight"] = ir.tensors["decoder.0.weight"][:-1]
    with pytest.raises(IRError, match="MLP decoder's tensors"):
        ir.validate()
    dot = to_ir(_model(dataset, "dot"))
    dot.tensors["decoder.0.weight"] = np.zeros((16, 4), np.float32)
    with pytest.raises(IRError, match="dot-product decoder has no tensors"):
        dot.validate()
    dot.tensors.pop("decoder.0.weight")
    dot.metadata["decoder"] = {"kind": "cosine"}
    with pytest.raises(IRError, match="metadata decoder"):
        dot.validate()
    # and on load: a file whose decoder tensor is NaN
    good = to_ir(_model(dataset, "mlp"))
    path = save_artifact(good, tmp_path / "ok.sgnn")
    assert load_artifact(path).metadata["decoder"] == {"kind": "mlp"}
    from sparsegnn import artifact

    bad = dict(good.tensors)
    bad["decoder.1.bias"] = np.array([np.nan], np.float32)
    manifest = {"inputs": good.inputs, "outputs": good.outputs,
                "nodes": [node.to_json() for node in good.nodes], "metadata": good.metadata}
    broken = artifact._write(tmp_path / "nan.sgnn", bad, manifest)
    with pytest.raises(ArtifactError, match="NaN or inf"):
        load_artifact(broken)
