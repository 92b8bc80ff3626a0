"""The demo source's questions are answerable from the needle's pixels, and only from them."""
from __future__ import annotations

import random
from pathlib import Path

import av
import numpy as np
import pytest

from generator import demo_source as demo
from niah.ffmpeg import run_ffmpeg

SEGMENT_CENTRES = {  # centre of each seven-segment box, in the 320x180 frame (x0=130, y0=25, w=60, h=110)
    "a": (160, 31), "d": (160, 129), "g": (160, 80), "f": (136, 52), "b": (184, 52), "e": (136, 107), "c": (184, 107),
}


def answer_text(row: dict) -> str:
    return row["options"]["ABCD".index(row["answer"])].split(". ", 1)[1]


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)


@pytest.mark.parametrize("needle", [1, 5, 9])
def test_needle_answers_are_in_the_pixels(needle: int, tmp_path: Path) -> None:
    rows, graphs = demo._rows(random.Random(0))
    vid = demo.youtube_like_id(needle)
    path = tmp_path / f"{vid}.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", graphs[vid].replace(f":d={demo.NEEDLE_SECONDS[needle - 1]}", ":d=1"),
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)])
    frame = first_frame(path)
    answers = {r["task_type"]: answer_text(r) for r in rows if r["videoID"] == vid}

    colours = {name: np.array([int(h[2:4], 16), int(h[4:6], 16), int(h[6:8], 16)]) for name, h in demo.COLOURS.items()}
    background = frame[5, 5]
    assert min(colours, key=lambda n: np.abs(colours[n] - background).sum()) == answers["Attribute Perception"]

    lit = "".join(s for s, (x, y) in SEGMENT_CENTRES.items() if frame[y, x].sum() < 120)
    digit = next(d for d, segs in demo.SEGMENTS.items() if set(segs) == set(lit))
    assert str(digit) == answers["OCR Problems"]

    band = frame[159, :, :].sum(axis=1) > 600  # a row through the white squares
    runs = np.count_nonzero(band[1:] & ~band[:-1]) + int(band[0])
    assert str(runs) == answers["Counting Problem"]


def test_haystacks_hold_no_needle_content() -> None:
    _, graphs = demo._rows(random.Random(0))
    haystacks = [g for g in graphs.values() if g.startswith("life")]
    assert len(haystacks) == len(demo.HAYSTACK_COLOURS)
    assert all("drawbox" not in g for g in haystacks)
