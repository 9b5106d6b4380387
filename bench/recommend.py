"""Serving a recommender: top-k items for users, sparsegnn's runtime against PyTorch and numpy in
one process, on the same embeddings and the same seen-item sets.

Each peer gets its best form of the input: torch holds the embeddings as tensors and each
user's seen items as index tensors, prepared before timing; numpy holds arrays. Every backend
returns each user's k best unseen items, ranking the whole catalogue:

- sparsegnn: ``Recommender.recommend`` (int8 scan with exact float32 rescoring of the items
  that can reach the top k);
- torch: ``scores = users @ items.T``, seen items set to -inf, ``torch.topk``;
- numpy: the same product, ``np.argpartition`` then a sort of the k.

Cases: one user per call (users cycled; p50), and batches of ``--batch`` users (p50 per batch),
each on 1 thread and on every core. The answers are checked against each other (the same
scores) before anything is timed.

Run: ``python bench/recommend.py --index gowalla.sgnn`` (a retrieval index:
``sparsegnn train --task recommend --dataset gowalla --out m.safetensors`` then
``sparsegnn export m.safetensors --out gowalla.sgnn``), or ``--random 29858 40981 64`` for
random embeddings of a given size. Writes ``bench/results/recommend/<name>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_seconds  # noqa: E402

from sparsegnn._fileio import atomic_write_text  # noqa: E402
from sparsegnn.artifact import RetrievalIndex  # noqa: E402
from sparsegnn.benchmark.stats import machine_info  # noqa: E402
from sparsegnn.kernels import set_num_threads  # noqa: E402
from sparsegnn.runtime import Recommender  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "recommend"


def _random_index(users: int, items: int, dim: int, seed: int = 0) -> RetrievalIndex:
    rng = np.random.default_rng(seed)
    seen = [np.unique(rng.integers(0, items, size=rng.integers(1, 60))) for _ in range(users)]
    return RetrievalIndex(rng.normal(size=(users, dim)).astype(np.float32),
                          (rng.normal(size=(items, dim)) * rng.gamma(2, 0.5, (items, 1)))
                          .astype(np.float32),
                          np.r_[0, np.cumsum([s.size for s in seen])].astype(np.int64),
                          np.concatenate(seen).astype(np.int32))


def _peers(index: RetrievalIndex, k: int):
    import torch

    users_t, items_t = torch.from_numpy(np.array(index.users)), torch.from_numpy(np.array(index.items))
    indptr, indices = np.asarray(index.seen_indptr), np.asarray(index.seen_indices)
    seen_t = [torch.from_numpy(indices[indptr[u]:indptr[u + 1]].astype(np.int64))
              for u in range(index.users.shape[0])]
    users_np, items_np = np.array(index.users), np.array(index.items)

    def torch_top_k(batch: np.ndarray) -> np.ndarray:
        scores = users_t[torch.from_numpy(batch)] @ items_t.T
        for row, user in enumerate(batch.tolist()):
            scores[row, seen_t[user]] = -torch.inf
        return torch.topk(scores, k, dim=1).indices.numpy()

    def numpy_top_k(batch: np.ndarray) -> np.ndarray:
        scores = users_np[batch] @ items_np.T
        for row, user in enumerate(batch.tolist()):
            scores[row, indices[indptr[user]:indptr[user + 1]]] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1)
        return np.take_along_axis(part, order, 1)

    return {"torch": (torch_top_k, torch.set_num_threads), "numpy": (numpy_top_k, None)}


def _same_answers(index: RetrievalIndex, reference: np.ndarray, other: np.ndarray,
                  batch: np.ndarray) -> bool:
    """Equal scores position by position (ids may differ only among tied scores)."""
    scores = lambda ids: np.einsum("ud,ukd->uk", index.users[batch], index.items[ids])  # noqa: E731
    return bool(np.allclose(scores(reference), scores(other), rtol=1e-5, atol=1e-5))


def _cycled(call, make):
    """A no-argument call that gives ``call`` the next workload ``make(i)`` each time."""
    counter = iter(range(10 ** 9))
    return lambda: call(make(next(counter)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--index", type=Path, help="a retrieval index (.sgnn)")
    source.add_argument("--random", type=int, nargs=3, metavar=("USERS", "ITEMS", "DIM"))
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=200, help="single-user calls timed")
    parser.add_argument("--name", default=None, help="result file stem")
    args = parser.parse_args()

    recommender = Recommender(args.index if args.index else _random_index(*args.random))
    index = recommender.index
    name = args.name or (args.index.stem if args.index else "random-{}x{}x{}".format(*args.random))
    rng = np.random.default_rng(0)
    batch = rng.choice(index.users.shape[0], size=min(args.batch, index.users.shape[0]),
                       replace=False)
    peers = _peers(index, args.k)
    ours = lambda users: recommender.recommend(users, args.k)[0]  # noqa: E731
    for peer, (call, _) in peers.items():
        if not _same_answers(index, ours(batch[:64]), call(batch[:64]), batch[:64]):
            raise SystemExit(f"{peer} and sparsegnn disagree: nothing timed")
    cores = os.cpu_count() or 1
    rows = []
    for threads in sorted({1, cores}):
        set_num_threads(threads)
        for _, set_threads in peers.values():
            if set_threads:
                set_threads(threads)
        backends = {"sparsegnn": ours, **{peer: call for peer, (call, _) in peers.items()}}
        for case, make in (("1 user", lambda i: batch[i % batch.size: i % batch.size + 1]),
                           (f"{batch.size} users", lambda i: batch)):
            repeat = args.repeat if case == "1 user" else 10
            timings = {}
            for backend, call in backends.items():
                timings[backend] = 1e3 * median_seconds(_cycled(call, make), repeat)
            rows.append({"case": case, "threads": threads, "p50_ms": timings,
                         "speedup": {b: timings[b] / timings["sparsegnn"] for b in timings}})
            print(f"{case:>12}, {threads} thread(s): " + ", ".join(
                f"{b} {t:.3f} ms" for b, t in timings.items()) + "; sparsegnn is " + ", ".join(
                f"{timings[b] / timings['sparsegnn']:.2f}x {b}" for b in timings if b != "sparsegnn"),
                flush=True)
    result = {"name": name, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
              "machine": machine_info(), "users": int(index.users.shape[0]),
              "items": int(index.items.shape[0]), "dim": int(index.items.shape[1]), "k": args.k,
              "seen_entries": int(index.seen_indices.shape[0]), "rows": rows,
              "inputs": {"sparsegnn": "retrieval index (int8 catalogue copy made at load)",
                         "torch": "float32 tensors; seen items as index tensors per user",
                         "numpy": "float32 arrays"}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{name}.json", json.dumps(result, indent=2))
    lines = [f"# Top-{args.k} recommendation: {name}", "",
             f"{result['users']:,} users x {result['items']:,} items x {result['dim']} "
             f"dimensions; {result['machine']['cpu']}, {result['machine']['logical_cores']} "
             f"cores; `python bench/recommend.py {' '.join(sys.argv[1:])}`", "",
             "| case | threads | sparsegnn p50 ms | torch p50 ms | numpy p50 ms | vs torch | "
             "vs numpy |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        t = row["p50_ms"]
        lines.append(f"| {row['case']} | {row['threads']} | {t['sparsegnn']:.3f} | "
                     f"{t['torch']:.3f} | {t['numpy']:.3f} | {row['speedup']['torch']:.2f}x | "
                     f"{row['speedup']['numpy']:.2f}x |")
    atomic_write_text(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / name}.json and .md")


if __name__ == "__main__":
    main()
