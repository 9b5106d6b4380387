"""The runtime: run a ``.sgnn`` artifact, or serve a recommender's retrieval index, with numpy +
numba only (no torch, scipy or onnx)."""

from ..artifact import ArtifactError, RetrievalIndex, load_artifact, load_retrieval_index
from .allocator import keep_freed_memory
from .recommend import Recommender
from .session import InputError, Session, TensorInfo

__all__ = ["ArtifactError", "InputError", "Session", "TensorInfo", "load_artifact", "Recommender",
           "RetrievalIndex", "load_retrieval_index", "keep_freed_memory"]
