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
