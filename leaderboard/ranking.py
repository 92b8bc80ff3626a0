"""Who is ranked, in which order, and whether the order is more than noise.

A rank is given to an *entry*: a run, or the runs that differ only by seed (a seed group),
whose accuracy is the mean over its complete members only (a partial seed is listed apart,
never averaged in). Only complete runs of the opened benchmark that are not copies of an
earlier run are members. The project's runs and the uploaded runs are ranked in their own
sections, so an upload can never push a project run down.

Each ranked entry is compared, on the cases both answered, with the entry ranked just
above it and with #1, by the test that fits the pair (:func:`niah.comparisons.paired`:
exact McNemar for two single runs, its cluster-adjusted form where cases share a needle
question, a paired t-test on per-question totals where a seed group is involved), Holm-corrected
over every distinct comparison in the table (#2's "above" and "first" are one). An entry
whose corrected p against #1 is not below 5 % is *tied with #1*. Each entry also gets the
95 % range of its rank over a cluster bootstrap (:func:`niah.comparisons.rank_intervals`),
and :func:`pairwise` gives every pair of a section, Holm-corrected over the section's pairs.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from leaderboard.columns import C, RANK_COLUMNS
from niah import accuracy, comparisons

ALPHA = 0.05
SECTIONS = ("project", "uploaded")
#: The columns of :func:`pairwise`'s frame.
PAIRWISE_COLUMNS = ["section", "a", "b", "name_a", "name_b", "rank_a", "rank_b", "difference", "p", "p_holm", "test",
                    "common"]
__all__ = ["ALPHA", "PAIRWISE_COLUMNS", "RANK_COLUMNS", "SECTIONS", "entry_key", "pairwise", "rank"]


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


def _clusters(case_correct: pd.DataFrame, case_cluster: pd.Series | None) -> np.ndarray:
    """Each case column's cluster code; without ``case_cluster`` every case is its own."""
    if case_cluster is None:
        return np.arange(case_correct.shape[1])
    return pd.factorize(case_cluster.reindex(case_correct.columns).to_numpy())[0]


def _members(board: pd.DataFrame) -> dict[str, list[str]]:
    ranked = board[board[C.rankable.name]]
    return ranked.groupby(C.entry.name)[C.run.name].apply(list).to_dict()


def rank(board: pd.DataFrame, case_correct: pd.DataFrame, case_cluster: pd.Series | None = None) -> pd.DataFrame:
    """``board`` (one row per run: ``run``, ``accuracy`` in %, ``rankable``, ``section``,
    ``seed_group``) with :data:`RANK_COLUMNS` added, sorted: each section's ranked entries
    by rank, then its unranked runs by accuracy. ``case_correct``: runs x cases, 1.0/0.0,
    NaN where a run has no answer; ``case_cluster``: case id -> its cluster (needle question)."""
    board = board.copy()
    board[C.entry.name] = entry_key(board)
    rankable, entry_of = board[C.rankable.name], board[C.entry.name]
    ranked = board[rankable]
    members = _members(board)
    entry_acc = ranked.groupby(C.entry.name, sort=False)[C.accuracy.name].mean()
    board[C.entry_accuracy.name] = entry_of.map(entry_acc).where(rankable)
    board[C.entry_members.name] = entry_of.map({e: len(r) for e, r in members.items()}).where(rankable)
    vectors = _entry_vectors(members, case_correct)
    cluster = _clusters(case_correct, case_cluster)
    ranks: dict[str, int] = {}
    rank_range: dict[str, tuple[int, int]] = {}
    pairs: list[tuple[str, str, str]] = []  # (entry, other, "above" / "first" / "both")
    for section in SECTIONS:
        entries = entry_acc[[e.startswith(section + "|") for e in entry_acc.index]]
        order = entries.fillna(-1).sort_values(ascending=False, kind="stable")
        ranks.update(order.rank(method="min", ascending=False).astype(int).to_dict())
        if len(order):
            low, high = comparisons.rank_intervals(np.vstack([vectors[e] for e in order.index]), cluster)
            rank_range.update({e: (int(lo), int(hi)) for e, lo, hi in zip(order.index, low, high)})
        for position, entry in enumerate(order.index[1:], 1):
            above, first = order.index[position - 1], order.index[0]
            if above == first:  # #2: the same comparison, one test in the Holm family
                pairs.append((entry, first, "both"))
            else:
                pairs += [(entry, above, "above"), (entry, first, "first")]
    stats = _compare(pairs, vectors, members, cluster)
    board[C.rank.name] = pd.array([ranks.get(e) if r else pd.NA for e, r in zip(entry_of, rankable)], dtype="Int64")
    for column in (C.rank_low, C.rank_high):
        position = 0 if column is C.rank_low else 1
        board[column.name] = pd.array([rank_range[e][position] if r and e in rank_range else pd.NA
                                       for e, r in zip(entry_of, rankable)], dtype="Int64")
    for column in (C.d_above, C.p_above, C.p_above_holm, C.n_above, C.test_above, C.d_first, C.p_first,
                   C.p_first_holm, C.n_first, C.test_first):
        missing = "" if column.type == "str" else np.nan
        board[column.name] = [stats.get(e, {}).get(column.name, missing) if r else missing
                              for e, r in zip(entry_of, rankable)]
    # tied with #1: not significantly below it after Holm (and #1's own entry)
    board[C.tied_first.name] = rankable & (board[C.rank.name].isin([1]) | (board[C.p_first_holm.name] >= ALPHA))
    section_order = board[C.section.name].map({s: i for i, s in enumerate(SECTIONS)})
    board = board.assign(_section=section_order, _acc=board[C.entry_accuracy.name].fillna(board[C.accuracy.name]))
    # unranked rows (rank NA) sort last in their section; a sort on several columns is stable
    board = board.sort_values(["_section", C.rank.name, "_acc", C.entry.name, C.run.name],
                              ascending=[True, True, False, True, True])
    return board.drop(columns=["_section", "_acc"]).reset_index(drop=True)


_SIDES = {"above": (C.d_above, C.p_above, C.n_above, C.test_above, C.p_above_holm),
          "first": (C.d_first, C.p_first, C.n_first, C.test_first, C.p_first_holm)}


def _compare(pairs: list[tuple[str, str, str]], vectors: dict[str, np.ndarray], members: dict[str, list[str]],
             cluster: np.ndarray) -> dict[str, dict[str, object]]:
    """The table's paired tests, all at once, Holm over the distinct ones."""
    stats: dict[str, dict[str, object]] = {}
    if not pairs:
        return stats
    names = list(vectors)
    row = {e: i for i, e in enumerate(names)}
    single = np.array([len(members[e]) == 1 and len(members[o]) == 1 for e, o, _ in pairs])
    result = comparisons.paired_entries(np.vstack([vectors[e] for e in names]), [row[e] for e, _, _ in pairs],
                                        [row[o] for _, o, _ in pairs], cluster, single)
    adjusted = accuracy.holm(result.p)
    for i, (entry, _, side) in enumerate(pairs):
        row = stats.setdefault(entry, {})
        for name in (("above", "first") if side == "both" else (side,)):
            d, p, n, test, p_holm = _SIDES[name]
            row.update({d.name: result.difference[i], p.name: result.p[i], n.name: int(result.common[i]),
                        test.name: str(result.test[i]), p_holm.name: adjusted[i]})
    return stats


def pairwise(board: pd.DataFrame, case_correct: pd.DataFrame, case_cluster: pd.Series | None = None) -> pd.DataFrame:
    """Every pair of ranked entries of each section (``board`` as :func:`rank` returns it):
    ``section``, ``a``, ``b`` (entries, a ranked above b), ``name_a``, ``name_b`` (``#rank run``,
    or ``#rank model · n seeds``), ``difference`` (points), ``p``, ``p_holm`` (Holm over the
    section's pairs), ``test``, ``common``."""
    ranked = board[board[C.rankable.name]].drop_duplicates(C.entry.name)
    members = _members(board)
    vectors = _entry_vectors(members, case_correct)
    cluster = _clusters(case_correct, case_cluster)
    frames = []
    for section in SECTIONS:
        entries = ranked[ranked[C.section.name] == section]
        names = list(entries[C.entry.name])
        pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
        if not pairs:
            continue
        single = np.array([len(members[names[i]]) == 1 and len(members[names[j]]) == 1 for i, j in pairs])
        result = comparisons.paired_entries(np.vstack([vectors[n] for n in names]), [i for i, _ in pairs],
                                            [j for _, j in pairs], cluster, single)
        rank_of = entries[C.rank.name].to_numpy()
        shown = [f"#{int(r)} {members[e][0]}" if len(members[e]) == 1 else f"#{int(r)} {m} · {len(members[e])} seeds"
                 for e, r, m in zip(names, rank_of, entries[C.model.name])]
        frames.append(pd.DataFrame({
            "section": section, "a": [names[i] for i, _ in pairs], "b": [names[j] for _, j in pairs],
            "name_a": [shown[i] for i, _ in pairs], "name_b": [shown[j] for _, j in pairs],
            "rank_a": [int(rank_of[i]) for i, _ in pairs], "rank_b": [int(rank_of[j]) for _, j in pairs],
            "difference": result.difference, "p": result.p, "p_holm": accuracy.holm(result.p),
            "test": result.test, "common": result.common}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PAIRWISE_COLUMNS)
