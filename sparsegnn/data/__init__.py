"""Datasets: loaders for every format in ``shared/datasets`` and built-in synthetic graphs.

>>> from sparsegnn import data
>>> ds = data.load("synthetic", seed=0)
>>> ds.task, ds.num_classes
('node_classification', 5)
"""

from .dataset import (
    GRAPH_CLASSIFICATION,
    GRAPH_REGRESSION,
    NODE_CLASSIFICATION,
    Dataset,
    DatasetError,
    Split,
)
from .download import DownloadError, cache_dir, download_files
from .links import LinkSplit, random_link_split
from .recsys import Interactions, load_interactions
from .registry import (
    REGISTRY,
    DatasetSpec,
    available,
    data_roots,
    find_dataset,
    load,
    load_recommendation,
)
from .synthetic import csbm, synthetic_graphs

__all__ = [
    "Dataset", "DatasetError", "DatasetSpec", "DownloadError", "Split", "REGISTRY",
    "NODE_CLASSIFICATION", "GRAPH_CLASSIFICATION", "GRAPH_REGRESSION",
    "available", "cache_dir", "csbm", "data_roots", "download_files", "find_dataset", "load",
    "synthetic_graphs", "Interactions", "load_interactions", "load_recommendation", "LinkSplit",
    "random_link_split",
]
