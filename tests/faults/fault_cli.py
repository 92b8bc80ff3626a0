"""``python tests/faults/fault_cli.py score ...``: ``python -m runner`` with the fault test models
registered (their module, ``fault_models``, must be importable on Ray workers too)."""
from __future__ import annotations

import sys

from runner.cli import main
from runner.models import register

register("exit-once", "fault_models:load_exit_once")
register("slow", "fault_models:load_slow")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
