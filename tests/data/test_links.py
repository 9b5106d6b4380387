"""Edge splits for link prediction: what each part holds, and what message passing may see."""

import numpy as np
import pytest

from sparsegnn import data
from sparsegnn.data.dataset import DatasetError
from sparsegnn.data.links import pair_keys, random_link_split, sample_non_edges, undirected_pairs
from sparsegnn.graph import Graph


def _keys(pairs, n):
    return set(pair_keys(pairs, n).tolist())


def test_split_parts_partition_the_edges_and_negatives_are_non_edges():
    graph = data.load("synthetic").graph
    n = graph.num_nodes
    split = random_link_split(graph, 0.05, 0.10, seed=3)
    everything = _keys(undirected_pairs(graph), n)
    train, val, test = (_keys(getattr(split, p), n) for p in ("train", "val", "test"))
    assert train | val | test == everything and not (train & val or train & test or val & test)
    assert len(test) == round(0.10 * len(everything)) and len(val) == round(0.05 * len(everything))
    negatives = _keys(np.concatenate([split.val_negative, split.test_negative], axis=1), n)
    assert len(negatives) == len(val) + len(test)  # distinct, none shared between val and test
    assert not negatives & everything
    for pairs in (split.train, split.val, split.test, split.val_negative, split.test_negative):
        assert np.all(pairs[0] < pairs[1])
    # message passing sees the training pairs in both directions, and nothing held out
    seen = split.graph.edge_index
    assert split.graph.is_symmetric() and split.graph.num_edges == 2 * len(train)
    assert _keys(np.sort(seen, axis=0), n) == train


def test_split_is_seeded():
    graph = data.load("synthetic").graph
    first, again = random_link_split(graph, seed=1), random_link_split(graph, seed=1)
    other = random_link_split(graph, seed=2)
    np.testing.assert_array_equal(first.test, again.test)
    np.testing.assert_array_equal(first.test_negative, again.test_negative)
    assert not np.array_equal(first.test, other.test)


def test_labelled_parts_put_positives_first():
    split = random_link_split(data.load("synthetic").graph, seed=0)
    pairs, labels = split.labelled("test")
    assert pairs.shape[1] == labels.size == 2 * split.test.shape[1]
    np.testing.assert_array_equal(pairs[:, :split.test.shape[1]], split.test)
    assert labels[:split.test.shape[1]].all() and not labels[split.test.shape[1]:].any()
    with pytest.raises(ValueError, match="part"):
        split.labelled("train")


def test_self_loops_and_duplicates_count_once_and_never_as_pairs():
    edge_index = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 0, 2, 3, 2]])
    pairs = undirected_pairs(Graph.from_edge_index(edge_index, 5))
    np.testing.assert_array_equal(pairs, [[0, 2], [1, 3]])


def test_bad_fractions_and_graphs_too_small_are_refused():
    graph = data.load("synthetic").graph
    for val, test in ((0.5, 0.5), (-0.1, 0.1), (0.1, 0.0)):
        with pytest.raises(ValueError, match="shares"):
            random_link_split(graph, val, test)
    tiny = Graph.from_edge_index(np.array([[0, 1], [1, 0]]), 2)
    with pytest.raises(DatasetError, match="too small"):
        random_link_split(tiny)
    with pytest.raises(DatasetError, match="non-edges"):
        sample_non_edges(3, 3, np.array([1]), np.random.default_rng(0))
