"""``--source`` as Video-MME is downloaded: the parquet beside unextracted ``videos_chunked_NN.zip``
archives (read in place), the ``.MP4`` / ``.mkv`` spellings, and an older card's parquet."""
from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from niah.errors import InputError
from niah.videomme import read_source
from niah.zipmember import ZipMember
from niah_testlib import SMALL_BUILD, one_line_error, run_cli
from videomme_fixture import write_parquet, zip_release


def frame_store(out: Path) -> dict[str, bytes]:
    """Every stream and index of a build's frame store, by file name."""
    return {p.name: p.read_bytes() for p in sorted((out / "frames").iterdir())}


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_unextracted_zips_build_the_same_benchmark(release: Path, small_bench: Path, tmp_path: Path,
                                                   compression: int) -> None:
    zipped = zip_release(release, tmp_path / "download", compression=compression)
    source = read_source(zipped)
    assert all(isinstance(where, ZipMember) for where in source.video_paths.values())
    member = source.video_paths["ndl00000000"]
    assert pickle.loads(pickle.dumps(member)) == member  # goes to Ray workers as it is
    assert len(source.video_paths) == 7 and "subtitle" not in json.dumps([str(w) for w in source.video_paths.values()])
    out = tmp_path / "out"
    proc = run_cli("generator", "build", "--source", str(zipped), "--out", str(out), *SMALL_BUILD)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    assert (out / "manifest.jsonl").read_bytes() == (small_bench / "manifest.jsonl").read_bytes()
    assert frame_store(out) == frame_store(small_bench)  # same frames, same source fingerprints
    assert sorted(p.name for p in zipped.rglob("*")) == sorted(
        ["videomme", "test-00000-of-00001.parquet", "videos_chunked_01.zip", "videos_chunked_02.zip", "subtitle.zip"])
    assert not list(out.rglob("*.mp4*"))  # nothing extracted, no temporary copy left
    again = run_cli("generator", "build", "--source", str(zipped), "--out", str(out), *SMALL_BUILD)
    assert "build already complete" in again.stdout  # the members' fingerprints match the store


def test_extracted_files_win_over_zip_members_and_other_spellings(release: Path, tmp_path: Path) -> None:
    """lmms-eval's fallbacks: ``.MP4`` then ``.mkv``; an extracted file before a zip member."""
    root = zip_release(release, tmp_path / "download")
    (root / "data").mkdir()
    shutil.copy(release / "data" / "ndl00000000.mp4", root / "data" / "ndl00000000.MP4")
    nested = root / "videos_chunked_02" / "data"
    nested.mkdir(parents=True)
    shutil.copy(release / "data" / "ndl00000001.mp4", nested / "ndl00000001.mkv")
    paths = read_source(root).video_paths
    assert paths["ndl00000000"] == root / "data" / "ndl00000000.MP4"
    assert paths["ndl00000001"] == nested / "ndl00000001.mkv"
    assert isinstance(paths["hay00000000"], ZipMember)


def test_mkv_and_upper_case_mp4_are_ingested(release: Path, tmp_path: Path) -> None:
    root = tmp_path / "release"
    shutil.copytree(release, root)
    (root / "data" / "ndl00000000.mp4").rename(root / "data" / "ndl00000000.MP4")
    (root / "data" / "ndl00000001.mp4").rename(root / "data" / "ndl00000001.mkv")  # MP4 bytes, .mkv name
    out = tmp_path / "out"
    proc = run_cli("generator", "build", "--source", str(root), "--out", str(out), *SMALL_BUILD)
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    videos = json.loads((out / "dataset.json").read_text())["sources"]["videos"]
    assert videos["ndl00000000"]["frames"] == 30 and videos["ndl00000001"]["frames"] == 35


def test_older_card_layout_is_one_line(release: Path, tmp_path: Path) -> None:
    root = tmp_path / "old"
    rows = pq.read_table(release / "videomme" / "test-00000-of-00001.parquet").to_pylist()
    write_parquet(root, rows)
    table = pq.read_table(root / "videomme" / "test-00000-of-00001.parquet")
    pq.write_table(table.append_column("language", [["English"] * table.num_rows])
                        .append_column("Subtitle", [[""] * table.num_rows]),
                   root / "videomme" / "test-00000-of-00001.parquet")
    line = one_line_error(run_cli("generator", "build", "--source", str(root), "--out", str(tmp_path / "o")))
    assert "older revision of the Video-MME card" in line and "language, Subtitle" in line
    assert "test-00000-of-00001.parquet" in line


def test_options_must_be_prefixed_as_published(release: Path, tmp_path: Path) -> None:
    rows = pq.read_table(release / "videomme" / "test-00000-of-00001.parquet").to_pylist()
    rows[2]["options"] = ["one", "two", "three", "four"]
    write_parquet(tmp_path / "bare", rows)
    with pytest.raises(InputError, match=r"row 3: options must be prefixed"):
        read_source(tmp_path / "bare")


def test_a_damaged_zip_is_one_line(release: Path, tmp_path: Path) -> None:
    root = zip_release(release, tmp_path / "download")
    (root / "videos_chunked_02.zip").write_bytes(b"PK\x03\x04 not really")
    line = one_line_error(run_cli("generator", "build", "--source", str(root), "--out", str(tmp_path / "o")))
    assert "videos_chunked_02.zip" in line and "not a readable zip archive" in line
