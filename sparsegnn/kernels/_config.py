"""Settings shared by every kernel.

``FASTMATH`` allows reassociation and contraction (so loops vectorise) but not ``nnan``/``ninf``:
edge softmax relies on ``-inf`` as the identity of max.
"""

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Below this much work (stored entries x feature columns) a kernel runs in the calling thread:
# handing chunks to the pool costs tens of microseconds. Measured on the 2-core development
# machine, a whole Cora GCN ran 1.3 ms on one thread and 1.8 ms with chunks of its ~0.8M-work
# kernels on two; from ~2M upwards (Amazon Computers: 31M) two threads were no slower.
PARALLEL_MIN_WORK = 1 << 21

# Activation codes understood by the fused epilogues.
ACTIVATIONS = {"identity": 0, "relu": 1, "elu": 2, "leaky_relu": 3, "sigmoid": 4, "tanh": 5,
               "gelu": 6}
