"""``global_pool``: ``[x, batch] -> [y]``, each graph's rows reduced by sum, mean or max into
one row: ``(G, F)``. Its output rows are graphs, so no graph op may follow."""

from __future__ import annotations

import numpy as np

from ._spec import Attr, OpSpec


def reference(ref, node, x):
    reduce = {"sum": np.sum, "mean": np.mean, "max": np.max}[node.attrs["reduce"]]
    graphs = int(ref.batch.max()) + 1 if ref.batch.size else 1
    return np.stack([reduce(x[ref.batch == g], axis=0) if np.any(ref.batch == g)
                     else np.zeros(x.shape[1]) for g in range(graphs)])


def run(rt, node, x):
    return rt.pool(x, node.attrs["reduce"])


def encode(enc, node):
    return enc.row("global_pool", reduce=enc.reduce(node.attrs["reduce"]))


def to_onnx(g, edges, node, value: str) -> str:
    num_graphs = g.op("Add", [g.op("ReduceMax", ["batch"], keepdims=1),
                              g.const([1], "one", np.int64)])
    reduce = node.attrs["reduce"]
    out = edges.scatter(value, "batch", "max" if reduce == "max" else "add", rows=num_graphs)
    if reduce == "mean":
        ones = g.op("ConstantOfShape", [g.op("Shape", ["batch"])],
                    value=g.numpy_helper.from_array(np.array([1.0], np.float32)))
        count = edges.scatter(g.op("Unsqueeze", [ones, g.const([-1], "ax", np.int64)]),
                              "batch", "add", rows=num_graphs)
        out = g.op("Div", [out, g.op("Max", [count, g.const([1.0])])])
    return out


SPEC = OpSpec("global_pool", 1, ("x", "batch"),
              {"reduce": Attr("choice", choices=("sum", "mean", "max"))}, pools=True,
              reference=reference, run=run, encode=encode, to_onnx=to_onnx)
