"""The runtime's tuning: validation, files, the per-machine cache, and that the planner runs
the kernel its cost model prices cheapest."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sparsegnn.runtime.planner import plan_matrix
from sparsegnn.runtime.tuning import (
    DEFAULT,
    MEASURED,
    TuningError,
    calibrate,
    load_tuning,
    save_tuning,
    tuning_path,
)


@pytest.mark.parametrize("change", [
    {"panel_madd": -1.0}, {"vector_madd": 0}, {"dense_madd": float("nan")},
    {"csr_fill": float("inf")}, {"spmm_madd": True}, {"program_max_nodes": -1},
    {"program_max_edges": 2.5}, {"csr_input_expand_density": 1.5}, {"machine": "here"},
])
def test_bad_tunings_are_refused(change):
    with pytest.raises(TuningError):
        DEFAULT.replace(**change)


def test_files_round_trip_and_bad_files_name_themselves(tmp_path):
    tuned = DEFAULT.replace(panel_madd=0.5, machine={"key": "k"})
    path = save_tuning(tuned, tmp_path / "t.json")
    assert load_tuning(path) == tuned and load_tuning(path).machine == {"key": "k"}
    for text, message in (("{", "not a readable tuning file"),
                          ('{"format": "other"}', "expected format"),
                          (json.dumps({"format": "sparsegnn.tuning", "format_version": 9,
                                       "tuning": {}}), "format version 9"),
                          (json.dumps({"format": "sparsegnn.tuning", "format_version": 1,
                                       "tuning": {"panel_mad": 1.0}}), "unknown tuning fields")):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(TuningError, match=message):
            load_tuning(bad)
    with pytest.raises(TuningError, match="no such tuning file"):
        load_tuning(tmp_path / "absent.json")


def test_sessions_use_this_machines_cached_tuning(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEGNN_CACHE", str(tmp_path))
    assert load_tuning() is DEFAULT  # nothing cached yet
    cached = DEFAULT.replace(program_max_nodes=7)
    save_tuning(cached)
    assert tuning_path().parent == tmp_path / "tuning"
    assert load_tuning() == cached


def _costs(plan, rows):
    """The planner's price of each kernel for ``rows`` dense rows, computed from the tuning's
    formulas (module docstring), independently of MatrixPlan."""
    t, dense = plan.tuning, plan.dense
    inputs, outputs = dense.shape
    lanes = plan.vectors.values.shape[1]

    def stored(width):  # entries of `width` consecutive outputs holding a nonzero
        return sum(np.any(dense[:, g:g + width] != 0, axis=1).sum()
                   for g in range(0, outputs, width))

    panels = min(stored(block) * block * (t.panel_madd if block == 1 else t.panel_block_madd)
                 for block in (1, 4, 8))
    costs = {"panels": t.kernel_call + rows * (panels + (inputs + outputs) * t.panel_element),
             "vectors": t.kernel_call + rows * (stored(lanes) * lanes * t.vector_madd
                                                + outputs * t.vector_element)}
    if rows * inputs * outputs <= t.blas_threaded_work:
        costs["blas"] = t.blas_call + rows * inputs * outputs * t.dense_madd
    return costs


@pytest.mark.parametrize("density", [0.02, 0.3, 1.0])
@pytest.mark.parametrize("rows", [1, 64, 100_000])
def test_the_planner_runs_the_cheapest_priced_kernel(density, rows, rng):
    dense = (rng.standard_normal((96, 80)) * (rng.random((96, 80)) < density)).astype(np.float32)
    for tuning in (DEFAULT, DEFAULT.replace(panel_madd=1e-4), DEFAULT.replace(vector_madd=1e-4),
                   DEFAULT.replace(panel_block_madd=1e-5), DEFAULT.replace(dense_madd=1e-6,
                                                                           blas_call=1.0)):
        plan = plan_matrix(dense, tuning)
        costs = _costs(plan, rows)
        assert plan.kind(rows) == min(costs, key=costs.get)


def _csr_costs(plan, rows, entries):
    """The planner's price of each kernel for CSR features of ``entries`` stored values over
    ``rows`` rows, from the tuning's formulas (module docstring)."""
    t, dense = plan.tuning, plan.dense
    inputs, outputs = dense.shape
    per_row = {kind: (cost - t.kernel_call) / rows for kind, cost in _costs(plan, rows).items()
               if kind != "blas"}
    costs = {kind: rows * (cost - inputs * t.panel_element * (kind == "panels"))
             + rows * inputs * t.csr_fill + entries * t.csr_expand
             for kind, cost in per_row.items()}
    costs["spmm"] = entries * outputs * t.spmm_madd
    live = np.any(dense != 0, axis=1).mean()
    if (1 - live) * outputs * t.spmm_madd > t.csr_narrow:
        costs["live"] = entries * (t.csr_narrow + live * outputs * t.spmm_madd)
    return costs


@pytest.mark.parametrize("empty_rows", [0.0, 0.5, 0.97])
@pytest.mark.parametrize("outputs", [16, 128])
def test_csr_features_run_the_cheapest_priced_kernel(empty_rows, outputs, rng):
    """CSR features: gathering the weight's rows, after dropping the entries of its empty rows
    where that can pay (the live rows kept, renumbered), or expanding the rows for a sparse
    kernel, whichever the tuning prices cheapest."""
    dense = (rng.standard_normal((300, outputs)) * (rng.random((300, outputs)) < 0.3)) \
        .astype(np.float32)
    dense[rng.random(300) < empty_rows] = 0
    for tuning in (DEFAULT, DEFAULT.replace(csr_narrow=1e-3), DEFAULT.replace(spmm_madd=1e-4),
                   DEFAULT.replace(csr_fill=1e-5), DEFAULT.replace(csr_fill=1e-5, csr_expand=1e-5)):
        plan = plan_matrix(dense, tuning)
        for rows, entries in ((1, 3), (2000, 8000), (2000, 400_000)):
            costs = _csr_costs(plan, rows, entries)
            assert plan.csr_kind(rows, entries) == min(costs, key=costs.get)
        assert (plan.live is not None) == ("live" in costs)
        if plan.live is not None:
            kept = np.flatnonzero(np.any(dense != 0, axis=1))
            np.testing.assert_array_equal(np.flatnonzero(plan.live.remap >= 0), kept)
            np.testing.assert_array_equal(plan.live.dense[plan.live.remap[kept]], dense[kept])


def test_calibration_measures_positive_finite_prices():
    measured = calibrate(rows=512, repeat=3)
    for name in MEASURED:
        value = getattr(measured, name)
        assert value > 0 and math.isfinite(value), name
    assert measured.machine["rows"] == 512


def test_calibration_rounds_keep_each_price_median(monkeypatch):
    """Several rounds: each measured price is the median of the rounds' (a skewed round does
    not move it), the thresholds stay the defaults."""
    import sparsegnn.runtime.tuning as tuning_module

    rounds = iter([DEFAULT.replace(panel_madd=0.01, vector_madd=0.5),
                   DEFAULT.replace(panel_madd=0.09, vector_madd=0.3),  # a busy spell
                   DEFAULT.replace(panel_madd=0.02, vector_madd=0.4)])
    monkeypatch.setattr(tuning_module, "_calibrate_once", lambda *args: next(rounds))
    measured = calibrate(rounds=3)
    assert measured.panel_madd == 0.02 and measured.vector_madd == 0.4
    assert measured.dense_madd == DEFAULT.dense_madd
    assert measured.program_max_nodes == DEFAULT.program_max_nodes
    with pytest.raises(ValueError, match="rounds"):
        calibrate(rounds=0)


def test_session_refuses_a_tuning_of_the_wrong_type(tmp_path):
    from sparsegnn.runtime import Session

    with pytest.raises(TypeError, match="tuning must be"):
        Session(tmp_path / "absent.sgnn", tuning={"panel_madd": 1.0})


def test_thresholds_live_in_the_tuning_and_a_session_can_override_them(tmp_path):
    """The session's size thresholds are fields of its Tuning: an app (or a calibration) sets
    them per session, and an older tuning file without them, or with fields since retired,
    still loads."""
    import torch

    from sparsegnn.export import export_artifact
    from sparsegnn.nn import GCN
    from sparsegnn.runtime import Session
    from sparsegnn.runtime.tuning import Tuning

    torch.manual_seed(0)
    path = export_artifact(GCN(20, 64, 2, 3).eval(), tmp_path / "gcn.sgnn")
    no_blas = Session(path, tuning=Tuning(blas_threaded_work=0))
    assert no_blas._plan("v0", (no_blas.model.nodes[0].attrs["weight"],)).kind(1) != "blas"
    capped = Session(path, tuning=Tuning(csr_input_expand_density=0.01))
    assert capped.csr_input_max_density == 0.01
    stored = Tuning().to_json()
    del stored["blas_threaded_work"]
    stored.update(wide_outputs=64, csr_input_max_density_wide=0.35)  # retired fields
    assert Tuning.from_json(stored) == Tuning()


@pytest.mark.parametrize("sparsity", [0.0, 0.9])
def test_csr_features_advice_is_where_the_plans_prices_cross(tmp_path, sparsity):
    """``Session.csr_input_max_density`` is the feature density at which the planner prices
    the CSR features' product of the first layer (``csr_kind``'s cheaper of the two CSR
    products) the same as its cheapest kernel on dense rows, BLAS aside: CSR features
    just below it are multiplied as CSR, and the advice falls as the first weight is pruned
    (dense rows get cheaper, a CSR entry does not)."""
    import torch

    from sparsegnn.export import export_artifact
    from sparsegnn.ir import matrix_to_dense
    from sparsegnn.nn import GCN
    from sparsegnn.prune import MaskSet, magnitude, prune_weights
    from sparsegnn.runtime import Session
    from sparsegnn.runtime.tuning import Tuning

    torch.manual_seed(0)
    model = GCN(300, 32, 2, 3).eval()
    if sparsity:
        prune_weights(model, magnitude(model), sparsity).apply(model)
        MaskSet.bake(model)
    path = export_artifact(model, tmp_path / "gcn.sgnn")
    tuning = Tuning(csr_input_expand_density=1.0)
    session = Session(path, tuning=tuning)
    advice = session.csr_input_max_density
    first = session.model.nodes[1] if session.model.nodes[0].op == "input_norm" \
        else session.model.nodes[0]
    plan = plan_matrix(matrix_to_dense(first.attrs["weight"], session._tensors), tuning)
    rows = 1000
    dense_price = rows * min(cost for kind, cost in plan.costs.items() if kind != "blas")
    spmm_price = advice * rows * 300 * plan.outputs * tuning.spmm_madd
    live_price = np.inf if plan.live is None else advice * rows * 300 * (
        tuning.csr_narrow + plan.live.fraction * plan.outputs * tuning.spmm_madd)
    assert min(spmm_price, live_price) == pytest.approx(dense_price, rel=1e-9)
    assert plan.csr_kind(rows, int(0.9 * advice * rows * 300)) in ("spmm", "live")
    if sparsity:
        dense_model_path = export_artifact(GCN(300, 32, 2, 3).eval(), tmp_path / "dense.sgnn")
        assert advice < Session(dense_model_path, tuning=tuning).csr_input_max_density


@pytest.mark.parametrize("width,block", [(1, 1), (4, 4), (8, 4), (16, 4)])
def test_panels_take_the_narrowest_block_that_stores_no_more_zeros(width, block, rng):
    """Blocks of ``width`` outputs kept whole (1xW pruning): packing them 8 per entry stores no
    more values than 4 per entry for W >= 8, and the planner takes the narrower block on that
    tie (it ran as fast or faster); for 1x4 the 8-wide packing stores zeros, and 4 wins;
    unstructured stays 1 per entry."""
    inputs, outputs = 64, 48
    keep = rng.random((inputs, outputs // width)) < 0.1
    dense = (rng.standard_normal((inputs, outputs)) * np.repeat(keep, width, axis=1)) \
        .astype(np.float32)
    if width == 1:
        dense[rng.random(dense.shape) < 0.5] = 0
    plan = plan_matrix(dense, DEFAULT)
    assert plan.panels.block == block
    assert plan.panels.values.size == np.count_nonzero(dense)  # no zeros stored
