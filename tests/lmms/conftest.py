"""Fixtures of the lmms-eval tests: the exported task of the shared small benchmark, and the
environment lmms-eval runs in here (no network: hub and datasets offline, every proxy dead)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "tests", Path(__file__).resolve().parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from niah_testlib import run_cli  # noqa: E402


def offline_env(hf_home: Path) -> dict[str, str]:
    """What lmms-eval runs under in these tests: no hub, no datasets download, and any HTTP(S)
    connection sent to a closed local port, so a network access fails instead of passing."""
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(hf_home),
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
    env.pop("VIDEO_NIAH_MP4_CACHE", None)
    return env


@pytest.fixture(scope="session")
def task_dir(small_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m generator lmms-eval-task`` of the 12-case benchmark (lengths 100 and 200)."""
    out = tmp_path_factory.mktemp("lmms_task") / "video_niah"
    proc = run_cli("generator", "lmms-eval-task", "--data", str(small_bench), "--out", str(out), "--cache-gb", "1")
    assert proc.returncode == 0, proc.stderr
    return out


DUMMY_RESPONSE = "The answer is (C)"


def run_lmms_eval(args: list[str], hf_home: Path, timeout: float = 900):
    """``python -m runner lmms-eval ARGS`` (lmms-eval's own command line) offline; the finished process."""
    import subprocess
    return subprocess.run([sys.executable, "-m", "runner", "lmms-eval", *args], cwd=ROOT, env=offline_env(hf_home),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def dummy_output(task_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lmms-eval's ``--log_samples`` output of its ``dummy`` model (the same text for every case,
    each case's MP4 read through the task's ``doc_to_visual``) on the whole exported task."""
    out = tmp_path_factory.mktemp("lmms_dummy")
    proc = run_lmms_eval(["--model", "dummy", "--model_args", f"response={DUMMY_RESPONSE},read_bytes=4096",
                          "--tasks", "video_niah", "--include_path", str(task_dir), "--log_samples",
                          "--output_path", str(out / "lmms_out")], out / "hf_home")
    samples = sorted((out / "lmms_out").rglob("*_samples_video_niah_*.jsonl"))
    assert len(samples) == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "lmms_out"
