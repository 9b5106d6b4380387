"""``input_norm``: ``[x] -> [y]``, ``y = x / s`` with ``s`` the row's sum, or 1 where that sum
is 0 (so an all-zero row stays zero and a signed row summing to zero is left as it is, as the
torch model divides: ``sums.masked_fill(sums == 0, 1)``); width unchanged."""

from __future__ import annotations

from ._spec import Attr, OpSpec

SPEC = OpSpec("input_norm", 1, ("x",), {"kind": Attr("choice", choices=("row_sum",))})
