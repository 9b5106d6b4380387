"""Numba kernels behind validating wrappers (numpy + numba only).

Each wrapper checks dtypes, shapes and index ranges before the jitted core touches memory, then
runs the core on row chunks balanced by stored entries (see ``_parallel``).

Where the compiled kernels come from (a precompiled bundle, or Numba's JIT on first use) is
decided first, before any kernel module is imported: see ``_precompiled``; how they load,
in ``_start_up``.
"""

from ._precompiled import activate as _activate_kernel_source
from ._start_up import lighten_numba_start_up as _lighten_numba_start_up

KERNELS = _activate_kernel_source()
_lighten_numba_start_up()

from ._attention import edge_softmax, gat_aggregate
from ._checks import KernelArgumentError
from ._convert import coo_to_csr, gcn_norm_csr
from ._norm import layer_norm
from ._parallel import get_num_threads, set_num_threads
from ._pool import batch_to_ptr, segment_pool
from ._sparse_linear import (
    NodePanelWeight,
    OutputVectorWeight,
    PanelMajor,
    pack_weight,
    sparse_linear,
)
from ._spmm import csr_dense_matmul, spmm_csr
from ._topk import ItemSets, QuantizedCatalogue, item_sets, quantize_catalogue, top_k_inner_product

__all__ = [
    "PanelMajor", "KernelArgumentError", "NodePanelWeight", "OutputVectorWeight", "batch_to_ptr",
    "coo_to_csr",
    "csr_dense_matmul", "edge_softmax", "gat_aggregate", "gcn_norm_csr", "get_num_threads",
    "layer_norm",
    "pack_weight", "segment_pool", "set_num_threads", "sparse_linear", "spmm_csr",
    "ItemSets", "QuantizedCatalogue", "item_sets", "quantize_catalogue", "top_k_inner_product",
]
