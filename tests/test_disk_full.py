"""A full disk is one line, exit 2, and nothing is lost: ``runner score`` and ``generator build``
with ENOSPC simulated where the bytes are written (``os.write`` of the results file; ffmpeg's
own failure line for a frame store stream), then a rerun that finishes every case once."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from generator import cli as generator_cli
from generator.build import disk_full
from niah.framestore import FrameStore, SourceError
from niah.results import read_run
from niah_testlib import SMALL_BUILD
from runner import cli as runner_cli


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    return lines[0]


def test_score_on_a_full_disk_keeps_whole_lines_and_resumes(small_bench: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    real_write = os.write
    calls = {"n": 0}

    def filling_disk(fd: int, data) -> int:  # 5 lines fit, the 6th is cut short, then ENOSPC
        calls["n"] += 1
        if calls["n"] == 6:
            return real_write(fd, bytes(data)[:17])
        if calls["n"] > 6:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    args = ["score", "--data", str(small_bench), "--model", "random", "--out", str(tmp_path), "--no-progress",
            "--run-name", "full"]
    monkeypatch.setattr(os, "write", filling_disk)
    assert runner_cli.main(args) == 2
    monkeypatch.setattr(os, "write", real_write)
    line = one_error_line(capsys.readouterr().err)
    results = tmp_path / "full" / "results.jsonl"
    assert line == f"error: {results}: no space left on device (5 of 12 cases kept; rerun to resume)"
    data = results.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 5  # the torn sixth line was cut back
    assert runner_cli.main(args) == 0
    _, done, problems = read_run(tmp_path / "full")
    assert len(done) == 12 and not problems and results.read_bytes().count(b"\n") == 12


def test_a_case_failing_on_a_full_cache_disk_is_left_for_the_rerun(small_bench: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from runner.models.random_choice import RandomChoiceModel as RandomChoice
    real = RandomChoice.answer
    seen = {"n": 0}

    def answer(self, case, bench):
        seen["n"] += 1
        if seen["n"] == 4:  # what a feature cache write on a full disk raises inside the model
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/cache/x.npz")
        return real(self, case, bench)

    monkeypatch.setattr(RandomChoice, "answer", answer)
    args = ["score", "--data", str(small_bench), "--model", "random", "--out", str(tmp_path), "--no-progress",
            "--run-name", "cache"]
    assert runner_cli.main(args) == 2
    assert "no space left on device (3 of 12 cases kept; rerun to resume)" in one_error_line(capsys.readouterr().err)
    _, done, _ = read_run(tmp_path / "cache")
    assert len(done) == 3 and all(r.error is None for r in done.values())


def test_build_on_a_full_disk_is_one_line_and_resumes(release: Path, small_bench: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import subprocess
    import niah.framestore as framestore
    real_run = subprocess.run
    count = {"n": 0}

    def ffmpeg(cmd, **kwargs):  # the third decode meets a full disk: what ffmpeg then prints and returns
        count["n"] += 1
        if count["n"] == 3:
            return subprocess.CompletedProcess(cmd, 1, b"", b"[out#0/h264] Error writing trailer: No space left on "
                                               b"device\nError closing file x.tmp: No space left on device\n"
                                               b"Conversion failed!\n")
        return real_run(cmd, **kwargs)

    out = tmp_path / "niah"
    args = ["build", "--source", str(release), "--out", str(out), *SMALL_BUILD, "--workers", "1"]
    monkeypatch.setattr(framestore.subprocess, "run", ffmpeg)
    assert generator_cli.main(args) == 2
    monkeypatch.setattr(framestore.subprocess, "run", real_run)
    line = one_error_line(capsys.readouterr().err)
    stored = sum(FrameStore(out / "frames").has(f"{kind}{k:08d}") for kind, n in (("hay", 3), ("ndl", 4))
                 for k in range(n))
    assert stored in (2, 3)  # the third failed; one queued behind it may have run before the stop
    assert line.startswith(f"error: {out / 'frames'}/") and line.endswith(
        f".tmp: no space left on device ({stored} of 7 videos in the frame store; rerun to resume)")
    assert not (out / "manifest.jsonl").exists() and not (out / "dataset.json").exists()
    assert generator_cli.main(args) == 0
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()


def test_what_counts_as_a_full_disk() -> None:
    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(RuntimeError("Error closing file out.h264: No space left on device"))
    assert not disk_full(SourceError("Invalid data found when processing input"))
    assert not disk_full(OSError(errno.EACCES, "Permission denied"))

