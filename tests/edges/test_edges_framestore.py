"""The frame store at its edges: ranges that start before 0 or end past the video, a run
longer than one 256-frame read block, a source cut to ~80 % of its promised length, a
shortened stream beside a valid index. Real ffmpeg and real decoding, at 32x32."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from niah.errors import InputError
from niah.ffmpeg import run_ffmpeg
from niah.framestore import READ_BLOCK, FrameStore, SourceError, StoreSettings
from videomme_fixture import make_video

SETTINGS = StoreSettings(width=32, height=32)
FRAMES = 300  # more than one READ_BLOCK


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one 300-frame video whose frames differ (a moving test pattern)."""
    root = tmp_path_factory.mktemp("edges-store")
    source = root / "src" / "long.mp4"
    make_video(source, f"testsrc2=s=32x32:r=1:d={FRAMES}")
    FrameStore(root / "frames", SETTINGS).ingest("long", source)
    return root / "frames"


def test_the_fixture_is_longer_than_one_read_block(store_dir):
    assert FrameStore(store_dir).num_frames("long") == FRAMES > READ_BLOCK


@pytest.mark.parametrize("start,count", [(-1, 2), (FRAMES - 1, 2), (0, FRAMES + 1), (5, -1)])
def test_ranges_outside_the_video_raise_at_the_call(store_dir, start, count):
    store = FrameStore(store_dir)
    with pytest.raises(IndexError, match="outside video long"):
        store.read("long", start, count)
    with pytest.raises(IndexError):
        store.packets("long", start, count)


@pytest.mark.parametrize("indices", [[-1], [FRAMES]])
def test_indices_outside_the_video_raise(store_dir, indices):
    with pytest.raises(IndexError, match="outside video long"):
        list(FrameStore(store_dir).read_indices("long", indices))


def test_a_run_across_read_blocks_returns_exactly_its_frames(store_dir):
    store = FrameStore(store_dir)
    start, count = READ_BLOCK - 6, 40  # crosses the block boundary
    run = list(store.read("long", start, count))
    assert len(run) == count
    singles = list(store.read_indices("long", range(start, start + count)))
    assert all(np.array_equal(a, b) for a, b in zip(run, singles))
    assert len({a.tobytes() for a in run}) == count  # frames differ: none skipped or repeated
    units = list(store.access_units("long", start, count))
    assert b"".join(units) == store.packets("long", start, count) and len(units) == count
    whole = list(store.read("long", 0, FRAMES))
    assert len(whole) == FRAMES
    assert np.array_equal(whole[start], run[0]) and np.array_equal(whole[start + count - 1], run[-1])
    assert np.array_equal(whole[-1], next(iter(store.read_indices("long", [FRAMES - 1]))))
    assert list(store.read("long", FRAMES, 0)) == []  # an empty run at the end is no error


def test_read_resizes_to_the_asked_size(store_dir):
    frame = next(iter(FrameStore(store_dir).read("long", 3, 1, size=(16, 8))))
    assert frame.shape == (8, 16, 3) and frame.dtype == np.uint8


def test_a_source_cut_to_80_percent_is_reported_truncated(tmp_path):
    long = tmp_path / "long.mp4"
    make_video(long, "testsrc2=s=32x32:r=1:d=100")
    faststart = tmp_path / "fs.mp4"  # the index up front: the container keeps promising 100 s
    run_ffmpeg(["-i", str(long), "-c", "copy", "-movflags", "+faststart", str(faststart)])
    blob = faststart.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(blob[: int(len(blob) * 0.8)])
    store = FrameStore(tmp_path / "frames", SETTINGS)
    with pytest.raises(SourceError, match="truncated"):
        store.ingest("cut", cut)
    assert not store.has("cut")
    assert store.ingest("whole", faststart)["frames"] == 100  # the uncut file is whole


def test_a_shortened_stream_beside_a_valid_index_is_reported_damaged(store_dir, tmp_path):
    copy = Path(shutil.copytree(store_dir, tmp_path / "frames"))
    stream = copy / "long.h264"
    stream.write_bytes(stream.read_bytes()[:-1])
    with pytest.raises(InputError, match="damaged frame store index") as info:
        FrameStore(copy).num_frames("long")
    assert "long.json" in info.value.where


def test_settings_of_another_store_are_refused(store_dir):
    with pytest.raises(InputError, match="built with"):
        FrameStore(store_dir, StoreSettings(width=64, height=64))
    assert FrameStore(store_dir, SETTINGS).settings == SETTINGS


# ----- a benchmark's frames, from the store above ---------------------------------------
def open_bench(root: Path, store_dir: Path):
    """A one-case benchmark on the fixture store: 10 frames, a 5-frame needle from frame 200, 15 more."""
    import json

    from niah.cases import Benchmark
    from niah.schema import Case, Needle, Segment
    segments = [Segment("long", 0, 10, "haystack"), Segment("long", 200, 5, "needle"), Segment("long", 10, 15, "haystack")]
    case = Case("L30-0000", 30, 1.0, 0.4, Needle("long", "q", 10, 5), segments, "Q?", ["A. a", "B. b"], "A", "T")
    root.mkdir()
    (root / "manifest.jsonl").write_text(case.to_json() + "\n")
    (root / "dataset.json").write_text(json.dumps({"frame_store": str(store_dir)}))
    return Benchmark.open(root)


def test_a_cases_frames_in_play_order(store_dir, tmp_path):
    bench = open_bench(tmp_path / "bench", store_dir)
    case = bench.cases[0]
    frames = list(bench.frames(case))
    source = list(FrameStore(store_dir).read("long", 0, 210))
    expected = source[0:10] + source[200:205] + source[10:25]
    assert len(frames) == 30 and all(np.array_equal(a, b) for a, b in zip(frames, expected))
    picked = bench.frames_at(case, [29, 0, 10, 14, 10])
    assert picked.shape == (5, 32, 32, 3)
    assert all(np.array_equal(picked[i], expected[j]) for i, j in enumerate([29, 0, 10, 14, 10]))
    assert bench.frames_at(case, []).shape == (0, 32, 32, 3)
    assert bench.frames_at(case, [], size=(16, 8)).shape == (0, 8, 16, 3)
    assert bench.frames_at(case, [3], size=(16, 8)).shape == (1, 8, 16, 3)
    assert [(r.video_id, r.frame) for r in bench.frame_refs(case)][9:12] == [("long", 9), ("long", 200), ("long", 201)]


def test_export_writes_exactly_the_cases_frames(store_dir, tmp_path):
    import av
    bench = open_bench(tmp_path / "bench", store_dir)
    case = bench.cases[0]
    out = tmp_path / "out" / "case.mp4"
    bench.export(case, out)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 1 and (stream.width, stream.height) == (32, 32)
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == 30
    assert all(np.array_equal(a, b) for a, b in zip(decoded, bench.frames(case)))  # stream copy: same pixels
    assert [p.name for p in out.parent.iterdir()] == ["case.mp4"]  # no temporary left


def test_an_export_that_fails_leaves_nothing_under_the_asked_name(store_dir, tmp_path):
    from niah.schema import Case, Needle, Segment
    bench = open_bench(tmp_path / "bench", store_dir)
    bad = Case("x", 10, 1.0, 0.0, Needle("long", "q", 0, 10), [Segment("long", 295, 10, "needle")], "Q?",
               ["A. a", "B. b"], "A", "T")
    with pytest.raises(IndexError):
        bench.export(bad, tmp_path / "out" / "bad.mp4")
    assert list((tmp_path / "out").iterdir()) == []


def test_export_at_the_cases_fps_into_new_folders_every_frame_a_keyframe_from_pts_0(store_dir, tmp_path):
    import dataclasses

    import av
    bench = open_bench(tmp_path / "bench", store_dir)
    case = dataclasses.replace(bench.cases[0], fps=2.0)
    out = tmp_path / "a" / "b" / "case.mp4"
    bench.export(case, out)
    bench.export(case, out.with_name("again.mp4"))  # into a folder that exists now
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 2 and stream.codec_context.extradata  # parameter sets in the header
        packets = [p for p in container.demux(stream) if p.size]
        assert len(packets) == 30 and all(p.is_keyframe for p in packets)
        assert [p.pts for p in packets][:3] == [0, packets[1].duration, 2 * packets[1].duration]
        assert float(packets[-1].pts * packets[-1].time_base) == 14.5
    assert sorted(p.name for p in out.parent.iterdir()) == ["again.mp4", "case.mp4"]


def test_frames_at_a_size_and_empty_picks_are_uint8(store_dir, tmp_path):
    bench = open_bench(tmp_path / "bench", store_dir)
    case = bench.cases[0]
    small = list(bench.frames(case, size=(16, 8)))
    assert len(small) == 30 and small[0].shape == (8, 16, 3)
    assert bench.frames_at(case, []).dtype == np.uint8


def test_a_dataset_without_frame_store_uses_frames_and_unknown_cases_name_the_manifest(store_dir, tmp_path):
    import json

    from niah.cases import Benchmark
    bench = open_bench(tmp_path / "bench", store_dir)
    shutil.copytree(store_dir, tmp_path / "bench" / "frames")
    (tmp_path / "bench" / "dataset.json").write_text(json.dumps({"seed": 0}))
    reopened = Benchmark.open(tmp_path / "bench")
    assert reopened.store.root == tmp_path / "bench" / "frames" and len(reopened.cases) == len(bench.cases)
    with pytest.raises(InputError) as info:
        reopened.case("nope")
    assert info.value.where == str(tmp_path / "bench" / "manifest.jsonl")


# ----- ingest at its edges ------------------------------------------------------------------
def mux(path: Path, video_seconds: int, audio_seconds: int | None = None) -> Path:
    """A 1-FPS test pattern; with an audio track of ``audio_seconds`` the container promises that long."""
    args = ["-f", "lavfi", "-i", f"testsrc2=s=32x32:r=1:d={video_seconds}"]
    if audio_seconds:
        args += ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(audio_seconds), "-c:a", "aac"]
    run_ffmpeg([*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)])
    return path


def test_the_truncation_threshold_at_its_boundary(tmp_path):
    # the container promises 100 s: 89 frames is just enough at 1 FPS (90 % less one), 88 is not
    store = FrameStore(tmp_path / "s", SETTINGS)
    assert store.ingest("ok", mux(tmp_path / "ok.mp4", 89, 100))["frames"] == 89
    with pytest.raises(SourceError, match=r"^decoded 88 frames but the container says 100 s \(truncated\?\)$"):
        store.ingest("short", mux(tmp_path / "short.mp4", 88, 100))
    two = FrameStore(tmp_path / "s2", StoreSettings(width=32, height=32, fps=2.0))  # the promise scales with fps
    with pytest.raises(SourceError, match="truncated"):
        two.ingest("ok", tmp_path / "ok.mp4")
    assert store.ingest("one", mux(tmp_path / "one.mp4", 1))["frames"] == 1  # one frame is a video


def test_an_ingested_index_records_what_a_reader_needs(tmp_path):
    import json

    from niah.framestore import source_fingerprint
    store = FrameStore(tmp_path / "s", SETTINGS)
    source = mux(tmp_path / "v.mp4", 5)
    index = store.ingest("v", source)
    assert store.num_frames("v") == 5 and store.aspect("v") == 1.0  # from the cache, then from disk:
    on_disk = json.loads((tmp_path / "s" / "v.json").read_text())
    assert on_disk == index and set(on_disk) == {"video_id", "frames", "offsets", "aspect", "source", "settings"}
    assert on_disk["video_id"] == "v" and on_disk["settings"] == store.fingerprint == SETTINGS.fingerprint()
    assert on_disk["source"] == source_fingerprint(source) and len(on_disk["offsets"]) == 6
    assert FrameStore(tmp_path / "s").num_frames("v") == 5


def test_ingest_reads_a_zip_member_in_place(tmp_path):
    import zipfile

    from niah.zipmember import video_members
    source = mux(tmp_path / "v.mp4", 4)
    with zipfile.ZipFile(tmp_path / "a.zip", "w", zipfile.ZIP_STORED) as archive:
        archive.write(source, "data/v.mp4")
    member = video_members(tmp_path / "a.zip", (".mp4",))[0]
    store = FrameStore(tmp_path / "s", SETTINGS)
    assert store.ingest("z", member)["frames"] == 4
    FrameStore(tmp_path / "f", SETTINGS).ingest("f", source)
    assert (tmp_path / "s" / "z.h264").read_bytes() == (tmp_path / "f" / "f.h264").read_bytes()


def test_sources_ffmpeg_cannot_use_are_named(tmp_path):
    store = FrameStore(tmp_path / "s", SETTINGS)
    audio = tmp_path / "a.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "2", "-c:a", "aac", str(audio)])
    with pytest.raises(SourceError, match="^no video stream$"):
        store.ingest("a", audio)
    junk = tmp_path / "j.mp4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError) as info:
        store.ingest("j", junk)
    assert str(info.value) and str(info.value) != "ffmpeg failed" and "\n" not in str(info.value)
    assert not store.has("a") and not store.has("j") and not list((tmp_path / "s").glob("*.tmp"))


def test_container_duration_reads_hours_minutes_seconds():
    from niah.framestore import _container_duration
    assert _container_duration(b"  Duration: 01:02:03.50, start: 0") == 3723.5
    assert _container_duration(b"no duration") is None


def test_parameter_sets_are_one_sps_and_one_pps(store_dir):
    sets = FrameStore(store_dir).parameter_sets("long")
    nals = sets.split(b"\x00\x00\x00\x01")
    assert nals[0] == b"" and [n[0] & 0x1F for n in nals[1:]] == [7, 8]


def test_messages_name_the_file_and_the_range(store_dir, tmp_path):
    store = FrameStore(store_dir)
    with pytest.raises(IndexError) as info:
        store.read("long", FRAMES - 1, 2)
    assert str(info.value) == f"frames {FRAMES - 1}..{FRAMES} outside video long (0..{FRAMES - 1})"
    with pytest.raises(IndexError) as info:
        list(store.read_indices("long", [FRAMES]))
    assert str(info.value) == f"frame {FRAMES} outside video long (0..{FRAMES - 1})"
    with pytest.raises(InputError) as info:
        store.index("gone")
    assert info.value.where == str(store_dir / "gone.json")
    with pytest.raises(InputError) as info:
        FrameStore(store_dir, StoreSettings(width=64))
    assert info.value.where == str(store_dir / "store.json")
    with pytest.raises(InputError) as info:
        FrameStore(tmp_path / "none")
    assert (info.value.where, info.value.what) == (
        str(tmp_path / "none"), "no frame store here (missing store.json); run `python -m generator build`")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "store.json").write_text('{"width": 1}')
    with pytest.raises(InputError) as info:
        FrameStore(tmp_path / "bad")
    assert info.value.where == str(tmp_path / "bad" / "store.json")
    assert info.value.what == ("damaged frame store settings (keys must be exactly "
                               "['crf', 'fps', 'height', 'preset', 'width'])")


def test_damaged_index_and_missing_aspect_messages(tmp_path):
    store = FrameStore(tmp_path / "s", SETTINGS)
    (tmp_path / "s" / "v.h264").write_bytes(b"ab")
    (tmp_path / "s" / "v.json").write_text('{"frames": 3, "offsets": [0, 1, 2]}')
    with pytest.raises(InputError) as info:
        store.num_frames("v")
    assert info.value.what == ("damaged frame store index (offsets do not match the frame count); rerun "
                               "`python -m generator build` to redo this video")
    (tmp_path / "s" / "w.h264").write_bytes(b"ab")
    (tmp_path / "s" / "w.json").write_text('{"frames": 2, "offsets": [0, 1, 2]}')
    with pytest.raises(InputError) as info:
        store.aspect("w")
    assert info.value.where == str(tmp_path / "s" / "w.json")
    assert info.value.what == ("frame store made before source aspect ratios were recorded; rerun `python -m "
                               "generator build` with the same arguments to record them")


def test_every_stale_temporary_is_counted(tmp_path):
    store = FrameStore(tmp_path / "s", SETTINGS)
    for name in ("v.h264.999999998.tmp", "x.999999999.tmp"):
        (tmp_path / "s" / name).write_bytes(b"x")
    assert store.remove_stale_temporaries() == 2 and not list((tmp_path / "s").glob("*.tmp"))


# ----- what ingest tells the user when ffmpeg fails, and how stored frames are made ----------
import errno
import hashlib
import os
import signal
import subprocess
import sys

from niah import framestore


def fake_ffmpeg(monkeypatch, returncode: int, stderr: bytes, write: bytes | None = None, seen: list | None = None):
    """Stand in for the ffmpeg run of ``ingest``: exit with ``returncode`` and ``stderr``;
    ``write`` is what it leaves in the output file (its last argument)."""
    def run(cmd, **kwargs):
        if seen is not None:
            seen.append(kwargs)
        if write is not None:
            Path(cmd[-1]).write_bytes(write)
        return subprocess.CompletedProcess(cmd, returncode, b"", stderr)
    monkeypatch.setattr(framestore.subprocess, "run", run)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-second, 3-frame 32x32 moving test pattern."""
    return mux(tmp_path_factory.mktemp("tiny") / "tiny.mp4", 3)


@pytest.mark.parametrize("stderr,reason", [
    (b"", "ffmpeg failed"),  # nothing said: a generic reason, not a crash
    (b" \n\n\t\n", "ffmpeg failed"),  # only blank lines: the same
    (b"Input #0, from 'x'\nsome detail\n  j.mp4: Invalid data found when processing input  \n\n \n",
     "j.mp4: Invalid data found when processing input"),  # the last non-blank line, stripped
    (b"first\nbad \xff byte here\n", "bad \ufffd byte here"),  # undecodable bytes are replaced, not fatal
])
def test_a_failed_ffmpeg_gives_its_last_non_blank_line_as_the_reason(monkeypatch, tmp_path, stderr, reason):
    fake_ffmpeg(monkeypatch, 1, stderr)
    store = FrameStore(tmp_path / "s", SETTINGS)
    with pytest.raises(SourceError) as info:
        store.ingest("v", tmp_path / "v.mp4")
    assert str(info.value) == reason
    assert not store.has("v")


def test_a_full_disk_is_reported_as_a_full_disk_naming_the_file(monkeypatch, tmp_path):
    """ffmpeg's "No space left on device" is an OSError ENOSPC on the file it wrote, not a bad video."""
    fake_ffmpeg(monkeypatch, 1, b"[out#0/h264 @ 0x1] Error writing trailer: No space left on device\n"
                                b"Conversion failed!\n", write=b"partial")
    store = FrameStore(tmp_path / "s", SETTINGS)
    with pytest.raises(OSError) as info:
        store.ingest("v", tmp_path / "v.mp4")
    exc = info.value
    assert not isinstance(exc, SourceError)
    assert (exc.errno, exc.strerror) == (errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert exc.filename == str(tmp_path / "s" / f"v.h264.{os.getpid()}.tmp")
    assert str(exc) == f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)}: '{exc.filename}'"
    assert not store.has("v") and not list((tmp_path / "s").glob("*.tmp"))  # the partial file is gone


def test_an_ffmpeg_that_succeeds_without_frames_is_a_source_error(monkeypatch, tmp_path):
    fake_ffmpeg(monkeypatch, 0, b"  Stream #0:0: Video: h264, yuv420p, 32x32 [SAR 1:1 DAR 1:1], 1 fps\n", write=b"")
    store = FrameStore(tmp_path / "s", SETTINGS)
    with pytest.raises(SourceError) as info:
        store.ingest("v", tmp_path / "v.mp4")
    assert str(info.value) == "no video frames decoded"
    assert not store.has("v") and not (tmp_path / "s" / "v.h264").exists()
    assert not list((tmp_path / "s").glob("*.tmp"))


def test_a_source_whose_size_ffmpeg_does_not_report_is_refused(monkeypatch, tmp_path, tiny):
    real_run = subprocess.run

    def quiet(cmd, **kwargs):  # the real encode, with ffmpeg's description of the input lost
        return subprocess.CompletedProcess(cmd, real_run(cmd, **kwargs).returncode, b"", b"")
    monkeypatch.setattr(framestore.subprocess, "run", quiet)
    store = FrameStore(tmp_path / "s", SETTINGS)
    with pytest.raises(SourceError) as info:
        store.ingest("v", tiny)
    assert str(info.value) == "ffmpeg did not report the video's size"
    assert not store.has("v")


def test_ffmpeg_children_are_killed_with_the_build(monkeypatch, tmp_path):
    """The encoder is spawned with PR_SET_PDEATHSIG=SIGKILL: a killed build leaves no ffmpeg writing."""
    real_run = subprocess.run
    probe = ("import ctypes; s = ctypes.c_int(); ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(s)); "
             "print(s.value)")  # PR_GET_PDEATHSIG, inherited across exec
    signals = []

    def run(cmd, **kwargs):
        signals.append(int(real_run([sys.executable, "-c", probe], **kwargs).stdout))
        return subprocess.CompletedProcess(cmd, 1, b"", b"stop here\n")
    monkeypatch.setattr(framestore.subprocess, "run", run)
    with pytest.raises(SourceError, match="^stop here$"):
        FrameStore(tmp_path / "s", SETTINGS).ingest("v", tmp_path / "v.mp4")
    assert signals == [signal.SIGKILL]


def test_ingest_recreates_a_store_folder_removed_with_its_parents(tmp_path, tiny):
    store = FrameStore(tmp_path / "a" / "b" / "frames", SETTINGS)
    shutil.rmtree(tmp_path / "a")  # e.g. a scratch area cleaned after the store was opened
    assert store.ingest("v", tiny)["frames"] == 3
    assert store.has("v") and FrameStore(tmp_path / "a" / "b" / "frames", SETTINGS).num_frames("v") == 3


def nal_types(unit: bytes) -> list[int]:
    """The NAL unit types in Annex-B bytes (x264 starts some NALs with 3-byte start codes)."""
    return [nal[0] & 0x1F for nal in unit.split(b"\x00\x00\x01")[1:]]


def test_every_stored_frame_is_an_idr_with_its_parameter_sets_and_decodes_alone(store_dir):
    store = FrameStore(store_dir)
    whole = list(store.read("long", 0, 6))
    for k, unit in enumerate(store.access_units("long", 0, 6)):
        types = nal_types(unit)
        assert types[0] == 9 and {7, 8, 5} <= set(types) and 1 not in types  # AUD, SPS, PPS, IDR; no P slice
        alone = list(store.read_indices("long", [k]))
        assert len(alone) == 1 and np.array_equal(alone[0], whole[k])


def test_parameter_sets_of_a_one_frame_video(tmp_path):
    """A one-frame video has parameter sets too: its first frame's SPS then PPS, as the frame carries them."""
    store = FrameStore(tmp_path / "s", SETTINGS)
    store.ingest("one", mux(tmp_path / "one.mp4", 1))
    sets = store.parameter_sets("one")
    assert sets.startswith(b"\x00\x00\x00\x01") and nal_types(sets) == [7, 8]
    assert sets in store.packets("one", 0, 1)


def test_parameter_sets_are_the_same_for_every_video_of_a_store(store_dir, tmp_path):
    """The muxer's extradata is only SPS and PPS (no SEI or picture data of the first frame,
    which x264 starts with 3-byte start codes), so it is equal for videos of other content."""
    store = FrameStore(tmp_path / "s", SETTINGS)
    make_video(tmp_path / "other.mp4", "mandelbrot=s=32x32:r=1,trim=end_frame=3")
    store.ingest("other", tmp_path / "other.mp4")
    assert store.parameter_sets("other") == FrameStore(store_dir).parameter_sets("long")
    assert nal_types(store.parameter_sets("other")) == [7, 8]


def test_read_at_another_size_scales_bicubically(store_dir):
    """A frame read at a size equals the decoded frame scaled with bicubic swscale (not bilinear)."""
    import av
    from av.video.reformatter import VideoReformatter
    store = FrameStore(store_dir)
    ctx = av.CodecContext.create("h264", "r")
    decoded = [f for p in (av.Packet(store.packets("long", 7, 1)), None) for f in ctx.decode(p)][0]
    for size in ((16, 8), (48, 40)):
        got = next(iter(store.read("long", 7, 1, size=size)))
        scale = {m: VideoReformatter().reformat(decoded, width=size[0], height=size[1], format="rgb24",
                                                interpolation=m).to_ndarray() for m in ("BICUBIC", "BILINEAR")}
        assert not np.array_equal(scale["BICUBIC"], scale["BILINEAR"])  # the two differ here
        assert np.array_equal(got, scale["BICUBIC"])


def test_a_source_fingerprint_hashes_the_first_and_last_mib_as_a_zip_member_does(tmp_path):
    import zipfile

    from niah.framestore import source_fingerprint
    from niah.zipmember import video_members
    mib = 1 << 20
    rng = np.random.default_rng(0)
    for name, size in (("big.mp4", 3 * mib + 5), ("mid.mp4", mib + mib // 2)):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        (tmp_path / name).write_bytes(data)
        head_tail = data[:mib] + data[-mib:] if size > 2 * mib else data[:mib]  # up to 2 MiB: the head only
        expected = {"size": size, "sha256_head_tail": hashlib.sha256(head_tail).hexdigest()}
        assert source_fingerprint(tmp_path / name) == expected
        with zipfile.ZipFile(tmp_path / f"{name}.zip", "w", zipfile.ZIP_STORED) as archive:
            archive.write(tmp_path / name, f"d/{name}")
        assert source_fingerprint(video_members(tmp_path / f"{name}.zip", (".mp4",))[0]) == expected


def test_stale_temporaries_of_dead_processes_go_those_of_live_ones_stay(tmp_path):
    store = FrameStore(tmp_path / "s", SETTINGS)
    dead = subprocess.Popen(["true"])
    dead.wait()
    # the live process reports any signal it gets (it sets its own handlers and unblocks them:
    # a SIGHUP ignored or blocked by whoever started the tests would be so in it too)
    watcher = ("import signal, sys, time\n"
               "def got(n, _):\n    print(n, flush=True)\n"
               "for n in range(1, 16):\n    n != 9 and signal.signal(n, got)\n"
               "signal.pthread_sigmask(signal.SIG_UNBLOCK, range(1, 16))\n"
               "print('ready', flush=True)\ntime.sleep(30)\n")
    live = subprocess.Popen([sys.executable, "-c", watcher], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "ready"
        names = [f"v.h264.{live.pid}.tmp", f"w.h264.{dead.pid}.tmp", "notes.tmp", f"x.h264.X{dead.pid}.tmp"]
        for name in names:
            (tmp_path / "s" / name).write_bytes(b"x")
        assert store.remove_stale_temporaries() == 1
        assert sorted(p.name for p in (tmp_path / "s").glob("*.tmp")) == sorted(
            [f"v.h264.{live.pid}.tmp", "notes.tmp", f"x.h264.X{dead.pid}.tmp"])  # only pid-named ones go
    finally:
        live.kill()
        out, _ = live.communicate()
    assert out == ""  # checking a process does not signal it


def test_a_temporary_removed_by_another_cleaner_meanwhile_is_no_error(monkeypatch, tmp_path):
    store = FrameStore(tmp_path / "s", SETTINGS)
    tmp = tmp_path / "s" / "v.h264.999999998.tmp"
    tmp.write_bytes(b"x")

    def gone_meanwhile(pid: int) -> bool:  # another build cleaning the same store got there first
        tmp.unlink()
        return False
    monkeypatch.setattr(framestore, "_process_alive", gone_meanwhile)
    assert store.remove_stale_temporaries() == 1 and not tmp.exists()
