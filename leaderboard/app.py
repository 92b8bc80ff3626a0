"""The Video NIAH leaderboard page (a thin Streamlit layer over leaderboard.data/upload).

    streamlit run leaderboard/app.py -- --results results/ --data data/niah
    python -m leaderboard [--results results/] [--data data/niah] [--port 8501]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `streamlit run` puts leaderboard/ on the path, not the repo
    sys.path.insert(0, str(_ROOT))

import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from leaderboard import data as lb  # noqa: E402
from leaderboard import upload as up  # noqa: E402

DEFAULT_RESULTS = "results"
DEFAULT_DATA = "data/niah"
THUMB = (128, 128)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="leaderboard", allow_abbrev=False)
    parser.add_argument("--results", default=os.environ.get("LEADERBOARD_RESULTS", DEFAULT_RESULTS))
    parser.add_argument("--data", default=os.environ.get("LEADERBOARD_DATA", DEFAULT_DATA))
    args, _ = parser.parse_known_args(argv)
    return args


@st.cache_data(show_spinner="Loading results…", max_entries=4)
def load_tables(results_root: str, data_dir: str, signature: tuple) -> tuple[lb.Tables, lb.Manifest]:
    """Load and aggregate once per state of the folders (``signature`` is the cache key)."""
    del signature
    manifest = lb.load_manifest(data_dir)
    return lb.build_tables(lb.load_results(results_root), manifest), manifest


@st.cache_resource(max_entries=2)
def open_benchmark(data_dir: str, fingerprint: str):
    from niah.cases import Benchmark
    bench = Benchmark.open(data_dir)
    if bench.fingerprint != fingerprint:
        raise RuntimeError("benchmark changed on disk; reload the page")
    return bench


@st.cache_data(max_entries=128, show_spinner=False)
def thumbnails(data_dir: str, fingerprint: str, case_id: str):
    """(before, needle, after): lists of (frame index, RGB array) at 128x128."""
    bench = open_benchmark(data_dir, fingerprint)
    case = bench.case(case_id)
    groups = lb.thumbnail_indices(case.length, case.needle.start_frame, case.needle.num_frames)
    flat = [i for g in groups for i in g]
    frames = bench.frames_at(case, flat, size=THUMB)
    out, k = [], 0
    for group in groups:
        out.append([(i, frames[k + j]) for j, i in enumerate(group)])
        k += len(group)
    return out


def csv_button(frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(f"Download {name}.csv", lb.to_csv_bytes(frame), file_name=f"{name}.csv",
                       mime="text/csv", key=key, on_click="ignore")


PCT = st.column_config.NumberColumn(format="%.1f")


# ----- charts ------------------------------------------------------------------------
def heatmap_chart(cells: pd.DataFrame, title: str, *, diff: bool = False, selectable: bool = False):
    value = "difference" if diff else "accuracy"
    scale = (alt.Scale(domain=[-100, 0, 100], scheme="redblue") if diff
             else alt.Scale(domain=[0, 100], scheme="redyellowgreen"))
    tooltip = ([alt.Tooltip("length:O", title="haystack length"), alt.Tooltip("depth_range:N", title="depth"),
                alt.Tooltip("accuracy_a:Q", title="accuracy A %", format=".1f"), alt.Tooltip("n_a:Q", title="cases A"),
                alt.Tooltip("accuracy_b:Q", title="accuracy B %", format=".1f"), alt.Tooltip("n_b:Q", title="cases B"),
                alt.Tooltip("difference:Q", title="A − B", format="+.1f")] if diff else
               [alt.Tooltip("length:O", title="haystack length"), alt.Tooltip("depth_range:N", title="depth"),
                alt.Tooltip("accuracy:Q", title="accuracy %", format=".1f"), alt.Tooltip("n:Q", title="cases")])
    base = alt.Chart(cells).encode(
        x=alt.X("depth_decile:O", title="needle depth (start of haystack = 0%)",
                scale=alt.Scale(domain=list(range(10))),
                axis=alt.Axis(labelExpr="datum.value * 10 + '–' + (datum.value * 10 + 10) + '%'", labelAngle=0)),
        y=alt.Y("length:O", title="haystack length (frames)", sort="descending"))
    rect = base.mark_rect().encode(color=alt.Color(f"{value}:Q", scale=scale, title="A − B %" if diff else "acc %"),
                                   tooltip=tooltip)
    if selectable:
        cell = alt.selection_point(name="cell", fields=["length", "depth_decile"])
        rect = rect.add_params(cell).encode(opacity=alt.condition(cell, alt.value(1.0), alt.value(0.55)))
    text = base.mark_text(fontSize=11).encode(text=alt.Text(f"{value}:Q", format="+.0f" if diff else ".0f"))
    # the title goes on the layer (a title on each layer breaks the layout); the height is set
    # both here (plot area) and on st.altair_chart (the frame), or the rows collapse
    return (rect + text).properties(title=title, height=40 * max(1, cells["length"].nunique()))


def heat_height(cells: pd.DataFrame) -> int:
    """Frame height for st.altair_chart: plot rows plus title, axis and labels."""
    return 150 + 40 * max(1, cells["length"].nunique())


def grouped_bars(frame: pd.DataFrame, category: str, title: str):
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X(f"{category}:N", title=category.replace("_", " ")),
        xOffset="model_run:N",
        y=alt.Y("accuracy:Q", title="accuracy %", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("model_run:N", title="run"),
        tooltip=["model_run", category, alt.Tooltip("accuracy:Q", format=".1f"), "n"])


def with_label(frame: pd.DataFrame, tables: lb.Tables) -> pd.DataFrame:
    return frame.assign(model_run=frame["run_id"].map({r: tables.label(r) for r in tables.run_ids}))


# ----- sections ----------------------------------------------------------------------
def section_leaderboard(tables: lb.Tables) -> None:
    board = tables.leaderboard.copy()
    board["status"] = board["status"].map(lambda s: s if s == "complete" else f"⚠ {s}")
    board["manifest"] = board["manifest"].map(lambda s: "⚠ DIFFERS" if s == "DIFFERS" else s)
    config = {"rank": st.column_config.NumberColumn("rank", format="%d", help="Only complete runs on this "
                                                    "benchmark are ranked"),
              "accuracy": st.column_config.NumberColumn("accuracy %", format="%.1f"),
              "s/case": st.column_config.NumberColumn("s/case", format="%.2f"),
              **{f"acc@{n}": st.column_config.NumberColumn(f"@{n} %", format="%.1f") for n in tables.lengths}}
    st.dataframe(board, hide_index=True, column_config=config, key="board")
    partial = int((~tables.leaderboard["status"].eq("complete")).sum())
    differs = int(tables.leaderboard["manifest"].eq("DIFFERS").sum())
    notes = ["Click a column header to sort. Accuracy is over the cases a run scored."]
    if partial:
        notes.append(f"**{partial} run(s) not complete**: marked ⚠ and not ranked.")
    if differs:
        notes.append(f"**{differs} run(s) scored another manifest** (fingerprint differs from the opened "
                     "benchmark): flagged ⚠ DIFFERS and not ranked.")
    st.caption(" ".join(notes))
    csv_button(tables.leaderboard, "leaderboard", "dl_board")
    if tables.problems:
        with st.expander(f"Problems reading {len(tables.problems)} run(s)"):
            for run_id, problems in tables.problems.items():
                st.markdown(f"**{run_id}**: {len(problems)} problem(s)")
                st.code("\n".join(problems[:30]) + ("\n…" if len(problems) > 30 else ""), language=None)


def section_heatmaps(tables: lb.Tables) -> None:
    runs = tables.run_ids
    view = st.radio("View", ["Single run", "Side by side", "Difference (A − B)"], horizontal=True, key="hm_view")
    if view == "Single run" or len(runs) < 2:
        if view != "Single run":
            st.info("Two runs are needed to compare; showing one.")
        run = st.selectbox("Run", runs, format_func=tables.label, key="hm_a")
        cells = tables.heatmap[tables.heatmap["run_id"] == run]
        event = st.altair_chart(heatmap_chart(cells, tables.label(run), selectable=True), key="hm_chart",
                                on_select="rerun", selection_mode="cell", width="stretch",
                                height=heat_height(cells))
        _cell_to_filters(event)
        st.caption("Click a cell to filter the case browser to it. Hover for accuracy and case count.")
        csv_button(cells, f"heatmap-{run}", "dl_heat")
    else:
        col_a, col_b = st.columns(2)
        run_a = col_a.selectbox("Run A", runs, format_func=tables.label, key="hm_a")
        run_b = col_b.selectbox("Run B", runs, index=1, format_func=tables.label, key="hm_b")
        if view == "Side by side":
            for col, run in ((col_a, run_a), (col_b, run_b)):
                cells = tables.heatmap[tables.heatmap["run_id"] == run]
                col.altair_chart(heatmap_chart(cells, tables.label(run)), width="stretch",
                                 height=heat_height(cells))
            csv_button(tables.heatmap[tables.heatmap["run_id"].isin([run_a, run_b])], "heatmap-pair", "dl_heat")
        else:
            diff = lb.heatmap_difference(tables.heatmap, run_a, run_b)
            st.altair_chart(heatmap_chart(diff, f"{tables.label(run_a)} − {tables.label(run_b)}", diff=True),
                            width="stretch", height=heat_height(diff))
            st.caption("Blue: A more accurate; red: B more accurate. Only cells both runs scored.")
            csv_button(diff, "heatmap-difference", "dl_heat")


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


def section_breakdowns(tables: lb.Tables) -> None:
    runs = st.multiselect("Runs", tables.run_ids, default=tables.run_ids[:8], format_func=tables.label,
                          key="bd_runs")
    pick = lambda f: with_label(f[f["run_id"].isin(runs)], tables)  # noqa: E731
    by_length = pick(tables.by_length)
    st.subheader("Accuracy against haystack length")
    if len(by_length):
        line = alt.Chart(by_length).mark_line(point=True).encode(
            x=alt.X("length:Q", title="haystack length (frames)", scale=alt.Scale(zero=False),
                    axis=alt.Axis(values=tables.lengths, grid=False)),
            y=alt.Y("accuracy:Q", title="accuracy %", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("model_run:N", title="run"),
            tooltip=["model_run", "length", alt.Tooltip("accuracy:Q", format=".1f"), "n"])
        st.altair_chart(line, width="stretch")
    csv_button(tables.by_length, "accuracy-by-length", "dl_len")

    st.subheader("By task type")
    by_task = pick(tables.by_task)
    if len(by_task):
        st.altair_chart(grouped_bars(by_task, "task_type", ""), width="stretch")
        st.dataframe(by_task.pivot(index="task_type", columns="model_run", values="accuracy"),
                     column_config={c: PCT for c in by_task["model_run"].unique()})
    csv_button(tables.by_task, "accuracy-by-task", "dl_task")

    st.subheader("By needle duration")
    by_dur = pick(tables.by_duration)
    if len(by_dur):
        order = [l for l in lb.duration_labels() if l in set(by_dur["needle_duration"])]
        chart = grouped_bars(by_dur, "needle_duration", "").encode(
            x=alt.X("needle_duration:N", sort=order, title="needle duration"))
        st.altair_chart(chart, width="stretch")
    else:
        st.info("Needle durations come from the benchmark manifest, which is not open.")
    csv_button(tables.by_duration, "accuracy-by-needle-duration", "dl_dur")


def section_cases(tables: lb.Tables, manifest: lb.Manifest, data_dir: str) -> None:
    runs = st.multiselect("Runs to compare", tables.run_ids, default=tables.run_ids[:4],
                          format_func=tables.label, key="cb_runs")
    c1, c2, c3, c4 = st.columns(4)
    lengths = sorted(set(tables.lengths) | (set(manifest.cases["length"].astype(int)) if manifest.available else set()))
    if st.session_state.get("cb_length") not in [None, *lengths]:
        st.session_state["cb_length"] = None
    length = c1.selectbox("Haystack length", [None, *lengths], key="cb_length",
                          format_func=lambda v: "all" if v is None else str(v))
    decile = c2.selectbox("Depth decile", [None, *range(10)], key="cb_decile",
                          format_func=lambda v: "all" if v is None else lb.depth_range(v))
    source = manifest.cases if manifest.available else tables.results
    task_types = sorted(source["task_type"].dropna().unique())
    task = c3.selectbox("Task type", [None, *task_types], key="cb_task",
                        format_func=lambda v: "all" if v is None else v)
    outcome = c4.selectbox("Outcome", ["all", "any wrong", "all wrong", "all right", "models disagree"],
                           key="cb_outcome")
    search = st.text_input("Search case id or question", key="cb_search")
    table = lb.case_table(tables, manifest, runs, length=length, decile=decile, task_type=task,
                          outcome=outcome, search=search)
    st.caption(f"{len(table)} case(s)")
    st.dataframe(table, hide_index=True, column_config={"depth": st.column_config.NumberColumn(format="%.3f")},
                 key="cb_table")
    csv_button(table, "cases", "dl_cases")
    if table.empty:
        return
    case_id = st.selectbox("Case", table["case_id"].tolist(), key="cb_case")
    _case_detail(tables, manifest, runs, case_id, data_dir)


def _case_detail(tables: lb.Tables, manifest: lb.Manifest, runs: list[str], case_id: str, data_dir: str) -> None:
    info = manifest.cases[manifest.cases["case_id"] == case_id] if manifest.available else pd.DataFrame()
    st.markdown(f"#### {case_id}")
    if len(info):
        case = info.iloc[0]
        st.markdown(f"**Q:** {case['question']}")
        for option in case["options"]:
            gold = str(option).split(".", 1)[0].strip() == case["answer"]
            st.markdown(f"- {'**' + option + '** ✓ (gold)' if gold else option}")
        st.caption(f"length {case['length']} frames · depth {case['depth']:.3f} · needle frames "
                   f"{case['needle_start']}–{case['needle_start'] + case['needle_frames'] - 1} · "
                   f"task {case['task_type']} · {case['domain']}")
    rows = tables.results[(tables.results["case_id"] == case_id) & tables.results["run_id"].isin(runs)]
    answers = rows.assign(run=rows["run_id"].map(tables.label))[
        ["run", "prediction", "correct", "raw_output", "error", "seconds"]]
    st.dataframe(answers, hide_index=True, key="cb_answers")
    if not (len(info) and manifest.frames_ok):
        st.caption("Thumbnails need the benchmark's frame store (not available).")
        return
    try:
        before, needle, after = thumbnails(data_dir, manifest.fingerprint, case_id)
    except Exception as exc:  # a damaged store shows a message, not a traceback
        st.warning(f"Could not read frames: {exc}")
        return
    for title, group in (("Haystack before the needle", before), ("Needle", needle),
                         ("Haystack after the needle", after)):
        if group:
            st.markdown(f"**{title}**")
            st.image([f for _, f in group], caption=[f"frame {i}" for i, _ in group], width=128)


def section_upload(results_root: str, manifest: lb.Manifest) -> None:
    st.markdown(f"Upload a results JSONL file (one `Result` per line, at most "
                f"{up.MAX_UPLOAD_BYTES // (1024 * 1024)} MiB). It is validated against the schema and the "
                f"opened benchmark's manifest, and saved as a new run under `{results_root}/`.")
    if msg := st.session_state.pop("upload_saved", None):
        st.success(msg)
    gen = st.session_state.setdefault("upload_gen", 0)
    file = st.file_uploader("Results file", type=["jsonl", "json", "txt"], key=f"upload_{gen}",
                            max_upload_size=64)
    if file is None:
        return
    check = up.validate_upload(file.getvalue(), manifest.cases if manifest.available else None)
    shown_name = up.sanitize_run_name(file.name, 128)
    if not check.ok:
        count = len(check.problems) + check.truncated
        fence = "\n```\n"
        st.error(f"Upload refused: {shown_name} is not a valid results file ({count} problem(s)); nothing was "
                 f"saved.\n{fence}{check.summary().replace('```', '`‘`')}{fence}")
        return
    st.success(f"{shown_name}: {len(check.results)} valid results for model `{check.model}`.")
    name = st.text_input("Run name", value=up.default_run_name(file.name, check.model), key="upload_name")
    c1, c2, c3 = st.columns(3)
    settings = {"frames": c1.text_input("frames (optional)", key="up_frames"),
                "keyframes_k": c2.text_input("K (optional)", key="up_k"),
                "tau": c3.text_input("τ (optional)", key="up_tau")}
    st.caption(f"Will be saved as `{up.sanitize_run_name(name)}`.")
    if st.button("Save run", key="upload_save"):
        settings = {k: _number(v) for k, v in settings.items()}
        run_dir = up.save_upload(check, results_root, name, filename=file.name,
                                 manifest_fingerprint=manifest.fingerprint, cases_total=len(manifest.cases),
                                 settings=settings)
        st.session_state["upload_saved"] = f"Saved run `{run_dir.name}` ({len(check.results)} results)."
        st.session_state["upload_gen"] = gen + 1
        st.rerun()


def _number(text: str):
    text = (text or "").strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text or None


def main() -> None:
    st.set_page_config(page_title="Video NIAH leaderboard", layout="wide")
    args = parse_args(sys.argv[1:])
    results_root, data_dir = args.results, args.data
    st.title("Video NIAH leaderboard")
    tables, manifest = load_tables(results_root, data_dir, lb.folder_signature(results_root, data_dir))
    st.caption(f"Results: `{results_root}` · Benchmark: `{data_dir}`"
               + (f" · {len(manifest.cases)} cases, manifest `{manifest.fingerprint[:12]}`" if manifest.available
                  else ""))
    if manifest.message:
        st.warning(manifest.message)
    if tables.leaderboard.empty:
        st.info(f"No results yet: `{results_root}` holds no runs (folders with a run.json). "
                "Score a model with the runner, or upload a results file below.")
        st.subheader("Upload results")
        section_upload(results_root, manifest)
        return
    tabs = st.tabs(["Leaderboard", "Heatmaps", "Breakdowns", "Case browser", "Upload"])
    with tabs[0]:
        section_leaderboard(tables)
    with tabs[1]:
        section_heatmaps(tables)
    with tabs[2]:
        section_breakdowns(tables)
    with tabs[3]:
        section_cases(tables, manifest, data_dir)
    with tabs[4]:
        section_upload(results_root, manifest)


main()
