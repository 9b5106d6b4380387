"""Every loader against the counts in shared/datasets/README.md and against PyG's own readers;
every loader's error cases. Held-back datasets are skipped by name when absent."""

import gzip
import io
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.data import DatasetError
from sparsegnn.data.registry import REGISTRY

from ..conftest import require_files
from ..reference import run_in_child

# name: (nodes, directed edges after cleaning, features, classes, graphs or None)
README_COUNTS = {
    "cora": (2708, 10556, 1433, 7, None),
    "citeseer": (3327, 9104, 3703, 6, None),
    "cora-npz": (2708, 2 * 5278, 1433, 7, None),
    "citeseer-npz": (3312, 2 * 4536, 3703, 6, None),
    "cora-ml": (2995, 2 * 8158, 2879, 7, None),
    "polblogs": (1490, 2 * 16715, 1490, 2, None),  # no features: one-hot ids
    "amazon-photo": (7650, 238162, 745, 8, None),
    "amazon-computers": (13752, 491722, 767, 10, None),
    "coauthor-cs": (18333, 163788, 6805, 15, None),
    "coauthor-physics": (34493, 495924, 8415, 5, None),
    "actor": (7600, 2 * 26659, 932, 5, None),
    "chameleon": (2277, 2 * 31371, 2325, 5, None),
    "chameleon-filtered": (890, 2 * 8854, 2325, 5, None),
    "squirrel": (5201, 2 * 198353, 2089, 5, None),
    "squirrel-filtered": (2223, 2 * 46998, 2089, 5, None),
    "cornell": (183, 2 * 277, 1703, 5, None),
    "texas": (183, 2 * 279, 1703, 5, None),
    "wisconsin": (251, 2 * 450, 1703, 5, None),
    "minesweeper": (10000, 2 * 39402, 7, 2, None),
    "tolokers": (11758, 2 * 519000, 10, 2, None),
    "mutag": (3371, 2 * 3721, 7, 2, 188),
    "ptc-mr": (4915, 2 * 5054, 18, 2, 344),
    "proteins": (43471, 2 * 81044, 3, 2, 1113),
    "enzymes": (19580, 2 * 37282, 3, 6, 600),
    "nci1": (122747, 2 * 132753, 37, 2, 4110),
    "nci109": (122494, 2 * 132604, 38, 2, 4127),
    "imdb-binary": (19773, 2 * 96531, None, 2, 1000),
    "imdb-multi": (19502, 2 * 98903, None, 3, 1500),
    "ogbg-molbace": (51577, 2 * 55768, 174, 2, 1513),
    "ogbg-molbbbp": (49068, 2 * 52921, 174, 2, 2039),
    "ogbg-molesol": (14991, 2 * 15428, 174, 0, 1128),
    "ogbg-molfreesolv": (5600, 2 * 5385, 174, 0, 642),
}
CLASS_COUNTS = {
    "cora": [351, 217, 418, 818, 426, 298, 180],
    "cora-npz": [298, 418, 818, 426, 217, 180, 351],
    "amazon-computers": [436, 2142, 1414, 542, 5158, 308, 487, 818, 2156, 291],
    "mutag": [63, 125],
    "proteins": [663, 450],
    "ogbg-molbace": [822, 691],
}


# name: (users, items, train, valid, test), from the datasets' README
RECSYS_COUNTS = {
    "gowalla": (29858, 40981, 719081, 91047, 217242),
    "ml-1m": (6039, 3628, 590733, 80897, 164848),
}


def test_every_registered_file_dataset_has_expected_counts_listed():
    file_sets = {name for name, spec in REGISTRY.items() if spec.kind not in ("synthetic", "recsys")}
    assert file_sets == set(README_COUNTS)
    assert {name for name, spec in REGISTRY.items() if spec.kind == "recsys"} == set(RECSYS_COUNTS)


@pytest.mark.parametrize("name", sorted(RECSYS_COUNTS))
def test_interaction_sets_match_the_datasets_readme(name, datasets_root):
    sets = data.load_recommendation(name, datasets_root)
    counts = (sets.num_users, sets.num_items, sets.train.nnz, sets.valid.nnz, sets.test.nnz)
    assert counts == RECSYS_COUNTS[name]
    # against a plain reading of the text: every listed pair, in its part
    folder = datasets_root / REGISTRY[name].location
    for part in ("train", "test"):
        lines = (folder / f"{part}.txt").read_text().split("\n")
        for line in lines[:: max(len(lines) // 50, 1)]:
            if line.strip():
                user, *items = (int(v) for v in line.split())
                matrix = sets.part(part)
                row = matrix.indices[matrix.indptr[user]:matrix.indptr[user + 1]]
                assert row.tolist() == sorted(set(items))
    with pytest.raises(DatasetError, match="user-item interaction set"):
        data.load(name, datasets_root)


@pytest.mark.parametrize("content, message", [
    ("0 1 2\n0 3\n", "second line"),
    ("0 1 x\n", "integer ids"),
    ("0 -1\n", r"\[0, 2\*\*31\)"),
    ("0 99999999999\n", r"\[0, 2\*\*31\)"),
    ("0 2000000000\n", "must be dense"),
    ("1500000000 1\n", "must be dense"),
])
def test_malformed_interaction_files_are_refused_naming_them(tmp_path, content, message):
    for part in ("valid", "test"):
        (tmp_path / f"{part}.txt").write_text("")
    (tmp_path / "train.txt").write_text(content)
    with pytest.raises(DatasetError, match=message):
        data.load_recommendation(tmp_path)


def test_a_pair_in_two_parts_is_refused(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2\n1 0\n")
    (tmp_path / "valid.txt").write_text("")
    (tmp_path / "test.txt").write_text("1 0 2\n")
    with pytest.raises(DatasetError, match="in both train and test"):
        data.load_recommendation(tmp_path)


@pytest.mark.parametrize("name", sorted(README_COUNTS))
def test_counts_match_the_datasets_readme(name, datasets_root):
    require_files(datasets_root, *REGISTRY[name].files())
    dataset = data.load(name, datasets_root)
    nodes, edges, features, classes, graphs = README_COUNTS[name]
    assert dataset.num_nodes == nodes
    assert dataset.graph.num_edges == edges
    assert dataset.graph.num_self_loops == 0
    assert dataset.graph.is_symmetric()
    if features is not None:
        assert dataset.num_features == features
    assert dataset.num_classes == classes
    if graphs is not None:
        assert dataset.num_graphs == graphs
    if name in CLASS_COUNTS:
        labels = dataset.y[dataset.y >= 0]
        np.testing.assert_array_equal(np.bincount(labels), CLASS_COUNTS[name])


def test_planetoid_cora_public_split(datasets_root):
    cora = data.load("cora", datasets_root)
    split = cora.splits[0]
    assert (split.train.size, split.val.size, split.test.size) == (140, 500, 1000)
    np.testing.assert_array_equal(split.train, np.arange(140))
    np.testing.assert_array_equal(split.val, np.arange(140, 640))
    assert cora.x.nnz == 49216


@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_planetoid_matches_pyg_reader(name, datasets_root, tmp_path):
    from torch_geometric.io import read_planetoid_data

    raw = tmp_path / "raw"
    raw.mkdir()
    for path in REGISTRY[name].files():
        shutil.copy(datasets_root / path, raw)
    reference = read_planetoid_data(str(raw), name)
    ours = data.load(name, datasets_root)
    np.testing.assert_array_equal(ours.dense_x(), reference.x.numpy())
    labelled = ours.y >= 0
    np.testing.assert_array_equal(ours.y[labelled], reference.y.numpy()[labelled])
    np.testing.assert_array_equal(ours.graph.edge_index, reference.edge_index.numpy())
    split = ours.splits[0]
    for part, mask in (("train", reference.train_mask), ("val", reference.val_mask),
                       ("test", reference.test_mask)):
        np.testing.assert_array_equal(getattr(split, part), np.flatnonzero(mask.numpy()))


@pytest.mark.parametrize("name", ["mutag", "proteins", "imdb-binary"])
def test_tu_matches_pyg_reader(name, datasets_root):
    from torch_geometric.io import read_tu_data

    folder = datasets_root / REGISTRY[name].location
    reference, slices, _sizes = read_tu_data(str(folder), folder.name)
    ours = data.load(name, datasets_root)
    # PyG stores each graph's edges with graph-local ids: shift them back to global ids.
    edge_counts = np.diff(slices["edge_index"].numpy())
    offsets = np.repeat(ours.ptr[:-1], edge_counts)
    global_edges = reference.edge_index.numpy() + offsets
    order = np.lexsort((global_edges[0], global_edges[1]))
    np.testing.assert_array_equal(ours.graph.edge_index, global_edges[:, order])
    np.testing.assert_array_equal(ours.y, reference.y.numpy())
    if reference.x is not None:  # node-label one-hot (PyG appends attributes first if any)
        labels = reference.x.numpy()[:, -ours.num_features:]
        np.testing.assert_array_equal(ours.dense_x(), labels)


def test_npz_matches_pyg_reader(datasets_root):
    from torch_geometric.io import read_npz

    reference = read_npz(str(datasets_root / "npz" / "cora.npz"))
    ours = data.load("cora-npz", datasets_root)
    np.testing.assert_array_equal(ours.dense_x(), reference.x.numpy())
    np.testing.assert_array_equal(ours.y, reference.y.numpy())
    expected = torch.sparse_coo_tensor(reference.edge_index, torch.ones(reference.num_edges))
    assert ours.graph.num_edges == reference.num_edges
    got = torch.sparse_coo_tensor(torch.from_numpy(ours.graph.edge_index),
                                  torch.ones(ours.graph.num_edges))
    assert torch.equal(expected.coalesce().indices(), got.coalesce().indices())


def test_npz_split_is_twenty_per_class_and_seeded(datasets_root):
    first = data.load("amazon-photo", datasets_root, seed=0).splits[0]
    again = data.load("amazon-photo", datasets_root, seed=0).splits[0]
    other = data.load("amazon-photo", datasets_root, seed=1).splits[0]
    labels = data.load("amazon-photo", datasets_root).y
    np.testing.assert_array_equal(np.bincount(labels[first.train]), [20] * 8)
    np.testing.assert_array_equal(np.bincount(labels[first.val]), [30] * 8)
    np.testing.assert_array_equal(first.train, again.train)
    assert not np.array_equal(first.train, other.train)
    assert np.intersect1d(first.train, first.test).size == 0
    assert first.train.size + first.val.size + first.test.size == labels.size


def test_heterophilous_keeps_ten_fixed_splits(datasets_root):
    roman = data.load("texas", datasets_root)
    assert len(roman.splits) == 10
    with np.load(datasets_root / "heterophilous" / "texas.npz") as raw:
        for i, split in enumerate(roman.splits):
            np.testing.assert_array_equal(split.train, np.flatnonzero(raw["train_masks"][i]))
            np.testing.assert_array_equal(split.test, np.flatnonzero(raw["test_masks"][i]))


def test_tu_folds_are_stratified_and_disjoint(datasets_root):
    mutag = data.load("mutag", datasets_root)
    tests = np.concatenate([split.test for split in mutag.splits])
    np.testing.assert_array_equal(np.sort(tests), np.arange(188))
    for split in mutag.splits:
        assert np.intersect1d(split.train, split.test).size == 0
        assert np.intersect1d(split.val, split.test).size == 0
        assert abs(mutag.y[split.test].mean() - mutag.y.mean()) < 0.1


def test_ogb_adds_reverse_edges_and_uses_scaffold_split(datasets_root):
    bace = data.load("ogbg-molbace", datasets_root)
    split = bace.splits[0]
    assert (split.train.size, split.val.size, split.test.size) == (1210, 151, 152)
    assert bace.graph.is_symmetric()
    # each atom row of the one-hot holds exactly nine ones (one per categorical feature)
    np.testing.assert_array_equal(np.diff(bace.x.indptr), 9)
    esol = data.load("ogbg-molesol", datasets_root)
    assert esol.task == data.GRAPH_REGRESSION and esol.y.dtype == np.float32


def test_graph_at_returns_each_block(datasets_root):
    mutag = data.load("mutag", datasets_root)
    graph, x = mutag.graph_at(5)
    ptr = mutag.ptr
    assert graph.num_nodes == ptr[6] - ptr[5] == x.shape[0]
    assert graph.edge_index.max() < graph.num_nodes
    joined, features, batch = mutag.select_graphs([5, 7])
    assert joined.num_nodes == (ptr[6] - ptr[5]) + (ptr[8] - ptr[7]) == features.shape[0]
    np.testing.assert_array_equal(np.bincount(batch), [ptr[6] - ptr[5], ptr[8] - ptr[7]])


def test_load_by_path_detects_the_format(datasets_root):
    assert data.load(datasets_root / "tu" / "MUTAG").num_graphs == 188
    assert data.load(datasets_root / "planetoid").name == "citeseer"  # first ind.*.x found
    assert data.load(datasets_root / "heterophilous" / "texas.npz").num_nodes == 183
    assert data.load(datasets_root / "ogb" / "ogbg_molesol").num_graphs == 1128


def test_unknown_name_and_missing_root_give_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'no-such-set'"):
        data.load("no-such-set")
    with pytest.raises(DatasetError, match="not found .*planetoid/ind.cora.x"):
        data.load("cora", tmp_path)


# ----------------------------------------------------------------------------- malformed files
def _copy_dataset(name: str, root: Path, destination: Path) -> Path:
    for relative in REGISTRY[name].files():
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / relative, target)
    return destination


class _Exploit:
    def __reduce__(self):

        return (os.system, ("echo pwned",))


def test_planetoid_refuses_pickles_that_import_anything_else(datasets_root, tmp_path):
    root = _copy_dataset("cora", datasets_root, tmp_path)
    (root / "planetoid" / "ind.cora.y").write_bytes(pickle.dumps(_Exploit(), protocol=2))
    with pytest.raises(DatasetError, match=r"ind\.cora\.y.*refusing to load global (posix|os)\.system"):
        data.load("cora", root)


def test_allowed_names_cannot_forge_an_object_array(datasets_root, tmp_path):
    """numpy.dtype and _reconstruct, both allow-listed, once built a structured dtype with an
    object field and no list-pickle flag, so that raw bytes became object pointers (4 of 4 loads
    crashed). Run in a child: a regression must fail this test, not kill the run."""
    root = _copy_dataset("cora", datasets_root, tmp_path)
    code = f"""
import pickle, numpy as np
from numpy._core.multiarray import _reconstruct

class ForgedDtype:
    def __reduce__(self):
        return (np.dtype, ("V8", False, True),
                (3, "|", None, ("a",), {{"a": (np.dtype("O"), 0)}}, 8, 1, 0))

class ForgedArray:
    def __reduce__(self):
        return (_reconstruct, (np.ndarray, (0,), b"b"),
                (1, (140, 7), ForgedDtype(), False, b"\\x41" * 8 * 140 * 7))

with open({str(root / "planetoid" / "ind.cora.y")!r}, "wb") as handle:
    handle.write(pickle.dumps(ForgedArray(), protocol=2))
from sparsegnn import data
from sparsegnn.data import DatasetError
try:
    print(repr(data.load("cora", {str(root)!r}).y))
except DatasetError as exc:
    print("DatasetError:", exc)
"""
    stdout = run_in_child(code)
    assert "DatasetError:" in stdout, stdout


def test_planetoid_truncated_file_names_the_file(datasets_root, tmp_path):
    root = _copy_dataset("cora", datasets_root, tmp_path)
    path = root / "planetoid" / "ind.cora.allx"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match=r"ind\.cora\.allx"):
        data.load("cora", root)


def test_planetoid_wrong_shapes_and_ids(datasets_root, tmp_path):
    root = _copy_dataset("cora", datasets_root, tmp_path)
    ty = root / "planetoid" / "ind.cora.ty"
    original = ty.read_bytes()
    ty.write_bytes(pickle.dumps(np.zeros((999, 7), np.int32), protocol=2))
    with pytest.raises(DatasetError, match=r"ind\.cora\.tx.*labels of shape \(999, 7\)"):
        data.load("cora", root)
    ty.write_bytes(original)
    graph = root / "planetoid" / "ind.cora.graph"
    graph.write_bytes(pickle.dumps({0: [1, 99999]}, protocol=2))
    with pytest.raises(DatasetError, match=r"ind\.cora\.graph.*99999"):
        data.load("cora", root)
    graph.write_bytes(pickle.dumps({0: [1, -4]}, protocol=2))
    with pytest.raises(DatasetError, match=r"ind\.cora\.graph.*negative"):
        data.load("cora", root)


def _write_npz(path: Path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def test_npz_errors_name_the_file(tmp_path):
    good = dict(adj_data=np.ones(2, np.float32), adj_indices=np.array([1, 0]),
                adj_indptr=np.array([0, 1, 2]), adj_shape=np.array([2, 2]),
                attr_data=np.ones(2, np.float32), attr_indices=np.array([0, 1]),
                attr_indptr=np.array([0, 1, 2]), attr_shape=np.array([2, 2]),
                labels=np.array([0, 1]))
    path = tmp_path / "tiny.npz"
    _write_npz(path, **good)
    assert data.load(path).num_nodes == 2
    _write_npz(path, **{**good, "adj_indices": np.array([1, 7])})
    with pytest.raises(DatasetError, match=r"tiny\.npz.*adj.*must be < 2"):
        data.load(path)
    _write_npz(path, **{**good, "labels": np.array([0, 1, 1])})
    with pytest.raises(DatasetError, match=r"tiny\.npz: labels must be 2 integers"):
        data.load(path)
    _write_npz(path, **{k: v for k, v in good.items() if k != "labels"})
    with pytest.raises(DatasetError, match=r"tiny\.npz: missing member labels"):
        data.load(path)
    _write_npz(path, **{**good, "class_names": np.array([_Exploit()], dtype=object)})
    with pytest.raises(DatasetError, match=r"tiny\.npz.*refusing"):
        data.load(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"tiny\.npz: unreadable npz"):
        data.load(path)


def test_heterophilous_errors(tmp_path):
    masks = np.zeros((10, 3), bool)
    good = dict(node_features=np.ones((3, 2), np.float32), node_labels=np.array([0, 1, 0]),
                edges=np.array([[0, 1], [1, 2]]), train_masks=masks, val_masks=masks,
                test_masks=masks)
    path = tmp_path / "het.npz"
    _write_npz(path, **{**good, "edges": np.array([[0, 5]])})
    with pytest.raises(DatasetError, match=r"het\.npz: bad edges.*5"):
        data.load(path)
    _write_npz(path, **{**good, "train_masks": np.zeros((10, 4), bool)})
    with pytest.raises(DatasetError, match=r"het\.npz: split masks"):
        data.load(path)
    _write_npz(path, **{**good, "node_features": np.full((3, 2), np.nan, np.float32)})
    with pytest.raises(DatasetError, match=r"het\.npz: node_features hold NaN"):
        data.load(path)


def test_tu_errors_name_the_file(datasets_root, tmp_path):
    root = _copy_dataset("mutag", datasets_root, tmp_path)
    folder = root / "tu" / "MUTAG"
    edges = folder / "MUTAG_A.txt"
    original = edges.read_text()
    edges.write_text(original[: len(original) // 2].rsplit("\n", 1)[0] + "\n12, ")
    with pytest.raises(DatasetError, match=r"MUTAG_A\.txt: malformed"):
        data.load("mutag", root)
    edges.write_text(original + "1, 99999\n")
    with pytest.raises(DatasetError, match=r"MUTAG_A\.txt: node ids"):
        data.load("mutag", root)
    edges.write_text(original + "1, 3371\n")
    with pytest.raises(DatasetError, match=r"MUTAG_A\.txt: an edge joins two different graphs"):
        data.load("mutag", root)
    edges.write_text(original)
    labels = folder / "MUTAG_graph_labels.txt"
    labels.write_text("1\n-1\n")
    with pytest.raises(DatasetError, match=r"graph_indicator\.txt: graph ids must lie in 1\.\.2 "
                                           r"\(MUTAG_graph_labels\.txt has 2 lines\)"):
        data.load("mutag", root)


def test_ogb_errors_name_the_file(datasets_root, tmp_path):
    root = _copy_dataset("ogbg-molfreesolv", datasets_root, tmp_path)
    raw = root / "ogb" / "ogbg_molfreesolv" / "raw"
    edge_file = raw / "edge.csv.gz"
    original = edge_file.read_bytes()
    edge_file.write_bytes(original[: len(original) // 2])
    with pytest.raises(DatasetError, match=r"edge\.csv\.gz"):
        data.load("ogbg-molfreesolv", root)
    with gzip.open(edge_file, "wt") as handle:
        handle.write("0,1\n" * 5384 + "0,500\n")
    with pytest.raises(DatasetError, match=r"edge\.csv\.gz: an edge index lies outside its own graph"):
        data.load("ogbg-molfreesolv", root)
    edge_file.write_bytes(original)
    with gzip.open(raw / "num-node-list.csv.gz", "wt") as handle:
        handle.write("3\n")
    with pytest.raises(DatasetError, match="disagree on the number of graphs"):
        data.load("ogbg-molfreesolv", root)


def test_zip_with_two_members_is_rejected(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.npz", b"x")
        archive.writestr("b.npz", b"y")
    with pytest.raises(DatasetError, match=r"two\.zip: expected one \.npz"):
        data.load(path)


def test_a_text_table_bomb_is_refused_below_its_parsing_cost(datasets_root, tmp_path):
    """200 MB of one-column rows in a 200 KB gzip passed the 256 MiB floor that arrays get, and
    parsing it peaked at 1.7 GB: text tables have a floor of their own (32 MiB)."""
    root = _copy_dataset("ogbg-molfreesolv", datasets_root, tmp_path / "ogb-copy")
    counts = root / "ogb" / "ogbg_molfreesolv" / "raw" / "num-node-list.csv.gz"
    counts.write_bytes(gzip.compress(b"1\n" * 100_000_000, 9))
    with pytest.raises(DatasetError, match=r"num-node-list\.csv\.gz: the gzip stream decomp"):
        data.load("ogbg-molfreesolv", root)


def test_decompression_bombs_are_refused(datasets_root, tmp_path, monkeypatch):
    """A 3.2 MB npz and a 1.2 MB gzipped OGB edge file each expanded past 3.4 GB: reads stop at
    a limit derived from the file's size (lowered here, so that a small bomb shows it)."""
    from sparsegnn.data import npz

    monkeypatch.setattr(npz, "MIN_EXPANSION_BYTES", 1 << 20)
    monkeypatch.setattr(npz, "MIN_TEXT_EXPANSION_BYTES", 1 << 20)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.npy", b"\0" * (8 << 20))
    with pytest.raises(DatasetError, match=r"bomb\.npz: member labels\.npy decompresses"):
        data.load(path)
    root = _copy_dataset("ogbg-molfreesolv", datasets_root, tmp_path / "ogb-copy")
    edge_file = root / "ogb" / "ogbg_molfreesolv" / "raw" / "edge.csv.gz"
    with gzip.open(edge_file, "wb") as handle:
        handle.write(b"0,1\n" * (2 << 20))
    with pytest.raises(DatasetError, match=r"edge\.csv\.gz: the gzip stream decompresses"):
        data.load("ogbg-molfreesolv", root)


def test_absurd_ids_and_labels_are_errors_not_allocations(datasets_root, tmp_path):
    """A test id of 3*10**8 allocated 3.4 GB; a label of 10**12 made 10**12 classes, and a TU
    node label of 10**12 as many feature columns."""
    root = _copy_dataset("cora", datasets_root, tmp_path)
    index = root / "planetoid" / "ind.cora.test.index"
    ids = index.read_text().split()
    index.write_text("\n".join([*ids[:-1], str(3 * 10**8)]) + "\n")
    with pytest.raises(DatasetError, match=r"test\.index: test ids span"):
        data.load("cora", root)
    masks = np.zeros((10, 3), bool)
    path = tmp_path / "het.npz"
    _write_npz(path, node_features=np.ones((3, 2), np.float32),
               node_labels=np.array([0, 1, 10**12]), edges=np.array([[0, 1], [1, 2]]),
               train_masks=masks, val_masks=masks, test_masks=masks)
    with pytest.raises(DatasetError, match="classes for 3 labels"):
        data.load(path)
    tu = _copy_dataset("mutag", datasets_root, tmp_path / "tu-copy") / "tu" / "MUTAG"
    labels = tu / "MUTAG_node_labels.txt"
    lines = labels.read_text().split()
    labels.write_text("\n".join([*lines[:-1], str(10**12)]) + "\n")
    with pytest.raises(DatasetError, match="node labels span"):
        data.load("mutag", tu.parents[1])


@pytest.mark.parametrize("escaped", ["GraphError", "SparseFormatError", "ValueError",
                                     "OverflowError"])
def test_loader_failures_are_dataset_errors(escaped, tmp_path, monkeypatch):
    """Whatever deeper check (graph, CSR, numpy) catches a malformed file first, the caller of
    ``data.load`` gets a DatasetError naming the file (GraphError, ValueError and
    SparseFormatError once escaped)."""
    from sparsegnn import graph, sparse
    from sparsegnn.data import npz

    errors = {"GraphError": graph.GraphError, "SparseFormatError": sparse.SparseFormatError,
              "ValueError": ValueError, "OverflowError": OverflowError}

    def failing_loader(*args, **kwargs):
        raise errors[escaped]("caught deep inside")

    monkeypatch.setattr(npz, "load_shchur_npz", failing_loader)
    path = tmp_path / "tiny.npz"
    _write_npz(path, labels=np.array([0, 1]))
    with pytest.raises(DatasetError, match=r"tiny\.npz.*caught deep inside"):
        data.load(path)
