"""Bad input: one-line errors with exit code 2, skipped videos reported, nothing lost."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from niah_testlib import ROOT, SMALL_BUILD, one_line_error, run_cli, sigint_default
from niah.cases import Benchmark
from niah.ffmpeg import run_ffmpeg
from videomme_fixture import make_video

PARQUET = Path("videomme/test-00000-of-00001.parquet")


def build(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("generator", "build", "--source", str(source), "--out", str(out), *SMALL_BUILD, *extra)


@pytest.mark.parametrize("lengths", ["abc", "10k..2k", "0,100", "100,100", "2k..10k:0", "-5"])
def test_bad_lengths(lengths: str, release: Path, tmp_path: Path) -> None:
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(tmp_path), "--lengths", lengths)
    one_line_error(proc, "--lengths")


def test_empty_parquet(release_copy: Path, tmp_path: Path) -> None:
    path = release_copy / PARQUET
    pq.write_table(pq.read_table(path).slice(0, 0), path)
    one_line_error(build(release_copy, tmp_path / "out"), str(path), "no rows")


def test_malformed_parquet(release_copy: Path, tmp_path: Path) -> None:
    path = release_copy / PARQUET
    path.write_text("video_id,question\n001,hello\n")
    one_line_error(build(release_copy, tmp_path / "out"), str(path), "not a readable parquet")


def test_parquet_missing_columns_and_duplicate_ids(release_copy: Path, tmp_path: Path) -> None:
    path = release_copy / PARQUET
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["task_type", "answer"]), path)
    one_line_error(build(release_copy, tmp_path / "out"), str(path), "task_type", "answer")
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), path)
    one_line_error(build(release_copy, tmp_path / "out"), "duplicated question_id")


def test_missing_source_folder(tmp_path: Path) -> None:
    one_line_error(build(tmp_path / "nowhere", tmp_path / "out"), "does not exist")


def test_missing_corrupt_and_truncated_videos_are_skipped_and_reported(release_copy: Path, tmp_path: Path) -> None:
    data = release_copy / "data"
    (data / "ndl00000001.mp4").unlink()                                   # missing
    (data / "ndl00000002.mp4").write_bytes(os.urandom(5000))              # corrupt
    long = data / "hay00000002.mp4"                                      # truncated: moov first, data cut
    make_video(long, "testsrc2=s=64x36:r=2:d=150")
    faststart = data / "tmp.mp4"
    run_ffmpeg(["-i", str(long), "-c", "copy", "-movflags", "+faststart", str(faststart)])
    blob = faststart.read_bytes()
    faststart.unlink()
    long.write_bytes(blob[: len(blob) // 3])
    out = tmp_path / "out"
    proc = build(release_copy, out, "--lengths", "100")
    assert proc.returncode == 0, proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if l.startswith("warning:")]
    assert any("ndl00000001" in w and "not found" in w for w in warnings)
    assert any("ndl00000002.mp4" in w for w in warnings)
    assert any("hay00000002.mp4" in w and "truncated" in w for w in warnings)
    report = json.loads((out / "dataset.json").read_text())["report"]["skipped_videos"]
    assert set(report) == {"ndl00000001", "ndl00000002", "hay00000002"}
    used = {s.video_id for c in Benchmark.open(out).cases for s in c.segments}
    assert not used & set(report), "a skipped video was used"


def test_bad_input_never_destroys_an_existing_build(small_bench: Path, tmp_path: Path) -> None:
    before = (small_bench / "manifest.jsonl").read_bytes()
    proc = run_cli("generator", "build", "--source", str(tmp_path / "missing"), "--out", str(small_bench),
                   *SMALL_BUILD)
    assert proc.returncode == 2
    assert (small_bench / "manifest.jsonl").read_bytes() == before


def test_hand_edited_manifest_is_refused(small_bench: Path, tmp_path: Path) -> None:
    import shutil
    copy = Path(shutil.copytree(small_bench, tmp_path / "copy"))
    lines = (copy / "manifest.jsonl").read_text().splitlines()
    case = json.loads(lines[2])
    case["segments"][0]["src_start_frame"] += 100000
    lines[2] = json.dumps(case)
    (copy / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    proc = run_cli("generator", "inspect", "--data", str(copy))
    one_line_error(proc, "manifest.jsonl", case["case_id"], "outside video")
    case["segments"][0]["src_start_frame"] -= 100000
    case["schema_version"] = 99
    lines[2] = json.dumps(case)
    (copy / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    one_line_error(run_cli("generator", "inspect", "--data", str(copy)), "manifest.jsonl:3", "schema_version")


def test_export_unknown_case(small_bench: Path, tmp_path: Path) -> None:
    proc = run_cli("generator", "export", "--data", str(small_bench), "--case", "nope", "-o", str(tmp_path / "x.mp4"))
    one_line_error(proc, "nope")


def test_killed_build_resumes_to_the_same_manifest(release: Path, small_bench: Path, tmp_path: Path) -> None:
    """SIGKILL the build while it ingests (twice), then rerun: same bytes as an uninterrupted build."""
    out = tmp_path / "out"
    frames = out / "frames"
    for kills in range(2):
        proc = subprocess.Popen([sys.executable, "-m", "generator", "build", "--source", str(release),
                                 "--out", str(out), *SMALL_BUILD, "--workers", "1"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done_before = len(list(frames.glob("*.json"))) if frames.exists() else 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if frames.exists() and len(list(frames.glob("*.json"))) > done_before + 1:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "dataset.json").exists(), "the build finished before it could be killed"
    resumed = run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
    assert (out / "dataset.json").read_bytes() == (small_bench / "dataset.json").read_bytes()
    time.sleep(0.2)
    assert not list(frames.glob("*.tmp")), "a temporary file was left behind"


def test_rebuild_redoes_a_video_whose_index_is_damaged(small_bench: Path, release: Path, tmp_path: Path) -> None:
    import shutil
    copy = Path(shutil.copytree(small_bench, tmp_path / "copy"))
    index = copy / "frames" / "ndl00000000.json"
    index.write_bytes(index.read_bytes()[:40])
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(copy), *SMALL_BUILD)
    assert proc.returncode == 0, proc.stderr
    assert any("ndl00000000.json" in l and "decoding it again" in l for l in proc.stderr.splitlines())
    assert index.read_bytes() == (small_bench / "frames" / "ndl00000000.json").read_bytes()
    assert (copy / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()


def test_ctrl_c_stops_the_build_with_one_line_and_it_resumes(release: Path, small_bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "generator", "build", "--source", str(release), "--out", str(out),
                             *SMALL_BUILD, "--workers", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((out / "frames").glob("*.json")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted; rerun the same command to resume"
    assert not (out / "dataset.json").exists()
    resumed = run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
