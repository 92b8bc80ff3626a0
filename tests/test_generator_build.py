"""The generator end to end on a fixture laid out like the Video-MME release."""
from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

from niah_testlib import SMALL_BUILD, run_cli
from niah.cases import Benchmark
from niah.ffmpeg import ffmpeg_exe


def source_frames_1fps(path: Path, size: int) -> np.ndarray:
    """The reference definition of a video's 1-FPS frames: ffmpeg's fps filter, then scale."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vf",
                          f"fps=1,scale={size}:{size}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, size, size, 3)


def decode_video(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_cases_have_exact_lengths_and_valid_needles(small_bench: Path) -> None:
    bench = Benchmark.open(small_bench)
    assert len(bench.cases) == 12
    assert Counter(c.length for c in bench.cases) == {100: 6, 200: 6}
    for case in bench.cases:
        refs = bench.frame_refs(case)
        assert len(refs) == case.length
        assert len(set(refs)) == case.length, "a haystack repeats a stretch of a source video"
        haystack_videos = {s.video_id for s in case.segments if s.role == "haystack"}
        assert case.needle.video_id not in haystack_videos
        assert 30 <= case.needle.num_frames <= 120
        hay = case.length - case.needle.num_frames
        assert case.depth == pytest.approx(case.needle.start_frame / hay, abs=1e-6)
        assert refs[case.needle.start_frame].video_id == case.needle.video_id
        assert refs[case.needle.start_frame].frame == 0


def test_balanced_across_task_types(small_bench: Path) -> None:
    bench = Benchmark.open(small_bench)
    for length in (100, 200):
        counts = Counter(c.task_type for c in bench.cases if c.length == length)
        assert set(counts) == {"Counting Problem", "OCR Problems", "Attribute Perception"}
        assert max(counts.values()) - min(counts.values()) <= 1


def test_exported_video_has_exactly_the_case_frames(small_bench: Path, release: Path, tmp_path: Path) -> None:
    bench = Benchmark.open(small_bench)
    case = max(bench.cases, key=lambda c: c.length)
    out = tmp_path / "case.mp4"
    proc = run_cli("generator", "export", "--data", str(small_bench), "--case", case.case_id, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    exported = decode_video(out)
    assert exported.shape == (case.length, 32, 32, 3)
    assert np.array_equal(exported, np.stack(list(bench.frames(case)))), "export differs from the reader"
    with av.open(str(out)) as container:
        assert float(container.streams.video[0].average_rate) == 1.0
    # The needle's frames are the needle source's own 1-FPS frames (up to the store's lossy
    # encoding), and clearly not the haystack's.
    start, n = case.needle.start_frame, case.needle.num_frames
    reference = source_frames_1fps(release / "data" / f"{case.needle.video_id}.mp4", 32).astype(int)
    assert reference.shape[0] == n
    needle_error = np.abs(exported[start:start + n].astype(int) - reference).mean()
    assert needle_error < 4, needle_error
    other = exported[[i for i in range(case.length) if not start <= i < start + n][:n]].astype(int)
    assert np.abs(other - reference[: len(other)]).mean() > 20


def test_same_seed_same_bytes_other_seed_other_cases(release: Path, small_bench: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert run_cli("generator", "build", "--source", str(release), "--out", str(again), *SMALL_BUILD).returncode == 0
    assert (again / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
    assert (again / "dataset.json").read_bytes() == (small_bench / "dataset.json").read_bytes()
    other = tmp_path / "other"
    args = [a if a != "0" else "1" for a in SMALL_BUILD]  # --seed 1
    assert run_cli("generator", "build", "--source", str(release), "--out", str(other), *args).returncode == 0
    assert (other / "manifest.jsonl").read_bytes() != (small_bench / "manifest.jsonl").read_bytes()


def test_depth_grid(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid"
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(out), "--lengths", "150",
                   "--cases", "9", "--frame-size", "32", "--depths", "0,0.5,1")
    assert proc.returncode == 0, proc.stderr
    depths = Counter(round(c.depth, 2) for c in Benchmark.open(out).cases)
    assert depths == {0.0: 3, 0.5: 3, 1.0: 3}


def test_dataset_json_records_config_and_sources(small_bench: Path) -> None:
    dataset = json.loads((small_bench / "dataset.json").read_text())
    assert dataset["schema_version"] == 1
    assert dataset["config"]["seed"] == 0 and dataset["config"]["lengths"] == [100, 200]
    assert set(dataset["sources"]["videos"]) == {f"hay{k:08d}" for k in range(3)} | {f"ndl{k:08d}" for k in range(4)}
    assert dataset["sources"]["videos"]["ndl00000000"]["frames"] == 30
    assert dataset["counts"]["cases"] == 12


def test_inspect_prints_balance_tables(small_bench: Path) -> None:
    proc = run_cli("generator", "inspect", "--data", str(small_bench))
    assert proc.returncode == 0, proc.stderr
    assert "cases by length x task type" in proc.stdout and "depth decile" in proc.stdout
    assert "disk per case" in proc.stdout


def test_videos_found_anywhere_below_the_root(release_copy: Path, small_bench: Path, tmp_path: Path) -> None:
    """Users unzip the release's chunks into other folders: the reader finds them there."""
    nested = release_copy / "videos_chunked_02" / "data"
    nested.mkdir(parents=True)
    for name in ("ndl00000001.mp4", "hay00000002.mp4"):
        (release_copy / "data" / name).rename(nested / name)
    out = tmp_path / "out"
    proc = run_cli("generator", "build", "--source", str(release_copy), "--out", str(out), *SMALL_BUILD)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()


def test_second_build_says_it_is_complete_and_notes_print_once(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "twice"
    args = ["generator", "build", "--source", str(release), "--out", str(out), "--lengths", "100,200",
            "--cases", "60", "--frame-size", "32"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    both = first.stdout + first.stderr
    assert both.count("questions reused") == 2 and "warning" not in first.stderr  # one note per length
    assert "built 60 cases" in first.stdout
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "build already complete" in second.stdout and "60 cases" in second.stdout
    assert "ingest: all 7 videos already in the frame store" in second.stderr
    assert "0video" not in second.stderr and (second.stdout + second.stderr).count("questions reused") == 2


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_into_another_benchmark_refuses_and_replace_replaces(release: Path, tmp_path: Path) -> None:
    """Another benchmark's folder is refused in one line naming it, exit 2, nothing changed;
    ``--replace`` replaces it; the refusal never stands in the way of the same build."""
    out = tmp_path / "niah"
    first = run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    other = ["generator", "build", "--source", str(release), "--out", str(out), "--lengths", "100", "--cases", "6",
             "--seed", "0", "--frame-size", "32"]
    refused = run_cli(*other)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(f"error: --out: {out} holds another benchmark (12 cases at lengths 100,200, "
                                     "seed 0, ")
    assert "lengths 100 instead of 100,200; cases 6 instead of 12; pass --replace" in refused.stderr
    assert snapshot(out) == before
    again = run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD)
    assert again.returncode == 0 and "build already complete" in again.stdout
    replaced = run_cli(*other, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "built 6 cases" in replaced.stdout and len(Benchmark.open(out).cases) == 6
    assert run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD).returncode == 2


def test_a_replacement_killed_before_its_end_resumes_without_replace(release: Path, tmp_path: Path) -> None:
    """``--replace`` drops the old ``dataset.json`` first: until the new build is whole the
    folder is a build in progress, which a plain rerun of the new settings finishes."""
    out = tmp_path / "niah"
    assert run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD).returncode == 0
    (out / "dataset.json").write_text("{not json")
    garbage = run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD)
    assert garbage.returncode == 2 and garbage.stderr.count("\n") == 1
    assert f"{out / 'dataset.json'}: not a readable benchmark's dataset.json" in garbage.stderr
    (out / "dataset.json").unlink()  # what --replace leaves when killed before the new manifest is whole
    other = run_cli("generator", "build", "--source", str(release), "--out", str(out), "--lengths", "100",
                    "--cases", "6", "--frame-size", "32")
    assert other.returncode == 0, other.stderr
    assert len(Benchmark.open(out).cases) == 6


def test_a_setting_an_older_build_did_not_record_reads_as_its_behaviour_then(small_bench: Path, tmp_path: Path) -> None:
    """A ``dataset.json`` from before an option holds no key for it: that build had the
    option's default, except the layout (benchmarks before the tape were ``independent``)."""
    from generator.build import BuildConfig, refuse_another_benchmark
    from niah.errors import InputError

    dataset = json.loads((small_bench / "dataset.json").read_text())
    config = dataset["config"]
    same = BuildConfig(source=config["source"], out=str(tmp_path), lengths=(100, 200), cases=12, seed=0,
                       frame_size=32)
    for key in ("needle_duration", "haystacks"):
        del config[key]
    (tmp_path / "dataset.json").write_text(json.dumps(dataset))
    with pytest.raises(InputError, match="haystacks tape instead of independent; pass --replace"):
        refuse_another_benchmark(same)  # the default layout is the tape now
    refuse_another_benchmark(BuildConfig(**{**same.__dict__, "haystacks": "independent"}))  # the same benchmark
    (tmp_path / "dataset.json").write_text(json.dumps({**dataset, "config": [1, 2]}))
    with pytest.raises(InputError, match="not a readable benchmark's dataset.json"):
        refuse_another_benchmark(same)
