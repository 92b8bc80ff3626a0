"""Who is ranked, in which order, and whether the order is more than noise.

A rank is given to an *entry*: a run, or the runs that differ only by seed (a seed group),
whose accuracy is the mean over its complete members only (a partial seed is listed apart,
never averaged in). Only complete runs of the opened benchmark that are not near copies of
an earlier run are members. The project's runs and the uploaded runs are ranked in their
own sections, so an upload can never push a project run down.

Each ranked entry is compared, on the cases both answered, with the entry ranked just
above it and with #1, by an exact paired test (:func:`niah.accuracy.paired_sign_test`:
McNemar's exact test for single runs), Holm-corrected over every distinct comparison in the
table (#2's "above" and "first" are one). An
entry whose corrected p against #1 is not below 5 % is *tied with #1*.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from leaderboard.columns import C, RANK_COLUMNS
from niah import accuracy

ALPHA = 0.05
SECTIONS = ("project", "uploaded")
#: Columns this module adds to the per-run board (declared in :mod:`leaderboard.columns`).
__all__ = ["ALPHA", "RANK_COLUMNS", "SECTIONS", "entry_key", "rank"]


def entry_key(board: pd.DataFrame) -> pd.Series:
    """The entry each run belongs to: its section and its seed group (or itself)."""
    own = board[C.seed_group.name].where(board[C.seed_group.name].notna(), "run:" + board[C.run.name].astype(str))
    return board[C.section.name] + "|" + own.astype(str)


def _entry_vectors(members: dict[str, list[str]], case_correct: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per entry, per case: the mean correctness over its members (NaN where none answered)."""
    out = {}
    for entry, runs in members.items():
        block = case_correct.reindex(runs).to_numpy(dtype="float64")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a case no member answered: NaN
            out[entry] = np.nanmean(block, axis=0)
    return out


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int]:
    """``(difference in points, p, common cases)`` of two entries on the cases both answered."""
    both = ~np.isnan(a) & ~np.isnan(b)
    if not both.any():
        return np.nan, np.nan, 0
    diff = a[both] - b[both]
    _, _, p = accuracy.paired_sign_test(diff)
    return 100.0 * float(diff.mean()), p, int(both.sum())


def rank(board: pd.DataFrame, case_correct: pd.DataFrame) -> pd.DataFrame:
    """``board`` (one row per run: ``run``, ``accuracy`` in %, ``rankable``, ``section``,
    ``seed_group``) with :data:`RANK_COLUMNS` added, sorted: each section's ranked entries
    by rank, then its unranked runs by accuracy. ``case_correct``: runs x cases, 1.0/0.0,
    NaN where a run has no answer."""
    board = board.copy()
    board[C.entry.name] = entry_key(board)
    rankable, entry_of = board[C.rankable.name], board[C.entry.name]
    ranked = board[rankable]
    members = ranked.groupby(C.entry.name, sort=False)[C.run.name].apply(list).to_dict()
    entry_acc = ranked.groupby(C.entry.name, sort=False)[C.accuracy.name].mean()
    board[C.entry_accuracy.name] = entry_of.map(entry_acc).where(rankable)
    board[C.entry_members.name] = entry_of.map({e: len(r) for e, r in members.items()}).where(rankable)
    vectors = _entry_vectors(members, case_correct)
    stats: dict[str, dict[str, float]] = {}
    tests: list[tuple[str, tuple[str, ...], float]] = []  # each distinct comparison once
    ranks: dict[str, int] = {}
    for section in SECTIONS:
        entries = entry_acc[[e.startswith(section + "|") for e in entry_acc.index]]
        order = entries.fillna(-1).sort_values(ascending=False, kind="stable")
        section_ranks = order.rank(method="min", ascending=False).astype(int)
        ranks.update(section_ranks.to_dict())
        first = order.index[0] if len(order) else None
        for position, entry in enumerate(order.index):
            row = stats.setdefault(entry, {})
            if position > 0:
                above = order.index[position - 1]
                above_stats = _paired(vectors[entry], vectors[above])
                first_stats = _paired(vectors[entry], vectors[first])
                row.update(zip((C.d_above.name, C.p_above.name, C.n_above.name), above_stats))
                row.update(zip((C.d_first.name, C.p_first.name, C.n_first.name), first_stats))
                if above == first:  # #2: the same comparison, one test in the Holm family
                    tests.append((entry, (C.p_above_holm.name, C.p_first_holm.name), above_stats[1]))
                else:
                    tests += [(entry, (C.p_above_holm.name,), above_stats[1]),
                              (entry, (C.p_first_holm.name,), first_stats[1])]
    adjusted = accuracy.holm([p for _, _, p in tests]) if tests else []
    for (entry, columns, _), p in zip(tests, adjusted):
        for column in columns:
            stats[entry][column] = p
    board[C.rank.name] = pd.array([ranks.get(e) if r else pd.NA for e, r in zip(entry_of, rankable)], dtype="Int64")
    for column in (c.name for c in (C.d_above, C.p_above, C.p_above_holm, C.n_above, C.d_first, C.p_first,
                                     C.p_first_holm, C.n_first)):
        board[column] = [stats.get(e, {}).get(column, np.nan) if r else np.nan
                         for e, r in zip(entry_of, rankable)]
    # tied with #1: not significantly below it after Holm (and #1's own entry)
    board[C.tied_first.name] = rankable & ((board[C.rank.name] == 1).fillna(False)
                                           | (board[C.p_first_holm.name] >= ALPHA).fillna(False))
    section_order = board[C.section.name].map({s: i for i, s in enumerate(SECTIONS)})
    board = board.assign(_section=section_order, _unranked=board[C.rank.name].isna(),
                         _acc=board[C.entry_accuracy.name].fillna(board[C.accuracy.name]))
    board = board.sort_values(["_section", "_unranked", C.rank.name, "_acc", C.entry.name, C.run.name],
                              ascending=[True, True, True, False, True, True], na_position="last", kind="stable")
    return board.drop(columns=["_section", "_unranked", "_acc"]).reset_index(drop=True)
