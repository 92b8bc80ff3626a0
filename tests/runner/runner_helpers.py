"""Helpers and fixtures for the runner tests: a tiny hand-made benchmark (no frames decoded,
instant), a real one from ``python -m generator build`` (once per session), and running the
CLI in a subprocess.

Deliberately not a ``conftest.py``: several test folders have one, and tests elsewhere that
``from conftest import ...`` would pick up whichever was imported last. Test modules import
the fixtures they use from here."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from niah.schema import Case, Needle, Segment

REPO = Path(__file__).resolve().parents[2]
TASKS = ["Counting Problem", "OCR Problems", "Object Recognition"]


def subprocess_env() -> dict[str, str]:
    """The checkout and this folder importable (scripts run in subprocesses use :class:`SlowGold`)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")])
    return env


class SlowGold:
    """Answers every case correctly after ``delay`` seconds, so a run lasts long enough to be
    interrupted and its resumed results can be checked case by case."""

    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def settings(self) -> dict[str, float]:
        return {"delay": self.delay}

    def answer(self, case: Case, bench: object) -> str:
        time.sleep(self.delay)
        return "The answer is " + case.answer


def load_slow(model_path: str | None = None, **options: object) -> SlowGold:
    """Registry loader for :class:`SlowGold` (``register("slow", "runner_helpers:load_slow")``)."""
    return SlowGold(0.1)


def make_case(index: int, length: int, depth: float, task_type: str, answer: str) -> Case:
    needle_frames = 10
    start = round(depth * (length - needle_frames))
    segments = []
    if start:
        segments.append(Segment("hay", index, start, "haystack"))
    segments.append(Segment("needle", 0, needle_frames, "needle"))
    if length - start - needle_frames:
        segments.append(Segment("hay", index + start, length - start - needle_frames, "haystack"))
    return Case(
        case_id=f"L{length}-{index:04d}", length=length, fps=1.0, depth=depth,
        needle=Needle("needle", f"q{index}", start, needle_frames), segments=segments,
        question="What colour is the car?",
        options=["A. A man is cooking.", "B. red", "C. blue", "D. green"],
        answer=answer, task_type=task_type,
    )


def write_fake_bench(root: Path, n: int = 24, lengths=(60, 120), schema_version: int | None = None,
                     question_suffix: str = "") -> Path:
    """A benchmark folder whose frame store holds indexes only (enough for ``Benchmark.open``;
    models in these tests never decode frames)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        length = lengths[i % len(lengths)]
        depth = round((i // len(lengths)) % 11 / 10, 1)
        case = make_case(i, length, depth, TASKS[i % len(TASKS)], "ABCD"[(i * 7) % 4])
        if question_suffix:
            case = Case(**{**case.__dict__, "question": case.question + question_suffix})
        line = json.loads(case.to_json())
        if schema_version is not None:
            line["schema_version"] = schema_version
        lines.append(json.dumps(line, sort_keys=True, separators=(",", ":")))
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    (root / "dataset.json").write_text(json.dumps({"frame_store": "frames", "seed": 0}))
    store = root / "frames"
    store.mkdir(exist_ok=True)
    (store / "store.json").write_text(json.dumps(
        {"width": 384, "height": 384, "fps": 1.0, "crf": 18, "preset": "ultrafast"}))
    for vid, frames in (("hay", 10_000), ("needle", 10)):  # an index only: these models read no pixels
        (store / f"{vid}.json").write_text(json.dumps({"video_id": vid, "frames": frames,
                                                       "offsets": [0] * (frames + 1)}))
        (store / f"{vid}.h264").write_bytes(b"")
    return root


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


def run_cli(*args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)
