"""What every op module declares: its version, inputs, typed attributes and width inference.

An op module (``sparsegnn/ops/<op>.py``) exports ``SPEC``, an :class:`OpSpec`. ``Model.validate``
checks every node against its spec: no attribute that the spec does not name, each attribute of
its declared type, and widths chained from the declared input width through ``out_width`` to the
declared output width. Anything a kernel indexes with is proven consistent here, before native
code runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Attr", "OpSpec", "WidthError", "matrix_width", "vector_width", "check_shape"]


# The largest magnitude of a numeric op attribute (GIN's eps, GAT's slope): far beyond any
# trained value, small enough that a crafted one cannot overflow float32 through a few layers.
MAX_ATTRIBUTE = 1e4


class WidthError(ValueError):
    """A node's tensors do not fit the width of its input (or each other)."""


@dataclass(frozen=True)
class Attr:
    """One attribute of an op.

    ``kind``: "matrix" (a weight matrix description, see ``sparsegnn.ir``), "tensor" (the name
    of a float tensor), "bool", "int", "float" (finite, at most ``MAX_ATTRIBUTE``), or
    "choice" (one of ``choices``).
    ``minimum`` and ``maximum`` bound an "int".
    """

    kind: str
    required: bool = True
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None

    def check(self, value) -> str | None:
        """Why ``value`` does not fit, or None."""
        if self.kind == "matrix":
            if not isinstance(value, dict):
                return f"must be a matrix description (an object), found {type(value).__name__}"
            return None  # the matrix's own keys are checked with the tensors (Model._matrix)
        if self.kind == "tensor":
            return None if isinstance(value, str) else "must name a tensor"
        if self.kind == "bool":
            return None if isinstance(value, bool) else f"must be true or false, found {value!r}"
        if self.kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                return f"must be an integer, found {value!r}"
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum}, found {value}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum}, found {value}"
            return None
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or abs(value) > MAX_ATTRIBUTE:
                return f"must be a number of magnitude at most {MAX_ATTRIBUTE:g}, found {value!r}"
            return None
        if self.kind == "choice":
            return None if isinstance(value, str) and value in self.choices else \
                f"must be one of {list(self.choices)}, found {value!r}"
        raise AssertionError(f"unknown attribute kind {self.kind}")


# out_width(attrs, in_width, tensors) -> the output width, or raises WidthError.
WidthRule = Callable[[Mapping, int, Mapping[str, np.ndarray]], int]


@dataclass(frozen=True)
class OpSpec:
    """An op's contract and its implementations, each written once, here.

    ``inputs`` are kinds: "x" (node or graph features; an op with several, such as ``add``,
    takes them equally wide and receives them in order), "graph" (the CSR graph input) and
    "batch" (graph ids of the nodes); ``pools`` ops turn node rows into graph rows (so graph
    ops may not follow them). The implementations take a context object that lends them the
    backend's building blocks, so an op module imports neither numba nor onnx:

    * ``reference(ref, node, x) -> y``: the semantics in float64 numpy, one dense step at a time
      (``ops.reference.Reference``: tensors, dense matrices and adjacency, the graph, the batch);
    * ``run(rt, node, x) -> y``: the runtime's execution with its kernels (``runtime.session.
      RunContext``: products, aggregations, attention, pooling). ``x`` arrives as dense rows,
      or in one of the forms ``takes`` names: "csr" (sparse features), "row_scaled" (rows still
      to be divided by their sums, ``input_norm``: products absorb the scale) or "panels"
      (panel-major activations between linear layers);
    * ``encode(enc, node) -> row | None``: the op's row of the compiled small-graph program
      (``runtime.program``), fields by name; None: the compiled path does not run this node;
    * ``to_onnx(g, edges, node, value) -> value``: the lowering to standard ONNX ops with the
      writer's builders (``export.onnx_writer``: ``g`` makes nodes, constants and weights,
      ``edges`` the per-graph gathers and scatters).
    """

    name: str
    version: int
    inputs: tuple[str, ...]
    attrs: dict[str, Attr] = field(default_factory=dict)
    out_width: WidthRule = lambda attrs, width, tensors: width
    pools: bool = False
    reference: Callable | None = None
    run: Callable | None = None
    takes: frozenset[str] = frozenset()
    encode: Callable | None = None
    to_onnx: Callable | None = None

    def values(self, node) -> list[str]:
        """The names of ``node``'s "x" inputs, in order (what ``reference``, ``run`` and
        ``to_onnx`` receive after ``node``)."""
        return [name for kind, name in zip(self.inputs, node.inputs) if kind == "x"]

    def matrices(self) -> list[str]:
        return [key for key, attr in self.attrs.items() if attr.kind == "matrix"]

    def tensors(self) -> list[str]:
        return [key for key, attr in self.attrs.items() if attr.kind == "tensor"]


def matrix_width(attrs: Mapping, key: str, in_width: int) -> int:
    """Output width of weight matrix ``attrs[key]`` applied to ``in_width`` features."""
    rows, cols = attrs[key]["shape"]
    if rows != in_width:
        raise WidthError(f"{key} is {rows} x {cols}, but its input has {in_width} features")
    return cols


def weight_then_bias(attrs: Mapping, width: int, tensors: Mapping) -> int:
    """The width rule of ``act(x @ weight + bias)`` (linear, gcn_conv)."""
    out = matrix_width(attrs, "weight", width)
    vector_width(attrs, "bias", tensors, out)
    return out


def vector_width(attrs: Mapping, key: str, tensors: Mapping, width: int) -> None:
    """Tensor ``attrs[key]`` (if present) must be a float vector of length ``width``."""
    if attrs.get(key) is not None:
        check_shape(attrs, key, tensors, (width,))


def check_shape(attrs: Mapping, key: str, tensors: Mapping, shape: tuple[int, ...]) -> None:
    array = tensors[attrs[key]]
    if array.shape != shape or array.dtype.kind != "f":
        raise WidthError(f"{key} must be a float tensor of shape {shape}, found {array.dtype} "
                         f"{array.shape}")
