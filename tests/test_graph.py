"""Graph construction, validation and transforms against scipy, dense numpy and PyG."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from sparsegnn.graph import Graph, GraphError, batch_graphs

from .reference import assert_matches, scipy_adjacency
from .strategies import edge_lists, weighted_edge_lists


@given(edges=weighted_edge_lists())
def test_from_edge_index_matches_scipy(edges):
    edge_index, num_nodes, weights = edges
    graph = Graph.from_edge_index(edge_index, num_nodes, weights)
    assert graph.num_nodes == num_nodes and graph.num_edges == edge_index.shape[1]
    reference = scipy_adjacency(edge_index, num_nodes, weights).toarray()
    rebuilt = scipy_adjacency(graph.edge_index, num_nodes, graph.edge_weight).toarray()
    assert_matches(rebuilt, reference, atol=1e-5)
    # Rows are destinations: row v lists the sources of v's incoming edges, sorted.
    for v in range(num_nodes):
        row = graph.indices[graph.indptr[v] : graph.indptr[v + 1]]
        assert np.all(np.diff(row) >= 0)
        np.testing.assert_array_equal(np.sort(row), np.sort(edge_index[0][edge_index[1] == v]))


@given(edges=edge_lists())
def test_degrees_and_self_loops(edges):
    edge_index, num_nodes = edges
    graph = Graph.from_edge_index(edge_index, num_nodes)
    np.testing.assert_array_equal(graph.in_degree(), np.bincount(edge_index[1], minlength=num_nodes))
    np.testing.assert_array_equal(graph.out_degree(), np.bincount(edge_index[0], minlength=num_nodes))
    assert graph.num_self_loops == int(np.sum(edge_index[0] == edge_index[1]))
    assert graph.remove_self_loops().num_self_loops == 0


@given(edges=weighted_edge_lists())
def test_coalesce_sums_duplicates(edges):
    edge_index, num_nodes, weights = edges
    graph = Graph.from_edge_index(edge_index, num_nodes, weights).coalesce()
    reference = scipy_adjacency(edge_index, num_nodes, weights)
    reference.sum_duplicates()
    assert graph.num_edges == reference.nnz
    assert_matches(scipy_adjacency(graph.edge_index, num_nodes, graph.edge_weight).toarray(),
                   reference.toarray(), atol=1e-4)


@given(edges=edge_lists())
def test_symmetrize_gives_the_union_of_both_directions(edges):
    edge_index, num_nodes = edges
    graph = Graph.from_edge_index(edge_index, num_nodes).symmetrize()
    dense = scipy_adjacency(edge_index, num_nodes).toarray() > 0
    expected = dense | dense.T
    assert graph.is_symmetric()
    np.testing.assert_array_equal(scipy_adjacency(graph.edge_index, num_nodes).toarray() > 0, expected)
    assert graph.num_edges == int(expected.sum())


@given(edges=weighted_edge_lists(allow_empty_graph=False), weighted=st.booleans(),
       improved=st.booleans())
def test_gcn_norm_matches_pyg(edges, weighted, improved):
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    edge_index, num_nodes, weights = edges
    weights = weights.astype(np.float32) if weighted else None
    graph = Graph.from_edge_index(edge_index, num_nodes, weights)
    normalized = graph.gcn_norm(improved=improved)
    pyg_index, pyg_weight = gcn_norm(torch.from_numpy(edge_index.astype(np.int64)),
                                     None if weights is None else torch.from_numpy(weights),
                                     num_nodes, improved=improved, add_self_loops=True)
    expected = scipy_adjacency(pyg_index.numpy(), num_nodes, pyg_weight.numpy()).toarray()
    actual = scipy_adjacency(normalized.edge_index, num_nodes, normalized.edge_weight).toarray()
    assert_matches(actual, expected, atol=1e-5)


def test_gcn_norm_unweighted_is_symmetric_normalisation():
    edge_index = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    dense = scipy_adjacency(edge_index, 3).toarray() + np.eye(3)
    d = dense.sum(axis=1) ** -0.5
    expected = d[:, None] * dense * d[None, :]
    normalized = Graph.from_edge_index(edge_index, 3).gcn_norm()
    assert_matches(scipy_adjacency(normalized.edge_index, 3, normalized.edge_weight).toarray(),
                   expected, atol=1e-6)


def test_add_self_loops_remaining_keeps_existing_weight():
    graph = Graph.from_edge_index(np.array([[0, 1, 1], [0, 0, 1]]), 3, np.array([5.0, 1.0, 7.0]))
    looped = graph.add_self_loops(remaining=True)
    dense = scipy_adjacency(looped.edge_index, 3, looped.edge_weight).toarray()
    np.testing.assert_allclose(np.diag(dense), [5.0, 7.0, 1.0])
    assert looped.num_self_loops == 3


def test_from_sparse_reads_rows_as_destinations(rng):
    matrix = sp.random(6, 6, density=0.4, format="coo", random_state=3)
    graph = Graph.from_sparse(matrix)
    assert_matches(scipy_adjacency(graph.edge_index, 6, graph.edge_weight).toarray(),
                   matrix.toarray())
    with pytest.raises(GraphError, match="square"):
        Graph.from_sparse(sp.random(3, 4, density=0.5, format="csr"))
    with pytest.raises(GraphError, match="tocsr"):
        Graph.from_sparse(np.eye(3))


def test_batch_graphs_is_block_diagonal(rng):
    graphs = [Graph.from_edge_index(rng.integers(0, n, (2, 2 * n)), n) for n in (3, 1, 4)]
    graphs.append(Graph.from_edge_index(np.zeros((2, 0), np.int64), 2))
    joined, batch = batch_graphs(graphs)
    np.testing.assert_array_equal(batch, np.repeat(np.arange(4), [3, 1, 4, 2]))
    expected = sp.block_diag([scipy_adjacency(g.edge_index, g.num_nodes) for g in graphs]).toarray()
    np.testing.assert_array_equal(scipy_adjacency(joined.edge_index, 10).toarray(), expected)


@pytest.mark.parametrize(
    "edge_index, num_nodes, weight, message",
    [
        (np.array([[0, 3], [1, 0]]), 3, None, "node id 3"),
        (np.array([[0, -1], [1, 0]]), 3, None, "negative"),
        (np.array([0, 1, 2]), 3, None, "shape \\(2, num_edges\\)"),
        (np.array([[0.0, 1.0], [1.0, 0.0]]), 3, None, "integer dtype"),
        (np.array([[0, 1], [1, 0]]), 3, np.array([1.0, np.nan]), "finite"),
        (np.array([[0, 1], [1, 0]]), 3, np.array([1.0]), "edge_weight must have shape"),
        (np.array([[0, 1], [1, 0]]), -2, None, "non-negative"),
        (np.array([[0, 1], [1, 0]]), 2.5, None, "integer"),
    ],
)
def test_edge_index_validation(edge_index, num_nodes, weight, message):
    with pytest.raises(GraphError, match=message):
        Graph.from_edge_index(edge_index, num_nodes, weight)


def test_csr_validation():
    with pytest.raises(GraphError, match="non-decreasing"):
        Graph(np.array([0, 2, 1, 2]), np.array([0, 1]))
    with pytest.raises(GraphError, match="must be < 3"):
        Graph(np.array([0, 1, 2, 2]), np.array([0, 3]))
    with pytest.raises(GraphError, match="indptr\\[-1\\]"):
        Graph(np.array([0, 1, 2, 3]), np.array([0, 1]))
    graph = Graph(np.array([0, 1, 1], np.int32), np.array([1], np.int32))
    assert graph.indices.dtype == np.int32  # narrow ids are kept for the kernels


def test_subgraph_relabels_in_given_order():
    graph = Graph.from_edge_index(np.array([[0, 1, 2, 3], [1, 2, 3, 0]]), 4)
    sub = graph.subgraph([2, 1])
    np.testing.assert_array_equal(sub.edge_index, [[1], [0]])  # 1 -> 2 becomes 1 -> 0
