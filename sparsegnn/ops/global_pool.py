"""``global_pool``: ``[x, batch] -> [y]``, each graph's rows reduced by sum, mean or max into
one row: ``(G, F)``. Its output rows are graphs, so no graph op may follow."""

from __future__ import annotations

from ._spec import Attr, OpSpec

SPEC = OpSpec("global_pool", 1, ("x", "batch"),
              {"reduce": Attr("choice", choices=("sum", "mean", "max"))}, pools=True)
