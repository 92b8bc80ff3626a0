"""The main table as the page shows it: compact, every accuracy with its interval, every
run's marks in its status, runs differing only by seed combined into one row.

Cells are strings (numbers padded so that sorting a column by clicking its header still
orders them), because a missing number would otherwise be shown as "None".
"""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from leaderboard.data import Tables


def _pct(value: float) -> str:
    return f"{value:5.1f}" if value == value else ""


def _interval(low: float, high: float) -> str:
    return f"{low:.1f}–{high:.1f}" if low == low else ""


def _with_interval(acc: float, low: float, high: float) -> str:
    return f"{acc:5.1f} ({low:.0f}–{high:.0f})" if acc == acc else ""


def _rank(value: Any) -> str:
    return "" if pd.isna(value) else f"{int(value):3d}"


def _status(row: pd.Series) -> str:
    marks = [row["status"]]
    if row["manifest"] == "DIFFERS":
        marks.append("other manifest, not ranked")
    if row["uploaded"]:
        marks.append("uploaded")
    if row["duplicate_of"]:
        marks.append(f"same answers as {row['duplicate_of']}, not ranked")
    return " · ".join(marks)


def _row(tables: Tables, row: pd.Series) -> dict[str, str]:
    out = {"rank": _rank(row["rank"]), "run": row["run"], "model": row["model"],
           "accuracy %": _pct(row["accuracy"]), "95% CI": _interval(row["ci_low"], row["ci_high"])}
    for length in tables.lengths:
        out[f"@{length}"] = _with_interval(row[f"acc@{length}"], row[f"lo@{length}"], row[f"hi@{length}"])
    cases = row["cases"]
    out["cases"] = f"{row['scored']}/{int(cases)}" if pd.notna(cases) else str(row["scored"])
    out["unparsed"] = f"{row['unparsed']} ({row['unparsed %']:.0f}%)" if row["scored"] else ""
    out["status"] = _status(row)
    return out


def compact(tables: Tables, combine_seeds: bool = True) -> pd.DataFrame:
    """One row per run, or per seed group when ``combine_seeds``: the group's accuracy is
    the mean over its seeds and its status gives the spread (sample SD and range)."""
    board = tables.leaderboard
    rows, done = [], set()
    sizes = board["seed_group"].value_counts()
    for _, row in board.iterrows():
        group = row["seed_group"]
        if not (combine_seeds and isinstance(group, str) and sizes[group] > 1):
            rows.append(_row(tables, row))
        elif group not in done:
            done.add(group)
            rows.append(_group_row(tables, board[board["seed_group"] == group]))
    columns = ["rank", "run", "model", "accuracy %", "95% CI", *[f"@{n}" for n in tables.lengths], "cases",
               "unparsed", "status"]
    return pd.DataFrame(rows, columns=columns)


def _group_row(tables: Tables, members: pd.DataFrame) -> dict[str, str]:
    first = members.iloc[0]
    acc = members["accuracy"]
    seeds = ", ".join(str(s) for s in sorted(members["seed"], key=str))
    out = {"rank": _rank(first["rank"]), "run": f"{first['model']} · {len(members)} seeds ({seeds})",
           "model": first["model"], "accuracy %": _pct(acc.mean()),
           "95% CI": f"seeds {acc.min():.1f}–{acc.max():.1f}"}
    for length in tables.lengths:
        out[f"@{length}"] = _pct(members[f"acc@{length}"].mean())
    out["cases"] = f"{int(members['scored'].sum())} over {len(members)} seeds"
    unparsed, scored = int(members["unparsed"].sum()), int(members["scored"].sum())
    out["unparsed"] = f"{unparsed} ({100 * unparsed / scored:.0f}%)" if scored else ""
    statuses = sorted(set(members["status"]))
    out["status"] = (f"mean of {len(members)} seeds, SD {acc.std(ddof=1):.1f} pp · "
                     + " · ".join(s for s in statuses))
    return out


def seed_runs(tables: Tables) -> pd.DataFrame:
    """The single runs behind every combined seed row (what the row expands to)."""
    board = tables.leaderboard
    grouped = board["seed_group"].map(board["seed_group"].value_counts()).fillna(0) > 1
    return pd.DataFrame([_row(tables, row) for _, row in board[grouped].iterrows()],
                        columns=compact(tables, combine_seeds=False).columns)


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
