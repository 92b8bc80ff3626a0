"""Fixtures of the model tests: a small demo benchmark shared by every module (built once)."""
import pytest

from niah_testlib import demo_bench


@pytest.fixture(scope="session")
def bench(tmp_path_factory):
    """8 cases of 60 and 120 frames on the built-in demo source (needles with digits/colours)."""
    return demo_bench(tmp_path_factory.mktemp("bench") / "niah", "60,120", 8)
