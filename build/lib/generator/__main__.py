"""``python -m generator``: the command line lives in :mod:`generator.cli`."""
import sys

from generator.cli import main

sys.exit(main())
