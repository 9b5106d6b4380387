"""Per weight matrix, the kernel that computes ``x @ M`` fastest on this machine.

A :class:`MatrixPlan` is made once per matrix when a session first needs it: the matrix is
packed for each kernel that can use its zeros (``kernels._sparse_linear``), each packing is
priced with the session's :class:`~sparsegnn.runtime.tuning.Tuning`, and the cheapest runs.
Dense inputs are decided once (every price is proportional to the rows); CSR inputs are
decided per call, from the features' entries per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels._epilogue import finish_row
from ..kernels._memory import aligned_empty
from ..kernels._sparse_linear import (
    NodePanelWeight,
    OutputVectorWeight,
    pack_node_panels,
    pack_output_vectors,
    sparse_linear_unchecked,
)
from ..kernels._spmm import VALUE_MEAN, live_csr_products, spmm_csr_unchecked
from ..sparse import CSRMatrix
from .tuning import Tuning

__all__ = ["LiveRows", "MatrixPlan", "plan_matrix", "KERNELS", "apply_activation"]

KERNELS = ("blas", "panels", "vectors")
PLANNED_PANEL_BLOCKS = (1, 4)  # outputs per entry the planner packs node panels with


def apply_activation(values: np.ndarray, code: int, slope: float) -> np.ndarray:
    """The fused epilogues' activations (``kernels._config.ACTIVATIONS`` codes) of a float
    array, in place where they can be: use the result."""
    if code == 0:
        return values
    if code == 1:
        return np.maximum(values, 0, out=values)
    if code == 3:
        return np.where(values > 0, values, slope * values).astype(values.dtype)
    if code == 5:
        return np.tanh(values)
    # ELU, sigmoid, GELU: the fused epilogues' own vectorised loop over the values as one row
    # (numpy has no erf, and takes several passes for the others)
    flat = np.ascontiguousarray(values).reshape(1, -1)
    finish_row(flat, 0, flat[0, :0], False, code, slope)
    return flat.reshape(values.shape)


@dataclass
class LiveRows:
    """The rows of a matrix that hold a nonzero, for CSR features: their entries are the only
    ones that add to ``x @ M`` (``kernels._spmm.live_csr_products``). ``remap (inputs,)``
    int32 numbers the live rows (-1: an empty row), ``dense (live, outputs)`` holds them,
    ``parts`` its two column ranges when the outputs are split; ``fraction`` is live / all."""

    remap: np.ndarray
    dense: np.ndarray
    parts: tuple[np.ndarray, np.ndarray] | None
    fraction: float


@dataclass
class MatrixPlan:
    """``x @ M`` for one weight matrix ``M (inputs, outputs)``.

    ``costs`` holds each candidate kernel's predicted nanoseconds per row of dense input
    (``inspect`` and ``bench`` report it); ``dense`` is the matrix itself (BLAS, and CSR
    features times it); ``panels`` / ``vectors`` are its packings for the sparse kernels
    (the vectors of a dense matrix are all its rows, the session's dense kernel). ``parts``
    holds ``dense``'s two column ranges as arrays of their own when the outputs are split
    (CSR features gather their rows). ``live`` holds the rows with a nonzero where dropping
    the features' entries of the others can pay (``LiveRows``). Every array starts on a
    64-byte boundary: gathered rows are loaded whole."""

    dense: np.ndarray
    costs: dict
    panels: NodePanelWeight
    vectors: OutputVectorWeight
    tuning: Tuning
    parts: tuple[np.ndarray, np.ndarray] | None = None
    live: LiveRows | None = None

    @property
    def inputs(self) -> int:
        return self.dense.shape[0]

    @property
    def outputs(self) -> int:
        return self.dense.shape[1]

    def kind(self, rows: int) -> str:
        """The kernel for ``rows`` dense input rows: the cheapest, BLAS only where it stays
        on one thread."""
        call = self.tuning.kernel_call
        costs = {kind: rows * cost + (self.tuning.blas_call if kind == "blas" else call)
                 for kind, cost in self.costs.items()}
        # above this, OpenBLAS's worker threads keep spinning after the call and slow the rest
        # of the model: larger products go to the session's kernels (dense: output vectors)
        if rows * self.inputs * self.outputs > self.tuning.blas_threaded_work:
            del costs["blas"]
        return min(costs, key=costs.get)

    # ------------------------------------------------------------------------- dense inputs
    def dense_input(self, x: np.ndarray, epilogue, threads, row_scale=None,
                    split: int | None = None):
        """``act(row_scale * (x @ M) + bias)`` for C-contiguous float32 ``x (N, inputs)``;
        with ``split``, the two column ranges as separate arrays."""
        kind = self.kind(x.shape[0])
        if kind == "blas":
            return self._blas(x, epilogue, row_scale, split)
        weight = self.panels if kind == "panels" else self.vectors
        return sparse_linear_unchecked(x, weight, epilogue, row_scale=row_scale, split=split,
                                       threads=threads)

    def can_chain(self, rows: int) -> bool:
        """Whether the node panels run ``rows`` rows here and can read them panel-major (no
        input run overhangs the last input: a panel-major input has no padding rows)."""
        return self.kind(rows) == "panels" and self.panels.reads_panel_major()

    def panels_input(self, x, epilogue, threads, panel_major_out: bool = False):
        """The node panels on dense or ``PanelMajor`` ``x``, to either layout (the caller
        checked ``can_chain`` where a layout is panel-major)."""
        return sparse_linear_unchecked(x, self.panels, epilogue, threads=threads,
                                       panel_major_out=panel_major_out)

    def _parts(self, split: int) -> tuple[np.ndarray, np.ndarray]:
        if self.parts is None or self.parts[0].shape[1] != split:
            raise ValueError(f"this plan was made without a split at column {split}")
        return self.parts

    def _blas(self, x, epilogue, row_scale, split):
        bias, has_bias, code, slope = epilogue
        if split is not None:
            return tuple(_finish(x @ part, row_scale, bias_part, has_bias, code, slope)
                         for part, bias_part in zip(self._parts(split),
                                                    (bias[:split], bias[split:])))
        return _finish(x @ self.dense, row_scale, bias, has_bias, code, slope)

    # ------------------------------------------------------------------------- CSR inputs
    def csr_kind(self, rows: int, entries: int, split: int | None = None) -> str:
        """The kernel for CSR features with ``entries`` stored values over ``rows`` rows:
        ``spmm`` (the features' rows gather rows of the dense matrix), ``live`` (the same
        after dropping the entries of the matrix's empty rows, priced as if the entries
        spread evenly over the inputs) or a sparse kernel that expands each panel of rows."""
        tuning = self.tuning
        costs = {kind: entries * price for kind, price in self.csr_entry_prices().items()}
        # rows expanded instead of transposed: each element, and each stored value scattered
        fill = rows * self.inputs * tuning.csr_fill + entries * tuning.csr_expand
        costs["panels"] = rows * (self.costs["panels"] - self.inputs * tuning.panel_element) + fill
        costs["vectors"] = rows * self.costs["vectors"] + fill
        return min(costs, key=costs.get)

    def csr_entry_prices(self) -> dict:
        """The CSR-features products priced per stored feature value: ``spmm`` (a gathered
        row of the matrix) and, where kept, ``live`` (the entry dropped or kept first)."""
        tuning = self.tuning
        prices = {"spmm": self.outputs * tuning.spmm_madd}
        if self.live is not None:
            prices["live"] = tuning.csr_narrow + self.live.fraction * prices["spmm"]
        return prices

    def csr_input(self, x: CSRMatrix, epilogue, threads, row_normalize: bool = False,
                  split: int | None = None):
        """The same for CSR features (already validated, float32); ``row_normalize`` divides
        each row of ``x`` by its sum first (``input_norm``: a zero sum by 1)."""
        rows = x.shape[0]
        kind = self.csr_kind(rows, x.nnz, split)
        if kind == "live":
            live = self.live
            if split is None:
                return live_csr_products(x.indptr, x.indices, x.data, live.remap, [live.dense],
                                         row_normalize, [epilogue], threads)[0]
            return tuple(live_csr_products(x.indptr, x.indices, x.data, live.remap,
                                           list(live.parts), row_normalize,
                                           _split_epilogues(epilogue, split), threads))
        if kind == "spmm":
            reduce = VALUE_MEAN if row_normalize else 0
            if split is None:
                return spmm_csr_unchecked(x.indptr, x.indices, x.data, self.dense, rows, reduce,
                                          epilogue, threads)
            return tuple(spmm_csr_unchecked(x.indptr, x.indices, x.data, part, rows, reduce,
                                            part_epilogue, threads)
                         for part, part_epilogue in zip(self._parts(split),
                                                        _split_epilogues(epilogue, split)))
        weight = self.panels if kind == "panels" else self.vectors
        return sparse_linear_unchecked((x.indptr, x.indices, x.data, self.inputs), weight,
                                       epilogue, normalize_rows=row_normalize, split=split,
                                       threads=threads)


def _split_epilogues(epilogue, split: int) -> list[tuple]:
    """The fused epilogue of each of the outputs' two column ranges."""
    bias, has_bias, code, slope = epilogue
    return [(bias[columns], has_bias, code, slope)
            for columns in (slice(None, split), slice(split, None))]


def _finish(out, row_scale, bias, has_bias, code, slope):
    if row_scale is not None:
        out *= row_scale[:, None]
    if has_bias:
        out += bias
    return apply_activation(out, code, slope)


def _aligned_copy(matrix: np.ndarray) -> np.ndarray:
    out = aligned_empty(matrix.shape, np.float32)
    out[...] = matrix
    return out


def plan_matrix(dense: np.ndarray, tuning: Tuning, *, run: int = 1,
                split: int | None = None) -> MatrixPlan:
    """Price ``dense (inputs, outputs)`` float32 per row on every kernel. ``run`` is the
    length of the input runs the pruner kept together (the ``Rx1`` patterns); ``split`` a
    column at which the outputs will be cut in two."""
    dense = _aligned_copy(dense)
    inputs, outputs = dense.shape

    def panel_cost(weight):  # blocks of outputs share each load: a cheaper multiply-add
        madd = tuning.panel_madd if weight.block == 1 else tuning.panel_block_madd
        return weight.values.size * madd + (inputs + outputs) * tuning.panel_element

    # runs of inputs if the pruner kept them, else the cheaper of 1 or 4 outputs per entry (an
    # unstructured matrix packed in blocks stores many zeros, and prices itself out). Not 8:
    # blocks of 8 never store fewer values than blocks of 4, and on the tie (1x8 or 1x16
    # pruning, dense matrices) 4 ran as fast as 8 or faster at every density, while 8 ran up
    # to 1.6x slower in some processes (its loop is sensitive to where the thread's stack
    # lies; see docs/architecture.md)
    candidates = [pack_node_panels(dense, run)] if run > 1 else \
        [pack_node_panels(dense, 1, block) for block in PLANNED_PANEL_BLOCKS]
    panels = min(candidates, key=lambda weight: (panel_cost(weight), weight.block))
    costs = {"blas": inputs * outputs * tuning.dense_madd, "panels": panel_cost(panels)}
    vectors = pack_output_vectors(dense)
    costs["vectors"] = vectors.values.size * tuning.vector_madd + outputs * tuning.vector_element
    parts = None if split is None else (_aligned_copy(dense[:, :split]),
                                        _aligned_copy(dense[:, split:]))
    return MatrixPlan(dense=dense, costs=costs, panels=panels, vectors=vectors, tuning=tuning,
                      parts=parts, live=_live_rows(dense, tuning, split))


def _live_rows(dense: np.ndarray, tuning: Tuning, split: int | None) -> LiveRows | None:
    """The matrix's rows with a nonzero, where narrowing CSR features to them can cost less
    than the multiply-adds of the other rows' entries (so never for a matrix without empty
    rows); else None, and no copy."""
    inputs, outputs = dense.shape
    kept = np.flatnonzero(np.any(dense != 0, axis=1))
    fraction = kept.size / max(inputs, 1)
    if (1 - fraction) * outputs * tuning.spmm_madd <= tuning.csr_narrow:
        return None
    remap = np.full(inputs, -1, np.int32)
    remap[kept] = np.arange(kept.size, dtype=np.int32)
    rows = _aligned_copy(dense[kept])
    parts = None if split is None else (_aligned_copy(rows[:, :split]),
                                        _aligned_copy(rows[:, split:]))
    return LiveRows(remap=remap, dense=rows, parts=parts, fraction=fraction)
