"""Sparsity patterns: which weights the pruner removes together, so that the runtime's kernels
can turn the removal into speed (``kernels._sparse_linear``).

Names use the IR's ``x @ W`` orientation (rows = inputs, columns = outputs); a torch
``Linear.weight`` ``(out, in)`` is its transpose:

- ``unstructured``: any single weight (the node-panel kernel).
- ``RxC``: aligned blocks of ``R`` consecutive inputs by ``C`` consecutive outputs. ``1x4``,
  ``1x8`` and ``1x16`` lie along the output channels (the output-vector kernel loads a block's
  outputs as one vector); ``4x1`` lies along the inputs (the node-panel kernel reads one
  index per run of four weights).
- ``N:M``: at most ``N`` of every ``M`` consecutive inputs of each output (``2:4`` is the
  50 % pattern of sparse tensor cores); its sparsity is ``1 - N/M``. CPUs have no N:M
  instructions: it runs on the unstructured kernel, which it keeps evenly loaded.

A block is scored by the mean of its weights' scores, so that criteria and patterns combine
freely; N:M keeps the best-scored ``N`` of each group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Pattern", "PatternError", "PATTERN_EXAMPLES", "block_scores", "expand_blocks",
           "n_of_m_mask", "follows"]

PATTERN_EXAMPLES = ("unstructured", "1x4", "1x8", "1x16", "4x1", "2:4")
MAX_BLOCK = 64


class PatternError(ValueError):
    """A pattern name is malformed, or a mask does not follow its pattern."""


@dataclass(frozen=True)
class Pattern:
    """A parsed sparsity pattern (see the module docstring)."""

    kind: str  # "unstructured", "block" or "n:m"
    inputs: int = 1  # R: block rows in x @ W (consecutive inputs)
    outputs: int = 1  # C: block columns (consecutive outputs)
    keep: int = 0  # N of N:M
    group: int = 0  # M of N:M

    @classmethod
    def parse(cls, text) -> Pattern:
        if isinstance(text, Pattern):
            return text
        if not isinstance(text, str):
            raise PatternError(f"a pattern is a string, got {text!r}")
        name = text.strip().lower()
        if name in ("unstructured", "1x1"):
            return cls("unstructured")
        block = re.fullmatch(r"(\d+)x(\d+)", name)
        if block:
            rows, cols = int(block.group(1)), int(block.group(2))
            if not (1 <= rows <= MAX_BLOCK and 1 <= cols <= MAX_BLOCK):
                raise PatternError(f"block sides must lie in [1, {MAX_BLOCK}], got {text!r}")
            return cls("block", inputs=rows, outputs=cols)
        n_of_m = re.fullmatch(r"(\d+):(\d+)", name)
        if n_of_m:
            keep, group = int(n_of_m.group(1)), int(n_of_m.group(2))
            if not 1 <= keep < group <= 256:
                raise PatternError(f"N:M needs 1 <= N < M <= 256, got {text!r}")
            return cls("n:m", keep=keep, group=group)
        raise PatternError(f"unknown pattern {text!r}: expected 'unstructured', 'RxC' blocks "
                           f"(e.g. 1x8) or 'N:M' (e.g. 2:4); examples: {PATTERN_EXAMPLES}")

    @property
    def name(self) -> str:
        if self.kind == "block":
            return f"{self.inputs}x{self.outputs}"
        if self.kind == "n:m":
            return f"{self.keep}:{self.group}"
        return "unstructured"

    @property
    def sparsity(self) -> float | None:
        """The sparsity an N:M pattern fixes; None for the others."""
        return 1 - self.keep / self.group if self.kind == "n:m" else None

    @property
    def block(self) -> tuple[int, int]:
        """Block shape in a torch weight's ``(out, in)`` orientation (1 x 1 unless blocks)."""
        return (self.outputs, self.inputs) if self.kind == "block" else (1, 1)

    def __str__(self) -> str:
        return self.name


def _blocked(array: np.ndarray, block: tuple[int, int], fill) -> np.ndarray:
    """``array (out, in)`` padded to whole blocks, viewed ``(out_blocks, rows, in_blocks,
    cols)``."""
    rows, cols = block
    out, inputs = array.shape
    padded = np.full((-(-out // rows) * rows, -(-inputs // cols) * cols), fill, array.dtype)
    padded[:out, :inputs] = array
    return padded.reshape(padded.shape[0] // rows, rows, padded.shape[1] // cols, cols)


def block_scores(scores: np.ndarray, prior: np.ndarray, pattern: Pattern
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block of ``pattern`` (a torch weight's ``(out, in)`` orientation): ``(mean score of
    its kept weights, its kept weights, kept)``; a block is kept while any of its weights is.
    Shapes: ``(out_blocks, in_blocks)`` each."""
    block = pattern.block
    counts = _blocked(prior, block, False).sum(axis=(1, 3))
    weighted = _blocked(np.where(prior, scores, 0.0).astype(np.float64), block, 0.0)
    means = weighted.sum(axis=(1, 3)) / np.maximum(counts, 1)
    return means, counts, counts > 0


def expand_blocks(block_mask: np.ndarray, shape: tuple[int, int], pattern: Pattern
                  ) -> np.ndarray:
    """A block keep-mask ``(out_blocks, in_blocks)`` as a weight mask of ``shape``."""
    rows, cols = pattern.block
    return np.repeat(np.repeat(block_mask, rows, axis=0), cols, axis=1)[:shape[0], :shape[1]]


def n_of_m_mask(scores: np.ndarray, prior: np.ndarray, keep: int, group: int) -> np.ndarray:
    """Keep the ``keep`` best-scored still-kept weights of every ``group`` consecutive inputs of
    each output (ties to the lower input). Shapes: ``(out, in)``."""
    out, inputs = scores.shape
    ranked = _blocked(np.where(prior, scores, -np.inf).astype(np.float64), (1, group), -np.inf)
    ranked = ranked.reshape(out, -1, group)
    order = np.argsort(-ranked, axis=2, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(group)[None, None, :], axis=2)
    mask = (ranks < keep).reshape(out, -1)[:, :inputs]
    return mask & prior


def follows(mask: np.ndarray, pattern: Pattern) -> bool:
    """Whether a torch-oriented keep-mask ``(out, in)`` has ``pattern``'s structure: every block
    all kept or all pruned, or at most N kept per group of M."""
    if pattern.kind == "block":
        blocks = _blocked(mask, pattern.block, False)
        real = _blocked(np.ones(mask.shape, bool), pattern.block, False)
        kept = blocks.any(axis=(1, 3), keepdims=True)
        return bool(np.all(blocks == (kept & real)))
    if pattern.kind == "n:m":
        groups = _blocked(mask, (1, pattern.group), False).sum(axis=(1, 3))
        return bool(np.all(groups <= pattern.keep))
    return True
