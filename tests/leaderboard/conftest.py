"""Fixtures for the leaderboard tests.

``demo``: a synthetic manifest (no frame store) and a results folder written directly
(3 complete runs, one 2-shard; 1 partial run; 1 run on another manifest).
``real_bench``: the session's shared small benchmark (``small_bench`` in tests/conftest.py,
built by ``python -m generator build`` from the fixture release), with real frames.
"""
from __future__ import annotations

import pytest

import synthetic_runs as synthetic


@pytest.fixture
def demo(tmp_path):
    results, data = tmp_path / "results", tmp_path / "data"
    info = synthetic.write_demo(results, data)
    return {"results": results, "data": data, **info}


@pytest.fixture(scope="session")
def real_bench(small_bench):
    """The shared 12-case benchmark (tests/conftest.py), opened: real frames for thumbnails."""
    from niah.cases import Benchmark
    return Benchmark.open(small_bench)


@pytest.fixture
def real_demo(tmp_path, real_bench):
    """Two complete runs and one partial run on the real benchmark."""
    results = tmp_path / "results"
    cases = real_bench.cases
    for i, model in enumerate(["alpha", "beta"]):
        synthetic.write_run(results, model, synthetic.make_results(cases, model, 0.9 - 0.3 * i),
                            synthetic.run_info(model, real_bench.fingerprint, len(cases)))
    synthetic.write_run(results, "gamma-partial", synthetic.make_results(cases, "gamma", 1.0, fraction=0.5),
                        synthetic.run_info("gamma", real_bench.fingerprint, len(cases)))
    return {"results": results, "data": real_bench.root, "bench": real_bench}
