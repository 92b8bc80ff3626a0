"""Helpers the test modules import (kept out of conftest.py, whose module name is not unique)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL_BUILD = ["--lengths", "100,200", "--cases", "12", "--seed", "0", "--frame-size", "32"]


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <args>`` as a user would; returns the finished process."""
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
