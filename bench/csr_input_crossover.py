"""Where sparse input features stop paying: CSR x @ dense W (Numba) vs dense x @ W (BLAS).

Run: ``python bench/csr_input_crossover.py``. 10,000 rows, 1,433 inputs like Cora's bag of words,
16 and 64 outputs. Two questions:

- an app holding sparse features: keep them sparse, or dense? (``csr`` against ``BLAS``);
- the runtime given a CSR ``x``: multiply it as it is, or expand it first? (``csr`` against
  ``expand + BLAS``; expanding writes the whole dense array, page faults included: the
  runtime expands a CSR ``x`` above ``Tuning.csr_input_expand_density``). The session's advice
  to apps, ``Session.csr_input_max_density``, is priced per model from the machine's tuning.
"""


import numpy as np
from _timing import median_ms  # bench/ is on sys.path when a script runs

from sparsegnn.kernels import csr_dense_matmul
from sparsegnn.kernels._convert import csr_to_dense
from sparsegnn.sparse import CSRMatrix


def main():
    rng = np.random.default_rng(0)
    print("outputs   density   csr ms   BLAS ms   expand + BLAS ms   (expand + BLAS) / csr")
    for outputs in (16, 64):
        weight = rng.standard_normal((1433, outputs)).astype(np.float32)
        for density in (0.013, 0.05, 0.1, 0.15, 0.2, 0.35, 0.5):
            dense = (rng.random((10_000, 1433)) < density).astype(np.float32)
            csr = CSRMatrix.from_dense(dense)
            sparse_ms = median_ms(lambda m=csr, w=weight: csr_dense_matmul(
                m.indptr, m.indices, m.data, w, num_rows=10_000))
            dense_ms = median_ms(lambda d=dense, w=weight: d @ w)
            expand_ms = median_ms(lambda m=csr, w=weight: csr_to_dense(m) @ w)
            print(f"{outputs:7d}   {density:7.3f}   {sparse_ms:6.2f}   {dense_ms:7.2f}   "
                  f"{expand_ms:16.2f}   {expand_ms / sparse_ms:21.2f}")


if __name__ == "__main__":
    main()
