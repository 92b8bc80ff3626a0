"""Fixtures of the model tests: a small demo benchmark shared by every module (built once)."""
from pathlib import Path

import pytest

from niah_testlib import demo_bench

HERE = Path(__file__).resolve().parent
#: fixtures that build tiny random-weight models (tiny_models.py imports torch)
MODEL_FIXTURES = {"tiny", "ckpts"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test here that takes a tiny-model fixture needs the torch stack: it is marked ``models``."""
    for item in items:
        if HERE in Path(item.path).parents and MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.models)


@pytest.fixture(scope="session")
def bench(tmp_path_factory):
    """8 cases of 60 and 120 frames on the built-in demo source (needles with digits/colours)."""
    return demo_bench(tmp_path_factory.mktemp("bench") / "niah", "60,120", 8)
