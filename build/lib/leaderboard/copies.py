"""Copies found by their answers, not their text: two runs that pick the same option
letter on (nearly) every case they share are one run, whatever their outputs' whitespace,
their line order or their model's name.

Each (run, case) is reduced to what was answered: the option letter extracted under
:data:`niah.answers.DEFAULT_RULE` (the same for every view of the page, so a copy does not
come and go with the answer-rule control), ``"-"`` for no letter, ``"!"`` for a failed
case. Runs are compared on the cases both answered.
"""
from __future__ import annotations

from dataclasses import dataclass

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


def closest_earlier(frame: pd.DataFrame, order: list[str]) -> dict[str, Match]:
    """For each run of ``order`` (``frame``: ``run_id``, ``case_id``, ``code``), the earlier
    run it agrees with most on their common cases, if it is a near copy of it. Earlier in
    ``order`` is the original (the project's runs come before uploads)."""
    if len(order) < 2 or frame.empty:
        return {}
    cases = pd.Index(pd.unique(frame["case_id"]))
    m = _matrix(frame, order, cases)
    answered = m > 0
    out: dict[str, Match] = {}
    for i in range(1, len(order)):
        common = (answered[:i] & answered[i]).sum(axis=1)
        same = ((m[:i] == m[i]) & answered[i]).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(common > 0, same / np.maximum(common, 1), 0.0)
        j = int(np.argmax(share))
        match = Match(order[j], float(share[j]), int(common[j]))
        if match.near:
            out[order[i]] = match
    return out


def copy_of(upload: pd.DataFrame, existing: pd.DataFrame) -> Match | None:
    """The existing run an upload's answers (``case_id``, ``code``) match most, if a near
    copy; ``existing`` as for :func:`closest_earlier`."""
    runs = list(pd.unique(existing["run_id"]))
    both = pd.concat([existing[["run_id", "case_id", "code"]],
                      upload[["case_id", "code"]].assign(run_id="\0upload")], ignore_index=True)
    return closest_earlier(both, [*runs, "\0upload"]).get("\0upload")
