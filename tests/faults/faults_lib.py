"""Helpers for the fault tests (not a conftest: module names of conftests are not unique)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import niah_testlib
from niah.results import read_run
from runner.models.random_choice import RandomChoiceModel

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def env(**extra: str | None) -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout and tests/faults importable (also on
    the workers of a local Ray instance, which inherit it); ``NAME=None`` unsets a variable."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), out.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for name, value in extra.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def cli(*args: str, timeout: float = 300, **extra: str | None) -> subprocess.CompletedProcess[str]:
    """``python tests/faults/fault_cli.py ARGS`` (``python -m runner`` plus the fault models)."""
    return subprocess.run([sys.executable, str(HERE / "fault_cli.py"), *args], cwd=REPO, env=env(**extra),
                          capture_output=True, text=True, timeout=timeout)


def module(*args: str, timeout: float = 300, **extra: str | None) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` as a user would run it."""
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env(**extra),
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The shared one-line error check, with blank lines and Ray's own log lines set aside."""
    return niah_testlib.one_line_error(proc, *needles, ignore=lambda line: not line.strip() or _ray_noise(line))


def _ray_noise(line: str) -> bool:
    return "authentication_token_setup" in line or "(raylet)" in line


def result_lines(run_dir: Path) -> list[dict]:
    """Every line of every results file of a run, parsed (fails on a line that does not parse)."""
    out = []
    for path in sorted(run_dir.glob("results*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


def assert_every_case_once(run_dir: Path, case_ids: list[str], seed: int = 0) -> dict:
    """Each case has exactly one results line, every line is well-formed, and each prediction is
    the ``random`` baseline's letter (the fault models answer like it)."""
    ids = [l["case_id"] for l in result_lines(run_dir)]
    assert Counter(ids) == Counter(case_ids), Counter(ids) - Counter(case_ids) or Counter(case_ids) - Counter(ids)
    info, results, problems = read_run(run_dir)
    assert problems == []
    return results


def random_letter(case, seed: int = 0) -> str:
    return RandomChoiceModel(seed=seed).choose(case.case_id, list(case.options))


def wait_for(predicate, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
