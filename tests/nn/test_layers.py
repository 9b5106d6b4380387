"""Each layer against its PyG namesake, and every aggregation backend against the others."""

import numpy as np
import pytest
import torch
import torch_geometric.nn as pyg_nn
from hypothesis import given, settings

from sparsegnn.graph import Graph
from sparsegnn.nn import GAT, GCN, GIN, GraphSAGE, TorchGraph, available_backends, use_backend
from sparsegnn.nn.functional import aggregate, global_pool, segment_softmax
from sparsegnn.nn.layers import MLP, GATConv, GCNConv, GINConv, SAGEConv

from ..reference import scipy_adjacency
from ..strategies import edge_lists


def _copy(ours: torch.nn.Module, theirs: torch.nn.Module) -> None:
    state = {k.replace(".module.", "."): v for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def _inputs(edges, channels=5, seed=0):
    edge_index, num_nodes = edges
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_nodes, channels, generator=generator)
    graph = Graph.from_edge_index(edge_index, num_nodes)
    # PyG gets the edges in their original (unsorted) order: sums must not depend on order.
    return x, TorchGraph.from_graph(graph), torch.from_numpy(edge_index.astype(np.int64))


@given(edges=edge_lists(allow_empty_graph=False))
@settings(max_examples=25)
def test_gcn_conv_matches_pyg(edges):
    x, graph, edge_index = _inputs(edges)
    for improved in (False, True):
        theirs = pyg_nn.GCNConv(5, 3, improved=improved)
        ours = GCNConv(5, 3, improved=improved)
        _copy(ours, theirs)
        torch.testing.assert_close(ours(x, graph), theirs(x, edge_index), atol=1e-5, rtol=1e-5)
        weights = torch.rand(edge_index.shape[1]) + 0.5
        weighted = TorchGraph(graph.src, graph.dst, graph.num_nodes)
        order = torch.from_numpy(np.lexsort((edges[0][0], edges[0][1])))
        torch.testing.assert_close(ours(x, weighted, weights[order]),
                                   theirs(x, edge_index, weights), atol=1e-5, rtol=1e-5)


@given(edges=edge_lists(allow_empty_graph=False))
@settings(max_examples=25)
def test_sage_conv_matches_pyg(edges):
    x, graph, edge_index = _inputs(edges)
    for aggr in ("mean", "max", "sum"):
        theirs = pyg_nn.SAGEConv(5, 3, aggr=aggr if aggr != "sum" else "add")
        ours = SAGEConv(5, 3, aggr=aggr)
        _copy(ours, theirs)
        torch.testing.assert_close(ours(x, graph), theirs(x, edge_index), atol=1e-5, rtol=1e-5)


@given(edges=edge_lists(allow_empty_graph=False))
@settings(max_examples=25)
def test_gin_conv_matches_pyg(edges):
    x, graph, edge_index = _inputs(edges)
    theirs = pyg_nn.GINConv(pyg_nn.MLP([5, 4, 4], norm=None), eps=0.3, train_eps=True)
    ours = GINConv(MLP([5, 4, 4]), eps=0.3, train_eps=True)
    _copy(ours, theirs)
    torch.testing.assert_close(ours(x, graph), theirs(x, edge_index), atol=1e-5, rtol=1e-5)


@given(edges=edge_lists(allow_empty_graph=False))
@settings(max_examples=25)
def test_gat_conv_matches_pyg(edges):
    x, graph, edge_index = _inputs(edges)
    for concat, residual in ((True, False), (False, True)):
        theirs = pyg_nn.GATConv(5, 3, heads=2, concat=concat, residual=residual).eval()
        ours = GATConv(5, 3, heads=2, concat=concat, residual=residual).eval()
        _copy(ours, theirs)
        torch.testing.assert_close(ours(x, graph), theirs(x, edge_index), atol=1e-5, rtol=1e-5)


@given(edges=edge_lists(allow_empty_graph=False))
def test_aggregate_matches_dense_reference(edges):
    x, graph, edge_index = _inputs(edges)
    num_nodes = x.shape[0]
    dense = torch.from_numpy(scipy_adjacency(edges[0], num_nodes).toarray()).float()
    degree = dense.sum(dim=1, keepdim=True).clamp(min=1)
    for backend in available_backends():
        with use_backend(backend):
            torch.testing.assert_close(aggregate(x, graph, "sum"), dense @ x, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(aggregate(x, graph, "mean"), dense @ x / degree,
                                       atol=1e-5, rtol=1e-5)
    expected_max = torch.stack([
        x[dense[v] > 0].max(dim=0).values if (dense[v] > 0).any() else torch.zeros(x.shape[1])
        for v in range(num_nodes)])
    torch.testing.assert_close(aggregate(x, graph, "max"), expected_max)


def test_segment_softmax_sums_to_one_per_destination(rng):
    edge_index = rng.integers(0, 6, (2, 30))
    graph = TorchGraph.from_graph(Graph.from_edge_index(edge_index, 6))
    scores = torch.randn(30, 3) * 50  # large scores: the max-shift must keep exp finite
    alpha = segment_softmax(scores, graph)
    totals = torch.zeros(6, 3).index_add_(0, graph.dst, alpha)
    has_edges = torch.bincount(graph.dst, minlength=6) > 0
    torch.testing.assert_close(totals[has_edges], torch.ones(int(has_edges.sum()), 3))
    assert torch.isfinite(alpha).all()


def test_global_pool_matches_pyg(rng):
    x = torch.randn(10, 4)
    batch = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    torch.testing.assert_close(global_pool(x, batch, "sum"), pyg_nn.global_add_pool(x, batch))
    torch.testing.assert_close(global_pool(x, batch, "mean"), pyg_nn.global_mean_pool(x, batch))
    torch.testing.assert_close(global_pool(x, batch, "max"), pyg_nn.global_max_pool(x, batch))


@pytest.mark.parametrize("model_class", [GCN, GraphSAGE, GIN, GAT])
def test_backends_give_identical_models(model_class, rng):
    edge_index = rng.integers(0, 40, (2, 200))
    graph = TorchGraph.from_graph(Graph.from_edge_index(edge_index, 40))
    x = torch.randn(40, 6)
    torch.manual_seed(0)
    options = {"heads": 2} if model_class is GAT else {}
    model = model_class(6, 8, 3, 4, **options).eval()
    outputs = {}
    for backend in available_backends():
        with use_backend(backend), torch.no_grad():
            outputs[backend] = model(x, graph)
    for backend, output in outputs.items():
        torch.testing.assert_close(output, outputs["native"], atol=1e-5, rtol=1e-5,
                                   msg=f"backend {backend} differs from native")


def test_torch_scatter_backend_when_installed():
    pytest.importorskip("torch_scatter", reason="torch-scatter is optional and not installed")
    assert "torch_scatter" in available_backends()


def test_sparse_features_give_the_same_outputs(rng):
    dense = torch.from_numpy((rng.random((30, 12)) < 0.2).astype(np.float32))
    graph = TorchGraph.from_graph(Graph.from_edge_index(rng.integers(0, 30, (2, 90)), 30))
    for model_class in (GCN, GraphSAGE, GIN, GAT):
        torch.manual_seed(0)
        model = model_class(12, 8, 2, 3, input_norm="row_sum").eval()
        with torch.no_grad():
            torch.testing.assert_close(model(dense.to_sparse(), graph), model(dense, graph),
                                       atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["gcn", "sage", "gin", "gat"])
def test_csr_features_give_the_dense_features_outputs(kind):
    """Inference with torch's CSR features (the torch-sparse benchmark peer's input), with
    input_norm on their stored values and either aggregation backend, matches dense x."""
    import warnings

    from sparsegnn import data
    from sparsegnn.nn import build_model
    from sparsegnn.nn.functional import use_backend
    from sparsegnn.nn.recipes import model_config

    dataset = data.load("synthetic")
    torch.manual_seed(0)
    model = build_model(model_config(kind, dataset)).eval()
    x = dataset.x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        csr = torch.sparse_csr_tensor(torch.from_numpy(x.indptr.astype(np.int64)),
                                      torch.from_numpy(x.indices.astype(np.int64)),
                                      torch.from_numpy(x.data.astype(np.float32)), x.shape)
    with torch.no_grad():
        expected = model(torch.from_numpy(dataset.dense_x()), dataset.graph).numpy()
        for backend in ("native", "sparse"):
            with use_backend(backend):
                actual = model(csr, dataset.graph).numpy()
            np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=1e-5)
