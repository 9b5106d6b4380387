"""Serving a recommender: top-k items for users, sparsegnn's runtime against PyTorch and numpy in
one process (see ``sparsegnn.benchmark.recommend`` for what each peer is given and runs).

Run: ``python bench/recommend.py --index gowalla.sgnn`` (a retrieval index:
``sparsegnn train --task recommend --dataset gowalla --out m.safetensors`` then
``sparsegnn export m.safetensors --out gowalla.sgnn``), or ``--random 29858 40981 64`` for
random embeddings of a given size. Writes ``bench/results/recommend/<name>.json`` and ``.md``;
``sparsegnn bench INDEX`` runs the same.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sparsegnn._fileio import atomic_write_text
from sparsegnn.artifact import RetrievalIndex
from sparsegnn.benchmark.recommend import bench_recommender, recommend_markdown
from sparsegnn.runtime import Recommender

RESULTS = Path(__file__).resolve().parent / "results" / "recommend"


def _random_index(users: int, items: int, dim: int, seed: int = 0) -> RetrievalIndex:
    rng = np.random.default_rng(seed)
    seen = [np.unique(rng.integers(0, items, size=rng.integers(1, 60))) for _ in range(users)]
    return RetrievalIndex(rng.normal(size=(users, dim)).astype(np.float32),
                          (rng.normal(size=(items, dim)) * rng.gamma(2, 0.5, (items, 1)))
                          .astype(np.float32),
                          np.r_[0, np.cumsum([s.size for s in seen])].astype(np.int64),
                          np.concatenate(seen).astype(np.int32))


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
    name = args.name or (args.index.stem if args.index else "random-{}x{}x{}".format(*args.random))
    result = bench_recommender(recommender, k=args.k, batch=args.batch, repeat=args.repeat,
                               name=name)
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{name}.json", json.dumps(result, indent=2))
    text = recommend_markdown(result, f"python bench/recommend.py {' '.join(sys.argv[1:])}")
    atomic_write_text(RESULTS / f"{name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
