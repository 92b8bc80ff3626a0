"""``python -m runner``: the command line lives in :mod:`runner.cli`."""
import sys

from runner.cli import main

sys.exit(main())
