"""SIGKILL a build and a score run at random points, several times, then finish them: every case
ends up scored exactly once, no results line is lost or duplicated, no half-written file is
trusted. (tests/test_generator_bad_input.py and tests/runner/test_runner_score.py kill once at a
chosen point; here the points are random, seeded, and the checks run after every kill.)"""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from pathlib import Path

from faults_lib import HERE, REPO, assert_every_case_once, env, random_letter, wait_for
from niah.cases import Benchmark
from niah.errors import InputError
from niah_testlib import SMALL_BUILD
from runner_helpers import write_fake_bench


def _kill_when(cmd: list[str], ready, delay: float, timeout: float = 60) -> int | None:
    """Start ``cmd``; once ``ready()`` holds, wait ``delay`` seconds more and SIGKILL it.
    Returns its exit code if it ended first, else ``None``."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: proc.poll() is not None or ready(), timeout, step=0.002)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None
    return proc.returncode


def _lines(out: Path) -> int:
    files = list(out.glob("*/results.jsonl"))
    return files[0].read_bytes().count(b"\n") if files else 0


def test_score_killed_at_random_points_then_finished(tmp_path: Path) -> None:
    """Six SIGKILLs at random points of a run of 400 cases (10 ms each, one fsync'd line per
    case), then a run to the end: one well-formed line per case, each the model's answer."""
    bench_dir = write_fake_bench(tmp_path / "bench", n=400)
    bench = Benchmark.open(bench_dir)
    config = tmp_path / "slow.json"
    config.write_text(json.dumps({"delay": 0.01}))
    out = tmp_path / "res"
    cmd = [sys.executable, str(HERE / "fault_cli.py"), "score", "--data", str(bench_dir), "--model", "slow",
           "--model-path", str(config), "--out", str(out), "--no-progress", "--device", "cpu"]
    rng = random.Random(5)
    counts = [0]
    for _ in range(6):  # kill once the run has added 1..50 lines, plus 0..10 ms: anywhere in a write
        target = counts[-1] + rng.randint(1, 50)
        rc = _kill_when(cmd, lambda: _lines(out) >= target, rng.uniform(0, 0.01))
        assert rc is None, "the run ended before it could be killed"
        files = list(out.glob("*/results.jsonl"))
        counts.append(files[0].read_bytes().count(b"\n") if files else 0)
        if files:  # after each kill: at most the last line is torn, every whole line parses
            body = files[0].read_bytes()
            whole = body[: body.rfind(b"\n") + 1].decode().splitlines()
            assert all(json.loads(line)["case_id"] for line in whole)
    assert counts == sorted(counts) and counts[-1] < len(bench.cases), counts
    done = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [run_dir] = list(out.iterdir())
    results = assert_every_case_once(run_dir, [c.case_id for c in bench.cases])
    assert all(results[c.case_id].prediction == random_letter(c) for c in bench.cases)
    assert all(r.error is None for r in results.values())


def test_build_killed_at_random_points_then_finished(release: Path, small_bench: Path, tmp_path: Path) -> None:
    """Five SIGKILLs at random points of `generator build` (ingest, planning, writing), each
    followed by checks of what a reader may trust; then the build finishes with the bytes of an
    uninterrupted one."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "generator", "build", "--source", str(release), "--out", str(out),
           *SMALL_BUILD, "--workers", "1"]
    rng = random.Random(11)
    finished_early = 0
    indexes = lambda: len(list((out / "frames").glob("*.json"))) if (out / "frames").exists() else 0  # noqa: E731
    for _ in range(5):  # kill once 0..8 files are in the store (store.json + 7 videos), plus 0..300 ms
        target = rng.randint(0, 8)
        rc = _kill_when(cmd, lambda: indexes() >= target, rng.uniform(0, 0.3))
        assert rc in (None, 0)
        finished_early += rc == 0
        # what a kill leaves is never trusted: dataset.json only beside a whole manifest, every
        # index in the store parses and points inside its stream
        if (out / "dataset.json").exists():
            assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
        for index in (out / "frames").glob("*.json") if (out / "frames").exists() else []:
            data = json.loads(index.read_text())
            if index.name != "store.json":
                assert data["offsets"][-1] == index.with_suffix(".h264").stat().st_size
        try:
            Benchmark.open(out)
        except InputError:
            assert not (out / "dataset.json").exists()
    assert finished_early <= 2, "most builds finished before they could be killed"
    resumed = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
    assert (out / "dataset.json").read_bytes() == (small_bench / "dataset.json").read_bytes()
    assert wait_for(lambda: not list((out / "frames").glob("*.tmp")), 2), "temporary files left behind"
