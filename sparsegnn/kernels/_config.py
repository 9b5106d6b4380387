"""Settings shared by every kernel.

``FASTMATH`` allows reassociation and contraction (so loops vectorise) but not ``nnan``/``ninf``:
edge softmax relies on ``-inf`` as the identity of max.
"""

# The activation codes the fused epilogues switch on, and leaky ReLU's slope: the one table, in
# sparsegnn.ops (re-exported for the kernels).
from ..ops.activation import ACTIVATIONS, LEAKY_RELU_SLOPE

__all__ = ["ACTIVATIONS", "LEAKY_RELU_SLOPE", "FASTMATH", "PARALLEL_MIN_WORK",
           "PARALLEL_MIN_ELEMENTS"]

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Below this much work (stored entries x feature columns for the aggregations; vector
# multiply-adds for the weight kernels) a kernel runs in the calling thread: handing a chunk to
# the pool costs a thread wake-up, which on a VM can take as long as a small graph's whole
# kernel (GraphSAGE on Cora ran twice as long on two threads as on one; see bench/results).
# Halved from 1 << 22 once the workers were handed their chunks through locks (a cheaper
# round trip): timed in turns on two threads, a GIN-128 on 64 molecules at 90 % ran faster,
# the GCN and GraphSAGE cases of bench/run_all.py no slower; halved again, GraphSAGE on Cora
# and CiteSeer ran slower (docs/architecture.md, Threading).
PARALLEL_MIN_WORK = 1 << 21
# A pass over values (the finiteness check) is split from this many elements.
PARALLEL_MIN_ELEMENTS = 1 << 21
