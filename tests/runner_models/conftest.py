"""Fixtures of the model tests: a small demo benchmark shared by every module (built once)."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "tests", Path(__file__).resolve().parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from niah_testlib import demo_bench  # noqa: E402


@pytest.fixture(scope="session")
def bench(tmp_path_factory):
    """8 cases of 60 and 120 frames on the built-in demo source (needles with digits/colours)."""
    return demo_bench(tmp_path_factory.mktemp("bench") / "niah", "60,120", 8)
