"""sparsegnn: prune, export and run graph neural networks fast and small on CPUs.

The top level imports nothing heavy: ``sparsegnn.graph`` and ``sparsegnn.data`` need numpy
only; ``sparsegnn.nn`` needs torch.
"""

__version__ = "0.1.0"
