"""Reference GNNs in native torch, their training loop, safe checkpoints and PyG import."""

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .functional import available_backends, get_backend, set_backend, use_backend
from .graph_tensors import TorchGraph, as_torch_graph
from .layers import MLP, GATConv, GCNConv, GINConv, SAGEConv, SGConv
from .models import GAT, GCN, GIN, MODELS, SGC, BasicGNN, GraphSAGE, build_model
from .pyg import UnsupportedLayerError, from_pyg, to_pyg
from .train import CrossValidation, TrainConfig, TrainResult, cross_validate, evaluate, fit

__all__ = [
    "BasicGNN", "Checkpoint", "CheckpointError", "CrossValidation", "GAT", "GATConv", "GCN",
    "GCNConv", "GIN", "GINConv", "GraphSAGE", "MLP", "MODELS", "SAGEConv", "SGC", "SGConv",
    "TorchGraph",
    "TrainConfig", "TrainResult", "UnsupportedLayerError", "as_torch_graph", "available_backends",
    "build_model", "cross_validate", "evaluate", "fit", "from_pyg", "to_pyg", "get_backend",
    "load_checkpoint", "save_checkpoint", "set_backend", "use_backend",
]
