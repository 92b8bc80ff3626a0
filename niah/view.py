"""What a model looked at, against where the needle is: the one definition of ``needle_in_view``.

A model records in each result's ``view`` the case-frame indices it saw at full resolution
(``{"full_frames": [...]}``: ViLAMP's keyframes, a uniform model's sampled frames, the
oracle's needle frames, ``[]`` for chance). Whether a miss is a failure to *find* the
needle or to *understand* it depends on how many of those frames fall inside the needle's
span ``needle.start_frame .. start_frame + num_frames - 1``. The runner's report and the
leaderboard both count it here, so they always agree.
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


def needle_in_view(view: dict[str, Any] | None, case: Case) -> int | None:
    """Full-resolution frames inside the case's needle, or ``None`` when the result did not
    record what the model saw (results written before schema 2, or a failed case)."""
    if not isinstance(view, dict) or not isinstance(view.get("full_frames"), list):
        return None
    return count_in_span(view["full_frames"], case.needle.start_frame, case.needle.num_frames)
