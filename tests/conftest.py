"""Shared fixtures: a tiny Video-MME-shaped release and small benchmarks built from it."""
from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from pathlib import Path

import pytest

if os.environ.get("NIAH_MUTATION"):
    # `make mutate`: mutmut forks a test worker per mutant from one process. tqdm's default
    # lock holds a multiprocessing semaphore that every fork shares, so a worker killed while
    # writing a progress bar left the others waiting on it forever (reported as timeouts).
    from tqdm import tqdm
    tqdm.set_lock(threading.RLock())

from niah_testlib import SMALL_BUILD, run_cli  # noqa: E402
from videomme_fixture import make_release  # noqa: E402

#: what a marked test needs beyond the core install (`make demo`); absent -> the test is skipped
MARKER_NEEDS = {"models": ("torch", "torchvision", "transformers", "open_clip"), "browser": ("playwright",)}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a finder that refuses the name (tests/test_light_install.py hides torch so)
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``models`` or ``browser`` skips, naming what is missing, on an install
    without those pieces (the light install of ``make test-fast``), instead of failing."""
    for marker, modules in MARKER_NEEDS.items():
        if item.get_closest_marker(marker) is not None:
            missing = [m for m in modules if not _importable(m)]
            if missing:
                pytest.skip(f"needs {', '.join(missing)} (`make install`)")


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pristine fixture release; copy it (``release_copy``) before damaging it."""
    return make_release(tmp_path_factory.mktemp("videomme"))


@pytest.fixture
def release_copy(release: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(release, tmp_path / "release"))


@pytest.fixture(scope="session")
def small_bench(release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-case benchmark (lengths 100 and 200) built from the fixture release."""
    out = tmp_path_factory.mktemp("bench") / "niah"
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD)
    assert proc.returncode == 0, proc.stderr
    return out
