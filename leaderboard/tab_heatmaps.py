"""The Heatmaps tab: a run's length x depth grid (the NIAH picture), two side by side, or
their difference by the exact paired test with per-length and per-depth margins; task type
x length and needle duration x length grids."""
from __future__ import annotations

import streamlit as st

from leaderboard import charts
from leaderboard import data as lb
from leaderboard.columns import C
from leaderboard.page import Page, csv_button, svg_button
from niah import accuracy

TITLE = "Heatmaps"
VIEWS = ["Single run", "Ranked runs", "Side by side", "Difference (A − B)", "Task type × length",
         "Needle duration × length"]


def heat_caption(tables: lb.Tables) -> str:
    return (f"Each cell: accuracy % and n (cases); * fewer than {lb.MIN_CASES} cases; grey: no case scored. "
            f"Colour: white at chance ({tables.chance:.0f}%), orange below, blue above; one scale for every run. "
            "The colour is as strong for a distance below chance as for the same distance above. Faint: not "
            "distinguishable from guessing (two-sided exact binomial test of the cell against chance, Holm over the "
            "run's cells, 5%). Hover for the 95% interval.")


def render(page: Page) -> None:
    tables = page.tables
    runs = tables.run_ids
    view = st.radio("View", VIEWS, horizontal=True, key="view", bind="query-params")
    draw = dict(chance=tables.chance, lengths=tables.lengths, fps=page.fps, min_cases=lb.MIN_CASES)
    if view == "Ranked runs":
        _small_multiples(page)
        return
    if view in ("Single run", "Task type × length", "Needle duration × length") or len(runs) < 2:
        if view in ("Side by side", "Difference (A − B)"):
            st.info("Two runs are needed to compare; showing one.")
        run = st.selectbox("Run", runs, format_func=tables.label, key="a", bind="query-params")
        _warn_unparsed(tables, {"This run": run})
        if view == "Task type × length":
            _grid(page, run, tables.by_task_length, "task_type", "task type",
                  sorted(tables.by_task_length["task_type"].dropna().unique()))
            return
        if view == "Needle duration × length":
            if not len(tables.by_duration_length):
                st.info("Needle durations come from the benchmark manifest, which is not open.")
                return
            _grid(page, run, tables.by_duration_length, "needle_duration", "needle duration (s)",
                  list(accuracy.NEEDLE_SECONDS_LABELS))
            return
        cells = tables.heatmap[tables.heatmap["run_id"] == run]
        chart = charts.heatmap(cells, tables.label(run), selectable=True, **draw)
        event = st.altair_chart(chart, key="hm_chart", on_select="rerun", selection_mode="cell", width="stretch",
                                height=charts.HEATMAP_FRAME)
        _cell_to_filters(event)
        st.caption(heat_caption(tables) + " Click a cell to filter the case browser to it.")
        csv_button(cells, "heatmap", [run], "dl_heat")
        svg_button(chart, "heatmap", [run], "svg_heat")
        return
    col_a, col_b = st.columns(2)
    with col_a:
        run_a = st.selectbox("Run A", runs, format_func=tables.label, key="a", bind="query-params")
    with col_b:
        run_b = st.selectbox("Run B", runs, index=1, format_func=tables.label, key="b", bind="query-params")
    _warn_unparsed(tables, {"Run A": run_a, "Run B": run_b})
    if view == "Side by side":
        for col, run, key in ((col_a, run_a, "svg_heat_a"), (col_b, run_b, "svg_heat_b")):
            cells = tables.heatmap[tables.heatmap["run_id"] == run]
            chart = charts.heatmap(cells, tables.label(run), narrow=True, **draw)
            col.altair_chart(chart, width="stretch", height=charts.HEATMAP_FRAME + 40)
            with col:
                svg_button(chart, "heatmap", [run], key)
        st.caption(heat_caption(tables))
        csv_button(tables.heatmap[tables.heatmap["run_id"].isin([run_a, run_b])], "heatmap", [run_a, run_b],
                   "dl_heat")
        return
    render_difference(page, run_a, run_b)


def render_difference(page: Page, run_a: str, run_b: str) -> None:
    tables = page.tables
    diff = lb.paired_difference(tables, run_a, run_b)
    overall = diff.overall.iloc[0] if len(diff.overall) else None
    partial = [tables.label(r) for r in (run_a, run_b)
               if not tables.leaderboard.set_index(C.run.name).at[r, C.status.name] == "complete"]
    if overall is None:
        st.warning("The two runs have no case in common: nothing to compare.")
        return
    head = (f"A − B = {overall['difference']:+.1f} points on the {diff.common} cases both answered "
            f"(exact McNemar test: A right where B is wrong on {overall['a_only']}, the reverse on "
            f"{overall['b_only']}; p = {overall['p']:.3g}).")
    if partial or diff.only_a or diff.only_b:
        st.warning(head + f" Partial comparison: {diff.only_a} case(s) only A answered and {diff.only_b} only B "
                   "answered are left out" + (" (partial run: " + "; ".join(partial) + ")." if partial else "."))
    else:
        st.success(head)
    chart = charts.difference(diff.cells, f"A − B: {tables.label(run_a)} − {tables.label(run_b)}",
                              lengths=tables.lengths, fps=page.fps)
    st.altair_chart(chart, width="stretch", height=charts.HEATMAP_FRAME)
    covered = int(diff.cells["covered"].sum())
    holm = int(diff.cells["verdict"].str.startswith("beyond").sum())
    loose = int(diff.cells["verdict"].str.startswith("p <").sum())
    st.caption(f"Cells: the difference covers {covered} of {len(diff.cells)} cells (those with common cases). "
               f"{holm} cell(s) differ beyond noise (exact McNemar per cell, Holm over the {covered} cells, 5%; **); "
               f"{loose} more pass uncorrected (*), where about {lb.ALPHA * covered:.1f} would by chance alone. "
               "Blue: A more accurate; orange: B; faint: within noise.")
    st.markdown("**Margins** (far more cases than a cell: exact McNemar per row, Holm within each table)")
    c1, c2 = st.columns(2)
    margin_cols = ["n", "accuracy_a", "accuracy_b", "difference", "a_only", "b_only", "p", "p_holm", "verdict"]
    c1.dataframe(diff.by_length[["length", *margin_cols]].round(3), hide_index=True, key="diff_len")
    c2.dataframe(diff.by_decile[["depth_range", *margin_cols]].round(3), hide_index=True, key="diff_dec")
    runs = [run_a, run_b]
    csv_button(diff.cells.assign(run_a=run_a, run_b=run_b), "difference-cells", runs, "dl_diff")
    csv_button(diff.by_length.assign(run_a=run_a, run_b=run_b), "difference-by-length", runs, "dl_diff_len")
    csv_button(diff.by_decile.assign(run_a=run_a, run_b=run_b), "difference-by-depth", runs, "dl_diff_dec")
    svg_button(chart, "difference", runs, "svg_diff")


def _small_multiples(page: Page) -> None:
    """Every ranked run's heatmap, small, on one shared colour scale (the V-NIAH figure)."""
    tables = page.tables
    board = tables.leaderboard
    ranked = list(board.loc[board[C.rankable.name].astype(bool), C.run.name])
    if not ranked:
        st.info("No run is ranked yet (complete runs of this benchmark).")
        return
    cells = tables.heatmap[tables.heatmap["run_id"].isin(ranked)]
    cells = cells.assign(run_label=cells["run_id"].map(tables.label))
    chart = charts.heatmap_grid(cells, [tables.label(r) for r in ranked], chance=tables.chance,
                                lengths=tables.lengths, fps=page.fps)
    rows = -(-len(ranked) // charts.SMALL_COLUMNS)
    st.altair_chart(chart, height=rows * (charts.SMALL_ROW * 10 + 110) + 40)
    st.caption(f"The {len(ranked)} ranked run(s) in rank order, one shared colour scale. " + heat_caption(tables))
    svg_button(chart, "heatmaps", ranked, "svg_heat_all")


def _grid(page: Page, run: str, frame, y_field: str, y_title: str, order: list[str]) -> None:
    tables = page.tables
    cells = frame[frame["run_id"] == run]
    chart = charts.heatmap(cells, tables.label(run), chance=tables.chance, lengths=tables.lengths, fps=page.fps,
                           min_cases=lb.MIN_CASES, y_field=y_field, y_title=y_title, y_sort=order)
    st.altair_chart(chart, width="stretch", height=charts.ROW * len(order) + 140)
    st.caption(heat_caption(tables))
    kind = f"{y_field.replace('_', '-')}-by-length"
    csv_button(cells, kind, [run], f"dl_{y_field}")
    svg_button(chart, kind, [run], f"svg_{y_field}")


def _warn_unparsed(tables: lb.Tables, runs: dict[str, str]) -> None:
    """Say so where a run's low accuracy is (partly) answers that could not be parsed
    (``runs``: how the page refers to each run -> run id)."""
    board = tables.leaderboard.set_index(C.run.name)
    for role, run in runs.items():
        share = board.at[run, C.unparsed_pct.name]
        if share > lb.HIGH_UNPARSED_PCT:
            st.warning(f"{role}: {share:.0f}% of the answers could not be parsed (counted wrong); its cells measure "
                       "the answer format as much as the model.")


def _cell_to_filters(event) -> None:
    """A clicked heatmap cell becomes the case browser's length/decile filter (once per click)."""
    try:
        points = event["selection"]["cell"]
    except (KeyError, TypeError):
        return
    point = points[0] if points else None
    key = (point.get("length"), point.get("depth_decile")) if isinstance(point, dict) else None
    if key == st.session_state.get("_last_cell"):
        return
    st.session_state["_last_cell"] = key
    if key and key[0] is not None:
        st.session_state["cb_length"] = int(key[0])
        st.session_state["cb_decile"] = int(key[1])
