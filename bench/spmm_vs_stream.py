"""CSR SpMM (F=64, >= 0.5M nonzeros) against STREAM triad and torch.sparse.mm, same process.

Run: ``python bench/spmm_vs_stream.py [--nodes 100000] [--degree 8] [--features 64]``.
Prints medians, the effective bandwidth of each, and the ratios; writes nothing.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--degree", type=int, default=8)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
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

    triad = median_seconds(stream_triad, args.repeat)
    triad_bandwidth = 3 * 4 * n / triad

    edges = rng.integers(0, args.nodes, (2, args.nodes * args.degree))
    graph = Graph.from_edge_index(edges, args.nodes)
    indptr, indices = graph.indptr, graph.indices.astype(np.int32)
    x = rng.standard_normal((args.nodes, args.features)).astype(np.float32)
    nnz = indices.shape[0]
    ours = median_seconds(lambda: spmm_csr(indptr, indices, None, x, num_rows=args.nodes),
                          args.repeat)
    traffic = indptr.nbytes + indices.nbytes + nnz * args.features * 4 + x.nbytes
    rows = [("STREAM triad (float32)", triad, triad_bandwidth),
            ("sparsegnn spmm_csr", ours, traffic / ours)]
    try:
        import torch

        torch.set_num_threads(threads)
        matrix = torch.sparse_csr_tensor(torch.from_numpy(indptr), torch.from_numpy(
            indices.astype(np.int64)), torch.ones(nnz), (args.nodes, args.nodes))
        features = torch.from_numpy(x)
        reference = torch.sparse.mm(matrix, features).numpy()
        np.testing.assert_allclose(spmm_csr(indptr, indices, None, x, num_rows=args.nodes),
                                   reference, rtol=1e-4, atol=1e-4)
        theirs = median_seconds(lambda: torch.sparse.mm(matrix, features), args.repeat)
        rows.append((f"torch.sparse.mm (CSR, torch {torch.__version__})", theirs, traffic / theirs))
    except ImportError:
        rows.append(("torch.sparse.mm", float("nan"), float("nan")))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{threads} kernel threads; graph: {args.nodes:,} rows, {nnz:,} nonzeros, F={args.features}")
    for name, seconds, bandwidth in rows:
        print(f"{name:45s} median {1e3 * seconds:8.2f} ms   {bandwidth / 1e9:6.1f} GB/s")
    print(f"spmm / triad bandwidth: {rows[1][2] / triad_bandwidth:.2f}")
    if len(rows) > 2 and np.isfinite(rows[2][1]):
        print(f"torch.sparse.mm time / spmm time: {rows[2][1] / ours:.2f}x")


if __name__ == "__main__":
    main()
