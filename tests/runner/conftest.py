"""Fixtures: a tiny hand-made benchmark (no frames decoded, instant) and, once per session,
a real one from ``python -m generator build`` for the end-to-end CLI tests."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner_helpers import REPO, subprocess_env, write_fake_bench


@pytest.fixture
def fake_bench_dir(tmp_path: Path) -> Path:
    return write_fake_bench(tmp_path / "bench")


@pytest.fixture
def fake_bench(fake_bench_dir: Path):
    from niah.cases import Benchmark
    return Benchmark.open(fake_bench_dir)


@pytest.fixture(scope="session")
def real_bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m generator build --lengths 60,120 --cases 8 --seed 0`` (about half a minute)."""
    if not (REPO / "generator" / "__main__.py").exists():
        pytest.skip("generator not available yet")
    out = tmp_path_factory.mktemp("gen") / "niah"
    proc = subprocess.run([sys.executable, "-m", "generator", "build", "--lengths", "60,120", "--cases", "8",
                           "--seed", "0", "--out", str(out)], cwd=REPO, env=subprocess_env(),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"generator build failed: {proc.stderr.strip().splitlines()[-1:]}")
    return out
