"""from_pyg: PyG models and plain layer-list modules convert with outputs equal to 1e-5."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn

from sparsegnn import data
from sparsegnn.nn import UnsupportedLayerError, from_pyg

from ..reference import randomise_batch_norms


def _tensors(dataset):
    x = torch.from_numpy(dataset.dense_x())
    edge_index = torch.from_numpy(dataset.graph.edge_index)
    shuffled = edge_index[:, torch.randperm(edge_index.shape[1])]
    batch = torch.from_numpy(dataset.batch) if dataset.batch is not None else None
    return x, edge_index, shuffled, batch


def _pyg_models(features, classes):
    return {
        "gcn": pyg_nn.models.GCN(features, 16, 2, classes),
        "gcn-bn-3": pyg_nn.models.GCN(features, 16, 3, classes, norm="batch_norm"),
        "sage": pyg_nn.models.GraphSAGE(features, 16, 2, classes),
        "sage-max": pyg_nn.models.GraphSAGE(features, 16, 2, classes, aggr="max"),
        "gin": pyg_nn.models.GIN(features, 16, 3, classes, norm="batch_norm"),
        "gin-train-eps": pyg_nn.models.GIN(features, 16, 2, classes, train_eps=True),
        "gat": pyg_nn.models.GAT(features, 16, 2, classes, heads=4),
        "gat-concat-out": pyg_nn.models.GAT(features, 16, 2, heads=4, act="elu"),
        "gat-residual": pyg_nn.models.GAT(features, 16, 2, classes, heads=2, residual=True),
    }


@pytest.mark.parametrize("dataset_name", ["cora", "mutag"])
def test_pyg_models_convert_and_export_with_equal_outputs(dataset_name, datasets_root, tmp_path):
    """Converted, a PyG model gives PyG's outputs to 1e-5; exported, the sparsegnn runtime and
    ONNX Runtime give them to 1e-4 (node-level models run per node on any graph)."""
    import onnxruntime as ort

    from sparsegnn.export import export_artifact, to_ir
    from sparsegnn.export.onnx_writer import save_onnx
    from sparsegnn.runtime import Session

    dataset = data.load(dataset_name, datasets_root)
    x, edge_index, shuffled, _ = _tensors(dataset)
    torch.manual_seed(0)
    for name, model in _pyg_models(dataset.num_features, dataset.num_classes).items():
        randomise_batch_norms(model)
        model.eval()
        ours = from_pyg(model)
        with torch.no_grad():
            expected, actual = model(x, shuffled), ours(x, edge_index)
        assert actual.shape == expected.shape, name
        torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5, msg=name)
        expected = expected.numpy()
        session = Session(export_artifact(ours, tmp_path / f"{name}.sgnn"))
        np.testing.assert_allclose(session.run(dataset.x, dataset.graph), expected, atol=1e-4,
                                   rtol=1e-4, err_msg=name)
        onnx_path = save_onnx(to_ir(ours), tmp_path / f"{name}.onnx")
        onnx_out = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
            None, {"x": dataset.dense_x(), "edge_index": dataset.graph.edge_index})[0]
        np.testing.assert_allclose(onnx_out, expected, atol=1e-4, rtol=1e-4, err_msg=name)


class GraphGCN(torch.nn.Module):
    def __init__(self, features, classes):
        super().__init__()
        self.conv1, self.conv2 = pyg_nn.GCNConv(features, 32), pyg_nn.GCNConv(32, 32)
        self.lin = torch.nn.Linear(32, classes)

    def forward(self, x, edge_index, batch):
        x = self.conv2(self.conv1(x, edge_index).relu(), edge_index)
        return self.lin(pyg_nn.global_add_pool(x, batch))


class GraphGIN(torch.nn.Module):
    """The layout of PyG's GIN examples: GINConv(MLP) layers, sum pooling, an MLP head."""

    def __init__(self, features, classes):
        super().__init__()
        self.convs = torch.nn.ModuleList([pyg_nn.GINConv(pyg_nn.MLP([features, 32, 32])),
                                          pyg_nn.GINConv(pyg_nn.MLP([32, 32, 32]))])
        self.mlp = pyg_nn.MLP([32, 32, classes], norm=None, dropout=0.5)

    def forward(self, x, edge_index, batch):
        x = self.convs[1](self.convs[0](x, edge_index).relu(), edge_index)
        return self.mlp(pyg_nn.global_add_pool(x, batch))


class SequentialGIN(torch.nn.Module):
    def __init__(self, features, classes):
        super().__init__()

        def mlp(a, b):
            return torch.nn.Sequential(torch.nn.Linear(a, b), torch.nn.BatchNorm1d(b),
                                       torch.nn.ReLU(), torch.nn.Linear(b, b))

        self.conv1 = pyg_nn.GINConv(mlp(features, 16), train_eps=True)
        self.conv2 = pyg_nn.GINConv(mlp(16, classes), train_eps=True)

    def forward(self, x, edge_index, batch):
        x = self.conv2(self.conv1(x, edge_index).relu(), edge_index)
        return pyg_nn.global_mean_pool(x, batch)


class NodeSAGE(torch.nn.Module):
    def __init__(self, features, classes):
        super().__init__()
        self.convs = torch.nn.ModuleList([pyg_nn.SAGEConv(features, 16), pyg_nn.SAGEConv(16, 16),
                                          pyg_nn.SAGEConv(16, classes)])
        self.bns = torch.nn.ModuleList([torch.nn.BatchNorm1d(16), torch.nn.BatchNorm1d(16)])

    def forward(self, x, edge_index, batch=None):
        for conv, norm in zip(self.convs[:-1], self.bns):
            x = F.elu(norm(conv(x, edge_index)))
        return self.convs[-1](x, edge_index)


class PaperGAT(torch.nn.Module):
    """Veličković et al.'s Cora model: 8 heads of 8 units, then one averaged output head."""

    def __init__(self, features, classes):
        super().__init__()
        self.conv1 = pyg_nn.GATConv(features, 8, heads=8, dropout=0.6)
        self.conv2 = pyg_nn.GATConv(64, classes, heads=1, concat=False, dropout=0.6)

    def forward(self, x, edge_index, batch=None):
        return self.conv2(F.elu(self.conv1(x, edge_index)), edge_index)


class PaperSGC(torch.nn.Module):
    """Wu et al.'s model: one linear map after two propagations."""

    def __init__(self, features, classes):
        super().__init__()
        self.conv = pyg_nn.SGConv(features, classes, K=2)

    def forward(self, x, edge_index, batch=None):
        return self.conv(x, edge_index)


@pytest.mark.parametrize(
    "module_class, options, dataset_name",
    [(GraphGCN, {"pool": "sum"}, "mutag"), (GraphGIN, {"pool": "sum"}, "mutag"),
     (SequentialGIN, {"pool": "mean"}, "mutag"), (NodeSAGE, {"act": "elu"}, "cora"),
     (NodeSAGE, {"act": "elu"}, "mutag"), (PaperGAT, {"act": "elu", "dropout": 0.6}, "cora"),
     (PaperGAT, {"act": "elu", "dropout": 0.6}, "mutag"), (PaperSGC, {}, "cora")],
)
def test_plain_layer_list_modules_convert(module_class, options, dataset_name, datasets_root,
                                          tmp_path):
    dataset = data.load(dataset_name, datasets_root)
    x, edge_index, shuffled, batch = _tensors(dataset)
    torch.manual_seed(1)
    model = module_class(dataset.num_features, dataset.num_classes)
    randomise_batch_norms(model)
    model.eval()
    ours = from_pyg(model, **options)
    with torch.no_grad():
        expected, actual = model(x, shuffled, batch), ours(x, edge_index, batch)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    # and exported, the runtime gives the PyG module's outputs (graph-level ones included)
    from sparsegnn.export import export_artifact
    from sparsegnn.runtime import Session

    session = Session(export_artifact(ours, tmp_path / "model.sgnn"))
    batch = dataset.batch if ours.pool is not None else None
    np.testing.assert_allclose(session.run(dataset.x, dataset.graph, batch), expected.numpy(),
                               atol=1e-4, rtol=1e-4)


def test_unsupported_layers_are_named():
    class Cheb(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = pyg_nn.ChebConv(4, 4, K=2)

    with pytest.raises(UnsupportedLayerError, match="ChebConv"):
        from_pyg(Cheb())
    with pytest.raises(UnsupportedLayerError, match="PNA is not supported"):
        from_pyg(pyg_nn.models.PNA(4, 8, 2, aggregators=["mean"], scalers=["identity"],
                                   deg=torch.ones(3)))
    with pytest.raises(UnsupportedLayerError, match="jumping knowledge"):
        from_pyg(pyg_nn.models.GCN(4, 8, 2, 3, jk="cat"))
    with pytest.raises(UnsupportedLayerError, match="GATv2Conv"):
        from_pyg(pyg_nn.models.GAT(4, 8, 2, 3, v2=True))
    with pytest.raises(UnsupportedLayerError, match="LayerNorm"):
        from_pyg(pyg_nn.models.GCN(4, 8, 3, 3, norm="layer_norm"))

    class Mixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = pyg_nn.GCNConv(4, 8), pyg_nn.SAGEConv(8, 3)

    with pytest.raises(UnsupportedLayerError, match="mixes convolution types"):
        from_pyg(Mixed())

    class WithLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = pyg_nn.GCNConv(4, 8)
            self.rnn = torch.nn.LSTM(8, 8)

    with pytest.raises(UnsupportedLayerError, match="rnn: unsupported layer LSTM"):
        from_pyg(WithLSTM())


@pytest.mark.parametrize("kind", ["gcn", "sage", "gin", "gat", "sgc"])
@pytest.mark.parametrize("dataset_name", ["cora", "mutag"])
def test_to_pyg_gives_a_pyg_model_with_equal_outputs(kind, dataset_name, datasets_root):
    """to_pyg builds PyG's own model classes (what benchmarks compare against): same outputs on
    edge_index and on a torch.sparse CSR adj_t."""
    from sparsegnn.nn import to_pyg
    from sparsegnn.nn.recipes import make_model

    dataset = data.load(dataset_name, datasets_root)
    x, edge_index, shuffled, batch = _tensors(dataset)
    torch.manual_seed(0)
    model = make_model(kind, dataset, norm="batch_norm" if kind != "gat" else None)
    randomise_batch_norms(model)
    model.eval()
    pyg_model = to_pyg(model)
    gnn_class = {"gcn": pyg_nn.models.GCN, "sage": pyg_nn.models.GraphSAGE,
                 "gin": pyg_nn.models.GIN, "gat": pyg_nn.models.GAT,
                 "sgc": pyg_nn.models.basic_gnn.BasicGNN}[kind]
    assert isinstance(pyg_model.gnn, gnn_class)
    if kind == "sgc":  # PyG has no SGC model class: a BasicGNN of its own SGConv layers
        assert all(isinstance(conv, pyg_nn.SGConv) for conv in pyg_model.gnn.convs)
    with torch.no_grad():
        expected = model(x, edge_index, batch)
        torch.testing.assert_close(pyg_model(x, shuffled, batch), expected, atol=1e-5, rtol=1e-5)
        if kind != "gat":  # PyG's GATConv cannot add self loops to a torch.sparse adj_t
            graph = dataset.graph
            adj_t = torch.sparse_csr_tensor(torch.from_numpy(graph.indptr),
                                            torch.from_numpy(graph.indices.astype(np.int64)),
                                            torch.ones(graph.num_edges), (graph.num_nodes,) * 2,
                                            check_invariants=True)
            torch.testing.assert_close(pyg_model(x, adj_t, batch), expected, atol=1e-4, rtol=1e-4)
