"""The runtime: run a ``.sgnn`` artifact with numpy + numba only (no torch, scipy or onnx)."""

from ..artifact import ArtifactError, load_artifact
from .session import InputError, Session, TensorInfo

__all__ = ["ArtifactError", "InputError", "Session", "TensorInfo", "load_artifact"]
