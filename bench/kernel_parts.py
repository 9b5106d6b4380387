"""The runtime's per-call pieces on Amazon Computers, each timed alone (same process).

Run: ``python bench/kernel_parts.py [--dataset amazon-computers] [--repeat 21]``. Prints the
median of: graph SpMM over the GCN-normalised graph at F = 64, 16 and 10 on 1 and 2 threads
(on AVX2, F = 10's partial last vector loads whole, into the next row, except at the end of the
array, where it loads in pieces), and at F = 16 with its last vector known
whole when the kernel compiles (the per-op path) or checked per entry (what a masked load does
where masks are not native, the small-graph path's kernel); the fused GCN SpMM at F = 7 with a
bias (a GCN output layer: partial vectors, which AVX2 stores in pieces);
the CSR features times a 64-wide weight (the first GCN layer on sparse x) next to numpy's BLAS
and the runtime's output-vector kernel on the dense features, and each followed by the GCN
SpMM (BLAS's spinning worker threads slow what follows: ``runtime.planner``); the finite check
of the dense features next to numpy's; GCN normalisation (copy or fused scales); CSR -> dense
next to ``toarray``; GAT's fused attention (8 heads x 8 channels, and 1 head x 15; self
loops) and the fused layer norm with GELU at F = 64.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
from _timing import median_ms  # bench/ is on sys.path when a script runs

from sparsegnn import data
from sparsegnn.kernels import gat_aggregate, layer_norm
from sparsegnn.kernels._checks import all_finite
from sparsegnn.kernels._convert import csr_to_dense, gcn_degree_scales, gcn_norm_csr
from sparsegnn.kernels._intrinsics import VECTOR_BYTES
from sparsegnn.kernels._sparse_linear import pack_output_vectors, sparse_linear_unchecked
from sparsegnn.kernels._spmm import GCN_SYMMETRIC, _width_kernel, spmm_csr_unchecked

NO_EPILOGUE = (np.empty(0, np.float32), False, 0, 0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="amazon-computers")
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    dataset = data.load(args.dataset)
    graph, features, rows = dataset.graph, dataset.x, dataset.num_nodes
    indptr, indices, values = gcn_norm_csr(graph.indptr, graph.indices, None, num_nodes=rows)
    values = values.astype(np.float32)
    rng = np.random.default_rng(0)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; {dataset.name}: {rows:,} nodes, "
          f"{indices.shape[0]:,} normalised entries, features {features.shape} "
          f"({100 * features.density:.1f} % dense)")

    def time(label, call):
        print(f"{label:56s} {median_ms(call, args.repeat):8.2f} ms")

    h64 = rng.random((rows, 64), dtype=np.float32)
    for width in (64, 16, 10):
        h = rng.random((rows, width), dtype=np.float32)
        for threads in (1, 2):
            time(f"graph SpMM, F={width}, {threads} thread(s)",
                 lambda h=h, t=threads: spmm_csr_unchecked(indptr, indices, values, h, rows, 0,
                                                           NO_EPILOGUE, t))
    h16 = rng.random((rows, 16), dtype=np.float32)
    out16 = np.empty_like(h16)
    vectors16 = 16 * 4 // VECTOR_BYTES
    for whole, how in ((True, "whole, compiled in"), (False, "checked per entry")):
        kernel = _width_kernel(False, True, vectors16, whole)
        time(f"graph SpMM, F=16, 1 thread, last vector {how}",
             lambda k=kernel: k(indptr, indices, values, h16, out16, 0, NO_EPILOGUE, 0, rows,
                                False, 0.0))
    # a GCN output layer's aggregation: partial vectors loaded and stored, a bias
    scales = gcn_degree_scales(graph.indptr, graph.indices)
    h7 = rng.random((rows, 7), dtype=np.float32)
    bias7 = (rng.random(7, dtype=np.float32), True, 0, 0.01)
    time("GCN SpMM, F=7, bias fused, 1 thread",
         lambda: spmm_csr_unchecked(graph.indptr, graph.indices, scales, h7, rows, GCN_SYMMETRIC,
                                    bias7, 1))
    weight = rng.standard_normal((features.shape[1], 64)).astype(np.float32)
    sparse_values = features.data.astype(np.float32)
    for threads in (1, 2):
        time(f"CSR features x W (64 outputs), {threads} thread(s)",
             lambda t=threads: spmm_csr_unchecked(features.indptr, features.indices,
                                                  sparse_values, weight, rows, 0, NO_EPILOGUE, t))
    dense = csr_to_dense(features)
    vectors = pack_output_vectors(weight)

    def vector_product(threads):
        return sparse_linear_unchecked(dense, vectors, NO_EPILOGUE, threads=threads)

    time("dense features x W, numpy BLAS", lambda: dense @ weight)
    for threads in (1, 2):
        time(f"dense features x W, output vectors, {threads} thread(s)",
             lambda t=threads: vector_product(t))
    # BLAS worker threads keep spinning after a call: what that does to the SpMM that follows

    def then_aggregate(product):
        spmm_csr_unchecked(graph.indptr, graph.indices, scales, product, rows, GCN_SYMMETRIC,
                           NO_EPILOGUE, 2)

    time("numpy BLAS x W, then GCN SpMM (F=64, 2 threads)", lambda: then_aggregate(dense @ weight))
    time("output vectors x W, then GCN SpMM (F=64, 2 threads)",
         lambda: then_aggregate(vector_product(2)))
    time("GCN SpMM alone (F=64, 2 threads, fused normalisation)",
         lambda: then_aggregate(h64))
    time("finite check (all_finite)", lambda: all_finite(dense))
    time("finite check (numpy isfinite().all())", lambda: np.isfinite(dense).all())
    time("GCN normalisation (gcn_norm_csr, a normalised copy)",
         lambda: gcn_norm_csr(graph.indptr, graph.indices, None, num_nodes=rows))
    time("GCN degree scales (gcn_degree_scales, the fused path)",
         lambda: gcn_degree_scales(graph.indptr, graph.indices))
    time("CSR -> dense (csr_to_dense)", lambda: csr_to_dense(features))
    time("CSR -> dense (CSRMatrix.toarray)", lambda: features.toarray(np.float32))
    looped = graph.add_self_loops(remaining=True)
    for heads, channels in ((8, 8), (1, 15)):  # a hidden layer, an output layer
        projected = rng.standard_normal((rows, heads, channels)).astype(np.float32)
        scores = rng.standard_normal((2, rows, heads)).astype(np.float32)
        for threads in (1, 2):
            time(f"GAT attention, {heads} head(s) x {channels}, {threads} thread(s)",
                 lambda t=threads, p=projected, s=scores: gat_aggregate(
                     looped.indptr, looped.indices, s[0], s[1], p, threads=t))
    ones, zeros = np.ones(64, np.float32), np.zeros(64, np.float32)
    time("layer norm + GELU, F=64, 1 thread",
         lambda: layer_norm(h64, ones, zeros, activation="gelu", threads=1))


if __name__ == "__main__":
    main()
