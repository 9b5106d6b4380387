"""A pruned link predictor against its dense self in the runtime, and against ONNX Runtime, in one
process: embeddings of the whole graph plus the scores of the recorded split's test pairs, the
two models alternated over 7 rounds (p50 of 50 calls each), on 1 and 2 threads.

Each artifact runs over the message-passing graph stored in it (the pruned one has fewer
edges); ONNX Runtime gets dense features, that graph's ``edge_index`` and the same test pairs,
and returns the embeddings and the pairs' scores: the same work as ours.

Run, with artifacts and ONNX files from ``sparsegnn export X.safetensors --out X.sgnn --onnx
X.onnx``: ``python bench/link_pruned_vs_dense.py --dense l0 --pruned p0`` (paths without
suffix). Prints one line per thread count.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sparsegnn import data
from sparsegnn.data.links import random_link_split
from sparsegnn.graph import Graph
from sparsegnn.kernels import set_num_threads
from sparsegnn.runtime import Session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dense", required=True, help="path of X.sgnn and X.onnx, no suffix")
    parser.add_argument("--pruned", required=True)
    parser.add_argument("--dataset", default="cora")
    args = parser.parse_args()
    import onnxruntime as ort

    dataset = data.load(args.dataset)
    stems = {"dense": args.dense, "pruned": args.pruned}
    edge_split = Session(f"{args.dense}.sgnn").metadata["train_edge_split"]
    pairs, _ = random_link_split(dataset.graph, edge_split["val"], edge_split["test"],
                                 seed=edge_split["seed"]).labelled("test")
    for threads in (1, 2):
        set_num_threads(threads)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        ours, peers, edges = {}, {}, {}
        for name, stem in stems.items():
            ours[name] = Session(f"{stem}.sgnn", num_threads=threads)
            peers[name] = ort.InferenceSession(f"{stem}.onnx", options)
            stored = ours[name].model.tensors
            edges[name] = Graph(stored["stored_graph.indptr"].astype(np.int64),
                                stored["stored_graph.indices"].astype(np.int64),
                                dataset.num_nodes).edge_index
        dense_x = dataset.dense_x()
        calls = {}
        for name in stems:
            session = ours[name]
            calls[name] = lambda s=session: s.score_pairs(s.run(dataset.x), pairs)
            calls[f"onnxruntime {name}"] = lambda p=peers[name], e=edges[name], x=dense_x: p.run(
                None, {"x": x, "edge_index": e, "pairs": pairs.astype(np.int64)})
        rounds = {key: [] for key in calls}
        for call in calls.values():
            call()  # warm
        for _ in range(7):
            for key, call in calls.items():
                times = []
                for _ in range(50 if "onnx" not in key else 20):
                    started = time.perf_counter()
                    call()
                    times.append(time.perf_counter() - started)
                rounds[key].append(np.median(times))
        p50 = {key: 1e3 * float(np.median(values)) for key, values in rounds.items()}
        print(f"{threads} thread(s): sparsegnn dense {p50['dense']:.3f} ms, pruned "
              f"{p50['pruned']:.3f} ms (pruned vs its dense self {p50['dense'] / p50['pruned']:.2f}x); "
              f"ONNX Runtime dense {p50['onnxruntime dense']:.3f} ms, pruned "
              f"{p50['onnxruntime pruned']:.3f} ms (sparsegnn pruned vs ONNX Runtime pruned "
              f"{p50['onnxruntime pruned'] / p50['pruned']:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
