"""CSR SpMM (F=64, >= 0.5M nonzeros) against STREAM triad and torch.sparse.mm, same process.

Run: ``python bench/spmm_vs_stream.py [--nodes 100000] [--degree 8] [--features 64]``.
Prints medians, the effective bandwidth of each, and the ratios; ``bench/run_all.py`` records
the same figures in ``bench/results/spmm.json``.

Effective SpMM traffic counts what a row-parallel kernel must move at least once: row pointers,
column indices, the gathered feature rows (nnz x F x 4 bytes) and the output rows.
"""

from __future__ import annotations

import argparse
import os
import platform
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from _timing import median_seconds  # bench/ is on sys.path when a script runs
from numba import njit

from sparsegnn.graph import Graph
from sparsegnn.kernels import get_num_threads, spmm_csr


@njit(cache=True, nogil=True, fastmath=True)
def _triad(a, b, c, scalar, start, end):
    for i in range(start, end):
        a[i] = b[i] + scalar * c[i]


def measure_spmm(nodes: int = 100_000, degree: int = 8, features: int = 64, repeat: int = 20,
                 seed: int = 0) -> dict:
    """Median seconds and effective bandwidth of STREAM triad, spmm_csr and torch.sparse.mm."""
    rng = np.random.default_rng(seed)
    threads = get_num_threads()

    # STREAM triad on arrays far larger than the caches, split over the same thread pool.
    n = 2**25
    a, b, c = (np.full(n, 1.0, np.float32) for _ in range(3))
    bounds = np.linspace(0, n, threads + 1).astype(np.int64)
    pool = ThreadPoolExecutor(threads)

    def stream_triad():
        futures = [pool.submit(_triad, a, b, c, 3.0, int(s), int(e))
                   for s, e in zip(bounds[:-1], bounds[1:])]
        for future in futures:
            future.result()

    triad = median_seconds(stream_triad, repeat)
    triad_bandwidth = 3 * 4 * n / triad

    edges = rng.integers(0, nodes, (2, nodes * degree))
    graph = Graph.from_edge_index(edges, nodes)
    indptr, indices = graph.indptr, graph.indices.astype(np.int32)
    x = rng.standard_normal((nodes, features)).astype(np.float32)
    nnz = indices.shape[0]
    ours = median_seconds(lambda: spmm_csr(indptr, indices, None, x, num_rows=nodes), repeat)
    traffic = indptr.nbytes + indices.nbytes + nnz * features * 4 + x.nbytes
    rows = {"STREAM triad (float32)": (triad, triad_bandwidth),
            "sparsegnn spmm_csr": (ours, traffic / ours)}
    try:
        import torch

        torch.set_num_threads(threads)
        matrix = torch.sparse_csr_tensor(torch.from_numpy(indptr), torch.from_numpy(
            indices.astype(np.int64)), torch.ones(nnz), (nodes, nodes))
        features_t = torch.from_numpy(x)
        reference = torch.sparse.mm(matrix, features_t).numpy()
        np.testing.assert_allclose(spmm_csr(indptr, indices, None, x, num_rows=nodes),
                                   reference, rtol=1e-4, atol=1e-4)
        theirs = median_seconds(lambda: torch.sparse.mm(matrix, features_t), repeat)
        rows[f"torch.sparse.mm (CSR, torch {torch.__version__})"] = (theirs, traffic / theirs)
    except ImportError:
        pass
    torch_rows = [v for k, v in rows.items() if k.startswith("torch")]
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "kernel_threads": threads, "rows": nodes, "nonzeros": int(nnz), "features": features,
        "median_ms": {k: 1e3 * v[0] for k, v in rows.items()},
        "bandwidth_gb_s": {k: v[1] / 1e9 for k, v in rows.items()},
        "spmm_over_triad_bandwidth": rows["sparsegnn spmm_csr"][1] / triad_bandwidth,
        "torch_time_over_spmm_time": torch_rows[0][0] / ours if torch_rows else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--degree", type=int, default=8)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = measure_spmm(args.nodes, args.degree, args.features, args.repeat, args.seed)
    print(f"machine: {result['machine']}, {result['kernel_threads']} kernel threads; graph: "
          f"{result['rows']:,} rows, {result['nonzeros']:,} nonzeros, F={result['features']}")
    for name, ms in result["median_ms"].items():
        print(f"{name:45s} median {ms:8.2f} ms   {result['bandwidth_gb_s'][name]:6.1f} GB/s")
    print(f"spmm / triad bandwidth: {result['spmm_over_triad_bandwidth']:.2f}")
    if result["torch_time_over_spmm_time"] is not None:
        print(f"torch.sparse.mm time / spmm time: {result['torch_time_over_spmm_time']:.2f}x")


if __name__ == "__main__":
    main()
