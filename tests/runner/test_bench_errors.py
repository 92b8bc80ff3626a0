"""The GPU benchmarks end in one ``error:`` line, exit 2, where they cannot run (no CUDA, no
weights), as the CLIs do: a traceback whose last line is the message buries it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner_helpers import REPO, subprocess_env, write_fake_bench

pytestmark = pytest.mark.models


def bench_script(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=subprocess_env() | env, capture_output=True,
                          text=True, timeout=300)


def assert_one_error_line(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and proc.stderr.rstrip().endswith(errors[0]), proc.stderr[-2000:]
    assert all(word in errors[0] for word in words), errors[0]


def test_bench_gpu_without_cuda_is_one_line_before_any_weights(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = bench_script("bench/bench_gpu.py", "run", "--data", str(tmp_path / "missing"), "--device", "cuda")
    assert_one_error_line(proc, "--device", "no CUDA devices")
    assert proc.stdout == ""  # nothing built or timed before the refusal


def test_bench_circular_without_weights_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data = write_fake_bench(tmp_path / "bench", n=4)
    proc = bench_script("bench/bench_circular.py", "--data", str(data), "--lengths", "60",
                        "--vilamp", "missing-org/missing-vilamp", "--ov", "missing-org/missing-ov",
                        HF_HOME=str(tmp_path / "hf"))
    assert_one_error_line(proc, "missing-org/missing-vilamp", "not in the local Hugging Face cache")
