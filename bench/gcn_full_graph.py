"""2-layer GCN full-graph inference: sparsegnn runtime vs PyG (edge_index and CSR), same process.

Run: ``python bench/gcn_full_graph.py [--dataset amazon-computers] [--hidden 64]``. Prints
median latencies and ratios. The model is PyG's ``GCN`` imported with ``from_pyg`` (untrained
weights: speed does not depend on their values), checked to agree before timing.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import torch
from _timing import median_ms  # bench/ is on sys.path when a script runs


def main() -> None:
    import torch_geometric
    import torch_geometric.nn as pyg_nn

    from sparsegnn import data
    from sparsegnn.export import export_artifact
    from sparsegnn.nn import from_pyg
    from sparsegnn.runtime import Session

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="amazon-computers")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default="/tmp/sparsegnn-bench-gcn.sgnn")
    args = parser.parse_args()

    dataset = data.load(args.dataset)
    x_np = dataset.dense_x()
    x = torch.from_numpy(x_np)
    edge_index = torch.from_numpy(dataset.graph.edge_index)
    adj_t = torch.sparse_csr_tensor(torch.from_numpy(dataset.graph.indptr),
                                    torch.from_numpy(dataset.graph.indices.astype(np.int64)),
                                    torch.ones(dataset.graph.num_edges),
                                    (dataset.num_nodes, dataset.num_nodes))
    torch.manual_seed(0)
    pyg_model = pyg_nn.models.GCN(dataset.num_features, args.hidden, 2, dataset.num_classes).eval()
    session = Session(export_artifact(from_pyg(pyg_model), args.out))

    with torch.inference_mode():
        expected = pyg_model(x, edge_index).numpy()
    np.testing.assert_allclose(session.run(dataset.x, dataset.graph), expected, atol=1e-3,
                               rtol=1e-3)

    def pyg_edge_index():
        with torch.inference_mode():
            pyg_model(x, edge_index)

    def pyg_csr():
        with torch.inference_mode():
            pyg_model(x, adj_t)

    results = {
        "PyG edge_index": median_ms(pyg_edge_index, args.repeat),
        "PyG CSR adj_t": median_ms(pyg_csr, args.repeat),
        "sparsegnn (CSR x)": median_ms(lambda: session.run(dataset.x, dataset.graph), args.repeat),
        "sparsegnn (dense x)": median_ms(lambda: session.run(x_np, dataset.graph), args.repeat),
    }
    # Every method computes the first layer's x @ W1 (dense features here): its BLAS time bounds
    # how far any runtime can get ahead of PyG.
    first_weight = np.ascontiguousarray(pyg_model.convs[0].lin.weight.detach().numpy().T)
    floor = median_ms(lambda: x_np @ first_weight, args.repeat)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; torch {torch.__version__}, "
          f"torch_geometric {torch_geometric.__version__}; {dataset.name}: "
          f"{dataset.num_nodes:,} nodes, {dataset.graph.num_edges:,} edges, "
          f"{dataset.num_features} features")
    best = min(results["sparsegnn (CSR x)"], results["sparsegnn (dense x)"])
    for name, ms in results.items():
        print(f"{name:22s} median {ms:8.2f} ms   {ms / best:5.2f}x sparsegnn's best")
    print(f"x @ W1 alone (numpy BLAS): {floor:.2f} ms, so no runtime that computes it can be more "
          f"than {results['PyG edge_index'] / floor:.1f}x faster than PyG edge_index here")


if __name__ == "__main__":
    main()
