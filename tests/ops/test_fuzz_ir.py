"""Differential fuzzing of the IR: hypothesis builds random models (op stacks, widths, weight
storage formats, activations, weighted and unweighted graphs with self loops and duplicate
edges, signed dense and CSR features, pooled graph-level models) and every backend must agree with the dense
numpy reference (``sparsegnn.ops.reference``): the runtime op by op, its compiled small-graph path
and ONNX Runtime, within 1e-4. A model with one width broken must be rejected with
``ArtifactError`` when loaded, and the ONNX writer must refuse it too.

``SPARSEGNN_FUZZ_EXAMPLES`` sets how many models (default 2,000, about half a minute once the
kernels are compiled).
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsegnn.artifact import ArtifactError, load_artifact, save_artifact
from sparsegnn.export.onnx_writer import to_onnx
from sparsegnn.graph import Graph
from sparsegnn.ir import ACTIVATIONS, IRError, Model, Node
from sparsegnn.ops import OPS
from sparsegnn.ops.reference import run_reference
from sparsegnn.runtime import Session
from sparsegnn.sparse import CSRMatrix

from ..reference import save_unchecked
from .parity import COMPILED, FORMATS, PER_OP, store

EXAMPLES = int(os.environ.get("SPARSEGNN_FUZZ_EXAMPLES", "2000"))
# Every registered op but pooling (added at the end of graph-level cases) and input_norm (first
# or nowhere): a new op is fuzzed as soon as it is registered, and fails here until _layer
# can build it.
NODE_OPS = tuple(sorted(op for op, spec in OPS.items() if not spec.pools and op != "input_norm"))


class _Builder:
    def __init__(self, draw, rng):
        self.draw, self.rng = draw, rng
        self.nodes, self.tensors, self.value = [], {}, "x"
        self.widths: dict[str, int] = {}  # node values' widths (what an ``add`` may skip from)
        # One l2-normalising layer at most: normalising rows that an earlier normalisation
        # made cancel to zero in exact arithmetic turns float32 rounding residue into unit
        # rows (ill-conditioned, not a disagreement between backends).
        self.normalized = False

    def weight(self, name: str, rows: int, cols: int) -> dict:
        draw = self.draw
        fmt = draw(st.sampled_from(FORMATS))
        matrix = self.rng.standard_normal((rows, cols)).astype(np.float32) / np.sqrt(rows)
        if fmt != "dense":
            matrix *= self.rng.random((rows, cols)) < draw(st.sampled_from([0.2, 0.5, 1.0]))
        block = draw(st.sampled_from([(1, 4), (4, 1), (2, 2), (1, 8)])) if fmt == "bsr" else None
        return store(name, matrix, fmt, self.tensors, block)

    def vector(self, name: str, width: int) -> str:
        self.tensors[name] = self.rng.standard_normal(width).astype(np.float32)
        return name

    def add(self, op: str, attrs: dict, extra=()) -> None:
        output = f"v{len(self.nodes)}"
        self.nodes.append(Node(op, [self.value, *extra], [output], attrs))
        self.value = output


def _layer(b: _Builder, op: str, width: int) -> int:
    """Append one ``op`` reading ``width`` features; return its output width."""
    draw, i = b.draw, len(b.nodes)
    act = draw(st.sampled_from(ACTIVATIONS))
    out = draw(st.integers(1, 9))
    has_bias = draw(st.booleans())
    bias = b.vector(f"b{i}", out) \
        if has_bias and op in ("linear", "gcn_conv", "sage_conv", "sg_conv") else None
    if op == "linear":
        b.add(op, {"weight": b.weight(f"w{i}", width, out), "bias": bias, "activation": act})
    elif op == "gcn_conv":
        normalize = draw(st.booleans())
        b.add(op, {"weight": b.weight(f"w{i}", width, out), "bias": bias,
                   "normalize": normalize, "add_self_loops": normalize and draw(st.booleans()),
                   "improved": draw(st.booleans()), "activation": act}, ("graph",))
    elif op == "sg_conv":
        b.add(op, {"weight": b.weight(f"w{i}", width, out), "bias": bias,
                   "K": draw(st.integers(1, 3)), "add_self_loops": draw(st.booleans()),
                   "activation": act}, ("graph",))
    elif op == "sage_conv":
        root = b.weight(f"r{i}", width, out) if draw(st.booleans()) else None
        l2 = not b.normalized and draw(st.booleans())
        b.normalized |= l2
        b.add(op, {"weight_neighbor": b.weight(f"w{i}", width, out), "weight_root": root,
                   "bias": bias, "aggr": draw(st.sampled_from(["sum", "mean", "max"])),
                   "l2_normalize": l2, "activation": act}, ("graph",))
    elif op == "gin_conv":
        b.add(op, {"eps": draw(st.sampled_from([0.0, 0.5, -0.25]))}, ("graph",))
        return width
    elif op == "gat_conv":
        heads, channels = draw(st.integers(1, 3)), draw(st.integers(1, 4))
        concat = draw(st.booleans())
        out = heads * channels if concat else channels
        b.add(op, {"weight": b.weight(f"w{i}", width, heads * channels),
                   "att_src": b.vector(f"as{i}", heads * channels),
                   "att_dst": b.vector(f"ad{i}", heads * channels),
                   "bias": b.vector(f"b{i}", out) if has_bias else None,
                   "residual": b.weight(f"res{i}", width, out) if draw(st.booleans()) else None,
                   "heads": heads, "channels": channels, "concat": concat,
                   "negative_slope": draw(st.sampled_from([0.2, 0.01])),
                   "add_self_loops": draw(st.booleans()), "activation": act}, ("graph",))
        for key in ("as", "ad"):
            b.tensors[f"{key}{i}"] = b.tensors[f"{key}{i}"].reshape(heads, channels)
    elif op == "affine":
        b.add(op, {"scale": b.vector(f"s{i}", width), "shift": b.vector(f"t{i}", width),
                   "activation": act})
        return width
    elif op == "layer_norm":
        # eps well above float32 rounding: a row constant in exact arithmetic keeps a rounding
        # residue that a tiny eps would blow up (ill-conditioned, not a disagreement)
        b.add(op, {"scale": b.vector(f"g{i}", width), "shift": b.vector(f"h{i}", width),
                   "eps": draw(st.sampled_from([0.05, 0.5])), "activation": act})
        return width
    elif op == "add":
        skips = sorted(name for name, w in b.widths.items() if w == width)  # current included
        b.add(op, {}, (draw(st.sampled_from(skips)),))
        return width
    elif op == "activation":
        b.add(op, {"activation": act})
        return width
    else:
        raise AssertionError(f"no fuzz generator for op {op!r}: add one to _layer")
    return out


@st.composite
def fuzz_cases(draw):
    """``(model, x, graph, batch, broken)``: ``broken`` models have one weight's rows off by
    one (widths that do not chain)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    num_nodes, width = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    # Features from multiples of 1/4: row sums are exact, so input_norm divides by 0 or >= 1/4.
    x = (rng.integers(-4, 5, (num_nodes, width)) / 4).astype(np.float32)
    edges = draw(st.integers(0, 3 * num_nodes))
    edge_index = rng.integers(0, num_nodes, (2, edges))
    weights = rng.uniform(0.25, 2.0, edges).astype(np.float32) if draw(st.booleans()) else None
    graph = Graph.from_edge_index(edge_index, num_nodes, weights)
    b = _Builder(draw, rng)
    if draw(st.booleans()):
        b.add("input_norm", {"kind": "row_sum"})
    current = b.widths["x"] = width
    for op in draw(st.lists(st.sampled_from(NODE_OPS), min_size=1, max_size=3)):
        current = _layer(b, op, current)
        b.widths[b.value] = current
    batch = None
    if draw(st.booleans()):  # graph-level: pool contiguous blocks of nodes, then a linear head
        sizes = np.diff(np.sort(np.r_[0, rng.integers(0, num_nodes + 1, draw(
            st.integers(0, 3))), num_nodes]))
        batch = np.repeat(np.arange(sizes.shape[0]), sizes)
        batch = np.unique(batch, return_inverse=True)[1].astype(np.int64)  # no empty graphs
        b.add("global_pool", {"reduce": draw(st.sampled_from(["sum", "mean", "max"]))},
              ("batch",))
        current = _layer(b, "linear", current)
    inputs = [{"name": "x", "dtype": "float32", "shape": [None, width]}]
    if batch is not None:
        inputs.append({"name": "batch", "dtype": "int64", "shape": [None]})
    model = Model(b.nodes, b.tensors, inputs,
                  [{"name": b.value, "dtype": "float32", "shape": [None, current]}],
                  {"task": "graph" if batch is not None else "node"})
    broken = draw(st.integers(0, 9)) == 0 and _break_a_width(model)
    return model, x, graph, batch, broken


def _break_a_width(model: Model) -> bool:
    """Claim one more input row for the first weight matrix (its tensors unchanged)."""
    for node in model.nodes:
        for value in node.attrs.values():
            if isinstance(value, dict) and value["format"] == "dense":
                value["shape"] = [value["shape"][0] + 1, value["shape"][1]]
                return True
    return False


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=fuzz_cases())
def test_backends_agree_on_random_models_or_reject_them(case, tmp_path_factory):
    model, x, graph, batch, broken = case
    path = tmp_path_factory.mktemp("fuzz") / "model.sgnn"
    if broken:
        with pytest.raises(IRError):
            model.validate()
        with pytest.raises(IRError):
            to_onnx(model)
        save_unchecked(model, path)
        with pytest.raises(ArtifactError):
            load_artifact(path)
        return
    save_artifact(model, path)
    expected = run_reference(model, x, graph, batch)
    tolerance = {"atol": 1e-4, "rtol": 1e-4}
    for tuning in (PER_OP, COMPILED):
        session = Session(path, tuning=tuning)
        for features in (x, CSRMatrix.from_dense(x)):
            out = session.run(features, graph, batch)
            np.testing.assert_allclose(out, expected, **tolerance)
    session = ort.InferenceSession(to_onnx(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = {i.name for i in [*session.get_inputs(), *session.get_overridable_initializers()]}
    feed = {"x": x, "edge_index": graph.edge_index.astype(np.int64)}
    if "batch" in names:
        feed["batch"] = batch
    if "edge_weight" in names and graph.edge_weight is not None:
        feed["edge_weight"] = graph.edge_weight.astype(np.float32)
    np.testing.assert_allclose(session.run(None, feed)[0], expected, **tolerance)
