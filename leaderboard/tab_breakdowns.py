"""The Breakdowns tab: accuracy against length (with each run's "holds up to" marker), by
task type and by needle duration, for the runs the user picks, seeds combined or not."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from leaderboard import charts
from leaderboard import data as lb
from leaderboard.columns import C
from leaderboard.page import Page, csv_button, svg_button
from niah import accuracy

TITLE = "Breakdowns"
DEFAULT_RUNS = 8


def series(tables: lb.Tables, runs: list[str], combine: bool) -> pd.DataFrame:
    """The picked runs' results with ``series`` (what a line or bar is) and ``run_label``:
    each run, or with ``combine`` each seed group's picked complete seeds pooled into one."""
    board = tables.leaderboard.set_index(C.run.name)
    res = tables.results[tables.results["run_id"].isin(runs)]
    label = {r: tables.label(r) for r in runs}
    if combine:
        groups = board.loc[runs].loc[lambda b: b[C.rankable.name] & b[C.seed_group.name].notna()]
        group_of = groups[C.seed_group.name]
        sizes = group_of.value_counts()
        for run, row in groups.iterrows():
            if sizes[group_of[run]] > 1:
                members = groups.index[group_of == group_of[run]]
                seeds = ", ".join(str(s) for s in sorted(groups.loc[members, C.seed.name], key=str))
                label[run] = f"{row[C.model.name]} · seeds {seeds} pooled"
    return res.assign(run_label=res["run_id"].map(label))


def render(page: Page) -> None:
    tables = page.tables
    default = tables.run_ids[:DEFAULT_RUNS]
    runs = st.multiselect("Runs", tables.run_ids, default=default, format_func=tables.label, key="runs",
                          bind="query-params")
    board = tables.leaderboard
    has_seeds = board.loc[board[C.run.name].isin(runs), C.seed_group.name].duplicated().any()
    combine = st.checkbox("Pool the seeds of a model into one series", value=False, key="bd_combine",
                          disabled=not has_seeds)
    picked = series(tables, runs, combine)
    shown = picked["run_label"].nunique()
    st.caption(f"Showing {shown} series from {len(runs)} of {len(tables.run_ids)} runs (pick more above). "
               f"Bars and points: accuracy; dark whiskers: its 95% interval (cluster-aware: Wilson's on cases / design "
               f"effect of the needle questions); dashed line: chance "
               f"({tables.chance:.0f}%). ▼ on the length chart: the length the run holds up to.")
    colours = dict(page.colours)
    for label in set(picked["run_label"]) - set(colours):  # a pooled series: its group's hue
        colours[label] = colours.get(f"{label.split(' · ')[0]} · pooled", "#6b7280")
    st.subheader("Accuracy against haystack length")
    by_length = _summary(picked, "length")
    if len(by_length):
        held = C.holds_up_to.name
        holds = board[board[C.run.name].isin(runs) & board[held].notna()]
        holds = holds.assign(run_label=holds[C.run.name].map(tables.label))[["run_label", held]]
        holds = holds.merge(by_length.rename(columns={"length": held}), on=["run_label", held])
        chart = charts.by_length(by_length, tables.lengths, tables.chance, page.fps, colours, holds)
        st.altair_chart(chart, width="stretch", height=charts.CHART_FRAME)
        svg_button(chart, "accuracy-by-length", runs, "svg_len")
    csv_button(by_length, "accuracy-by-length", runs, "dl_len")

    st.subheader("By task type")
    by_task = _summary(picked, "task_type")
    if len(by_task):
        order = sorted(by_task["task_type"].unique())
        chart = charts.grouped_bars(by_task, "task_type", order, tables.chance, colours)
        st.altair_chart(chart, width="stretch", height=charts.CHART_FRAME)
        st.dataframe(_interval_table(by_task, "task_type"), hide_index=True, key="bd_task_table")
        svg_button(chart, "accuracy-by-task", runs, "svg_task")
    csv_button(by_task, "accuracy-by-task", runs, "dl_task")

    st.subheader("By needle duration")
    if page.manifest.available and len(picked):
        seconds = picked["case_id"].map(dict(zip(page.manifest.cases["case_id"], page.manifest.cases["needle_seconds"])))
        binned = picked.assign(needle_duration=accuracy.needle_duration_bin(seconds).astype(object))
        by_dur = _summary(binned[binned["needle_duration"].notna()], "needle_duration")
        order = [b for b in accuracy.NEEDLE_SECONDS_LABELS if b in set(by_dur["needle_duration"])]
        chart = charts.grouped_bars(by_dur, "needle_duration", order, tables.chance, colours)
        st.altair_chart(chart, width="stretch", height=charts.CHART_FRAME)
        st.caption("Needle duration bins in seconds, as `generator inspect` counts them.")
        svg_button(chart, "accuracy-by-needle-duration", runs, "svg_dur")
        csv_button(by_dur, "accuracy-by-needle-duration", runs, "dl_dur")
    else:
        st.info("Needle durations come from the benchmark manifest, which is not open.")


def _summary(picked: pd.DataFrame, key: str) -> pd.DataFrame:
    """Accuracy per (series, ``key``) in percent, pooled over a series' runs."""
    out = accuracy.summarise(picked, ["run_label", key])
    for col in ("accuracy", "ci_low", "ci_high", "chance"):
        out[col] = out[col] * 100.0
    return out


def _interval_table(frame: pd.DataFrame, category: str) -> pd.DataFrame:
    cells = frame.assign(cell=[f"{a:.1f} ({lo:.0f}–{hi:.0f}), n={n}" for a, lo, hi, n in
                               zip(frame["accuracy"], frame["ci_low"], frame["ci_high"], frame["n"])])
    return cells.pivot(index=category, columns="run_label", values="cell").fillna("").reset_index()
