"""Copies found by their answers, not their text: two runs that pick the same option
letter on (nearly) every case they share are one run, whatever their outputs' whitespace,
their line order or their model's name.

Each (run, case) is reduced to what was answered: the option letter extracted under
:data:`niah.answers.DEFAULT_RULE` (the same for every view of the page, so a copy does not
come and go with the answer-rule control), ``"-"`` for no letter, ``"!"`` for a failed
case. Runs are compared on the cases both answered.

Which of two copies is the original is decided by time: the run whose ``run.json`` says it
was ``created`` first (ties, and runs that do not say, by name), never by folder name, and a
project run always before an upload. A copy of a copy points at the root original. Runs of
one seed group (the same model and settings, another seed) are never copies of each other:
a deterministic model's seeds agree by design.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

#: A run agreeing with an earlier one on at least this share of the common cases is a near
#: copy (shown, not ranked).
NEAR_COPY = 0.98
#: Fewer common cases than this say nothing about copying.
MIN_COMMON = 20


@dataclass(frozen=True)
class Match:
    """The closest earlier run to a run: on ``common`` shared cases, ``agreement`` of them
    with the same answer; ``exact`` when every one is the same."""

    original: str
    agreement: float
    common: int
    via: str = ""  # the copy it matched, when that is itself a copy of ``original``

    @property
    def exact(self) -> bool:
        return self.agreement >= 1.0

    @property
    def near(self) -> bool:
        return self.agreement >= NEAR_COPY and self.common >= MIN_COMMON


def answer_codes(letters: pd.Series, failed: pd.Series) -> pd.Series:
    """What each row answered, as a comparable string (letter, ``-`` none, ``!`` failed)."""
    codes = letters.astype(object).where(letters.notna(), "-")
    return codes.where(~failed.astype(bool), "!")


def _matrix(frame: pd.DataFrame, runs: list[str], cases: pd.Index) -> np.ndarray:
    """``runs x cases`` integer codes (0 = not answered)."""
    codes = pd.Categorical(frame["code"])
    rows = pd.Index(runs).get_indexer(frame["run_id"])  # -1: a run not in ``runs``
    cols = cases.get_indexer(frame["case_id"])
    out = np.zeros((len(runs), len(cases)), dtype="int16")
    keep = (rows >= 0) & (cols >= 0)
    out[rows[keep], cols[keep]] = codes.codes[keep] + 1
    return out


def created_at(info_json: str) -> str | None:
    """A run's ``created`` time (``uploaded_at`` for an upload) from its run.json text, as
    UTC ISO 8601 (comparable as text); ``None`` where it says none or nothing readable."""
    try:
        info = json.loads(info_json or "{}")
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    for key in ("created", "uploaded_at"):
        stamp = pd.to_datetime(info.get(key), utc=True, errors="coerce") if isinstance(info.get(key), str) else None
        if stamp is not None and not pd.isna(stamp):
            return stamp.isoformat()
    return None


def oldest_first(run_ids: Iterable[str], created: dict[str, str | None], uploaded: Iterable[bool]) -> list[str]:
    """The order copies are judged in: project runs before uploads, then by ``created``
    (runs without one last), ties by name."""
    rows = list(zip(run_ids, uploaded))
    return [r for r, _ in sorted(rows, key=lambda x: (bool(x[1]), created.get(x[0]) is None, created.get(x[0]) or "",
                                                      x[0]))]


def closest_earlier(frame: pd.DataFrame, order: list[str], groups: dict[str, str | None] | None = None
                    ) -> dict[str, Match]:
    """For each run of ``order`` (``frame``: ``run_id``, ``case_id``, ``code``), the earlier
    run it agrees with most on their common cases, if it is a near copy of it; a run of the
    same seed group (``groups``: run -> group or None) is never a candidate. Earlier in
    ``order`` is the original (:func:`oldest_first`); a match that is itself a copy hands
    over its own original, so chains point at the root."""
    if len(order) < 2 or frame.empty:
        return {}
    groups = groups or {}
    group_of = np.array([groups.get(r) if isinstance(groups.get(r), str) else f"\0{i}" for i, r in enumerate(order)],
                        dtype=object)
    cases = pd.Index(pd.unique(frame["case_id"]))
    m = _matrix(frame, order, cases)
    answered = m > 0
    out: dict[str, Match] = {}
    for i in range(1, len(order)):
        common = (answered[:i] & answered[i]).sum(axis=1)
        same = ((m[:i] == m[i]) & answered[i]).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(common > 0, same / np.maximum(common, 1), 0.0)
        share[group_of[:i] == group_of[i]] = -1.0  # a seed sibling is no original
        j = int(np.argmax(share))
        match = Match(order[j], float(share[j]), int(common[j]))
        if match.near:
            root = out.get(order[j])
            out[order[i]] = Match(root.original, match.agreement, match.common, order[j]) if root else match
    return out


def copy_of(upload: pd.DataFrame, existing: pd.DataFrame) -> Match | None:
    """The existing run an upload's answers (``case_id``, ``code``) match most, if a near
    copy; ``existing`` as for :func:`closest_earlier`."""
    runs = list(pd.unique(existing["run_id"]))
    both = pd.concat([existing[["run_id", "case_id", "code"]],
                      upload[["case_id", "code"]].assign(run_id="\0upload")], ignore_index=True)
    return closest_earlier(both, [*runs, "\0upload"]).get("\0upload")
