"""``python -m sparsegnn.cli``."""

import sys

from . import main

sys.exit(main())
