"""Turn checkpoints (or bare artifacts) into the files the backends load."""

from __future__ import annotations

import os
from pathlib import Path

from ..artifact import load_artifact
from ..ir import weight_sparsity
from .backends import ModelFiles

__all__ = ["prepare_checkpoints", "artifact_models"]


def _entry(artifact_path: Path, edge_sparsity: float) -> dict:
    model = load_artifact(artifact_path)
    return {"weight_sparsity": weight_sparsity(model), "edge_sparsity": float(edge_sparsity),
            "task": model.metadata.get("task"),
            "pattern": model.metadata.get("pattern", "unstructured")}


def prepare_checkpoints(checkpoints: list[str | os.PathLike], folder: str | os.PathLike, *,
                        onnx: bool = True) -> tuple[list[ModelFiles], list[dict]]:
    """Export each checkpoint to ``folder/<stem>.sgnn`` (with its edge-pruned graph, if it
    carries one) and ``folder/<stem>.onnx``. The unpruned model is the checkpoint named by its
    ``pruned_from`` info, when that file exists; it is exported too (``<stem>-dense.sgnn``),
    for the pruned model's speed-up over its dense self. Returns the files and each model's
    entry."""
    from ..export import export_checkpoint
    from ..export.onnx_writer import save_onnx
    from ..nn import load_checkpoint

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    models, entries = [], []
    labels = [Path(p).stem for p in checkpoints]
    if len(set(labels)) != len(labels):
        labels = [f"{i}-{label}" for i, label in enumerate(labels)]
    for label, path in zip(labels, checkpoints):
        checkpoint = load_checkpoint(path)
        graph = checkpoint.graph
        artifact = export_checkpoint(checkpoint, folder / f"{label}.sgnn", source=path,
                                     graph=graph)
        onnx_path = None
        if onnx:
            onnx_path = str(save_onnx(load_artifact(artifact), folder / f"{label}.onnx"))
        dense = checkpoint.info.get("pruned_from")
        dense = str(dense) if dense and Path(dense).is_file() else None
        dense_artifact = None
        if dense is not None:  # the unpruned model in the runtime: its dense self
            dense_artifact = str(export_checkpoint(load_checkpoint(dense),
                                                   folder / f"{label}-dense.sgnn", source=dense))
        models.append(ModelFiles(label=label, kind=checkpoint.model.kind, artifact=str(artifact),
                                 checkpoint=str(path), dense_checkpoint=dense,
                                 dense_artifact=dense_artifact, onnx=onnx_path, graph=graph,
                                 info=dict(checkpoint.info)))
        entries.append(_entry(artifact, checkpoint.info.get("edge_sparsity", 0.0)))
    return models, entries


def artifact_models(paths: list[str | os.PathLike]) -> tuple[list[ModelFiles], list[dict]]:
    """Artifacts alone (the runtime-only benchmark): no checkpoint, no ONNX."""
    models, entries = [], []
    for path in paths:
        model = load_artifact(path)
        kind = model.metadata.get("model_config", {}).get("kind", "unknown")
        models.append(ModelFiles(label=Path(path).stem, kind=kind, artifact=str(path)))
        entries.append(_entry(Path(path), model.metadata.get("train_edge_sparsity", 0.0)))
    return models, entries
