"""Summarise scored runs: accuracy overall, by needle length x depth decile, by task type.

    python -m runner report --out results/ [--data data/niah] [--csv DIR] [--format text]

Every number is over the cases a run has scored so far (a case that errored or whose
answer could not be parsed counts as wrong, and is also counted in ``errors`` /
``unparsed``). A run that has scored fewer cases than its manifest holds is marked
``partial k/n`` (``unknown total`` without a usable ``cases_total``). With ``--data``, runs
scored on another manifest are listed as skipped (one that records none is read against it)
and only its cases count, and the report adds chance level and accuracy by needle duration
(both need the manifest).

The numbers come from :mod:`niah.accuracy`, as the leaderboard's do, each with its Wilson
95 % interval, because a cell of a few cases says little on its own.

Answers are read under one reading (``--answer-rule``, one of :data:`niah.answers.READINGS`:
``lmms-eval`` by default, ``videomme``, ``strict``). Results are read as the leaderboard reads them
(:mod:`niah.run_reading`): with the manifest (``--data``) every letter is taken under the
rule (re-read from the output where stored under another) and ``correct`` is recomputed
from the gold letter; without it results keep their stored reading, and the run's
``answer_rule`` column and a note say how many.
"""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from niah import accuracy, atomic, run_reading
from niah.answers import DEFAULT_RULE, READINGS, canonical, rule_names
from niah.cases import Benchmark
from niah.errors import InputError
from niah.results import Result, list_runs, read_run
from runner import report_diagnostics

DECILES = [f"d{k}" for k in range(10)]


@dataclass
class Run:
    run_id: str
    info: dict[str, Any]
    results: dict[str, Result]
    total: int | None
    problems: list[str] = field(default_factory=list)
    #: how many results are read under each answer rule (the asked one unless --data was missing)
    rules: Counter = field(default_factory=Counter)

    @property
    def answer_rule(self) -> str:
        """The rule the run's numbers are under, or ``mixed: lmms-eval 3, strict 2``."""
        if len(self.rules) == 1:
            return next(iter(self.rules))
        return "mixed: " + ", ".join(f"{rule} {n}" for rule, n in sorted(self.rules.items())) if self.rules else "-"

    @property
    def model(self) -> str:
        return str(self.info.get("model", "?"))

    @property
    def status(self) -> str:
        """:func:`niah.run_reading.run_status`: ``complete``, ``partial k/n`` or ``unknown total``."""
        return run_reading.run_status(len(self.results), self.total)

    @property
    def partial(self) -> bool:
        return self.status != run_reading.COMPLETE


def read_under(rule: str, results: dict[str, Result], bench: Benchmark | None) -> tuple[dict[str, Result], Counter]:
    """``results`` with ``prediction`` / ``correct`` under ``rule`` (:mod:`niah.run_reading`)
    and how many are read under each rule. With the case in ``bench`` the letter is taken
    under ``rule`` and ``correct`` recomputed from its gold letter (every rotation of a circular
    line); otherwise the letter is
    what the line stores under the rule, or its own, and ``correct`` is kept as stored."""
    cases = {c.case_id: c for c in bench.cases} if bench is not None else {}
    known = [cases.get(case_id) for case_id in results]
    frame = pd.DataFrame([[getattr(r, k) for k in run_reading.LETTER_INPUTS] for r in results.values()],
                         columns=list(run_reading.LETTER_INPUTS), dtype=object)
    options = [c.options if c else None for c in known]
    letters = run_reading.letters_under(frame, options, rule).tolist()
    rotations_ok = run_reading.rotations_right([run_reading.rotation_records(r.rotations) for r in results.values()],
                                               options, [r.answer_rule for r in results.values()], rule,
                                               [c.answer if c else None for c in known])
    out: dict[str, Result] = {}
    rules: Counter = Counter()
    for (case_id, r), case, letter, ok in zip(results.items(), known, letters, rotations_ok):
        if case is None:
            rules[rule if r.error is not None else run_reading.stored_rule(r.answer_rule)] += 1
            out[case_id] = replace(r, prediction=letter)
        else:
            rules[rule] += 1
            out[case_id] = replace(r, prediction=letter, answer_rule=rule,
                                   correct=run_reading.is_correct(r.error, letter, case.answer, bool(ok)))
    return out, rules


def load_runs(out_root: str | Path, bench: Benchmark | None = None,
              rule: str = DEFAULT_RULE) -> tuple[list[Run], list[str]]:
    """The runs under ``out_root``, read under answer ``rule``, and notes about runs left out
    or read partly under another rule."""
    try:
        rule = canonical(rule)
    except ValueError:
        raise InputError("--answer-rule", f"unknown rule {rule!r} (known: {', '.join(rule_names())})") from None
    root = Path(out_root)
    if not root.is_dir():
        raise InputError(root, "no such results folder")
    runs: list[Run] = []
    notes: list[str] = []
    ids = {c.case_id for c in bench.cases} if bench is not None else set()   # once, not per run
    for run_dir in list_runs(root):
        try:
            info, results, problems = read_run(run_dir)
        except (OSError, ValueError) as exc:
            notes.append(f"skipped {run_dir.name}: unreadable run.json ({exc})")
            continue
        total = run_reading.total_of(info)
        if bench is not None:
            if run_reading.manifest_check(info.get("manifest_fingerprint"), bench.fingerprint) == run_reading.DIFFERS:
                notes.append(f"skipped {run_dir.name}: scored on another manifest than {bench.root}")
                continue
            on_bench = {k: v for k, v in results.items() if k in ids}
            if len(on_bench) < len(results):
                notes.append(f"{run_dir.name}: {run_reading.outside_note(len(results) - len(on_bench))}")
            results, total = on_bench, len(bench.cases)
        results, rules = read_under(rule, results, bench)
        if set(rules) - {rule}:
            notes.append(f"{run_dir.name}: {sum(n for r, n in rules.items() if r != rule)} result(s) stored under "
                         f"another answer rule are shown as stored; pass --data to read them under {rule}")
        runs.append(Run(run_dir.name, info, results, total, problems, rules))
    if not runs and not notes:
        raise InputError(root, "no runs here (no <run_id>/run.json); run `python -m runner score` first")
    return runs, notes


def results_frame(runs: list[Run], bench: Benchmark | None = None) -> pd.DataFrame:
    """One row per scored (run, case), in the shape :func:`niah.accuracy.summarise` reads.

    ``chance`` (1 / the case's number of options) and ``needle_duration`` need the
    benchmark's manifest, so they are there only with ``bench``.
    """
    rows = [(run.run_id, run.model, r.case_id, r.length, r.depth, r.task_type, bool(r.correct),
             r.error is None and r.prediction is None, r.error is not None)
            for run in runs for r in run.results.values()]
    frame = pd.DataFrame(rows, columns=["run", "model", "case_id", "length", "depth", "task_type", "correct",
                                        "unparsed", "failed"])
    frame["depth_decile"] = accuracy.depth_decile(frame["depth"])
    if bench is not None:
        cases = {c.case_id: c for c in bench.cases}
        chosen = [cases[i] for i in frame["case_id"]]  # load_runs kept only this manifest's cases
        frame["chance"] = accuracy.chance_of([c.options for c in chosen])
        frame["needle_duration"] = accuracy.needle_duration_bin([c.needle.num_frames / c.fps for c in chosen])
    return frame


def tables(runs: list[Run], bench: Benchmark | None = None) -> dict[str, pd.DataFrame]:
    """``summary`` (one row per run), ``by_task_type`` and ``by_length_depth`` (long form),
    and with ``bench`` ``by_needle_duration``; accuracies and intervals are fractions."""
    frame = results_frame(runs, bench)
    per_run = accuracy.summarise(frame, ["run"]).set_index("run")
    summary = []
    for run in runs:
        stats = per_run.loc[run.run_id] if run.run_id in per_run.index else None
        summary.append({
            "run": run.run_id, "model": run.model, "answer_rule": run.answer_rule, "scored": len(run.results),
            "total": run.total if run.total is not None else pd.NA,
            "status": run.status,
            "correct": int(stats["correct"]) if stats is not None else 0,
            **{k: float(stats[k]) if stats is not None else float("nan")
               for k in ("accuracy", "ci_low", "ci_high", *(["chance"] if bench is not None else []))},
            "unparsed": int(stats["unparsed"]) if stats is not None else 0,
            "errors": int(stats["failed"]) if stats is not None else 0,
            "bad_lines": len(run.problems),
        })
    columns = ["run", "model", "answer_rule", "scored", "total", "status", "correct", "accuracy", "ci_low", "ci_high",
               *(["chance"] if bench is not None else []), "unparsed", "errors", "bad_lines"]
    out = {
        "summary": pd.DataFrame(summary, columns=columns),
        "by_task_type": accuracy.summarise(frame, ["run", "model", "task_type"]),
        "by_length_depth": accuracy.summarise(frame, ["run", "model", "length", "depth_decile"]),
    }
    if bench is not None:
        by_duration = accuracy.summarise(frame, ["run", "model", "needle_duration"])
        by_duration["needle_duration"] = by_duration["needle_duration"].astype(str)
        out["by_needle_duration"] = by_duration
    return out


def _crosstab(frame: pd.DataFrame, rows: str, columns: str, row_values: list, column_values: list,
              column_names: list[str]) -> pd.DataFrame:
    """Cells of :func:`_cell` for every (row value, column value), plus ``all`` margins."""
    table = pd.DataFrame(index=[str(x) for x in row_values] + ["all"], columns=column_names + ["all"], dtype=object)
    for row in row_values + ["all"]:
        in_row = frame if row == "all" else frame[frame[rows] == row]
        for value, name in zip(column_values + ["all"], column_names + ["all"]):
            table.loc[str(row), name] = _cell(in_row if value == "all" else in_row[in_row[columns] == value])
    table.index.name = rows
    return table


def length_depth_table(frame: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One run: rows = length (+ ``all``), columns = depth decile d0..d9 (+ ``all``)."""
    mine = frame[frame["run"] == run_id]
    return _crosstab(mine, "length", "depth_decile", sorted(mine["length"].unique()), list(range(10)), DECILES)


def task_type_table(frame: pd.DataFrame, runs: list[Run]) -> pd.DataFrame:
    """Every task type (rows) for every run (columns)."""
    types = sorted(frame["task_type"].unique()) if not frame.empty else []
    table = pd.DataFrame(index=types + ["all"], columns=[r.run_id for r in runs], dtype=object)
    for run in runs:
        mine = frame[frame["run"] == run.run_id]
        for task in types + ["all"]:
            table.loc[task, run.run_id] = _cell(mine if task == "all" else mine[mine["task_type"] == task])
    table.index.name = "task_type"
    return table


def _cell(rows: pd.DataFrame) -> str:
    """``accuracy % [95 % interval] (cases)``, or ``-`` for no cases."""
    if rows.empty:
        return "-"
    n, k = len(rows), int(rows["correct"].sum())
    low, high = accuracy.wilson_interval(k, n)
    return f"{100 * k / n:.1f} [{100 * low:.0f}–{100 * high:.0f}] ({n})"


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


def _percent(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}" if value == value else "-"


def _share(correct: int, n: int) -> str:
    """``correct/n`` as the report writes an accuracy: % [Wilson 95% interval] (n)."""
    if not n:
        return "-"
    low, high = accuracy.wilson_interval(correct, n)
    return f"{_percent(correct / n)}% [{_percent(float(low), 0)}–{_percent(float(high), 0)}] ({n})"


def render(runs: list[Run], notes: list[str], fmt: str = "markdown", bench: Benchmark | None = None,
           rule: str = DEFAULT_RULE) -> str:
    rule = canonical(rule)
    frame = results_frame(runs, bench)
    t = tables(runs, bench)
    show = (lambda df: markdown(df)) if fmt == "markdown" else (lambda df: df.to_string())
    summary = t["summary"].copy()
    if READINGS[rule].answered_only:   # the reference's own figure: the cases it found a letter in
        answered = summary["scored"] - summary["unparsed"] - summary["errors"]
        summary.insert(summary.columns.get_loc("ci_high") + 1, "accuracy over answered",
                       [_share(c, n) for c, n in zip(summary["correct"], answered)])
    summary["accuracy"] = [f"{_percent(a)}% [{_percent(lo, 0)}–{_percent(hi, 0)}]" if a == a else "-"
                           for a, lo, hi in zip(summary["accuracy"], summary["ci_low"], summary["ci_high"])]
    if "chance" in summary:
        summary["chance"] = [f"{_percent(c)}%" for c in summary["chance"]]
    summary["scored"] = [f"{s}/{tot}" if tot is not pd.NA else str(s)
                         for s, tot in zip(summary["scored"], summary["total"])]
    summary = summary.drop(columns=["total", "ci_low", "ci_high"]).set_index("run")
    out = io.StringIO()
    h = "## " if fmt == "markdown" else ""
    out.write(f"{h}Runs\n\n{show(summary)}\n")
    out.write(f"\nanswers read under the {rule} rule ({READINGS[rule].description}; "
              f"--answer-rule {' or '.join(rule_names())})\n")
    if READINGS[rule].answered_only:
        out.write("accuracy over answered: over the cases the reading found a letter in (the reference's own "
                  "figure; failed and unparsed cases left out), (answered cases)\n")
    out.write("\naccuracy: % [Wilson 95% interval]; errors and unparsed answers count as wrong; partial runs "
              "are scored/total so far" + ("; chance: mean of 1/options over the scored cases" if bench else
                                           "; chance needs --data (the manifest's options)") + "\n")
    cell = "% [95% interval] (cases)"
    if runs:
        out.write(f"\n{h}Accuracy by task type, {cell}\n\n{show(task_type_table(frame, runs))}\n")
    if bench is not None and runs:
        durations = list(accuracy.NEEDLE_SECONDS_LABELS)
        table = pd.concat([_crosstab(frame[frame["run"] == run.run_id], "run", "needle_duration", [run.run_id],
                                     durations, durations).iloc[:1] for run in runs])
        out.write(f"\n{h}Accuracy by needle duration (seconds), {cell}\n\n{show(table)}\n")
    for run in runs:
        status = f"{run.status}: {len(run.results)} scored" if run.partial else f"complete: {len(run.results)} cases"
        out.write(f"\n{h}{run.run_id} ({run.model}, {status}): accuracy by length x needle depth decile, "
                  f"{cell}\n\n{show(length_depth_table(frame, run.run_id))}\n")
    out.write("\nd<k>: needle depth in [k/10, (k+1)/10); depth 1.0 is in d9\n")
    out.write(report_diagnostics.render(runs, bench, show, h))
    for note in notes:
        out.write(f"note: {note}\n")
    for run in runs:
        for problem in run.problems[:5]:
            out.write(f"note: {run.run_id}: ignored line {problem}\n")
        if len(run.problems) > 5:
            out.write(f"note: {run.run_id}: ... {len(run.problems) - 5} more ignored lines\n")
    return out.getvalue()


def write_csv(runs: list[Run], folder: str | Path, bench: Benchmark | None = None) -> list[Path]:
    folder = Path(folder)
    written = []
    for name, df in tables(runs, bench).items():
        path = folder / f"{name}.csv"
        atomic.write_text(path, df.to_csv(index=False))
        written.append(path)
    return written


def report(out_root: str | Path, data: str | Path | None = None, csv_dir: str | Path | None = None,
           fmt: str = "markdown", rule: str = DEFAULT_RULE) -> str:
    bench = Benchmark.open(data) if data is not None else None
    runs, notes = load_runs(out_root, bench, rule)
    text = render(runs, notes, fmt, bench, rule)
    if csv_dir is not None:
        for path in write_csv(runs, csv_dir, bench):
            text += f"wrote {path}\n"
    return text
