"""``generator figure``: one case of each task family as a PNG, the frames around each needle.

What docs/tasks.md shows: per family (a row), the case's question and gold answer, and for each
needle the frame before it, its first frame and the frame after it, read from the frame store
as a model would read them. The case shown is the family's first case with the most needles
among its first 50 (a counting case with several markers, a distractors case with several clips).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from niah.cases import Benchmark
from niah.schema import FAMILIES, Case

THUMB = 96
GAP = 8
TEXT = 14  # pixels per line of the default bitmap font, with spacing


def pick_cases(bench: Benchmark) -> list[Case]:
    """One case per family present, in :data:`FAMILIES` order (see the module docstring)."""
    picked = []
    for family in FAMILIES:
        mine = [c for c in bench.cases if c.family == family][:50]
        if mine:
            picked.append(max(mine, key=lambda c: (len(c.all_needles), -bench.cases.index(c))))
    return picked


def _around(case: Case) -> list[tuple[str, list[int]]]:
    """(label, case-frame indices) of each needle: the frame before, its first, the frame after."""
    groups = []
    for i, n in enumerate(case.all_needles, 1):
        asked = "*" if n in case.asked_needles and len(case.all_needles) > 1 else ""
        frames = [f for f in (n.start_frame - 1, n.start_frame, n.start_frame + n.num_frames) if 0 <= f < case.length]
        groups.append((f"needle {i}{asked}: {n.start_frame}-{n.start_frame + n.num_frames - 1}", frames))
    return groups


def render_figure(bench: Benchmark, out: str | Path) -> list[str]:
    """Write the PNG to ``out``; returns the ids of the cases shown."""
    font = ImageFont.load_default()
    rows = []
    for case in pick_cases(bench):
        groups = _around(case)
        gold = case.options["ABCD".index(case.answer)] if case.answer in "ABCD" else case.answer
        head = [f"{case.family}  ({case.case_id}, {case.length} frames)", f"Q: {case.question}  gold: {gold}"]
        width = sum(len(f) * THUMB + GAP for _, f in groups)
        row = Image.new("RGB", (max(width, 640), 2 * TEXT + THUMB + TEXT + GAP), "white")
        draw = ImageDraw.Draw(row)
        for k, line in enumerate(head):
            draw.text((2, k * TEXT), line, fill="black", font=font)
        x = 0
        for label, frames in groups:
            pixels = bench.frames_at(case, frames, size=(THUMB, THUMB))
            for j, frame in enumerate(pixels):
                row.paste(Image.fromarray(np.asarray(frame)), (x + j * THUMB, 2 * TEXT))
            draw.text((x + 2, 2 * TEXT + THUMB + 1), label, fill="black", font=font)
            x += len(frames) * THUMB + GAP
        rows.append((case.case_id, row))
    figure = Image.new("RGB", (max(r.width for _, r in rows), sum(r.height + GAP for _, r in rows)), "white")
    y = 0
    for _, row in rows:
        figure.paste(row, (0, y))
        y += row.height + GAP
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.quantize(colors=64).save(out, optimize=True)  # flat colours: a small PNG for the docs
    return [case_id for case_id, _ in rows]
