"""The runtime's promises: hostile inputs raise InputError (never crash), concurrent runs
match serial ones, and it imports with torch, scipy and onnx blocked."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.export import export_artifact
from sparsegnn.graph import Graph
from sparsegnn.nn.recipes import make_model
from sparsegnn.runtime import InputError, Session

from ..reference import run_in_threads


@pytest.fixture(scope="module")
def node_session(tmp_path_factory):
    dataset = data.load("synthetic")
    torch.manual_seed(0)
    model = make_model("gat", dataset).eval()
    path = export_artifact(model, tmp_path_factory.mktemp("m") / "gat.sgnn", graph=dataset.graph)
    return Session(path), dataset


@pytest.fixture(scope="module")
def graph_session(tmp_path_factory):
    dataset = data.load("synthetic-graphs")
    torch.manual_seed(0)
    model = make_model("gin", dataset).eval()
    return Session(export_artifact(model, tmp_path_factory.mktemp("g") / "gin.sgnn")), dataset


def test_metadata_is_exposed(node_session):
    session, dataset = node_session
    assert session.inputs[0].name == "x" and session.inputs[0].shape == (None, dataset.num_features)
    assert session.outputs[0].shape == (None, dataset.num_classes)
    assert session.metadata["model_config"]["kind"] == "gat"


@pytest.mark.parametrize("make_x, message", [
    (lambda x: x[:, :-1], "features, the model expects"),
    (lambda x: x[0], "2-D"),
    (lambda x: np.where(x > 0, np.nan, x), "NaN"),
    (lambda x: x.astype(str), "numeric"),
])
def test_bad_features(node_session, make_x, message):
    session, dataset = node_session
    with pytest.raises(InputError, match=message):
        session.run(make_x(dataset.dense_x()), dataset.graph)


@pytest.mark.parametrize("make_graph, message", [
    (lambda g, n: np.array([[0, n], [1, 0]]), "node ids must lie"),
    (lambda g, n: np.array([[0, -3], [1, 0]]), "node ids must lie"),
    (lambda g, n: np.array([[0.0, 1.0], [1.0, 0.0]]), "integers"),
    (lambda g, n: np.array([0, 1, 2]), "shape \\(2, num_edges\\)"),
    (lambda g, n: (g.indptr[::-1].copy(), g.indices), "graph:"),
    (lambda g, n: (g.indptr, g.indices, np.full(g.num_edges, np.nan)), "finite"),
    (lambda g, n: (g.indptr,), "CSR graph is"),
    (lambda g, n: Graph.from_edge_index(np.zeros((2, 0), np.int64), n + 1), "nodes, x has"),
])
def test_bad_graphs(node_session, make_graph, message):
    session, dataset = node_session
    with pytest.raises(InputError, match=message):
        session.run(dataset.x, make_graph(dataset.graph, dataset.num_nodes))


def test_bad_batches(graph_session):
    session, dataset = graph_session
    graph, x, batch = dataset.select_graphs([0, 1, 2])
    with pytest.raises(InputError, match="sorted"):
        session.run(x, graph, batch[::-1].copy())
    with pytest.raises(InputError, match="batch must be"):
        session.run(x, graph, batch[:-1])
    assert session.run(x, graph, batch).shape == (3, dataset.num_classes)
    assert session.run(x, graph).shape == (1, dataset.num_classes)  # no batch: one graph


def test_node_model_rejects_a_batch_and_needs_a_graph(node_session, tmp_path):
    session, dataset = node_session
    with pytest.raises(InputError, match="takes no batch"):
        session.run(dataset.x, dataset.graph, np.zeros(dataset.num_nodes, np.int64))
    model = make_model("gcn", dataset).eval()
    without_graph = Session(export_artifact(model, tmp_path / "nograph.sgnn"))
    with pytest.raises(InputError, match="stores no graph"):
        without_graph.run(dataset.x)


def test_concurrent_runs_match_serial(node_session):
    session, dataset = node_session
    expected = session.run(dataset.x)
    results = run_in_threads(lambda: session.run(dataset.x), threads=4, repeats=3)
    assert len(results) == 12
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_runtime_imports_without_torch_scipy_onnx(node_session, tmp_path):
    session, dataset = node_session
    np.save(tmp_path / "x.npy", dataset.dense_x())
    script = f"""
import sys
for name in ("torch", "scipy", "onnx", "onnxruntime", "torch_geometric"):
    sys.modules[name] = None
import numpy as np
from sparsegnn.runtime import Session
session = Session({session.path!r})
out = session.run(np.load({str(tmp_path / 'x.npy')!r}))
assert out.shape == ({dataset.num_nodes}, {dataset.num_classes})
blocked = [m for m in ("torch", "scipy", "onnx") if sys.modules.get(m) is not None]
assert not blocked, blocked
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_compiled_programs_price_node_panels_for_the_panels_an_input_fills():
    """The compiled path prices a matrix's node panels for the rows they compute or pay for:
    whole panels for inputs that fill part of one (64 float32 rows with AVX-512), a two-vector
    sweep at a fixed price above its half panel for inputs of at most two vectors' worth of
    rows (each such size priced for its own rows, against output vectors that cost per row),
    per row above one panel. So a matrix whose panels cost less per row than its output
    vectors runs as vectors where the padding outweighs that margin, and as panels elsewhere."""
    from sparsegnn.kernels._program import MATRIX_PANELS, MATRIX_VECTORS
    from sparsegnn.kernels._sparse_linear import panel_rows_computed
    from sparsegnn.runtime.planner import plan_matrix
    from sparsegnn.runtime.program import (
        PAIR_ROWS,
        PANEL_ROWS,
        Encoder,
        panel_rows_priced,
        program_rows,
    )
    from sparsegnn.runtime.tuning import Tuning

    assert [program_rows(rows) for rows in (0, 1, 5, PAIR_ROWS)] == [1, 1, 5, PAIR_ROWS]
    assert PAIR_ROWS < program_rows(PAIR_ROWS + 1) == program_rows(PANEL_ROWS) < PANEL_ROWS
    assert program_rows(PANEL_ROWS + 1) is None
    assert [panel_rows_computed(rows, np.float32) for rows in (1, PAIR_ROWS, PAIR_ROWS + 1,
                                                                PANEL_ROWS + 1)] == \
        [PAIR_ROWS, PAIR_ROWS, PANEL_ROWS, 2 * PANEL_ROWS]
    all_rows = (5, PAIR_ROWS - 8, PAIR_ROWS, PAIR_ROWS + 1, PANEL_ROWS, PANEL_ROWS + 1, 1000)
    # the price factor of the panels in each input's program (1: priced per row)
    factors = [panel_rows_priced(program_rows(rows)) / program_rows(rows)
               if program_rows(rows) else 1.0 for rows in all_rows]
    assert 1 < factors[2] < 2 and 1 < factors[4] < 2  # a full pair, three quarters of a panel
    assert factors[0] > factors[1] > factors[2]  # fewer rows: the sweep's fixed price weighs more
    matrix = np.random.default_rng(0).standard_normal((32, 32)).astype(np.float32)
    plan = plan_matrix(matrix, Tuning())

    def kinds(vectors: float) -> list[int]:  # panels cost 1 per row
        plan.costs.update(panels=1.0, vectors=vectors)
        found = []
        for rows in all_rows:
            encoder = Encoder(lambda key, matrices: plan, {}, program_rows(rows))
            index = encoder.matrix("w", {})
            found.append(encoder.table()[index][0])
        return found

    for vectors in (0.99, *(1.01 * f for f in factors), *(0.99 * f for f in factors)):
        assert kinds(vectors) == [MATRIX_PANELS if factor < vectors else MATRIX_VECTORS
                                  for factor in factors], vectors


def test_compiled_programs_price_the_matrices_after_pooling_for_the_graphs(graph_session):
    """A graph-level model's head runs on one row per graph (one row for a molecule), so the
    matrices after its pooling op are priced for the graphs' rows, those before it for the
    nodes'. With node panels priced at half the output vectors per row, a 24-node molecule's
    layers run as panels and its head as vectors, a batch of 24 graphs' head as panels. The
    session builds a program per graph count, each with the per-op path's outputs."""
    import dataclasses

    from sparsegnn.kernels._program import MATRIX_PANELS, MATRIX_VECTORS, OP_LINEAR, OP_POOL
    from sparsegnn.runtime.program import build_program, program_rows

    session, dataset = graph_session

    def cheaper_panels(key, matrices):
        return dataclasses.replace(session._plan(key, matrices),
                                   costs={"panels": 0.5, "vectors": 1.0, "blas": 1.0})

    def kinds(graph_rows) -> tuple[list[int], list[int]]:  # the linears' kernels, by side
        program, table = build_program(session.model, session._tensors, cheaper_panels, 24,
                                       graph_rows)[:2]
        pool = list(program[:, 0]).index(OP_POOL)
        return ([table[row[1], 0] for row in program[:pool] if row[0] == OP_LINEAR],
                [table[row[1], 0] for row in program[pool:] if row[0] == OP_LINEAR])

    nodes_one, head_one = kinds(1)
    nodes_batch, head_batch = kinds(24)
    assert nodes_one == nodes_batch and set(nodes_one) == {MATRIX_PANELS}
    assert head_one and set(head_one) == {MATRIX_VECTORS}
    assert set(head_batch) == {MATRIX_PANELS}

    per_op = Session(session.path, tuning=session.tuning.replace(program_max_nodes=0))
    for graphs in ([0], [0, 1, 2]):
        graph, x, batch = dataset.select_graphs(graphs)
        assert x.shape[0] <= session.tuning.program_max_nodes  # (the compiled path runs)
        np.testing.assert_allclose(session.run(x, graph, batch), per_op.run(x, graph, batch),
                                   rtol=1e-5, atol=1e-6)
        assert (program_rows(x.shape[0]), len(graphs)) in session._programs


def test_molecules_of_each_size_share_identical_programs(tmp_path):
    """Each input size up to two vectors' worth of rows is priced for itself; sizes whose
    kernels come out the same share one program (a program holds the model's weights)."""
    from sparsegnn.kernels._program import MATRIX_PANELS
    from sparsegnn.runtime.program import PAIR_ROWS

    dataset = data.load("synthetic-graphs")
    torch.manual_seed(0)
    dense = Session(export_artifact(make_model("gin", dataset).eval(), tmp_path / "d.sgnn"))
    programs = [dense._compiled_program(rows) for rows in range(1, PAIR_ROWS + 1)]
    kinds = [tuple(program[1][:, 0]) for program in programs]  # each matrix's kernel
    for first, first_kinds in zip(programs, kinds):
        for second, second_kinds in zip(programs, kinds):
            assert (first is second) == (first_kinds == second_kinds)
    assert len(dense._programs) == PAIR_ROWS and len({id(p) for p in programs}) < PAIR_ROWS
    # the panels' price is fixed and the vectors' grows with the rows: once on panels, a
    # matrix stays on them for larger inputs
    for smaller, larger in zip(kinds, kinds[1:]):
        assert all(a == larger_kind or larger_kind == MATRIX_PANELS
                   for a, larger_kind in zip(smaller, larger))
