"""``sparsegnn run``: an artifact on a dataset or a user graph (runtime only)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._common import _add_data_options


def _load_user_graph(path: Path):
    """``x`` and ``edge_index`` (and optionally ``batch``) from an npz, without pickle."""
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        missing = [k for k in ("x", "edge_index") if k not in archive]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing} (expected x, edge_index[, batch])")
        return archive["x"], archive["edge_index"], archive["batch"] if "batch" in archive else None


def _parse_ids(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ids, got {text!r}") from None


def _run_recommender(args) -> int:
    """``run INDEX``: recommend for ``--users``, or score the recorded set's test part."""
    import numpy as np

    from ..metrics import ndcg_at_k, recall_at_k
    from ..runtime import Recommender

    recommender = Recommender(args.artifact, num_threads=args.threads)
    print(f"retrieval index: {recommender.num_users:,} users x {recommender.num_items:,} items, "
          f"{recommender.index.users.shape[1]} dimensions")
    if args.users:
        items, scores = recommender.recommend(args.users, args.k)
        for user, row, row_scores in zip(args.users, items, scores):
            kept = row >= 0
            print(f"user {user}: " + ", ".join(f"{i} ({s:.3f})" for i, s in
                                              zip(row[kept], row_scores[kept])))
        return 0
    from ..data import load_recommendation

    recorded = recommender.metadata.get("train_dataset")
    name = args.dataset or (recorded if isinstance(recorded, str) else None)
    if name is None:
        print("sparsegnn run: error: give --users, or --dataset to score (the index records "
              "no dataset)", file=sys.stderr)
        return 2
    interactions = load_recommendation(name, args.data_dir)
    if interactions.train.shape != (recommender.num_users, recommender.num_items):
        print(f"sparsegnn run: error: {name} has {interactions.train.shape} users x items, the "
              f"index {recommender.num_users} x {recommender.num_items}", file=sys.stderr)
        return 2
    test = interactions.test
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    started = time.perf_counter()
    ranked, _ = recommender.recommend(users, args.k)
    seconds = time.perf_counter() - started
    print(f"test on {name}: recall@{args.k} "
          f"{recall_at_k(ranked, test.indptr, test.indices, users):.4f}, ndcg@{args.k} "
          f"{ndcg_at_k(ranked, test.indptr, test.indices, users):.4f} over {users.size:,} users "
          f"(all unseen items ranked; {1e3 * seconds:.0f} ms, "
          f"{1e6 * seconds / users.size:.0f} µs a user, {args.threads or 'all'} threads)")
    return 0


def _score_links(session, embeddings, dataset) -> int:
    """ROC-AUC and AP of a link predictor on the test pairs of its recorded edge split."""
    from ..data.links import random_link_split
    from ..metrics import average_precision, roc_auc

    edge_split = session.metadata.get("train_edge_split")
    if not isinstance(edge_split, dict):
        print("no edge split is recorded in the artifact: embeddings computed, nothing scored")
        return 0
    split = random_link_split(dataset.graph, edge_split["val"], edge_split["test"],
                              seed=edge_split["seed"])
    pairs, labels = split.labelled("test")
    scores = session.score_pairs(embeddings, pairs)
    print(f"test ROC-AUC {roc_auc(labels, scores):.4f}, AP {average_precision(labels, scores):.4f} "
          f"on {pairs.shape[1]:,} held-out pairs ({session.decoder} decoder)")
    return 0


def cmd_run(args) -> int:

    import numpy as np

    from ..artifact import RETRIEVAL, artifact_kind
    from ..runtime import Session

    if artifact_kind(args.artifact) == RETRIEVAL:
        return _run_recommender(args)
    if args.users:
        print("sparsegnn run: error: --users is for a recommender's retrieval index",
              file=sys.stderr)
        return 2

    session = Session(args.artifact, num_threads=args.threads)
    labels = split_ids = None
    if args.input is not None:
        x, graph, batch = _load_user_graph(args.input)
    else:
        from ..data import load

        recorded = session.metadata.get("train_dataset")
        name = args.dataset or (recorded if isinstance(recorded, str) else None)
        if args.dataset is None:
            print(f"dataset: {name or 'synthetic'} ("
                  f"{'recorded in the artifact' if name else 'the artifact records none'}; "
                  f"--dataset chooses another)")
        dataset = load(name or "synthetic", args.data_dir)
        x, graph, batch = dataset.x, dataset.graph, dataset.batch
        if session.model.has_stored_graph and not args.dataset_graph:
            graph = None  # the (possibly edge-pruned) graph exported with the model
            print("using the graph stored in the artifact (--dataset-graph uses the dataset's)")
        labels = dataset.y
        split_ids = dataset.splits[args.split].test if dataset.splits else None
    from ..kernels import KERNELS

    if KERNELS.source != "bundle":  # say why a first call may take long, before it does
        print(f"{KERNELS.describe()}: the first call compiles the kernels this model needs "
              f"that Numba has not cached yet (up to a minute; `sparsegnn compile` precompiles "
              f"them)", flush=True)
    times = []
    for _ in range(max(args.repeat, 1)):
        started = time.perf_counter()
        output = session.run(x, graph, batch)
        times.append(time.perf_counter() - started)
    print(f"output {output.shape}, first call {1e3 * times[0]:.2f} ms, median of {len(times)} "
          f"calls {1e3 * float(np.median(times)):.2f} ms ({args.threads or 'all'} threads)")
    if session.decoder is not None and args.input is None:  # a link predictor
        return _score_links(session, output, dataset)
    if labels is not None and split_ids is not None:
        from ..metrics import format_score, score_outputs

        score = score_outputs(dataset.metric, output[split_ids], labels[split_ids])
        print(f"test {format_score(score, dataset.metric)} on {split_ids.size} "
              f"{'graphs' if batch is not None else 'nodes'}")
    if args.predictions is not None:
        from .._fileio import atomic_path

        with atomic_path(args.predictions) as temporary, open(temporary, "wb") as handle:
            np.save(handle, output)
        print(f"wrote {args.predictions}")
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    run = commands.add_parser(
        "run", help="run a .sgnn artifact with the numpy + numba runtime",
        description="Run an artifact on a dataset (reporting test accuracy) or on your own graph, "
                    "and report latency. Needs only the runtime (numpy + numba).")
    run.add_argument("artifact", type=Path)
    source = run.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None,
                        help="registered dataset name or path (default: the one the artifact "
                             "records, else synthetic)")
    source.add_argument("--input", type=Path, default=None,
                        help="an .npz with x (N, F), edge_index (2, E) and optionally batch (N,)")
    _add_data_options(run)
    run.add_argument("--split", type=int, default=0, help="split whose test part is scored")
    run.add_argument("--dataset-graph", action="store_true",
                     help="use the dataset's graph even if the artifact stores one")
    run.add_argument("--threads", type=int, default=None, help="kernel threads (default: all)")
    run.add_argument("--repeat", type=int, default=10, help="calls to time")
    run.add_argument("--predictions", type=Path, default=None, help="write the output (.npy)")
    recommend = run.add_argument_group("a recommender's retrieval index")
    recommend.add_argument("--users", type=_parse_ids, default=None,
                           help="comma-separated user ids to recommend for (default: score "
                                "the recorded dataset's test part)")
    recommend.add_argument("--k", type=int, default=20, help="items per user")
    run.set_defaults(handler=cmd_run)
