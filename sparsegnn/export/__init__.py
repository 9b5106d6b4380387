"""Export: torch model -> IR -> the ``.sgnn`` artifact (and, later, ONNX)."""

from ..artifact import ArtifactError, load_artifact, save_artifact
from .from_torch import CSR_MAX_DENSITY, to_ir

__all__ = ["ArtifactError", "CSR_MAX_DENSITY", "export_artifact", "export_checkpoint",
           "load_artifact", "save_artifact", "to_ir"]


def export_artifact(model, path, **options):
    """``save_artifact(to_ir(model, **options), path)``; returns the path."""
    return save_artifact(to_ir(model, **options), path)


def export_checkpoint(checkpoint, path, *, source=None, graph=None,
                      csr_max_density: float = CSR_MAX_DENSITY):
    """Export a loaded :class:`~sparsegnn.nn.Checkpoint` to an artifact at ``path``: its
    pruning pattern, and its run info as provenance (``train_*`` metadata; ``source`` names
    the checkpoint file). ``graph`` is stored with the model (transductive use). The one export
    flow of ``sparsegnn export`` and ``sparsegnn bench``; returns the path."""
    metadata = {"checkpoint": None if source is None else str(source),
                **{f"train_{key}": value for key, value in checkpoint.info.items()}}
    return export_artifact(checkpoint.model, path, graph=graph, metadata=metadata,
                           csr_max_density=csr_max_density,
                           pattern=checkpoint.info.get("pattern"))
