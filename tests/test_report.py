"""Pictures of what was pruned (sparsegnn.report): the data behind them against brute force,
and a page that a strict HTML5 parser accepts and that loads nothing from outside."""

import base64
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.export import export_artifact
from sparsegnn.graph import Graph
from sparsegnn.nn import TrainConfig, fit
from sparsegnn.nn.recipes import make_model
from sparsegnn.nn.train import seed_everything
from sparsegnn.prune import MaskSet, magnitude, prunable_weights, prune_edges, prune_weights
from sparsegnn.prune.edges import random_edge_scores
from sparsegnn.report import (
    MAX_CELLS,
    PruneReport,
    _coarse,
    degrees,
    ego_net,
    feature_labels,
    from_artifact,
    whole_graph,
    write_report,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _random_graph(rng, nodes=60, edges=200):
    src, dst = rng.integers(0, nodes, size=(2, edges))
    both = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], axis=1)
    return Graph.from_edge_index(both, nodes)


def _pairs(graph):
    return {(min(u, v), max(u, v)) for u, v in zip(graph.indices.tolist(), graph.dst.tolist())
            if u != v}


def test_degrees_count_distinct_neighbours_without_loops():
    rng = np.random.default_rng(0)
    graph = _random_graph(rng)
    expected = np.zeros(graph.num_nodes, np.int64)
    for u, v in _pairs(graph):
        expected[u] += 1
        expected[v] += 1
    np.testing.assert_array_equal(degrees(graph), expected)


def _hood(graph, centre, hops):
    neighbours = {}
    for u, v in _pairs(graph):
        neighbours.setdefault(u, set()).add(v)
        neighbours.setdefault(v, set()).add(u)
    seen = frontier = {centre}
    for _ in range(hops):
        frontier = {w for u in frontier for w in neighbours.get(u, ())} - seen
        seen = seen | frontier
    return sorted(seen)


@pytest.mark.parametrize("max_nodes", [200, 25])
def test_ego_net_splits_the_neighbourhood_into_kept_and_pruned_edges(max_nodes):
    rng = np.random.default_rng(1)
    before = _random_graph(rng)
    after = prune_edges(before, random_edge_scores(before, 0), 0.5)
    labels = rng.integers(0, 3, before.num_nodes)
    small = ego_net(before, after, labels, max_nodes=max_nodes, centre=5)
    hood = _hood(before, 5, 2)
    if len(hood) > max_nodes:
        hood = _hood(before, 5, 1)
    local = {node: i for i, node in enumerate(hood)}
    assert small.num_nodes == len(hood) and small.centre == local[5]
    kept = {tuple(sorted(e)) for e in small.kept.T.tolist()}
    pruned = {tuple(sorted(e)) for e in small.pruned.T.tolist()}
    inside = {(local[u], local[v]) for u, v in _pairs(before) if u in local and v in local}
    kept_expected = {(local[u], local[v]) for u, v in _pairs(after) if u in local and v in local}
    assert kept == kept_expected and pruned == inside - kept_expected and pruned
    np.testing.assert_array_equal(small.labels, labels[hood])
    chosen = ego_net(before, after, labels, max_nodes=max_nodes)  # the centre it picks
    assert chosen.num_nodes <= max_nodes and chosen.pruned.shape[1] > 0


def test_coarse_cells_hold_the_share_kept():
    rng = np.random.default_rng(2)
    small = rng.random((10, 30)) < 0.3
    np.testing.assert_array_equal(_coarse(small), small.astype(np.float32))
    large = rng.random((40, 3 * MAX_CELLS + 5)) < 0.2
    coarse = _coarse(large)
    assert coarse.shape[1] <= MAX_CELLS
    step = -(-large.shape[1] // MAX_CELLS)
    for column in (0, 7, coarse.shape[1] - 1):
        block = large[:, column * step:(column + 1) * step]
        np.testing.assert_allclose(coarse[:, column], block.mean(axis=1), rtol=1e-6)


def _check_page(page: str, images: int) -> None:
    html5lib = pytest.importorskip("html5lib", reason="html5lib validates the page (dev extra)")
    html5lib.HTMLParser(strict=True).parse(page)  # raises on any parse error
    assert "<script" not in page.lower()
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert len(sources) == images and all(s.startswith("data:image/png;base64,") for s in sources)
    for source in sources:
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG)
    assert "http://" not in page and "https://" not in page and "url(" not in page


def test_report_writes_every_picture_and_a_self_contained_page(tmp_path):
    rng = np.random.default_rng(3)
    before = _random_graph(rng)
    after = prune_edges(before, random_edge_scores(before, 1), 0.4)
    report = PruneReport(
        title="gcn <pruned> & tested", table=[("test accuracy", "81.0 %", "80.5 %")],
        masks={"convs.0.lin.weight": rng.random((16, 700)) < 0.05,
               "convs.1.lin.weight": rng.random((7, 16)) < 0.5},
        channels=[("hidden 0", 16, 8, "channels")],
        degrees_before=degrees(before), degrees_after=degrees(after),
        small_graph=ego_net(before, after, rng.integers(0, 3, before.num_nodes)),
        notes=["a note with <angle> brackets"])
    paths = write_report(report, tmp_path / "report")
    names = {p.name for p in paths}
    assert names == {"layers.png", "masks.png", "channels.png", "degrees.png", "graph.png",
                     "index.html", "report.json"}
    for path in paths:
        if path.suffix == ".png":
            assert path.read_bytes().startswith(PNG)
    page = (tmp_path / "report" / "index.html").read_text()
    _check_page(page, images=5)
    assert "gcn &lt;pruned&gt; &amp; tested" in page and "&lt;angle&gt;" in page
    summary = json.loads((tmp_path / "report" / "report.json").read_text())
    assert summary["layers"]["convs.1.lin.weight"]["kept"] == int(report.masks[
        "convs.1.lin.weight"].sum())


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")


@pytest.mark.skipif(BROWSER is None, reason="no headless browser here (apt-get install "
                                            "chromium); the page is still checked by html5lib")
def test_the_page_renders_in_a_headless_browser(tmp_path):
    """A real browser loads the page offline and lays out every picture."""
    rng = np.random.default_rng(4)
    report = PruneReport(title="browser check", table=[("size", "10 KiB", "2 KiB")],
                         masks={"w": rng.random((8, 8)) < 0.5})
    write_report(report, tmp_path)
    page = (tmp_path / "index.html").as_uri()
    common = [BROWSER, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
              f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert dom.count("<img") == 2 and "browser check" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=800,1200", page],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes().startswith(PNG)


def test_a_molecule_is_drawn_whole():
    mutag = data.load("synthetic-graphs")
    graph, x = mutag.graph_at(0)
    small = whole_graph(graph, feature_labels(x), "graph 0", "feature")
    dense = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    np.testing.assert_array_equal(small.labels, dense.argmax(axis=1))
    assert small.pruned.shape == (2, 0)
    assert {tuple(e) for e in small.kept.T.tolist()} == _pairs(graph)


def test_inspect_report_matches_the_artifact(tmp_path):
    synthetic = data.load("synthetic")
    seed_everything(0)
    model = make_model("gcn", synthetic)
    fit(model, synthetic, 0, TrainConfig(epochs=5, progress=False))
    masks = prune_weights(model, magnitude(model), 0.8)
    masks.apply(model)
    MaskSet.bake(model)
    path = export_artifact(model.eval(), tmp_path / "m.sgnn", graph=synthetic.graph)
    report = from_artifact(path)
    kept = sum(int(mask.sum()) for mask in report.masks.values())
    nonzero = sum(int(torch.count_nonzero(m.weight)) for m in prunable_weights(model).values())
    assert kept == nonzero
    assert sorted(m.size for m in report.masks.values()) == sorted(
        m.weight.numel() for m in prunable_weights(model).values())
    np.testing.assert_array_equal(report.degrees_after, degrees(synthetic.graph))
    paths = write_report(report, tmp_path / "plots")
    _check_page(paths[-2].read_text(), images=len([p for p in paths if p.suffix == ".png"]))
