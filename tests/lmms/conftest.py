"""Fixtures of the lmms-eval tests: the exported task of the shared small benchmark, and lmms-eval's
own output of its ``dummy`` model on it (helpers: ``lmms_testlib``)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lmms_testlib import DUMMY_RESPONSE, run_lmms_eval  # noqa: E402
from niah_testlib import run_cli  # noqa: E402


@pytest.fixture(scope="session")
def task_dir(small_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m generator lmms-eval-task`` of the 12-case benchmark (lengths 100 and 200)."""
    out = tmp_path_factory.mktemp("lmms_task") / "video_niah"
    proc = run_cli("generator", "lmms-eval-task", "--data", str(small_bench), "--out", str(out), "--cache-gb", "1")
    assert proc.returncode == 0, proc.stderr
    return out


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
