"""``sparsegnn export`` and ``sparsegnn inspect``."""

from __future__ import annotations

import sys
from pathlib import Path

from ._common import _add_data_options


def _weight_bytes(model) -> int:
    return sum(p.numel() * 4 for p in model.parameters())


def cmd_export(args) -> int:
    from ..export import export_checkpoint
    from ..nn import load_checkpoint

    checkpoint = load_checkpoint(args.checkpoint)
    if checkpoint.interactions is not None:  # a recommender: its retrieval index
        from ..export import export_recommender

        path = export_recommender(checkpoint, args.out, source=args.checkpoint)
        print(f"wrote {path}: a retrieval index of {checkpoint.model.num_users:,} users and "
              f"{checkpoint.model.num_items:,} items ({path.stat().st_size:,} bytes; serve it "
              f"with sparsegnn run {path} --users ...)")
        if args.onnx is not None:
            print("note: --onnx is not written for a recommender (its embeddings are the model)")
        return 0
    links = checkpoint.info.get("task") == "link_prediction"
    # a pruned graph travels along; a link predictor's message-passing graph always does
    graph = checkpoint.graph if args.store_graph or links else None
    if args.store_graph and graph is None:
        from ..data import load

        if checkpoint.info.get("dataset") is None and args.dataset is None:
            print("sparsegnn export: error: --store-graph needs --dataset (the checkpoint names "
                  "none)", file=sys.stderr)
            return 2
        dataset = load(args.dataset or checkpoint.info["dataset"], args.data_dir)
        if dataset.is_graph_task:
            print("sparsegnn export: error: --store-graph is for node-level (transductive) "
                  "models", file=sys.stderr)
            return 2
        graph = dataset.graph
    path = export_checkpoint(checkpoint, args.out, source=args.checkpoint, graph=graph,
                             csr_max_density=args.csr_max_density)
    from ..artifact import load_artifact
    from ..ir import STORED_GRAPH

    dense = _weight_bytes(checkpoint.model)
    size = path.stat().st_size
    tensors = load_artifact(path).tensors
    graph_bytes = sum(a.nbytes for n, a in tensors.items() if n.startswith(f"{STORED_GRAPH}."))
    weight_bytes = sum(a.nbytes for a in tensors.values()) - graph_bytes
    print(f"wrote {path}")
    print(f"dense fp32 weights: {dense:,} bytes")
    # the header (manifest, tensor table) is a fixed cost: a percentage of the whole file would
    # read as thousands of percent for a tiny model
    print(f"artifact:           {size:,} bytes: weights {weight_bytes:,} "
          f"({100 * weight_bytes / dense:.1f}% of dense), header {size - weight_bytes - graph_bytes:,}"
          f"{f', stored graph {graph_bytes:,}' if graph_bytes else ''}")
    if args.onnx is not None:
        from ..export.onnx_writer import save_onnx, save_ort

        onnx_path = save_onnx(load_artifact(path), args.onnx, sparse_weights=args.sparse_onnx)
        onnx_size = onnx_path.stat().st_size
        print(f"onnx:               {onnx_size:,} bytes"
              f"{' (sparse weights)' if args.sparse_onnx else ''}")
        if args.ort is not None:
            ort_size = save_ort(onnx_path, args.ort).stat().st_size
            print(f"ort (mobile):       {ort_size:,} bytes")
    return 0


def cmd_inspect(args) -> int:
    from ..artifact import RETRIEVAL, artifact_kind, load_retrieval_index
    from ..runtime.describe import describe_artifact

    if artifact_kind(args.artifact) == RETRIEVAL:
        index = load_retrieval_index(args.artifact)
        print(f"{args.artifact}: retrieval index, {args.artifact.stat().st_size:,} bytes: "
              f"{index.users.shape[0]:,} users x {index.items.shape[0]:,} items x "
              f"{index.users.shape[1]} dimensions, {index.seen_indices.shape[0]:,} seen items")
        for key, value in sorted(index.metadata.items()):
            print(f"  {key}: {value}")
        return 0

    for line in describe_artifact(args.artifact):
        print(line)
    if args.plot is not None:
        from ..report import from_artifact, write_report

        for path in write_report(from_artifact(args.artifact), args.plot):
            print(f"wrote {path}")
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    export = commands.add_parser(
        "export", help="export a checkpoint to a .sgnn artifact",
        description="Bake the checkpoint's weights into a .sgnn artifact (batch norms folded, "
                    "dropout dropped, sparse weights in CSR) and print its size against the "
                    "dense fp32 weights.")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--out", type=Path, required=True, help="artifact path (.sgnn)")
    export.add_argument("--store-graph", action="store_true",
                        help="store the dataset's graph in the artifact (transductive models)")
    export.add_argument("--dataset", default=None,
                        help="dataset whose graph to store (default: the checkpoint's)")
    _add_data_options(export)
    export.add_argument("--csr-max-density", type=float, default=0.4,
                        help="store weights at or below this density as CSR")
    export.add_argument("--onnx", type=Path, default=None,
                        help="also write a standard ONNX model (inputs x, edge_index[, "
                             "edge_weight][, batch])")
    export.add_argument("--sparse-onnx", action="store_true",
                        help="write pruned weights as sparse constants (smaller file; ONNX "
                             "Runtime densifies them at load)")
    export.add_argument("--ort", type=Path, default=None,
                        help="also convert the ONNX model to ONNX Runtime Mobile's ORT format")
    export.set_defaults(handler=cmd_export)

    inspect = commands.add_parser(
        "inspect", help="describe a .sgnn artifact",
        description="Print an artifact's provenance, ops, weight shapes, storage and sparsity.")
    inspect.add_argument("artifact", type=Path)
    inspect.add_argument("--plot", type=Path, default=None, metavar="DIR",
                         help="also draw what the artifact holds into DIR: kept weights per "
                              "matrix, mask heat maps, the stored graph's degrees, and "
                              "index.html gathering them (needs matplotlib)")
    inspect.set_defaults(handler=cmd_inspect)
