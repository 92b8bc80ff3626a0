"""The bad-input catalogue not already in tests/test_generator_bad_input.py (which covers bad
--lengths, empty/malformed parquet, missing columns and duplicated question ids, missing /
corrupt / truncated videos, a hand-edited manifest under `generator inspect`).

Each input gives either a per-item skip that is reported (a video) or one ``error:`` line and
exit 2 (a whole job that cannot go on)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from faults_lib import module, one_line_error
from niah.cases import Benchmark
from niah.ffmpeg import run_ffmpeg
from niah.results import read_run
from niah_testlib import SMALL_BUILD
from runner_helpers import write_fake_bench
from videomme_fixture import make_video, row

PARQUET = Path("videomme/test-00000-of-00001.parquet")


def _add_videos(release: Path, videos: dict[str, tuple[str, callable]]) -> None:
    """Add ``{video: (duration class, maker(path))}`` to a release: files and parquet rows."""
    path = release / PARQUET
    table = pq.read_table(path)
    rows = table.to_pylist()
    for k, (vid, (duration, make)) in enumerate(sorted(videos.items())):
        make(release / "data" / f"{vid}.mp4")
        rows.append(row(500 + k, vid, duration, 1, "Counting Problem"))
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)


def _audio_only(path: Path) -> None:
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=40", "-c:a", "aac", str(path)])


def _vfr(path: Path) -> None:  # 10 fps source keeping 3 frames in 10, and every frame from 60 s to 90 s
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=64x36:r=10:d=150",
                "-vf", "select='lt(mod(n\\,10)\\,3)+between(t\\,60\\,90)'", "-fps_mode", "vfr",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)])


def _odd_portrait(path: Path) -> None:  # 101x203: odd sides need 4:4:4 in H.264
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=101x203:r=3:d=150", "-c:v", "libx264", "-preset", "ultrafast",
                "-pix_fmt", "yuv444p", str(path)])


BAD_VIDEOS = {
    "zero00000001": ("short", lambda p: p.write_bytes(b"")),
    "audio0000001": ("short", _audio_only),
    "tiny00000001": ("short", lambda p: make_video(p, "testsrc2=s=64x36:r=25:d=0.04")),   # one frame, < 1 s
    "short0000001": ("short", lambda p: make_video(p, "testsrc2=s=64x36:r=25:d=0.6")),
    "vfr000000001": ("long", _vfr),
    "odd000000001": ("long", _odd_portrait),
    "portrait0001": ("long", lambda p: make_video(p, "testsrc2=s=36x64:r=2:d=150")),
    "long00000001": ("long", lambda p: make_video(p, "testsrc2=s=32x18:r=1:d=3600")),
}


@pytest.fixture(scope="module")
def odd_build(release: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    source = Path(shutil.copytree(release, tmp_path_factory.mktemp("odd") / "release"))
    _add_videos(source, BAD_VIDEOS)
    out = source.parent / "out"
    proc = module("generator", "build", "--source", str(source), "--out", str(out), *SMALL_BUILD)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stderr


def test_unusable_videos_are_skipped_and_reported(odd_build: tuple[Path, str]) -> None:
    """Zero-byte, audio-only (no video stream) and shorter-than-one-frame sources: one warning
    line each naming the file, listed in dataset.json's report, used by no case."""
    out, stderr = odd_build
    warnings = [l for l in stderr.splitlines() if l.startswith("warning:")]
    report = json.loads((out / "dataset.json").read_text())["report"]["skipped_videos"]
    assert set(report) == {"zero00000001", "audio0000001", "tiny00000001"}
    for vid in report:
        assert sum(f"{vid}.mp4" in w and w.endswith("skipped") for w in warnings) == 1, stderr
    assert "no video frames" in report["tiny00000001"]
    used = {s.video_id for c in Benchmark.open(out).cases for s in c.segments}
    assert not used & set(report)


def test_audio_only_video_message_says_no_video_stream(odd_build: tuple[Path, str]) -> None:
    out, _ = odd_build
    reason = json.loads((out / "dataset.json").read_text())["report"]["skipped_videos"]["audio0000001"]
    assert "video stream" in reason or "matches no streams" in reason, reason


def test_odd_sources_are_ingested_at_one_fps(odd_build: tuple[Path, str]) -> None:
    """Variable frame rate, portrait, odd resolution (101x203), under one second and one hour
    long: ingested with one frame per second of duration, every frame at the store's size."""
    out, _ = odd_build
    bench = Benchmark.open(out)
    frames = {v: bench.store.num_frames(v) for v in bench.store.video_ids()}
    for vid in ("vfr000000001", "odd000000001", "portrait0001"):
        assert 149 <= frames[vid] <= 151, (vid, frames[vid])
    assert frames["long00000001"] == 3600
    assert frames["short0000001"] == 1
    outside = json.loads((out / "dataset.json").read_text())["report"]["needles_outside_duration_range"]
    assert outside.get("short0000001") == 1  # a needle too short is excluded, and said so
    for vid in ("vfr000000001", "odd000000001", "portrait0001", "long00000001", "short0000001"):
        first, last = bench.store.read_indices(vid, [0, frames[vid] - 1])
        assert first.shape == last.shape == (32, 32, 3)


def _edit_manifest(bench: Path, tmp_path: Path, edit) -> tuple[Path, str]:
    copy = Path(shutil.copytree(bench, tmp_path / f"copy{len(list(tmp_path.iterdir()))}"))
    lines = (copy / "manifest.jsonl").read_text().splitlines()
    case = json.loads(lines[3])
    text = edit(case)
    lines[3] = text if isinstance(text, str) else json.dumps(case)
    (copy / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return copy, case["case_id"]


def _shift(case: dict, key: str, value: int) -> None:
    case["segments"][0][key] = value


MANIFEST_EDITS = {
    "frames past the end": (lambda c: _shift(c, "src_start_frame", 10**6), "outside video"),
    "negative start": (lambda c: _shift(c, "src_start_frame", -5), "negative start"),
    "segments do not add up": (lambda c: _shift(c, "num_frames", c["segments"][0]["num_frames"] + 1), "length is"),
    "unknown video": (lambda c: _shift(c, "video_id", "nosuchvideo"), "not in frame store"),
    "needle moved": (lambda c: c["needle"].update(start_frame=c["needle"]["start_frame"] + 1), "needle"),
    "depth out of range": (lambda c: c.update(depth=1.5), "depth"),
    "cut line": (lambda c: json.dumps(c)[:40], "manifest.jsonl:4"),
}


@pytest.mark.parametrize("what", sorted(MANIFEST_EDITS))
def test_score_refuses_a_hand_edited_manifest(what: str, small_bench: Path, tmp_path: Path) -> None:
    """`runner score` on a manifest edited by hand: one line naming the manifest (and the case),
    exit 2, before any model time is spent or any results folder is made."""
    edit, needle = MANIFEST_EDITS[what]
    copy, case_id = _edit_manifest(small_bench, tmp_path, edit)
    out = tmp_path / "res"
    proc = module("runner", "score", "--data", str(copy), "--model", "random", "--out", str(out), "--no-progress")
    line = one_line_error(proc, "manifest.jsonl", needle)
    assert what == "cut line" or case_id in line
    assert not out.exists()


def test_results_files_with_bad_lines(tmp_path: Path) -> None:
    """Bad lines in a results file (garbage, a wrong type, an unknown field, bytes that are not
    UTF-8, a duplicated case, a torn last line): never trusted. `runner report` names them and
    counts only good lines; a rerun of `runner score` rescores exactly the cases whose only
    line was bad, and the folder then holds one good line per case."""
    bench_dir = write_fake_bench(tmp_path / "bench", n=12)
    bench = Benchmark.open(bench_dir)
    out = tmp_path / "res"
    cmd = ["runner", "score", "--data", str(bench_dir), "--model", "random", "--out", str(out), "--no-progress"]
    assert module(*cmd).returncode == 0
    [run_dir] = list(out.iterdir())
    path = run_dir / "results.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    bad = {}
    bad[1] = b"this is not json\n"
    wrong = json.loads(lines[2]); wrong["correct"] = "yes"; bad[2] = (json.dumps(wrong) + "\n").encode()  # noqa: E702
    extra = json.loads(lines[3]); extra["surprise"] = 1; bad[3] = (json.dumps(extra) + "\n").encode()  # noqa: E702
    bad[4] = b"\xff\xfe\x00 not utf-8 \x80\n"
    rescored = {json.loads(lines[i])["case_id"] for i in bad} | {json.loads(lines[-1])["case_id"]}
    for i, text in bad.items():
        lines[i] = text
    torn = lines[-1][: len(lines[-1]) // 2]
    body = b"".join(lines[:-1]) + lines[0] + torn  # a duplicate of line 1, then a torn last line
    path.write_bytes(body)

    report = module("runner", "report", "--out", str(out), "--format", "text")
    assert report.returncode == 0, report.stderr
    assert report.stdout.count("ignored line") >= 5 and "Traceback" not in report.stderr

    again = module(*cmd)
    assert again.returncode == 0, again.stderr
    assert "torn last line" in again.stderr
    assert f"({len(rescored)} now, {len(bench.cases) - len(rescored)} before)" in again.stdout
    info, results, problems = read_run(run_dir)
    assert set(results) == {c.case_id for c in bench.cases}
    assert len(problems) == 5  # the four bad lines and the duplicate: reported, never trusted
    assert any("duplicate case_id" in p for p in problems)


CORRUPT_STORE = {
    "truncated video index": lambda frames: _truncate(next(iter(sorted(frames.glob("hay*.json")))), 50),
    "garbage store.json": lambda frames: (frames / "store.json").write_text("garbage\n"),
}


def _truncate(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


@pytest.mark.parametrize("what", sorted(CORRUPT_STORE))
def test_damaged_frame_store_file_is_one_line(what: str, small_bench: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(small_bench, tmp_path / "copy"))
    CORRUPT_STORE[what](copy / "frames")
    one_line_error(module("generator", "inspect", "--data", str(copy)), "frames")
    one_line_error(module("runner", "score", "--data", str(copy), "--model", "random", "--out",
                          str(tmp_path / "res"), "--no-progress"), "frames")
