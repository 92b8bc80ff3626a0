"""The frame store records each source's display aspect ratio (ViLAMP's CLIP input restores it
from the squashed square frames); a store from before that is a one-line error until rebuilt."""
import json
import shutil
from pathlib import Path

import pytest

from niah.errors import InputError
from niah.framestore import FrameStore, display_aspect
from niah_testlib import SMALL_BUILD, run_cli


def test_aspect_recorded_for_every_source(small_bench: Path) -> None:
    store = FrameStore(small_bench / "frames")
    aspects = {store.aspect(v) for v in store.video_ids()}
    assert aspects == {round(64 / 36, 6)}  # every fixture video is 64x36, stored 32x32


def test_display_aspect_reads_sample_aspect_and_rotation() -> None:
    line = b"  Stream #0:0(und): Video: h264 (High), yuv420p(progressive), 720x480 [SAR 32:27 DAR 16:9], 30 fps\n"
    assert display_aspect(line) == round(16 / 9, 6)
    rotated = b"  Stream #0:0: Video: h264, yuv420p, 1920x1080, 30 fps\n    displaymatrix: rotation of -90.00 degrees\n"
    assert display_aspect(rotated) == round(1080 / 1920, 6)
    assert display_aspect(b"no stream here") is None


def test_old_store_without_aspect_is_one_line_then_a_rebuild_records_it(release: Path, small_bench: Path,
                                                                        tmp_path: Path) -> None:
    out = Path(shutil.copytree(small_bench, tmp_path / "niah"))
    manifest = (out / "manifest.jsonl").read_bytes()
    video = FrameStore(out / "frames").video_ids()[0]
    index_path = out / "frames" / f"{video}.json"
    index = json.loads(index_path.read_text())
    del index["aspect"]
    index_path.write_text(json.dumps(index))
    with pytest.raises(InputError) as err:
        FrameStore(out / "frames").aspect(video)
    assert err.value.where == str(index_path) and "rerun `python -m generator build`" in err.value.what
    proc = run_cli("generator", "build", "--source", str(release), "--out", str(out), *SMALL_BUILD)
    assert proc.returncode == 0, proc.stderr
    assert FrameStore(out / "frames").aspect(video) == round(64 / 36, 6)
    assert (out / "manifest.jsonl").read_bytes() == manifest
