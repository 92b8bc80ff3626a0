"""Summarise scored runs: accuracy overall, by needle length x depth decile, by task type.

    python -m runner report --out results/ [--data data/niah] [--csv DIR] [--format text]

Every number is over the cases a run has scored so far (a case that errored or whose
answer could not be parsed counts as wrong, and is also counted in ``errors`` /
``unparsed``). A run that has scored fewer cases than its manifest holds is marked
``partial`` with ``scored/total``. With ``--data``, only runs scored on that benchmark's
manifest are reported (others are listed as skipped) and only its cases count.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from niah import atomic
from niah.cases import Benchmark
from niah.errors import InputError
from niah.results import Result, list_runs, read_run

DECILES = [f"d{k}" for k in range(10)]


@dataclass
class Run:
    run_id: str
    info: dict[str, Any]
    results: dict[str, Result]
    total: int | None
    problems: list[str] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.info.get("model", "?"))

    @property
    def partial(self) -> bool:
        return self.total is None or len(self.results) < self.total


def depth_decile(depth: float) -> int:
    """0..9, the same rule as :attr:`niah.schema.Case.depth_decile`."""
    return min(max(int(depth * 10), 0), 9)


def load_runs(out_root: str | Path, bench: Benchmark | None = None) -> tuple[list[Run], list[str]]:
    """The runs under ``out_root`` and notes about runs left out."""
    root = Path(out_root)
    if not root.is_dir():
        raise InputError(root, "no such results folder")
    runs: list[Run] = []
    notes: list[str] = []
    for run_dir in list_runs(root):
        try:
            info, results, problems = read_run(run_dir)
        except (OSError, ValueError) as exc:
            notes.append(f"skipped {run_dir.name}: unreadable run.json ({exc})")
            continue
        total = info.get("cases_total")
        if bench is not None:
            if info.get("manifest_fingerprint") != bench.fingerprint:
                notes.append(f"skipped {run_dir.name}: scored on another manifest than {bench.root}")
                continue
            ids = {c.case_id for c in bench.cases}
            results = {k: v for k, v in results.items() if k in ids}
            total = len(bench.cases)
        runs.append(Run(run_dir.name, info, results, total if isinstance(total, int) else None, problems))
    if not runs and not notes:
        raise InputError(root, "no runs here (no <run_id>/run.json); run `python -m runner score` first")
    return runs, notes


def results_frame(runs: list[Run]) -> pd.DataFrame:
    rows = [{"run": run.run_id, "model": run.model, "case_id": r.case_id, "length": r.length,
             "depth_decile": depth_decile(r.depth), "task_type": r.task_type,
             "correct": bool(r.correct), "unparsed": r.error is None and r.prediction is None,
             "error": r.error is not None}
            for run in runs for r in run.results.values()]
    columns = ["run", "model", "case_id", "length", "depth_decile", "task_type", "correct",
               "unparsed", "error"]
    return pd.DataFrame(rows, columns=columns)


def _grouped(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=keys + ["n", "correct", "accuracy"])
    out = frame.groupby(keys, sort=True).agg(n=("correct", "size"), correct=("correct", "sum")).reset_index()
    out["correct"] = out["correct"].astype(int)
    out["accuracy"] = out["correct"] / out["n"]
    return out


def tables(runs: list[Run]) -> dict[str, pd.DataFrame]:
    """``summary`` (one row per run), ``by_task_type`` and ``by_length_depth`` (long form)."""
    frame = results_frame(runs)
    summary = []
    for run in runs:
        mine = frame[frame["run"] == run.run_id]
        scored = len(mine)
        correct = int(mine["correct"].sum())
        summary.append({
            "run": run.run_id, "model": run.model, "scored": scored,
            "total": run.total if run.total is not None else pd.NA,
            "status": "partial" if run.partial else "complete",
            "correct": correct, "accuracy": correct / scored if scored else float("nan"),
            "unparsed": int(mine["unparsed"].sum()), "errors": int(mine["error"].sum()),
            "bad_lines": len(run.problems),
        })
    summary_df = pd.DataFrame(summary, columns=["run", "model", "scored", "total", "status", "correct",
                                                "accuracy", "unparsed", "errors", "bad_lines"])
    return {
        "summary": summary_df,
        "by_task_type": _grouped(frame, ["run", "model", "task_type"]),
        "by_length_depth": _grouped(frame, ["run", "model", "length", "depth_decile"]),
    }


def length_depth_table(frame: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """Accuracy (%) of one run: rows = length (+ ``all``), columns = depth decile d0..d9 (+ ``all``)."""
    mine = frame[frame["run"] == run_id]
    lengths = sorted(mine["length"].unique())
    table = pd.DataFrame(index=[str(x) for x in lengths] + ["all"], columns=DECILES + ["all"], dtype=object)
    for length in lengths + ["all"]:
        rows = mine if length == "all" else mine[mine["length"] == length]
        for decile in list(range(10)) + ["all"]:
            cell = rows if decile == "all" else rows[rows["depth_decile"] == decile]
            table.loc[str(length), "all" if decile == "all" else f"d{decile}"] = _cell(cell)
    table.index.name = "length"
    return table


def task_type_table(frame: pd.DataFrame, runs: list[Run]) -> pd.DataFrame:
    """Accuracy (%) and count per task type (rows) for every run (columns)."""
    types = sorted(frame["task_type"].unique()) if not frame.empty else []
    table = pd.DataFrame(index=types + ["all"], columns=[r.run_id for r in runs], dtype=object)
    for run in runs:
        mine = frame[frame["run"] == run.run_id]
        for task in types + ["all"]:
            rows = mine if task == "all" else mine[mine["task_type"] == task]
            table.loc[task, run.run_id] = _cell(rows)
    table.index.name = "task_type"
    return table


def _cell(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "-"
    return f"{100 * rows['correct'].mean():.1f} ({len(rows)})"


def markdown(table: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-markdown table (no ``tabulate`` dependency)."""
    head = ([str(table.index.name or "")] if index else []) + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for key, row in table.iterrows():
        cells = ([str(key)] if index else []) + [_fmt(v) for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def render(runs: list[Run], notes: list[str], fmt: str = "markdown") -> str:
    frame = results_frame(runs)
    t = tables(runs)
    show = (lambda df: markdown(df)) if fmt == "markdown" else (lambda df: df.to_string())
    summary = t["summary"].copy()
    summary["accuracy"] = [f"{100 * a:.1f}%" if a == a else "-" for a in summary["accuracy"]]
    summary["scored"] = [f"{s}/{tot}" if tot is not pd.NA else str(s)
                         for s, tot in zip(summary["scored"], summary["total"])]
    summary = summary.drop(columns=["total"]).set_index("run")
    out = io.StringIO()
    h = "## " if fmt == "markdown" else ""
    out.write(f"{h}Runs\n\n{show(summary)}\n")
    out.write("\naccuracy counts errors and unparsed answers as wrong; partial runs are scored/total so far\n")
    if runs:
        out.write(f"\n{h}Accuracy by task type, % (cases)\n\n{show(task_type_table(frame, runs))}\n")
    for run in runs:
        status = f"partial: {len(run.results)}/{run.total if run.total is not None else '?'} scored" \
            if run.partial else f"complete: {len(run.results)} cases"
        out.write(f"\n{h}{run.run_id} ({run.model}, {status}): accuracy by length x needle depth decile, "
                  f"% (cases)\n\n{show(length_depth_table(frame, run.run_id))}\n")
    out.write("\nd<k>: needle depth in [k/10, (k+1)/10); depth 1.0 is in d9\n")
    for note in notes:
        out.write(f"note: {note}\n")
    for run in runs:
        for problem in run.problems[:5]:
            out.write(f"note: {run.run_id}: ignored line {problem}\n")
        if len(run.problems) > 5:
            out.write(f"note: {run.run_id}: ... {len(run.problems) - 5} more ignored lines\n")
    return out.getvalue()


def write_csv(runs: list[Run], folder: str | Path) -> list[Path]:
    folder = Path(folder)
    written = []
    for name, df in tables(runs).items():
        path = folder / f"{name}.csv"
        atomic.write_text(path, df.to_csv(index=False))
        written.append(path)
    return written


def report(out_root: str | Path, data: str | Path | None = None, csv_dir: str | Path | None = None,
           fmt: str = "markdown") -> str:
    bench = Benchmark.open(data) if data is not None else None
    runs, notes = load_runs(out_root, bench)
    text = render(runs, notes, fmt)
    if csv_dir is not None:
        for path in write_csv(runs, csv_dir):
            text += f"wrote {path}\n"
    return text
