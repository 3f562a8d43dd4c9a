"""``python -m bprop.exercises make OUT_DIR`` / ``grade DIR``."""

import sys

from .cli import main

sys.exit(main())
