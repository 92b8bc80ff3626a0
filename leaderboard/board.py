"""The main table as the page (and the static export) shows it: compact, every accuracy
with its interval, the paired tests against the entry above and #1, the run's marks in its
name cell, runs differing only by seed combined into one row, one table per section.

The columns are declared as data in :mod:`leaderboard.columns` (header, what it says, how a
row gives it), so the page, the CSV, the LaTeX table and the static page agree. Cells are strings
(numbers padded so that sorting a column by clicking its header still orders them),
because a missing number would otherwise be shown as "None".
"""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from leaderboard import columns as cols
from leaderboard.columns import C, Shown, pct
from leaderboard.data import ALPHA, Tables
from leaderboard.ranking import SECTIONS
from niah import comparisons


SECTION_TITLES = {"project": "Project runs", "uploaded": "Uploaded runs (ranked among themselves, unverified)"}


#: Columns the compact table leaves out when no row has anything to say in them.
_DROPPED_WHEN_BLANK = (C.model, C.readings)


def columns(tables: Tables, extra: tuple[str, ...] = ()) -> list[Shown]:
    """The compact table's columns for this board's lengths (:func:`leaderboard.columns.shown`)."""
    return cols.shown(tables.lengths, extra)


def _row(shown: list[Shown], row: pd.Series) -> dict[str, str]:
    return {c.header: c.cell(row) for c in shown}


def compact(tables: Tables, combine_seeds: bool = True, section: str | None = None, extra: tuple[str, ...] = (),
            search: str = "") -> pd.DataFrame:
    """One row per run, or per seed group when ``combine_seeds`` (its complete seeds' mean,
    its partial seeds apart); only ``section``'s runs when given; ``extra``: optional columns
    to add (:func:`leaderboard.columns.optional`); ``search``: only runs whose id or model
    contains it (case-insensitive, as plain text)."""
    board = tables.leaderboard
    if section is not None:
        board = board[board[C.section.name] == section]
    if search:
        needle = search.lower()
        board = board[board[C.run.name].str.lower().str.contains(needle, regex=False)
                      | board[C.model.name].astype(str).str.lower().str.contains(needle, regex=False)]
    shown = columns(tables, extra)
    rows, done = [], set()
    grouped = board[C.rankable.name] & board[C.seed_group.name].notna()
    sizes = board.loc[grouped, C.seed_group.name].value_counts()
    for _, row in board.iterrows():
        group = row[C.seed_group.name]
        if not (combine_seeds and row[C.rankable.name] and isinstance(group, str) and sizes.get(group, 0) > 1):
            rows.append(_row(shown, row))
        elif group not in done:
            done.add(group)
            rows.append(_group_row(shown, board[grouped & (board[C.seed_group.name] == group)], tables.lengths))
    out = pd.DataFrame(rows, columns=[c.header for c in shown])
    blank = [c.header for c in _DROPPED_WHEN_BLANK if c.header in out and (out[c.header] == "").all()]
    return out.drop(columns=blank)


def _group_row(shown: list[Shown], members: pd.DataFrame, lengths: list[int]) -> dict[str, str]:
    """A seed group's row: the mean over its complete seeds; its interval cell gives their range."""
    first = members.iloc[0].copy()
    seeds = ", ".join(str(s) for s in sorted(members[C.seed.name], key=str))
    first[C.run.name] = f"{first[C.model.name]} · {len(members)} seeds ({seeds})"
    first[C.accuracy.name] = first[C.entry_accuracy.name]
    for n in lengths:
        first[C.acc.at(n)] = members[C.acc.at(n)].mean()
        first[C.lo.at(n)] = first[C.hi.at(n)] = np.nan
    scored, unparsed = int(members[C.scored.name].sum()), int(members[C.unparsed.name].sum())
    first[C.scored.name], first[C.unparsed.name] = scored, unparsed
    first[C.unparsed_pct.name] = 100.0 * unparsed / scored if scored else np.nan
    first[C.cases.name] = np.nan
    out = _row(shown, first)
    acc = members[C.accuracy.name]
    out[C.ci_low.header] = f"seeds {acc.min():.1f}–{acc.max():.1f}, SD {acc.std(ddof=1):.1f}"
    for n in lengths:
        out[C.acc.header_at(n)] = pct(first[C.acc.at(n)])
    out[C.scored.header] = f"{scored} over {len(members)} seeds"
    return out


def seed_runs(tables: Tables) -> pd.DataFrame:
    """The single runs behind every combined seed row (what the row expands to), with any
    partial seed the group's mean leaves out."""
    board = tables.leaderboard
    group_of = board[C.seed_group.name]
    grouped = group_of.map(group_of.value_counts()).fillna(0) > 1
    shown = columns(tables)
    return pd.DataFrame([_row(shown, row) for _, row in board[grouped].iterrows()], columns=[c.header for c in shown])


def sections(tables: Tables) -> list[str]:
    return [s for s in SECTIONS if (tables.leaderboard[C.section.name] == s).any()]


def significance_note(tables: Tables) -> str:
    """What the paired columns mean, with the number of tests Holm corrected over."""
    board = tables.leaderboard
    entries = board.drop_duplicates(C.entry.name)
    # each section's #2 is compared with #1 once, shown under both columns
    tests = int(entries[[C.p_above.name, C.p_first.name]].notna().sum().sum()
                - entries.loc[entries[C.p_above.name].notna(), C.section.name].nunique())
    return (f"'{C.d_above.header}' / '{C.d_first.header}': difference in accuracy points on the cases both "
            f"answered, Holm-corrected over the table's {tests} tests. The test fits the pair: two single runs, exact "
            "McNemar (binomial test of the discordant cases) where no needle question repeats, else its "
            "cluster-adjusted form (Durkalski: the per-question totals, exact sign-flip enumeration up to 12 "
            "differing questions); a seed group on either side, a paired t-test on the per-question totals of the "
            "per-case differences of mean correctness (scipy.stats.t). "
            f"'≈#1': not significantly below #1 at {ALPHA:.0%}, so the ranking between them is not established. "
            f"'{C.rank_low.header}': the ranks the entry takes in 95% of {comparisons.RANK_REPLICATES:,} bootstrap "
            "redraws of the needle questions. Every pair: the Significance tab.")


def public_path(value: Any) -> str:
    """A model path as the page may show it: hub ids and relative paths as they are, an
    absolute server path by its last two parts only."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value)
    if text.startswith("/"):
        return "…/" + "/".join(PurePosixPath(text).parts[-2:])
    return text


def details(tables: Tables) -> pd.DataFrame:
    """Settings, provenance and counts per run: what the compact table leaves out."""
    board = tables.leaderboard
    picked = [C.run, C.model, C.settings, C.model_path, C.revision, C.code_version, C.manifest, C.scored,
              C.errors, C.problems, C.seconds_per_case, C.seed, C.uploaded]
    out = board[[c.name for c in picked]].copy()
    out[C.model_path.name] = out[C.model_path.name].map(public_path)
    out[C.seconds_per_case.name] = out[C.seconds_per_case.name].map(lambda v: f"{v:.2f}" if v == v else "")
    out[C.uploaded.name] = out[C.uploaded.name].map({True: "yes", False: ""})
    return out.astype(object).where(out.notna(), "").astype(str)


#: run.json keys a run card shows (in this order), and where each may sit.
CARD_FIELDS = [("created", ("created", "uploaded_at")), ("model", ("model",)), ("checkpoint", ("model_path",)),
               ("revision", ("revision",)), ("code version", ("code_version",)), ("device", ("device",)),
               ("dtype", ("options.dtype", "settings.dtype")), ("profile", ("options.profile", "settings.profile")),
               ("frames", ("options.frames", "settings.frames")), ("seed", ("options.seed", "settings.seed")),
               ("cases", ("cases_total",)), ("manifest", ("manifest_fingerprint",)),
               ("uploaded file", ("uploaded_filename",)), ("parameters", ("metadata.parameters",)),
               ("organisation", ("metadata.organisation",)), ("protocol", ("metadata.protocol",)),
               ("link", ("metadata.link",))]


def run_card(tables: Tables, run_id: str) -> pd.DataFrame:
    """A run's provenance from its ``run.json`` (what, when, where, with which code); server
    paths shortened as everywhere on the page; ``not recorded`` where the file says nothing."""
    import json

    try:
        info = json.loads(tables.runs_info.get(run_id, "{}"))
    except ValueError:
        info = {}
    rows = []
    for name, keys in CARD_FIELDS:
        value = None
        for key in keys:
            node: Any = info
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                value = node
                break
        if name == "checkpoint":
            value = public_path(value) or None
        rows.append({"field": name, "value": "not recorded" if value is None else str(value)})
    return pd.DataFrame(rows)
