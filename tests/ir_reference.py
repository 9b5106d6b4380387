"""A straightforward reference interpreter of the IR: dense numpy and scipy, float64, one op at
a time exactly as ``sparsegnn/ir.py`` states it. The runtime and ONNX must agree with it."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import special

from sparsegnn.graph import Graph
from sparsegnn.ir import STORED_GRAPH, Model, csr_parts

ACT = {
    "identity": lambda v: v,
    "relu": lambda v: np.maximum(v, 0),
    "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
    "leaky_relu": lambda v: np.where(v > 0, v, 0.01 * v),
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "tanh": np.tanh,
    "gelu": lambda v: 0.5 * v * (1 + special.erf(v / np.sqrt(2))),
}


def _matrix(model: Model, matrix: dict) -> np.ndarray:
    t = model.tensors
    if matrix["format"] == "dense":
        return np.asarray(t[matrix["tensor"]], np.float64)
    rows, cols = matrix["shape"]
    indptr, indices, values = csr_parts(matrix, t)
    values = np.asarray(values, np.float64)
    if matrix["format"] == "csr_t":
        return sp.csr_matrix((values, indices, indptr), shape=(cols, rows)).toarray().T
    if matrix["format"] == "bsr":  # scipy's block format wants whole blocks: pad, then cut
        block_rows, block_cols = matrix["block"]
        padded = (-(-rows // block_rows) * block_rows, -(-cols // block_cols) * block_cols)
        return sp.bsr_matrix((values, indices, indptr), shape=padded).toarray()[:rows, :cols]
    return sp.csr_matrix((values, indices, indptr), shape=(rows, cols)).toarray().astype(np.float64)


def _adjacency(graph: Graph) -> np.ndarray:
    return sp.csr_matrix((graph.weights(np.float64), graph.indices, graph.indptr),
                         shape=(graph.num_nodes,) * 2).toarray()


def run_reference(model: Model, x: np.ndarray, graph: Graph | None = None,
                  batch: np.ndarray | None = None) -> np.ndarray:
    t = model.tensors
    if graph is None:
        graph = Graph(t[f"{STORED_GRAPH}.indptr"], t[f"{STORED_GRAPH}.indices"],
                      edge_weight=t.get(f"{STORED_GRAPH}.weight"))
    values = {"x": np.asarray(x, np.float64)}
    for node in model.nodes:
        a = node.attrs
        h = values[node.inputs[0]]
        bias = np.asarray(t[a["bias"]], np.float64) if a.get("bias") else 0.0
        act = ACT[a.get("activation", "identity")]
        if node.op == "input_norm":
            sums = h.sum(axis=1, keepdims=True)
            out = h / np.where(sums == 0, 1.0, sums)
        elif node.op == "linear":
            out = act(h @ _matrix(model, a["weight"]) + bias)
        elif node.op == "gcn_conv":
            operator = graph.gcn_norm(a["add_self_loops"], a["improved"]) if a["normalize"] else graph
            out = act(_adjacency(operator) @ (h @ _matrix(model, a["weight"])) + bias)
        elif node.op == "sage_conv":
            plain = Graph(graph.indptr, graph.indices, graph.num_nodes)
            adjacency = _adjacency(plain)
            if a["aggr"] == "mean":
                degree = np.maximum(adjacency.sum(axis=1, keepdims=True), 1)
                aggregated = adjacency @ h / degree
            elif a["aggr"] == "sum":
                aggregated = adjacency @ h
            else:
                aggregated = np.stack([h[plain.indices[plain.indptr[v]:plain.indptr[v + 1]]].max(0)
                                       if plain.indptr[v + 1] > plain.indptr[v] else np.zeros(h.shape[1])
                                       for v in range(plain.num_nodes)])
            out = aggregated @ _matrix(model, a["weight_neighbor"]) + bias
            if a.get("weight_root"):
                out = out + h @ _matrix(model, a["weight_root"])
            if a.get("l2_normalize"):
                out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
            out = act(out)
        elif node.op == "gin_conv":
            plain = Graph(graph.indptr, graph.indices, graph.num_nodes)
            out = _adjacency(plain) @ h + (1 + a["eps"]) * h
        elif node.op == "gat_conv":
            heads, channels = a["heads"], a["channels"]
            projected = (h @ _matrix(model, a["weight"])).reshape(-1, heads, channels)
            src = np.einsum("nhc,hc->nh", projected, t[a["att_src"]])
            dst = np.einsum("nhc,hc->nh", projected, t[a["att_dst"]])
            plain = Graph(graph.indptr, graph.indices, graph.num_nodes)
            looped = plain.add_self_loops(remaining=True) if a["add_self_loops"] else plain
            out = np.zeros_like(projected)
            for v in range(looped.num_nodes):
                sources = looped.indices[looped.indptr[v]:looped.indptr[v + 1]]
                if sources.size == 0:
                    continue
                scores = src[sources] + dst[v]
                scores = np.where(scores > 0, scores, a["negative_slope"] * scores)
                weights = np.exp(scores - scores.max(0))
                weights /= weights.sum(0)
                out[v] = np.einsum("eh,ehc->hc", weights, projected[sources])
            out = out.reshape(-1, heads * channels) if a["concat"] else out.mean(axis=1)
            if a.get("residual"):
                out = out + h @ _matrix(model, a["residual"])
            out = act(out + bias)
        elif node.op == "affine":
            out = act(h * t[a["scale"]] + t[a["shift"]])
        elif node.op == "activation":
            out = act(h)
        elif node.op == "global_pool":
            groups = np.unique(batch)
            reduce = {"sum": np.sum, "mean": np.mean, "max": np.max}[a["reduce"]]
            out = np.stack([reduce(h[batch == g], axis=0) for g in range(int(groups.max()) + 1)])
        else:
            raise AssertionError(node.op)
        values[node.outputs[0]] = out
    return values[model.outputs[0]["name"]]
