"""Mutation fuzzing of the artifact loader: one semantic edit per file (manifest fields,
attributes, shapes, offsets, dtypes), checksums recomputed. Every variant either fails to load
with ``ArtifactError``, or loads and then runs to the original outputs (or is an edit of
provenance only); nothing else escapes. ``bench/fuzz.py`` runs many more, in child processes.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from sparsegnn._mutations import harmless, mutate, retunes_an_op
from sparsegnn.artifact import ArtifactError
from sparsegnn.export import export_artifact
from sparsegnn.graph import Graph
from sparsegnn.nn import GAT, GCN, GIN, GraphSAGE
from sparsegnn.runtime import InputError, Session

CASES_PER_MODEL = 1000


def _artifacts(folder):
    torch.manual_seed(0)
    models = {"gcn": GCN(6, 8, 2, 3, input_norm="row_sum"), "sage": GraphSAGE(6, 8, 2, 3),
              "gat": GAT(6, 8, 2, 3, heads=2),
              "gin": GIN(6, 8, 2, pool="sum", head=[8], head_out_channels=3, norm="batch_norm")}
    paths = {}
    for name, model in models.items():
        with torch.no_grad():  # sparse first layers: CSR storage gets fuzzed too
            first = next(p for n, p in model.named_parameters() if n.endswith("weight"))
            first.mul_(torch.rand_like(first) > 0.6)
        paths[name] = export_artifact(model.eval(), folder / f"{name}.sgnn")
    return paths


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-artifacts")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 6)).astype(np.float32)
    graph = Graph.from_edge_index(rng.integers(0, 7, (2, 18)), 7)
    batch = np.array([0, 0, 0, 1, 1, 1, 1])
    runs = {}
    for name, path in _artifacts(folder).items():
        args = (x, graph, batch if name == "gin" else None)
        runs[name] = (path, args, Session(path).run(*args))
    return folder, runs


@pytest.mark.parametrize("name", ["gcn", "sage", "gat", "gin"])
def test_mutated_artifacts_are_rejected_or_harmless(name, originals):
    folder, runs = originals
    path, args, expected = runs[name]
    rng = random.Random(f"{name}-fuzz")
    outcomes = {"rejected": 0, "harmless": 0, "retuned": 0, "same outputs": 0}
    for case in range(CASES_PER_MODEL):
        target = folder / f"{name}-{case}.sgnn"
        where, edit, original, value = mutate(path, target, rng)
        try:
            session = Session(target)
        except ArtifactError:
            outcomes["rejected"] += 1
            continue
        if where == "manifest" and harmless(edit):
            outcomes["harmless"] += 1
            continue
        try:
            out = session.run(*args)
        except InputError:  # the edit changed what the model takes: refused at the boundary
            outcomes["rejected"] += 1
            continue
        assert out.shape == expected.shape and np.all(np.isfinite(out)), \
            f"{where} edit {edit} = {value!r} loaded and ran to {out.shape} or non-finite values"
        if where == "manifest" and retunes_an_op(edit, original, value):
            outcomes["retuned"] += 1  # a valid, different model
            continue
        assert np.allclose(out, expected, atol=1e-5), \
            f"{where} edit {edit}: {original!r} -> {value!r} loaded and changed the outputs"
        outcomes["same outputs"] += 1
    assert outcomes["rejected"] > CASES_PER_MODEL // 2, outcomes
