"""Masks as plain data: ``MaskSet`` maps each prunable parameter to a boolean keep-mask.

Applying masks (``apply``: through ``torch.nn.utils.prune``, so pruned weights stay exactly
zero during fine-tuning and gradients never flow into them) and baking them (``bake``: the
reparametrisation is removed and the zeros are written into the plain weights) are separate
steps. Masks made with ``torch.nn.utils.prune`` elsewhere are imported by ``from_pruned``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils import prune as torch_prune

from .._fileio import atomic_path
from ..patterns import Pattern, PatternError

__all__ = ["MaskSet", "prunable_weights", "MaskError"]

FORMAT = "sparsegnn.masks"


class MaskError(ValueError):
    """A mask does not fit its parameter, or a mask file is malformed."""


def prunable_weights(model: torch.nn.Module) -> dict[str, torch.nn.Linear]:
    """Every ``torch.nn.Linear`` of the model by module name; their ``weight`` is prunable.

    Biases, norms and GAT's attention vectors are not pruned: they are tiny and dense.
    """
    return {name: module for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear)}


@dataclass
class MaskSet:
    """Boolean keep-masks (True = kept) for ``{module_name}.weight`` parameters.

    Shapes: each mask has its parameter's shape, ``(out, in)`` for a Linear weight.
    ``pattern`` names the sparsity pattern the masks follow (``prune.patterns``).
    """

    weights: dict[str, np.ndarray] = field(default_factory=dict)
    pattern: str = "unstructured"

    # ----------------------------------------------------------------------------- building
    @classmethod
    def ones(cls, model: torch.nn.Module, pattern: str = "unstructured") -> MaskSet:
        """Keep everything (a no-op mask, which follows every pattern)."""
        return cls({f"{name}.weight": np.ones(tuple(module.weight.shape), dtype=bool)
                    for name, module in prunable_weights(model).items()}, pattern=pattern)

    @classmethod
    def from_pruned(cls, model: torch.nn.Module) -> MaskSet:
        """The masks of a model pruned with ``torch.nn.utils.prune`` (its ``weight_mask``s);
        unpruned Linear weights get all-ones masks."""
        masks = cls.ones(model)
        for name, module in prunable_weights(model).items():
            if hasattr(module, "weight_mask"):
                masks.weights[f"{name}.weight"] = module.weight_mask.detach().cpu().numpy() != 0
        return masks

    def check(self, model: torch.nn.Module) -> None:
        """Raise ``MaskError`` unless every mask names a prunable weight of its exact shape."""
        modules = prunable_weights(model)
        for key, mask in self.weights.items():
            module = modules.get(key[: -len(".weight")]) if key.endswith(".weight") else None
            if module is None:
                raise MaskError(f"mask {key!r} names no prunable weight; prunable weights: "
                                f"{sorted(f'{n}.weight' for n in modules)}")
            if mask.shape != tuple(module.weight.shape) or mask.dtype != bool:
                raise MaskError(f"mask {key!r} has {mask.dtype} shape {mask.shape}, the weight "
                                f"has shape {tuple(module.weight.shape)} (masks are bool)")

    # ----------------------------------------------------------------------------- using
    def apply(self, model: torch.nn.Module) -> torch.nn.Module:
        """Reparametrise ``model``'s weights as ``weight_orig * weight_mask`` (in place).

        Re-applying replaces earlier masks (combine them first with ``&`` to keep old zeros).
        """
        self.check(model)
        modules = prunable_weights(model)
        for key, mask in self.weights.items():
            module = modules[key[: -len(".weight")]]
            if torch_prune.is_pruned(module) and hasattr(module, "weight_mask"):
                torch_prune.remove(module, "weight")
            tensor = torch.from_numpy(np.ascontiguousarray(mask)).to(module.weight.dtype)
            torch_prune.custom_from_mask(module, "weight", tensor)
        return model

    @staticmethod
    def bake(model: torch.nn.Module) -> torch.nn.Module:
        """Make the masking permanent: plain weights with exact zeros, no reparametrisation."""
        for module in prunable_weights(model).values():
            if hasattr(module, "weight_mask"):
                torch_prune.remove(module, "weight")
        return model

    def __and__(self, other: MaskSet) -> MaskSet:
        keys = set(self.weights) | set(other.weights)
        merged = {}
        for key in keys:
            if key in self.weights and key in other.weights:
                merged[key] = self.weights[key] & other.weights[key]
            else:
                merged[key] = (self.weights.get(key) if key in self.weights else other.weights[key]).copy()
        # blocks intersected stay blocks, and N:M counts only fall: one pattern is kept
        return MaskSet(merged, pattern=self.pattern if self.pattern == other.pattern
                       else "unstructured")

    # ----------------------------------------------------------------------------- reporting
    def summary(self) -> dict:
        """Per parameter and overall: total, kept, pruned, and both fractions."""
        rows = {}
        for key, mask in sorted(self.weights.items()):
            kept = int(mask.sum())
            rows[key] = {"total": int(mask.size), "kept": kept, "pruned": int(mask.size) - kept,
                         "fraction_kept": kept / mask.size if mask.size else 1.0,
                         "fraction_pruned": 1 - kept / mask.size if mask.size else 0.0}
        total = sum(r["total"] for r in rows.values())
        kept = sum(r["kept"] for r in rows.values())
        overall = {"total": total, "kept": kept, "pruned": total - kept,
                   "fraction_kept": kept / total if total else 1.0,
                   "fraction_pruned": 1 - kept / total if total else 0.0}
        return {"parameters": rows, "overall": overall}

    def thin_layers(self, max_density: float) -> list[str]:
        """The weights that keep less than ``max_density`` of their entries."""
        return [key for key, row in self.summary()["parameters"].items()
                if row["fraction_kept"] < max_density]

    @property
    def sparsity(self) -> float:
        """Fraction of prunable weights that are pruned (0 = dense)."""
        return self.summary()["overall"]["fraction_pruned"]

    def table(self) -> str:
        """The summary as aligned text: one line per parameter, then the total."""
        summary = self.summary()
        lines = [f"{'parameter':40s} {'shape':>12s} {'kept':>9s} {'pruned':>9s} "
                 f"{'% pruned':>9s} {'% kept':>8s}"]
        for key, row in summary["parameters"].items():
            shape = "x".join(str(s) for s in self.weights[key].shape)
            lines.append(f"{key:40s} {shape:>12s} {row['kept']:9d} {row['pruned']:9d} "
                         f"{100 * row['fraction_pruned']:9.2f} {100 * row['fraction_kept']:8.2f}")
        o = summary["overall"]
        lines.append(f"{'overall':40s} {'':>12s} {o['kept']:9d} {o['pruned']:9d} "
                     f"{100 * o['fraction_pruned']:9.2f} {100 * o['fraction_kept']:8.2f}")
        return "\n".join(lines)

    # ----------------------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the masks (uint8 tensors in a safetensors file, no pickle) atomically."""
        from safetensors.numpy import save_file

        tensors = {key: mask.astype(np.uint8) for key, mask in self.weights.items()}
        path = Path(path)
        with atomic_path(path) as temporary:
            save_file(tensors, str(temporary), metadata={
                "format": FORMAT, "pattern": self.pattern,
                "summary": json.dumps(self.summary()["overall"])})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> MaskSet:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as handle:
                metadata = handle.metadata() or {}
                tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        except (SafetensorError, OSError) as exc:
            raise MaskError(f"{path}: not a readable mask file ({exc})") from None
        if metadata.get("format") != FORMAT:
            raise MaskError(f"{path}: expected format {FORMAT!r}, found {metadata.get('format')!r}")
        for key, tensor in tensors.items():
            if tensor.dtype != np.uint8 or not np.all(tensor <= 1):
                raise MaskError(f"{path}: mask {key!r} must hold 0/1 bytes")
        pattern = metadata.get("pattern", "unstructured")
        try:
            Pattern.parse(pattern)
        except PatternError as exc:
            raise MaskError(f"{path}: {exc}") from None
        return cls({key: tensor.astype(bool) for key, tensor in tensors.items()}, pattern=pattern)
