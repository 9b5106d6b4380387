"""``gin_conv``: ``[x, graph] -> [y]``, ``y = (1 + eps) x + sum_j x_j`` (edge weights ignored;
the MLP follows as ``linear`` ops); width unchanged."""

from __future__ import annotations

from ._spec import Attr, OpSpec

SPEC = OpSpec("gin_conv", 1, ("x", "graph"), {"eps": Attr("float")})
