"""The case browser's data: filtered case tables, thumbnail frame indices and a case's
timeline (no Streamlit, so each is unit-tested directly)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from leaderboard.data import Tables
from leaderboard.loading import Manifest

OUTCOMES = ["all", "any wrong", "all wrong", "all right", "models disagree"]
#: Thumbnail strides the page offers, in frames (seconds at 1 FPS).
STRIDES = [1, 2, 5, 10, 15, 30, 60]
#: At most this many thumbnails of the needle, whatever the stride.
MAX_NEEDLE_THUMBS = 24


def hms(seconds: float) -> str:
    """``h:mm:ss``: how a researcher reads a position in a two-hour video."""
    total = int(round(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def needle_spans(needles: tuple, fps: float) -> list[str]:
    """Each needle of a case (the manifest frame's ``needles``) as ``needle 2 0:10:03–0:10:06
    (frames 603–606)``; ``*`` marks the needles the question is about when there are several."""
    out = []
    for i, (_video, start, frames, asked) in enumerate(needles, 1):
        mark = "*" if asked and len(needles) > 1 else ""
        name = f"needle {i}{mark}" if len(needles) > 1 else "needle"
        out.append(f"{name} {hms(start / fps)}–{hms((start + frames) / fps)} (frames {start}–{start + frames - 1})")
    return out


def hmm(seconds: float) -> str:
    """``h:mm`` to the nearest minute (10,000 frames at 1 FPS: ``2:47``)."""
    minutes = int(round(seconds / 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


def case_table(tables: Tables, manifest: Manifest | None, run_ids: list[str], *,
               length: int | None = None, decile: int | None = None, task_type: str | None = None,
               outcome: str = "all", search: str = "") -> pd.DataFrame:
    """Cases matching the filters, one row each, with the gold answer and each run's answer.

    ``outcome``: one of :data:`OUTCOMES`. Without a manifest, cases come from the results
    themselves (no question or gold answer).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome filter {outcome!r}")
    res = tables.results
    res = res[res["run_id"].isin(run_ids)] if run_ids else res.iloc[:0]
    if manifest is not None and manifest.available:
        base = manifest.cases[["case_id", "length", "depth", "depth_decile", "needle_frames", "task_type",
                               "question", "answer"]]
    else:
        base = (res.drop_duplicates("case_id")[["case_id", "length", "depth", "depth_decile", "task_type"]]
                .assign(needle_frames=np.nan, question="", answer=""))
    if length is not None:
        base = base[base["length"] == length]
    if decile is not None:
        base = base[base["depth_decile"] == decile]
    if task_type:
        base = base[base["task_type"] == task_type]
    if search:
        needle = search.lower()
        base = base[base["case_id"].str.lower().str.contains(needle, regex=False)
                    | base["question"].str.lower().str.contains(needle, regex=False)]
    sub = res[res["case_id"].isin(base["case_id"])]
    answers = sub.assign(shown=np.where(sub["error"].notna(), "error",
                                        sub["letter"].fillna("?") + np.where(sub["correct"], " ✓", " ✗")))
    pivot = answers.pivot(index="case_id", columns="run_id", values="shown") if len(answers) else None
    correct = sub.pivot(index="case_id", columns="run_id", values="correct") if len(sub) else None
    out = base.reset_index(drop=True)
    for run_id in run_ids:
        col = tables.label(run_id)
        out[col] = out["case_id"].map(pivot[run_id]).fillna("") if pivot is not None and run_id in pivot else ""
    if outcome != "all":
        if correct is None:
            return out.iloc[:0]
        c = correct.reindex(columns=run_ids).reindex(out["case_id"])
        scored = c.notna().sum(axis=1).to_numpy()
        right = (c == True).sum(axis=1).to_numpy()  # noqa: E712  (NaN-safe)
        keep = {"any wrong": right < scored, "all wrong": (right == 0) & (scored > 0),
                "all right": (right == scored) & (scored > 0),
                "models disagree": (right > 0) & (right < scored)}[outcome]
        out = out[keep]
    return out.reset_index(drop=True)


def thumbnail_indices(length: int, needle_start: int, needle_frames: int, stride: int = 10, *,
                      context: int = 3) -> tuple[list[int], list[int], list[int]]:
    """Frame indices for the case browser: ``(before, needle, after)``.

    ``needle``: every ``stride``-th frame of the needle from its first, plus its last
    (at most :data:`MAX_NEEDLE_THUMBS`, the stride is widened to fit); ``before`` /
    ``after``: ``context`` haystack frames at the same stride on each side of it, so the
    thumbnails show the cut into and out of the needle at one time scale.
    """
    stride = max(1, int(stride), -(-needle_frames // MAX_NEEDLE_THUMBS))
    end = needle_start + needle_frames  # first frame after the needle
    needle = sorted(set(range(needle_start, end, stride)) | ({end - 1} if needle_frames else set()))
    before = sorted({max(0, needle_start - k * stride) for k in range(1, context + 1)}) if needle_start > 0 else []
    after = sorted({min(length - 1, end + k * stride) for k in range(context)}) if end < length else []
    return before, needle, after


def timeline(segments: tuple, fps: float) -> pd.DataFrame:
    """The case's segments in play order: ``start``/``end`` (seconds), source video, role,
    and both ends as ``h:mm:ss``; from the manifest's ``(video_id, num_frames, role)``."""
    rows, start = [], 0
    for video_id, num_frames, role in segments:
        end = start + num_frames
        rows.append({"start": start / fps, "end": end / fps, "video": video_id, "role": role,
                     "from": hms(start / fps), "to": hms(end / fps), "frames": num_frames})
        start = end
    return pd.DataFrame(rows, columns=["start", "end", "video", "role", "from", "to", "frames"])
