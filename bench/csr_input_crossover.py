"""Where sparse input features stop paying: CSR x @ dense W (Numba) vs dense x @ W (BLAS).

Run: ``python bench/csr_input_crossover.py``. The runtime's ``CSR_INPUT_MAX_DENSITY`` comes from
this table (10,000 rows, 1,433 inputs like Cora's bag of words; 16 and 64 outputs: from 64 the
kernel keeps a row's outputs in registers, so it pays up to a higher density).
"""


import numpy as np
from _timing import median_ms  # bench/ is on sys.path when a script runs

from sparsegnn.kernels import csr_dense_matmul
from sparsegnn.sparse import CSRMatrix


def main():
    rng = np.random.default_rng(0)
    print("outputs   density   csr kernel ms   dense BLAS ms   BLAS / csr")
    for outputs in (16, 64):
        weight = rng.standard_normal((1433, outputs)).astype(np.float32)
        for density in (0.013, 0.05, 0.1, 0.15, 0.2, 0.35, 0.5):
            dense = (rng.random((10_000, 1433)) < density).astype(np.float32)
            csr = CSRMatrix.from_dense(dense)
            sparse_ms = median_ms(lambda m=csr, w=weight: csr_dense_matmul(
                m.indptr, m.indices, m.data, w, num_rows=10_000))
            dense_ms = median_ms(lambda d=dense, w=weight: d @ w)
            print(f"{outputs:7d}   {density:7.3f}   {sparse_ms:13.2f}   {dense_ms:13.2f}   "
                  f"{dense_ms / sparse_ms:10.2f}")


if __name__ == "__main__":
    main()
