"""Checkpoints: weights in a safetensors file, the model config and run info as JSON in its header.

Never pickle: ``torch.load`` of an untrusted file can run arbitrary code, while safetensors
holds only raw tensors and a JSON header. Files are written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._fileio import atomic_path
from ..graph import Graph
from ..sparse import CSRMatrix
from .models import BasicGNN, build_model, state_mismatch

__all__ = ["Checkpoint", "CheckpointError", "save_checkpoint", "load_checkpoint"]

FORMAT = "sparsegnn.checkpoint"
VERSION = 1
EXTRA_PREFIX = "extra."
# The extra tensors of a pruned checkpoint: a mask per pruned weight, and the pruned graph.
MASK_PREFIX = "mask."
GRAPH_KEYS = ("graph.indptr", "graph.indices")


class CheckpointError(ValueError):
    """The file is not a sparsegnn checkpoint, or its contents do not fit its model config."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (in eval mode), its run info and any extra tensors."""

    model: BasicGNN
    info: dict = field(default_factory=dict)
    extra: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def config(self) -> dict:
        return self.model.config

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """The pruning masks it carries, by weight name (bool arrays; empty if unpruned)."""
        return {key[len(MASK_PREFIX):]: tensor.numpy().astype(bool)
                for key, tensor in self.extra.items() if key.startswith(MASK_PREFIX)}

    @property
    def interactions(self) -> CSRMatrix | None:
        """A recommender's training interactions ``(users, items)`` (checked), or None."""
        return self._user_items(INTERACTION_KEYS)

    @property
    def propagation(self) -> CSRMatrix | None:
        """The interactions a recommender propagates over (checked): the edge-pruned ones when
        it was pruned, else its training interactions; None for other models."""
        pruned = self._user_items(PROPAGATION_KEYS)
        return pruned if pruned is not None else self.interactions

    def _user_items(self, keys) -> CSRMatrix | None:
        if keys[0] not in self.extra:
            return None
        try:
            shape = (self.model.num_users, self.model.num_items)
            indptr, indices = (self.extra[key].numpy() for key in keys)
            return CSRMatrix(indptr, indices, np.ones(indices.shape[0], np.float32), shape)
        except (KeyError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"the checkpoint's {keys[0].split('.')[0]} are malformed "
                                  f"({exc})") from None

    @property
    def graph(self) -> Graph | None:
        """The edge-pruned graph it carries (checked), or None."""
        if GRAPH_KEYS[0] not in self.extra:
            return None
        try:
            return Graph(*(self.extra[key].numpy() for key in GRAPH_KEYS))
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"the checkpoint's pruned graph is malformed ({exc})") from None


INTERACTION_KEYS = ("interactions.indptr", "interactions.indices")
PROPAGATION_KEYS = ("propagation.indptr", "propagation.indices")


def interactions_extra(train: CSRMatrix, propagation: CSRMatrix | None = None
                       ) -> dict[str, torch.Tensor]:
    """The extra tensors that make a recommender's checkpoint carry its training interactions
    (each user's seen items, and the graph it propagates over unless ``propagation``, an
    edge-pruned subset, is given): what ``Checkpoint.interactions`` and
    ``Checkpoint.propagation`` read back."""
    extra = {}
    for keys, matrix in ((INTERACTION_KEYS, train), (PROPAGATION_KEYS, propagation)):
        if matrix is not None:
            extra[keys[0]] = torch.from_numpy(matrix.indptr.astype(np.int64))
            extra[keys[1]] = torch.from_numpy(matrix.indices.astype(np.int64))
    return extra


def pruning_extra(masks: dict[str, np.ndarray], graph: Graph | None = None
                  ) -> dict[str, torch.Tensor]:
    """The extra tensors that make a checkpoint carry its pruning: what ``Checkpoint.masks``
    and ``Checkpoint.graph`` read back."""
    extra = {f"{MASK_PREFIX}{key}": torch.from_numpy(np.asarray(mask)) for key, mask in
             masks.items()}
    if graph is not None:
        for key, array in zip(GRAPH_KEYS, (graph.indptr, graph.indices)):
            extra[key] = torch.from_numpy(np.asarray(array, dtype=np.int64))
    return extra


def save_checkpoint(path: str | os.PathLike, model: BasicGNN, *, info: dict | None = None,
                    extra: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``model``'s weights and config (plus JSON ``info`` and ``extra`` tensors, e.g.
    pruning masks) to ``path`` atomically."""
    from safetensors.torch import save_file

    tensors = {name: t.detach().contiguous().clone() for name, t in model.state_dict().items()}
    for name, tensor in (extra or {}).items():
        tensors[EXTRA_PREFIX + name] = tensor.detach().contiguous().clone()
    metadata = {
        "format": FORMAT,
        "version": str(VERSION),
        "config": json.dumps(model.config),
        "info": json.dumps(info or {}),
    }
    path = Path(path)
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
    return path


def _check_config(path, config: dict, num_tensors: int) -> None:
    """Numbers in ``config`` within bounds a file can hold: counts (layers, head widths) no
    more than its tensors, widths below 2**24, no bools where numbers belong. A link
    predictor's encoder config is checked so too."""
    if config.get("kind") == "link":
        if not isinstance(config.get("encoder"), dict):
            raise CheckpointError(f"{path}: a link predictor's config needs an encoder object")
        _check_config(path, config["encoder"], num_tensors)
        _check_numbers(path, {k: v for k, v in config.items() if k != "encoder"}, num_tensors)
        return
    if config.get("kind") == "lightgcn":  # two embedding tables; its layers hold no weights
        _check_numbers(path, config, num_tensors)
        if not isinstance(config.get("num_layers"), int) or not 0 <= config["num_layers"] <= 64:
            raise CheckpointError(f"{path}: LightGCN's num_layers must be an integer in [0, 64]")
        return
    _check_numbers(path, config, num_tensors)
    layers = config.get("num_layers")
    if not isinstance(layers, int) or isinstance(layers, bool) or not 1 <= layers <= num_tensors:
        raise CheckpointError(f"{path}: num_layers must be an integer in [1, {num_tensors}] (the "
                              f"file's tensor count), found {layers!r}")


def _check_numbers(path, config: dict, num_tensors: int) -> None:
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        if key == "head" and isinstance(value, list) and len(value) > num_tensors:
            raise CheckpointError(f"{path}: head has {len(value)} layers, the file holds "
                                  f"{num_tensors} tensors")
        for item in values:
            if isinstance(item, int) and not isinstance(item, bool) and not 0 <= item < 1 << 24:
                raise CheckpointError(f"{path}: config {key} = {item} is out of range")


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; raise :class:`CheckpointError`
    naming the file if it is not one or does not match its config."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({exc})") from None
    if "sparsegnn" in metadata and metadata.get("format") is None:
        raise CheckpointError(f"{path}: this is a sparsegnn artifact (exported for the runtime: "
                              f"run, inspect and bench take it), not a checkpoint; train, prune "
                              f"and export take the checkpoint it was exported from")
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: header format is {metadata.get('format')!r}, "
                              f"expected {FORMAT!r} (is this a sparsegnn checkpoint?)")
    if metadata.get("version") != str(VERSION):
        raise CheckpointError(f"{path}: checkpoint version {metadata.get('version')!r} is not "
                              f"supported (this sparsegnn reads version {VERSION})")
    try:
        config = json.loads(metadata["config"])
        info = json.loads(metadata.get("info", "{}"))
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path}: malformed config or info JSON "
                              f"({type(exc).__name__})") from None
    if not isinstance(config, dict) or not isinstance(info, dict):
        raise CheckpointError(f"{path}: config and info must be JSON objects")
    extra = {k[len(EXTRA_PREFIX):]: v for k, v in tensors.items() if k.startswith(EXTRA_PREFIX)}
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA_PREFIX)}
    _check_config(path, config, len(state))
    # The config is checked against the weights on the meta device (shapes, no memory) before
    # the model is built for real: a config may claim widths or depths that no file holds.
    for device in ("meta", "cpu"):
        try:
            with torch.device(device):
                model = build_model(config)
        except (ValueError, TypeError, RuntimeError, ZeroDivisionError, OverflowError) as exc:
            raise CheckpointError(f"{path}: invalid model config ({exc})") from None
        problem = state_mismatch(model, state)
        if problem:
            raise CheckpointError(f"{path}: weights do not fit the config: {problem}")
    model.load_state_dict(state)
    model.eval()
    return Checkpoint(model=model, info=info, extra=extra)
