"""Fixtures of the model tests: a small demo benchmark shared by every module (built once)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, Path(__file__).resolve().parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from niah.cases import Benchmark  # noqa: E402


@pytest.fixture(scope="session")
def bench(tmp_path_factory):
    """8 cases of 60 and 120 frames on the built-in demo source (needles with digits/colours)."""
    out = tmp_path_factory.mktemp("bench") / "niah"
    proc = subprocess.run([sys.executable, "-m", "generator", "build", "--lengths", "60,120", "--cases", "8",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return Benchmark.open(out)
