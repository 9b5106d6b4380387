"""Obviously correct references (scipy / dense numpy) and the one comparison helper."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def assert_matches(actual, expected, *, atol: float | None = None, check_dtype: bool = True):
    """Compare shape, then dtype, then values (tolerance per dtype unless given)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if check_dtype:
        assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != {expected.dtype}"
    tolerance = atol if atol is not None else TOLERANCE.get(actual.dtype, 0)
    np.testing.assert_allclose(actual, expected, atol=tolerance, rtol=tolerance)


def scipy_adjacency(edge_index: np.ndarray, num_nodes: int, weights=None) -> sp.csr_matrix:
    """The aggregation matrix M with ``M[dst, src] = sum of weights`` (duplicates summed)."""
    edge_index = np.asarray(edge_index, dtype=np.int64)
    values = np.ones(edge_index.shape[1]) if weights is None else np.asarray(weights, np.float64)
    return sp.csr_matrix((values, (edge_index[1], edge_index[0])), shape=(num_nodes, num_nodes))


def spmm_reference(indptr, indices, values, x, num_rows, reduce="sum"):
    """Dense-numpy ``reduce_{e in row} values[e] * x[indices[e]]``; empty rows give 0."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros((num_rows, x.shape[1]))
    for row in range(num_rows):
        entries = np.arange(indptr[row], indptr[row + 1])
        if entries.size == 0:
            continue
        weights = np.ones(entries.size) if values is None else np.asarray(values, np.float64)[entries]
        messages = weights[:, None] * x[np.asarray(indices)[entries]]
        out[row] = {"sum": messages.sum(0), "mean": messages.mean(0), "max": messages.max(0)}[reduce]
    return out


def gat_reference(indptr, indices, score_src, score_dst, x, slope):
    """Per-row softmax attention and aggregation in float64. Returns ``(alpha, out)``."""
    num_rows = indptr.shape[0] - 1
    heads = score_src.shape[1]
    alpha = np.zeros((indices.shape[0], heads))
    out = np.zeros((num_rows, heads, x.shape[2]))
    for row in range(num_rows):
        entries = np.arange(indptr[row], indptr[row + 1])
        if entries.size == 0:
            continue
        scores = score_src[indices[entries]].astype(np.float64) + score_dst[row].astype(np.float64)
        scores = np.where(scores > 0, scores, slope * scores)
        weights = np.exp(scores - scores.max(axis=0))
        weights /= weights.sum(axis=0)
        alpha[entries] = weights
        out[row] = np.einsum("eh,ehc->hc", weights, x[indices[entries]].astype(np.float64))
    return alpha, out


ACTIVATION_REFERENCES = {
    "identity": lambda v: v,
    "relu": lambda v: np.maximum(v, 0),
    "elu": lambda v: np.where(v > 0, v, np.expm1(v)),
    "leaky_relu": lambda v: np.where(v > 0, v, 0.01 * v),
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "tanh": np.tanh,
    # exact GELU: erf in float64 (math.erf), against the kernels' float32 rational erf
    "gelu": lambda v: 0.5 * v * (1 + np.vectorize(math.erf, otypes=[float])(v / math.sqrt(2))),
}


def randomise_batch_norms(model) -> None:
    """Give every BatchNorm1d non-trivial statistics and affine parameters, and every LayerNorm
    non-trivial affine parameters, so that a wrong mapping or fold of them shows in the
    outputs."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.LayerNorm)):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)


def run_in_threads(call, threads: int = 4, repeats: int = 3) -> list:
    """Call ``call()`` ``repeats`` times in each of ``threads`` Python threads at once; return
    the results, re-raising the first error."""
    import threading

    results, errors = [], []

    def work():
        try:
            for _ in range(repeats):
                results.append(call())
        except Exception as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return results


def run_in_child(code: str, timeout: float = 300) -> str:
    """Run Python ``code`` in a child process (a case that could crash native code fails the
    test instead of killing the run); returns its stdout, asserting a clean exit."""
    import os
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=timeout,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode == 0, child.stderr[-2000:]
    return child.stdout


def save_unchecked(model, path):
    """Write ``model`` as an artifact with valid checksums but without validating it (what a
    crafted or corrupted file holds)."""
    from unittest import mock

    from sparsegnn.artifact import save_artifact
    from sparsegnn.ir import Model

    with mock.patch.object(Model, "validate", lambda self, error=None: None):
        return save_artifact(model, path)
