"""The main table as the page (and the static export) shows it: compact, every accuracy
with its interval, the paired tests against the entry above and #1, the run's marks in its
name cell, runs differing only by seed combined into one row, one table per section.

The columns are declared as data (:data:`COLUMNS`: header, what it says, how a row gives
it), so the page, the CSV, the LaTeX table and the static page agree. Cells are strings
(numbers padded so that sorting a column by clicking its header still orders them),
because a missing number would otherwise be shown as "None".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Callable

import numpy as np
import pandas as pd

from leaderboard.data import ALPHA, Tables
from leaderboard.ranking import SECTIONS


SECTION_TITLES = {"project": "Project runs", "uploaded": "Uploaded runs (ranked among themselves, unverified)"}


def _pct(value: float) -> str:
    return f"{value:5.1f}" if value == value else ""


def _interval(low: float, high: float) -> str:
    return f"{low:.1f}–{high:.1f}" if low == low else ""


def _with_interval(acc: float, low: float, high: float) -> str:
    return f"{acc:5.1f} ({low:.0f}–{high:.0f})" if acc == acc else ""


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}".rstrip("0").rstrip(".") if p < 1 else "p=1"


def paired_cell(diff: float, p_holm: float, n: float) -> str:
    """``−3.2 (p=0.012, 3000 cases)``: the difference in points and its Holm-corrected p."""
    if diff != diff:
        return ""
    return f"{diff:+.1f} ({_p(p_holm)}, {int(n)} cases)"


def name_cell(run: str, model: str, marks: str) -> str:
    """The marks first, so no long name can push them out of sight."""
    return "".join(f"[{m}] " for m in marks.split(" · ") if m) + run


def _rank(row: pd.Series) -> str:
    if pd.isna(row["rank"]):
        return "—"
    rank = f"{int(row['rank']):3d}"
    return rank + (" ≈#1" if row["tied_first"] and row["rank"] != 1 else "")


@dataclass(frozen=True)
class Column:
    """One column of the compact table: its header, what it means (the page's column help
    and the export's legend) and how a run's row gives its cell."""

    header: str
    help: str
    cell: Callable[[pd.Series], str]


COLUMNS: list[Column] = [
    Column("rank", "Rank within the section; '≈#1': not significantly below #1 (exact paired test, Holm, 5%); "
                   "'—': not ranked (see 'why not ranked').", _rank),
    Column("run", "Run (or seed group) with its marks in brackets: partial, other manifest, near copy, uploaded.",
           lambda r: name_cell(r["run"], r["model"], r["marks"])),
    Column("model", "The model, where the run's name does not already say it.",
           lambda r: "" if str(r["model"]) in str(r["run"]) else str(r["model"])),
    Column("accuracy %", "Accuracy over the cases the run scored.", lambda r: _pct(r["accuracy"])),
    Column("95% CI", "Wilson 95% interval of the accuracy.", lambda r: _interval(r["ci_low"], r["ci_high"])),
    Column("vs above", "Difference in points to the entry ranked just above, exact McNemar p (Holm over the "
                       "table) on the cases both answered.",
           lambda r: paired_cell(r["d_above"], r["p_above_holm"], r["n_above"])),
    Column("vs #1", "Difference in points to #1, exact McNemar p (Holm over the table) on the cases both answered.",
           lambda r: paired_cell(r["d_first"], r["p_first_holm"], r["n_first"])),
    Column("holds up to", "Longest haystack length up to which accuracy is not significantly below the "
                          "shortest length's (one-sided Fisher exact test, 5%); blank: not above chance at the "
                          "shortest length.",
           lambda r: "" if pd.isna(r["holds_up_to"]) else f"{int(r['holds_up_to']):,}"),
    Column("why not ranked", "Why a run has no rank (in view beside the numbers).", lambda r: r["reason"]),
]
TAIL: list[Column] = [
    Column("cases", "Cases scored / cases in the benchmark.",
           lambda r: f"{r['scored']}/{int(r['cases'])}" if pd.notna(r["cases"]) else str(r["scored"])),
    Column("unparsed", "Answers with no option letter under the rule (counted wrong).",
           lambda r: f"{r['unparsed']} ({r['unparsed %']:.0f}%)" if r["scored"] else ""),
]


def length_columns(tables: Tables) -> list[Column]:
    def cell(length: int) -> Callable[[pd.Series], str]:
        return lambda r: _with_interval(r[f"acc@{length}"], r[f"lo@{length}"], r[f"hi@{length}"])
    return [Column(f"@{n}", f"Accuracy (95% interval) at {n:,} frames.", cell(n)) for n in tables.lengths]


def columns(tables: Tables) -> list[Column]:
    return [*COLUMNS, *length_columns(tables), *TAIL]


def _row(cols: list[Column], row: pd.Series) -> dict[str, str]:
    return {c.header: c.cell(row) for c in cols}


def compact(tables: Tables, combine_seeds: bool = True, section: str | None = None) -> pd.DataFrame:
    """One row per run, or per seed group when ``combine_seeds`` (its complete seeds' mean,
    its partial seeds apart); only ``section``'s runs when given."""
    board = tables.leaderboard
    if section is not None:
        board = board[board["section"] == section]
    cols = columns(tables)
    rows, done = [], set()
    grouped = board["rankable"] & board["seed_group"].notna()
    sizes = board.loc[grouped, "seed_group"].value_counts()
    for _, row in board.iterrows():
        group = row["seed_group"]
        if not (combine_seeds and row["rankable"] and isinstance(group, str) and sizes.get(group, 0) > 1):
            rows.append(_row(cols, row))
        elif group not in done:
            done.add(group)
            rows.append(_group_row(cols, board[grouped & (board["seed_group"] == group)]))
    out = pd.DataFrame(rows, columns=[c.header for c in cols])
    return out.drop(columns="model") if (out["model"] == "").all() else out


def _group_row(cols: list[Column], members: pd.DataFrame) -> dict[str, str]:
    """A seed group's row: the mean over its complete seeds; its interval cell gives their range."""
    first = members.iloc[0].copy()
    seeds = ", ".join(str(s) for s in sorted(members["seed"], key=str))
    first["run"] = f"{first['model']} · {len(members)} seeds ({seeds})"
    first["accuracy"] = first["entry_accuracy"]
    for col in [c for c in members.columns if c.startswith("acc@")]:
        first[col] = members[col].mean()
        first["lo" + col[3:]] = first["hi" + col[3:]] = np.nan
    first["scored"] = int(members["scored"].sum())
    first["unparsed"] = int(members["unparsed"].sum())
    first["unparsed %"] = 100.0 * first["unparsed"] / first["scored"] if first["scored"] else np.nan
    first["cases"] = np.nan
    out = _row(cols, first)
    acc = members["accuracy"]
    out["95% CI"] = f"seeds {acc.min():.1f}–{acc.max():.1f}, SD {acc.std(ddof=1):.1f}"
    for col in [c for c in out if c.startswith("@")]:
        out[col] = _pct(first["acc" + col])
    out["cases"] = f"{first['scored']} over {len(members)} seeds"
    return out


def seed_runs(tables: Tables) -> pd.DataFrame:
    """The single runs behind every combined seed row (what the row expands to), with any
    partial seed the group's mean leaves out."""
    board = tables.leaderboard
    grouped = board["seed_group"].map(board["seed_group"].value_counts()).fillna(0) > 1
    cols = columns(tables)
    return pd.DataFrame([_row(cols, row) for _, row in board[grouped].iterrows()], columns=[c.header for c in cols])


def sections(tables: Tables) -> list[str]:
    return [s for s in SECTIONS if (tables.leaderboard["section"] == s).any()]


def significance_note(tables: Tables) -> str:
    """What the paired columns mean, with the number of tests Holm corrected over."""
    board = tables.leaderboard
    entries = board.drop_duplicates("entry")
    # each section's #2 is compared with #1 once, shown under both columns
    tests = int(entries[["p_above", "p_first"]].notna().sum().sum()
                - entries.loc[entries["p_above"].notna(), "section"].nunique())
    return (f"'vs above' / 'vs #1': difference in accuracy points on the cases both answered; p from the exact "
            f"McNemar test (scipy.stats.binomtest on the discordant cases; for a seed group, the exact sign test of "
            f"its per-case mean), Holm-corrected over the table's {tests} tests. '≈#1': not significantly below #1 "
            f"at {ALPHA:.0%}, so the ranking between them is not established.")


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
    cols = ["run", "model", "settings", "model_path", "revision", "code_version", "manifest", "scored",
            "errors", "problems", "s/case", "seed", "uploaded"]
    out = board[cols].copy()
    out["model_path"] = out["model_path"].map(public_path)
    out["s/case"] = out["s/case"].map(lambda v: f"{v:.2f}" if v == v else "")
    out["uploaded"] = out["uploaded"].map({True: "yes", False: ""})
    return out.astype(object).where(out.notna(), "").astype(str)


#: run.json keys a run card shows (in this order), and where each may sit.
CARD_FIELDS = [("created", ("created", "uploaded_at")), ("model", ("model",)), ("checkpoint", ("model_path",)),
               ("revision", ("revision",)), ("code version", ("code_version",)), ("device", ("device",)),
               ("dtype", ("options.dtype", "settings.dtype")), ("profile", ("options.profile", "settings.profile")),
               ("frames", ("options.frames", "settings.frames")), ("seed", ("options.seed", "settings.seed")),
               ("cases", ("cases_total",)), ("manifest", ("manifest_fingerprint",)),
               ("uploaded file", ("uploaded_filename",))]


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
