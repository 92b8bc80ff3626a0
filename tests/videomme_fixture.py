"""Make a tiny release laid out exactly like Video-MME, for tests.

``videomme/test-00000-of-00001.parquet`` with the release's columns, and videos as
``data/<videoID>.mp4`` made with the ffmpeg that imageio-ffmpeg ships. Haystacks are
"long" testsrc2 videos, needles "short" solid-colour clips at 5 FPS (so ingestion really
resamples them to 1 FPS). :func:`zip_release` lays the same release out as downloaded, with
the videos in unextracted ``videos_chunked_NN.zip`` archives.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from niah.ffmpeg import run_ffmpeg
from niah.videomme import COLUMNS

NEEDLE_COLOURS = ["red", "green", "blue", "yellow", "magenta", "cyan"]
TASKS = ["Counting Problem", "OCR Problems", "Attribute Perception"]


def make_video(path: Path, graph: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(["-f", "lavfi", "-i", graph, "-c:v", "libx264", "-preset", "ultrafast", "-threads", "1",
                "-pix_fmt", "yuv420p", str(path)])


def row(n: int, vid: str, duration: str, q: int, task: str) -> dict:
    return {"video_id": f"{n:03d}", "duration": duration, "domain": "Test", "sub_category": "Fixture",
            "url": f"https://www.youtube.com/watch?v={vid}", "videoID": vid, "question_id": f"{n:03d}-{q}",
            "task_type": task, "question": f"Question {q} about video {n}?",
            "options": ["A. one", "B. two", "C. three", "D. four"], "answer": "ABCD"[(n + q) % 4]}


def write_parquet(root: Path, rows: list[dict]) -> Path:
    path = root / "videomme" / "test-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(c, pa.list_(pa.string()) if c == "options" else pa.string()) for c in COLUMNS])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def make_release(root: Path, haystack_seconds=(150, 150, 150), needle_seconds=(30, 35, 40, 45)) -> Path:
    """A release with ``len(haystack_seconds)`` long videos and one short needle per entry
    of ``needle_seconds`` (three questions each, one per task type)."""
    rows = []
    for k, seconds in enumerate(haystack_seconds):
        vid = f"hay{k:08d}"
        make_video(root / "data" / f"{vid}.mp4", f"testsrc2=s=64x36:r=2:d={seconds}")
        rows.append(row(100 + k, vid, "long", 1, "Information Synopsis"))
    for k, seconds in enumerate(needle_seconds):
        vid = f"ndl{k:08d}"
        colour = NEEDLE_COLOURS[k % len(NEEDLE_COLOURS)]
        make_video(root / "data" / f"{vid}.mp4",
                   f"color=c={colour}:s=64x36:r=5:d={seconds},drawbox=x={4 + 8 * k}:y=8:w=8:h=8:color=white:t=fill")
        rows += [row(k + 1, vid, "short", q, task) for q, task in enumerate(TASKS, 1)]
    write_parquet(root, rows)
    return root


def zip_release(release: Path, dest: Path, chunks: int = 2, compression: int = zipfile.ZIP_STORED) -> Path:
    """``release`` as the hub serves it: the parquet, ``subtitle.zip``, and the videos in
    ``videos_chunked_01.zip`` ... (members ``data/<videoID>.mp4``), none extracted. The
    release's zips store their videos; ``compression=zipfile.ZIP_DEFLATED`` makes the other kind."""
    shutil.copytree(release / "videomme", dest / "videomme")
    videos = sorted((release / "data").iterdir())
    for k in range(chunks):
        with zipfile.ZipFile(dest / f"videos_chunked_{k + 1:02d}.zip", "w", compression) as archive:
            for video in videos[k::chunks]:
                archive.write(video, f"data/{video.name}")
    with zipfile.ZipFile(dest / "subtitle.zip", "w") as archive:
        archive.writestr(f"subtitle/{videos[0].stem}.srt", "1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    return dest
