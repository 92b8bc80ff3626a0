"""What a model looked at, against where the needle is: the one definition of ``needle_in_view``.

A model records in each result's ``view`` the case-frame indices it saw at full resolution
(``{"full_frames": [...]}``: ViLAMP's keyframes, a uniform model's sampled frames, the
oracle's needle frames, ``[]`` for chance). Whether a miss is a failure to *find* the
needle or to *understand* it depends on how many of those frames fall inside the needle's
span ``needle.start_frame .. start_frame + num_frames - 1``. The runner's report and the
leaderboard both count it here, so they always agree.

A case of several needles (``niah.schema.Case.all_needles``) counts the frames inside the
needles its question is about (``asked_needles``: a distractors case's target, every needle of
an ordering or counting case) as "in view", and :func:`needles_seen` says how many of all its
needles had at least one frame seen.
"""
from __future__ import annotations

from typing import Any, Iterable

from niah.schema import Case

#: the ``sampling`` a model declares in its settings when it is shown only the needle's frames
#: (the needle-oracle): the comprehension ceiling the diagnostics set other runs against
NEEDLE_ONLY = "needle-only"


def sees_only_the_needle(info: dict[str, Any]) -> bool:
    """Whether a run (its run.json) declares it saw only the needle, whatever its model is called."""
    settings = info.get("settings")
    return isinstance(settings, dict) and settings.get("sampling") == NEEDLE_ONLY


def count_in_span(full_frames: Iterable[int], start: int, frames: int) -> int:
    """How many distinct indices of ``full_frames`` lie in ``[start, start + frames)``."""
    return sum(1 for i in set(int(f) for f in full_frames) if start <= i < start + frames)


def count_in_spans(full_frames: Iterable[int], spans: Iterable[tuple[int, int]]) -> int:
    """How many distinct indices of ``full_frames`` lie in any ``(start, frames)`` span."""
    seen = set(int(f) for f in full_frames)
    return sum(count_in_span(seen, start, frames) for start, frames in spans)


def spans_seen(full_frames: Iterable[int], spans: Iterable[tuple[int, int]]) -> int:
    """How many of the ``(start, frames)`` spans hold at least one index of ``full_frames``."""
    seen = set(int(f) for f in full_frames)
    return sum(count_in_span(seen, start, frames) > 0 for start, frames in spans)


def _frames(view: dict[str, Any] | None) -> list | None:
    return view["full_frames"] if isinstance(view, dict) and isinstance(view.get("full_frames"), list) else None


def needle_in_view(view: dict[str, Any] | None, case: Case) -> int | None:
    """Full-resolution frames inside the needles the case's question is about, or ``None`` when
    the result did not record what the model saw (results written before schema 2, or a failed case)."""
    frames = _frames(view)
    if frames is None:
        return None
    return count_in_spans(frames, [(n.start_frame, n.num_frames) for n in case.asked_needles])


def needles_seen(view: dict[str, Any] | None, case: Case) -> int | None:
    """How many of the case's needles (all of them, distractors too) had a frame seen at full
    resolution; ``None`` when the result did not record what the model saw."""
    frames = _frames(view)
    if frames is None:
        return None
    return spans_seen(frames, [(n.start_frame, n.num_frames) for n in case.all_needles])
