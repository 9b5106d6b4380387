"""Settings shared by every kernel.

``FASTMATH`` allows reassociation and contraction (so loops vectorise) but not ``nnan``/``ninf``:
edge softmax relies on ``-inf`` as the identity of max.
"""

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Below this much work (stored entries x feature columns for the aggregations; vector
# multiply-adds for the weight kernels) a kernel runs in the calling thread: handing a chunk to
# the pool costs a thread wake-up, which on a VM can take as long as a small graph's whole
# kernel (GraphSAGE on Cora ran twice as long on two threads as on one; see bench/results).
PARALLEL_MIN_WORK = 1 << 22
# A pass over values (the finiteness check) is split from this many elements.
PARALLEL_MIN_ELEMENTS = 1 << 21

# Activation codes understood by the fused epilogues.
ACTIVATIONS = {"identity": 0, "relu": 1, "elu": 2, "leaky_relu": 3, "sigmoid": 4, "tanh": 5,
               "gelu": 6}
