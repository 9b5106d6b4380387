"""The IR's ops, one module each (``sparsegnn/ops/<op>.py``).

Each module is the one home of its op: the semantics (its docstring), and in ``SPEC`` the
attribute schema, version, width inference, numpy reference, runtime execution, compiled-path
encoding and ONNX lowering (see ``OpSpec``). ``OPS`` is the registry that ``Model.validate``
checks nodes against and every backend dispatches on. Importable without numba, torch, scipy
or onnx.
"""

from __future__ import annotations

from . import (
    activation,
    add,
    affine,
    gat_conv,
    gcn_conv,
    gin_conv,
    global_pool,
    input_norm,
    layer_norm,
    linear,
    sage_conv,
    sg_conv,
)
from ._spec import Attr, OpSpec, WidthError
from .activation import ACTIVATIONS, LEAKY_RELU_SLOPE

__all__ = ["OPS", "OpSpec", "Attr", "WidthError", "ACTIVATIONS", "LEAKY_RELU_SLOPE"]

OPS: dict[str, OpSpec] = {module.SPEC.name: module.SPEC for module in (
    input_norm, linear, gcn_conv, sage_conv, gin_conv, gat_conv, sg_conv, affine, layer_norm,
    activation, add, global_pool)}
