"""What ``sparsegnn inspect`` prints about an artifact (numpy + numba only, like the runtime)."""

from __future__ import annotations

from pathlib import Path

from ..artifact import load_artifact
from ..ir import matrix_nonzeros, matrix_tensors, matrix_to_dense
from .planner import plan_matrix
from .tuning import load_tuning

__all__ = ["describe_artifact"]


def describe_artifact(path) -> list[str]:
    """Human-readable lines: provenance, then one line per op with shapes, storage, sparsity,
    pattern, and the kernel the runtime picks for each weight on this machine (with the
    predicted nanoseconds per node row of every candidate)."""
    model = load_artifact(path)
    tuning = load_tuning()
    size = Path(path).stat().st_size
    lines = [f"{path}: {size:,} bytes, {model.metadata.get('producer', '?')}, "
             f"{len(model.nodes)} ops, {len(model.tensors)} tensors"]
    config = model.metadata.get("model_config", {})
    if isinstance(config, dict) and config.get("kind") == "link":  # a link predictor's encoder
        lines.append(f"link predictor: {config.get('decoder')} decoder over the encoder below")
        config = config.get("encoder", {})
    if config:
        lines.append(f"model: {config.get('kind')} in={config.get('in_channels')} "
                     f"hidden={config.get('hidden_channels')} layers={config.get('num_layers')} "
                     f"task={model.metadata.get('task')}")
    for key in sorted(k for k in model.metadata if k not in ("model_config", "producer")):
        lines.append(f"  {key}: {model.metadata[key]}")
    lines.append(f"kernels priced with the tuning of {tuning.machine.get('key', 'the defaults')} "
                 f"(ns per node row; `sparsegnn tune` measures this machine)")
    from ..kernels import KERNELS

    lines.append(KERNELS.describe())
    if model.has_stored_graph:
        indptr = model.tensors["stored_graph.indptr"]
        lines.append(f"stored graph: {indptr.shape[0] - 1:,} nodes, {int(indptr[-1]):,} edges")
    for index, node in enumerate(model.nodes):
        parts = [f"[{index}] {node.op}"]
        for key, value in node.attrs.items():
            if isinstance(value, dict) and "format" in value:
                rows, cols = value["shape"]
                stored = sum(model.tensors[n].nbytes for n in matrix_tensors(value))
                nonzero = matrix_nonzeros(value, model.tensors)
                sparsity = 1 - nonzero / max(rows * cols, 1)
                plan = plan_matrix(matrix_to_dense(value, model.tensors), tuning)
                costs = ", ".join(f"{kind} {cost:.0f}" for kind, cost in plan.costs.items())
                parts.append(f"{key} {rows}x{cols} {value['format']} "
                             f"{value.get('pattern', 'unstructured')} sparsity "
                             f"{100 * sparsity:.1f}% ({stored:,} B) -> {plan.kind(1 << 20)} "
                             f"({costs})")
                if plan.live is not None:
                    parts.append(f"CSR features drop the entries of its "
                                 f"{100 * (1 - plan.live.fraction):.0f}% empty rows")
            elif key in ("activation", "aggr", "reduce", "heads", "concat", "eps"):
                parts.append(f"{key}={value}")
        lines.append("  ".join(parts))
    return lines
