"""Where sparse input features stop paying: CSR x @ dense W (Numba) vs dense x @ W (BLAS).

Run: ``python bench/csr_input_crossover.py``. The runtime's ``CSR_INPUT_MAX_DENSITY`` comes from
this table (10,000 rows, 1,433 inputs like Cora's bag of words, 64 outputs). Measured on the
2-core development machine: the CSR kernel wins below ~13 % density (1.3 %: 1.35 vs 13.8 ms;
10 %: 11.0 vs 15.6 ms; 20 %: 21.1 vs 15.0 ms; 35 %: 36.6 vs 17.8 ms).
"""


import numpy as np
from _timing import median_ms  # bench/ is on sys.path when a script runs

from sparsegnn.kernels import csr_dense_matmul
from sparsegnn.sparse import CSRMatrix


def main():
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((1433, 64)).astype(np.float32)
    print("density   csr kernel ms   dense BLAS ms")
    for density in (0.013, 0.05, 0.1, 0.15, 0.2, 0.35):
        dense = (rng.random((10_000, 1433)) < density).astype(np.float32)
        csr = CSRMatrix.from_dense(dense)
        sparse_ms = median_ms(lambda m=csr: csr_dense_matmul(m.indptr, m.indices, m.data, weight,
                                                             num_rows=10_000))
        dense_ms = median_ms(lambda d=dense: d @ weight)
        print(f"{density:7.3f}   {sparse_ms:13.2f}   {dense_ms:13.2f}")


if __name__ == "__main__":
    main()
