"""Export: torch model -> IR -> the ``.sgnn`` artifact (and, later, ONNX)."""

import numpy as np

from ..artifact import ArtifactError, load_artifact, save_artifact
from .from_torch import CSR_MAX_DENSITY, to_ir

__all__ = ["ArtifactError", "CSR_MAX_DENSITY", "export_artifact", "export_checkpoint",
           "load_artifact", "save_artifact", "to_ir", "export_recommender"]


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


def export_recommender(checkpoint, path, *, source=None):
    """Export a LightGCN checkpoint to a retrieval index at ``path``: its final user and item
    embeddings (propagated once here over its graph, edge-pruned or not, so serving does no
    graph work) and each user's items seen in training (left out of recommendations). Returns
    the path."""
    import torch

    from ..artifact import RetrievalIndex, save_retrieval_index
    from ..nn.lightgcn import LightGCN, bipartite_adjacency

    model, train, graph = checkpoint.model, checkpoint.interactions, checkpoint.propagation
    if not isinstance(model, LightGCN) or train is None:
        raise ValueError("export_recommender takes a LightGCN checkpoint carrying its training "
                         "interactions (sparsegnn train --task recommend writes one)")
    model.eval()
    with torch.no_grad():
        users, items = model.propagate(bipartite_adjacency(graph))
    metadata = {"checkpoint": None if source is None else str(source), "model": model.config,
                **{f"train_{key}": value for key, value in checkpoint.info.items()}}
    index = RetrievalIndex(users.numpy().astype(np.float32), items.numpy().astype(np.float32),
                           train.indptr.astype(np.int64), train.indices.astype(np.int32), metadata)
    return save_retrieval_index(index, path)
