"""Export: torch model -> IR -> the ``.sgnn`` artifact (and, later, ONNX)."""

from ..artifact import ArtifactError, load_artifact, save_artifact
from .from_torch import CSR_MAX_DENSITY, to_ir

__all__ = ["ArtifactError", "CSR_MAX_DENSITY", "export_artifact", "load_artifact",
           "save_artifact", "to_ir"]


def export_artifact(model, path, **options):
    """``save_artifact(to_ir(model, **options), path)``; returns the path."""
    return save_artifact(to_ir(model, **options), path)
