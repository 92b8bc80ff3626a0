"""The leaderboard out of the page: a LaTeX (booktabs) table and a static, self-contained
HTML page a lab can publish as it is.

    python -m leaderboard export --results results/ --data data/niah --out site/ [--rule official]

The static page holds the same tables as the live page (the same :mod:`leaderboard.board`
cells from the same :func:`leaderboard.data.build_tables`), each run's heatmap, the length
and task charts with their intervals and chance, every mark; charts are inline SVG drawn by
vl-convert (no JavaScript, no font or script fetched: the page makes no request at all).
Beside it: ``leaderboard-<rule>.tex``, ``leaderboard-<rule>.csv`` and each chart as ``.svg``.
"""
from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import pandas as pd

from leaderboard import about
from leaderboard import board as bd
from leaderboard import charts
from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard.columns import C
from leaderboard.page import export_name, file_part, run_colours
from niah import accuracy, answers
from niah.errors import InputError

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def latex_table(tables: lb.Tables) -> str:
    """The ranked entries (seed groups combined) of each section as a booktabs table:
    rank, run, accuracy with its 95 % interval, accuracy per length, "holds up to"."""
    lengths = tables.lengths
    lines = [r"% Video NIAH leaderboard; needs \usepackage{booktabs}",
             rf"% answers read under the '{tables.rule}' rule; accuracy % (Wilson 95% interval); chance "
             f"{tables.chance:.1f}%; $\\approx$1: not significantly below \\#1 (exact McNemar, Holm, 5%)",
             r"\begin{tabular}{rl" + "r" * (2 + len(lengths)) + "}", r"\toprule",
             " & ".join(["Rank", "Run", "Accuracy (95\\% CI)", *[f"@{n:,}" for n in lengths], "Holds up to"])
             + r" \\", r"\midrule"]
    for i, section in enumerate(bd.sections(tables)):
        table = bd.compact(tables, combine_seeds=True, section=section)
        ranked = table[table[C.rank.header] != "—"]
        if i:
            lines.append(r"\midrule")
            lines.append(rf"\multicolumn{{{4 + len(lengths)}}}{{l}}{{\emph{{Uploaded runs}}}} \\")
        for _, row in ranked.iterrows():
            rank = row[C.rank.header].strip().replace(" ≈#1", r" ($\approx$1)")
            ci = row[C.ci_low.header].replace("–", "--")
            acc = f"{row[C.accuracy.header].strip()} ({ci})"
            cells = [rank, latex_escape(row[C.run.header]), acc,
                     *[latex_escape(row[C.acc.header_at(n)].strip()).replace("–", "--") for n in lengths],
                     latex_escape(row[C.holds_up_to.header])]
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


# ----- static page -------------------------------------------------------------------------
_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px;color:#111827;max-width:1240px}
.scroll{overflow-x:auto;max-width:100%} .chart svg{max-width:100%;height:auto} pre{white-space:pre-wrap;font-size:12px}
table{border-collapse:collapse;font-size:13px;margin:8px 0 16px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#f3f4f6} td.reason{white-space:normal;max-width:320px}
.caption{color:#4b5563;font-size:13px;max-width:1100px} .charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{border:1px solid #e5e7eb;padding:8px;max-width:100%;box-sizing:border-box} h2{margin-top:32px}
"""


def _table_html(frame: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = "".join(f'<td{" class=reason" if c == C.reason.header else ""}>{html.escape(str(v))}</td>'
                        for c, v in row.items())
        body.append(f"<tr>{cells}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _svg(chart) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_dict())


def _chart_runs(tables: lb.Tables, all_runs: bool) -> list[str]:
    """The runs the export's charts draw: the ranked runs (each section's, in board order),
    or every run with ``all_runs``; partial runs and copies stay in the tables either way."""
    board = tables.leaderboard
    return list(board[C.run.name] if all_runs else board.loc[board[C.rankable.name].astype(bool), C.run.name])


def build_site(tables: lb.Tables, manifest: ld.Manifest, out: Path, all_runs: bool = False) -> Path:
    """Write ``index.html`` (self-contained, fitting a 1,280 px window) and the tables and
    charts beside it; charts draw the ranked runs only unless ``all_runs``."""
    out.mkdir(parents=True, exist_ok=True)
    fps = float(manifest.cases["fps"].iloc[0]) if manifest.available and len(manifest.cases) else 1.0
    colours = run_colours(tables)
    interval = ("plain Wilson 95% interval" if tables.chance_assumed else
                "cluster-aware 95% interval (Wilson's on cases / design effect of the needle questions)")
    parts = [f"<h1>Video NIAH leaderboard</h1><p class=caption>Answers read under the '{tables.rule}' rule. "
             f"Chance {tables.chance:.1f}%. Accuracy % with its {interval}; per length: accuracy "
             "(interval).</p>"]
    for section in bd.sections(tables):
        parts.append(f"<h2>{html.escape(bd.SECTION_TITLES[section])}</h2>")
        table = _table_html(bd.compact(tables, combine_seeds=True, section=section), f"board-{section}")
        parts.append(f"<div class=scroll>{table}</div>")
    parts.append(f"<p class=caption>{html.escape(bd.significance_note(tables))}</p>")
    parts.append("<p class=caption>Columns: " + " ".join(
        f"<b>{html.escape(c.header)}</b>: {html.escape(c.help)}" for c in bd.columns(tables)
        if not c.column.per_length) + "</p>")
    board = tables.leaderboard
    runs = list(board[C.run.name])
    (out / f"leaderboard-{tables.rule}.tex").write_text(latex_table(tables), encoding="utf-8")
    (out / f"{export_name('leaderboard-' + tables.rule, runs)}.csv").write_bytes(lb.to_csv_bytes(board))

    drawn = _chart_runs(tables, all_runs)
    labels = [tables.label(r) for r in drawn]
    picked = tables.by_length[tables.by_length["run_id"].isin(drawn)]
    labelled = picked.assign(run_label=picked["run_id"].map(tables.label))
    held = C.holds_up_to.name
    holds = board[board[held].notna() & board[C.run.name].isin(drawn)].assign(
        run_label=lambda b: b[C.run.name].map(tables.label))
    holds = holds[["run_label", held]].merge(labelled.rename(columns={"length": held}), on=["run_label", held])
    figures = [("accuracy-by-length", "Accuracy against haystack length (▼: holds up to)",
                charts.by_length(labelled, tables.lengths, tables.chance, fps, colours, holds))]
    by_task = tables.by_task[tables.by_task["run_id"].isin(drawn)]
    by_task = by_task.assign(run_label=by_task["run_id"].map(tables.label))
    if len(by_task):
        figures.append(("accuracy-by-task", "By task type",
                        charts.grouped_bars(by_task, "task_type", sorted(by_task["task_type"].unique()),
                                            tables.chance, colours)))
    by_duration = tables.by_duration[tables.by_duration["run_id"].isin(drawn)]
    by_duration = by_duration.assign(run_label=by_duration["run_id"].map(tables.label))
    if len(by_duration):
        order = [b for b in accuracy.NEEDLE_SECONDS_LABELS if b in set(by_duration["needle_duration"])]
        figures.append(("accuracy-by-needle-duration", "By needle duration (s)",
                        charts.grouped_bars(by_duration, "needle_duration", order, tables.chance, colours)))
    which = "every run" if all_runs else f"the {len(drawn)} ranked run(s) (partial runs and copies: in the tables)"
    parts.append(f"<h2>Breakdowns</h2><p class=caption>Charts draw {which}. Points and bars: accuracy; dark bars: "
                 f"its 95% interval; dashed line: chance ({tables.chance:.0f}%).</p><div class=charts>")
    for kind, title, chart in figures:
        svg = _svg(chart)
        (out / f"{export_name(kind, drawn)}.svg").write_text(svg, encoding="utf-8")
        parts.append(f"<div class=chart><h3>{html.escape(title)}</h3>{svg}</div>")
    heat = tables.heatmap[tables.heatmap["run_id"].isin(drawn)]
    parts.append("</div><h2>Heatmaps: haystack length × needle depth</h2><p class=caption>"
                 f"One panel per run, one colour scale for all: white at chance ({tables.chance:.0f}%), orange below, "
                 "blue above, as strong for a distance below chance as for the same distance above; grey: no case "
                 "scored; faint: not beyond chance (two-sided exact binomial test per cell, Holm over the run's "
                 "cells, 5%).</p><div class=charts>")
    if len(heat):
        grid = charts.heatmap_grid(heat.assign(run_label=heat["run_id"].map(tables.label)), labels,
                                   chance=tables.chance, lengths=tables.lengths, fps=fps)
        svg = _svg(grid)
        (out / f"{export_name('heatmaps', drawn)}.svg").write_text(svg, encoding="utf-8")
        parts.append(f'<div class=chart id="heatmaps">{svg}</div>')
    for run in drawn:
        cells = tables.heatmap[tables.heatmap["run_id"] == run]
        svg = _svg(charts.heatmap(cells, tables.label(run), chance=tables.chance, lengths=tables.lengths, fps=fps,
                                  min_cases=lb.MIN_CASES))
        (out / f"heatmap--{file_part(run)}.svg").write_text(svg, encoding="utf-8")
    parts.append("</div>")
    for section in bd.sections(tables):
        pairs = tables.pairwise[tables.pairwise["section"] == section]
        if len(pairs):
            shown = pairs.assign(a=pairs["name_a"], b=pairs["name_b"])
            names = list(dict.fromkeys([*shown["a"], *shown["b"]]))
            parts.append(f"<h2>Every pair: {html.escape(bd.SECTION_TITLES[section])}</h2><p class=caption>Row minus "
                         "column (points); ** beyond noise after Holm over the section's pairs; * uncorrected "
                         "only.</p><div class=chart>" + _svg(charts.significance(shown, names, lb.ALPHA)) + "</div>")
    parts.append(f"<h2>About</h2><p class=caption>{html.escape(about.DESCRIPTION)}</p>"
                 f"<pre>{html.escape(about.CITATION)}</pre>")
    page = ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\"><title>Video NIAH leaderboard</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>")
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leaderboard export", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--data", default="data/niah", help="benchmark folder (default: data/niah)")
    parser.add_argument("--uploads", default=None, help="uploads folder (default: <results>/uploads)")
    parser.add_argument("--out", required=True, help="folder to write index.html and its files into")
    parser.add_argument("--rule", default=answers.DEFAULT_RULE, choices=answers.rule_names(aliases=True),
                        help=f"how an answer's letter is read: {answers.rules_help()}")
    parser.add_argument("--all-runs", action="store_true",
                        help="draw every run in the charts (default: the ranked runs only)")
    args = parser.parse_args(argv)
    try:
        if not Path(args.results).is_dir():
            raise InputError("--results", f"{args.results}: not a folder")
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise InputError("--out", f"{args.out}: exists and is not a folder")
        manifest = ld.load_manifest(args.data)
        uploads = args.uploads or str(Path(args.results) / ld.UPLOADS_DIR)
        tables = lb.build_tables(ld.load_results(args.results, uploads_root=uploads), manifest, args.rule)
        if tables.leaderboard.empty:
            raise InputError("--results", f"{args.results}: no runs (folders with a run.json)")
        index = build_site(tables, manifest, out, all_runs=args.all_runs)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {index} ({len(tables.leaderboard)} runs, answers under the '{args.rule}' rule)")
    return 0
