"""Serving a recommender, benchmarked: top-k items for users from sparsegnn's ``Recommender``,
PyTorch and numpy in one process, on the same embeddings and seen-item sets.

Each peer gets its best form of the input: torch holds the embeddings as tensors and each
user's seen items as index tensors, prepared before timing; numpy holds arrays. Every backend
ranks the whole catalogue and leaves out each user's seen items:

- sparsegnn: ``Recommender.recommend`` (int8 scan, exact float32 rescoring of the items that
  can reach the top k);
- torch: ``scores = users @ items.T``, seen items set to -inf, ``torch.topk``;
- numpy: the same product, ``np.argpartition``, then a sort of the k.

Cases: one user per call (users cycled; p50) and one batch of users per call, each on 1 thread
and on every core. The answers are checked against each other (equal scores position by
position) before anything is timed. Used by ``sparsegnn bench INDEX`` and
``bench/recommend.py``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..kernels import quantize_catalogue, set_num_threads, top_k_inner_product
from ..runtime.tuning import median_seconds
from .stats import machine_info

__all__ = ["bench_recommender", "recommend_markdown"]


def _peers(index, k: int) -> dict:
    """``name -> (top_k(users) -> ids, set_threads or None)``; torch only when installed."""
    users_np, items_np = np.array(index.users), np.array(index.items)
    indptr, indices = np.asarray(index.seen_indptr), np.asarray(index.seen_indices)

    def numpy_top_k(batch: np.ndarray) -> np.ndarray:
        scores = users_np[batch] @ items_np.T
        for row, user in enumerate(batch.tolist()):
            scores[row, indices[indptr[user]:indptr[user + 1]]] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1)
        return np.take_along_axis(part, order, 1)

    peers = {"numpy": (numpy_top_k, None)}
    try:
        import torch
    except ImportError:  # the runtime-only install
        return peers
    users_t, items_t = torch.from_numpy(users_np), torch.from_numpy(items_np)
    seen_t = [torch.from_numpy(indices[indptr[u]:indptr[u + 1]].astype(np.int64))
              for u in range(users_np.shape[0])]

    def torch_top_k(batch: np.ndarray) -> np.ndarray:
        scores = users_t[torch.from_numpy(batch)] @ items_t.T
        for row, user in enumerate(batch.tolist()):
            scores[row, seen_t[user]] = -torch.inf
        return torch.topk(scores, k, dim=1).indices.numpy()

    return {"torch": (torch_top_k, torch.set_num_threads), **peers}


def _cycled(call, make):
    """A no-argument call that gives ``call`` the next workload ``make(i)`` each time."""
    counter = iter(range(10 ** 9))
    return lambda: call(make(next(counter)))


def bench_recommender(recommender, *, k: int = 20, batch: int = 1024, repeat: int = 200,
                      name: str = "recommender", seed: int = 0) -> dict:
    """Time top-``k`` retrieval on one user and on ``batch`` users, on 1 thread and on every
    core, against the peers; returns the result (JSON-serialisable)."""
    index = recommender.index
    rng = np.random.default_rng(seed)
    users = rng.choice(index.users.shape[0], size=min(batch, index.users.shape[0]), replace=False)
    peers = _peers(index, k)

    def ours(chosen: np.ndarray) -> np.ndarray:
        return recommender.recommend(chosen, k)[0]

    layout = recommender.catalogue.layout
    if layout == "bytes":  # the same kernel on the portable layout, to show what VNNI adds
        float_catalogue = quantize_catalogue(index.items, "float")

        def ours_float(chosen: np.ndarray) -> np.ndarray:
            return top_k_inner_product(np.asarray(index.users)[chosen], float_catalogue, k,
                                       recommender.seen, chosen)[0]

        peers = {"sparsegnn-float": (ours_float, None), **peers}

    check = users[:64]
    for peer, (call, _) in peers.items():
        expected, got = call(check), ours(check)
        scores = lambda ids: np.einsum("ud,ukd->uk", index.users[check], index.items[ids])  # noqa: E731
        if not np.allclose(scores(expected), scores(got), rtol=1e-5, atol=1e-5):
            raise RuntimeError(f"{peer} and sparsegnn disagree on the top {k}: nothing timed")
    rows = []
    for threads in sorted({1, os.cpu_count() or 1}):
        set_num_threads(threads)
        for _, set_threads in peers.values():
            if set_threads:
                set_threads(threads)
        backends = {"sparsegnn": ours, **{peer: call for peer, (call, _) in peers.items()}}
        for case, make, times in (("1 user", lambda i: users[i % users.size:i % users.size + 1],
                                   repeat),
                                  (f"{users.size} users", lambda i: users, 10)):
            timings = {backend: 1e3 * median_seconds(_cycled(call, make), times)
                       for backend, call in backends.items()}
            rows.append({"case": case, "threads": threads, "p50_ms": timings,
                         "speedup": {b: timings[b] / timings["sparsegnn"] for b in timings}})
    set_num_threads(None)
    return {"name": name, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": machine_info(), "users": int(index.users.shape[0]),
            "items": int(index.items.shape[0]), "dim": int(index.items.shape[1]), "k": k,
            "seen_entries": int(index.seen_indices.shape[0]), "rows": rows,
            "layout": layout,
            "inputs": {"sparsegnn": f"retrieval index (int8 catalogue copy made at load, "
                                    f"{layout} layout)",
                       "sparsegnn-float": "the same, float layout (where the default is bytes)",
                       "torch": "float32 tensors; seen items as index tensors per user",
                       "numpy": "float32 arrays"}}


def recommend_markdown(result: dict, command: str = "") -> str:
    peers = [b for b in result["rows"][0]["p50_ms"] if b != "sparsegnn"]
    lines = [f"# Top-{result['k']} recommendation: {result['name']}", "",
             f"{result['users']:,} users x {result['items']:,} items x {result['dim']} "
             f"dimensions; {result['machine']['cpu']}, {result['machine']['logical_cores']} "
             f"cores; sparsegnn's catalogue layout: {result.get('layout', 'float')}"
             f"{f'; `{command}`' if command else ''}", "",
             "| case | threads | sparsegnn p50 ms | " + " | ".join(f"{p} p50 ms" for p in peers)
             + " | " + " | ".join(f"vs {p}" for p in peers) + " |",
             "|" + "---|" * (3 + 2 * len(peers))]
    for row in result["rows"]:
        t = row["p50_ms"]
        lines.append(f"| {row['case']} | {row['threads']} | {t['sparsegnn']:.3f} | "
                     + " | ".join(f"{t[p]:.3f}" for p in peers) + " | "
                     + " | ".join(f"{row['speedup'][p]:.2f}x" for p in peers) + " |")
    return "\n".join(lines) + "\n"
