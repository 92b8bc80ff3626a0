"""The Video NIAH leaderboard page: a thin Streamlit layer over ``leaderboard.data``
(aggregation), ``board`` (the main table), ``charts``, ``cases`` and ``upload``.

Every string that comes from a results file, a run folder or an upload (model names, run
ids, raw outputs, problems) is shown through ``st.text``, ``st.code``, a dataframe or a
chart, never through Markdown, so no name can add a link, an image or a code span.

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

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from leaderboard import board as bd  # noqa: E402
from leaderboard import cases as cs  # noqa: E402
from leaderboard import charts  # noqa: E402
from leaderboard import data as lb  # noqa: E402
from leaderboard import loading as ld  # noqa: E402
from leaderboard import tab_diagnostics  # noqa: E402
from leaderboard import upload as up  # noqa: E402
from niah import accuracy  # noqa: E402

DEFAULT_RESULTS = "results"
DEFAULT_DATA = "data/niah"
THUMB = (128, 128)
HIGH_UNPARSED_PCT = 10.0  # a run above this is warned about: its accuracy measures its answer format too


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="leaderboard", allow_abbrev=False)
    parser.add_argument("--results", default=os.environ.get("LEADERBOARD_RESULTS", DEFAULT_RESULTS))
    parser.add_argument("--data", default=os.environ.get("LEADERBOARD_DATA", DEFAULT_DATA))
    args, _ = parser.parse_known_args(argv)
    return args


@st.cache_data(show_spinner="Loading results…", max_entries=4)
def load_tables(results_root: str, data_dir: str, signature: tuple) -> tuple[lb.Tables, ld.Manifest]:
    """Load and aggregate once per state of the folders (``signature`` is the cache key)."""
    del signature
    manifest = ld.load_manifest(data_dir)
    return lb.build_tables(ld.load_results(results_root), manifest), manifest


@st.cache_resource(max_entries=2)
def open_benchmark(data_dir: str, fingerprint: str):
    from niah.cases import Benchmark
    bench = Benchmark.open(data_dir)
    if bench.fingerprint != fingerprint:
        raise RuntimeError("benchmark changed on disk; reload the page")
    return bench


@st.cache_data(max_entries=128, show_spinner=False)
def thumbnails(data_dir: str, fingerprint: str, case_id: str, stride: int):
    """(before, needle, after): lists of (frame index, RGB array) at 128x128."""
    bench = open_benchmark(data_dir, fingerprint)
    case = bench.case(case_id)
    groups = cs.thumbnail_indices(case.length, case.needle.start_frame, case.needle.num_frames, stride)
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


def fps_of(manifest: ld.Manifest) -> float:
    """The benchmark's frame rate (1 FPS as built); lengths are shown in time at it."""
    return float(manifest.cases["fps"].iloc[0]) if manifest.available and len(manifest.cases) else 1.0


def run_labels(frame: pd.DataFrame, tables: lb.Tables) -> pd.DataFrame:
    return frame.assign(run_label=frame["run_id"].map(tables.label))


def _names(values) -> str:
    return ", ".join(str(v) for v in values)


# ----- sections ----------------------------------------------------------------------
def section_leaderboard(tables: lb.Tables) -> None:
    has_seeds = bool((tables.leaderboard["seed_group"].value_counts() > 1).any())
    combine = st.checkbox("Combine runs that differ only by seed", value=True, key="combine_seeds",
                          disabled=not has_seeds)
    st.dataframe(bd.compact(tables, combine_seeds=combine), hide_index=True, key="board")
    board = tables.leaderboard
    notes = [f"Accuracy % over the cases a run scored, with its Wilson 95% interval; per length: accuracy "
             f"(interval). Chance is {tables.chance:.1f}%"
             + (" (assumed: 4 options; no benchmark open)." if tables.chance_assumed else
                " (mean of 1/options over the benchmark's cases).")
             + " Unparsed answers and failed cases count as wrong."]
    if not board["status"].eq("complete").all() or board["manifest"].eq("DIFFERS").any():
        notes.append("Ranked: complete runs on this benchmark only; partial runs, runs on another manifest and "
                     "copies of another run's answers are listed after them, not ranked.")
    st.caption(" ".join(notes))
    if has_seeds and combine:
        st.caption("A combined row's accuracy is the mean over its seeds; its '95% CI' column gives the seeds' "
                   "range and its status their standard deviation.")
        with st.expander("Seeds behind the combined rows"):
            st.dataframe(bd.seed_runs(tables), hide_index=True, key="board_seeds")
    high = board[board["unparsed %"] > HIGH_UNPARSED_PCT]
    if len(high):
        st.warning(f"{len(high)} run(s) have more than {HIGH_UNPARSED_PCT:.0f}% unparsed answers, counted as wrong: "
                   "their accuracy measures the answer format as much as the model.")
        st.text(_names(high["run"]))
    copies = board[board["duplicate_of"] != ""]
    if len(copies):
        st.warning(f"{len(copies)} run(s) hold exactly the answers of another run (same content hash) and are "
                   "not ranked:")
        st.text("\n".join(f"{r} = {d}" for r, d in zip(copies["run"], copies["duplicate_of"])))
    with st.expander("Run details: settings, model paths, provenance"):
        st.dataframe(bd.details(tables), hide_index=True, key="board_details")
    csv_button(tables.leaderboard, "leaderboard", "dl_board")
    if tables.problems:
        with st.expander(f"Problems reading {len(tables.problems)} run(s)"):
            for run_id, problems in tables.problems.items():
                st.text(f"{run_id}: {len(problems)} problem(s)")
                st.code("\n".join(problems[:30]) + ("\n…" if len(problems) > 30 else ""), language=None)


def _heat_caption(tables: lb.Tables) -> str:
    return (f"Each cell: accuracy % and n (cases); * fewer than {lb.MIN_CASES} cases; grey: no case scored. "
            f"Colour: white at chance ({tables.chance:.0f}%), orange below, blue above; one scale for every run. "
            "Hover for the 95% interval.")


def section_heatmaps(tables: lb.Tables, fps: float) -> None:
    runs = tables.run_ids
    view = st.radio("View", ["Single run", "Side by side", "Difference (A − B)"], horizontal=True, key="hm_view")
    draw = dict(chance=tables.chance, lengths=tables.lengths, fps=fps, min_cases=lb.MIN_CASES)
    if view == "Single run" or len(runs) < 2:
        if view != "Single run":
            st.info("Two runs are needed to compare; showing one.")
        run = st.selectbox("Run", runs, format_func=tables.label, key="hm_a")
        _warn_unparsed(tables, {"This run": run})
        cells = tables.heatmap[tables.heatmap["run_id"] == run]
        event = st.altair_chart(charts.heatmap(cells, tables.label(run), selectable=True, **draw), key="hm_chart",
                                on_select="rerun", selection_mode="cell", width="stretch",
                                height=charts.HEATMAP_FRAME)
        _cell_to_filters(event)
        st.caption(_heat_caption(tables) + " Click a cell to filter the case browser to it.")
        csv_button(cells, "heatmap", "dl_heat")
        return
    col_a, col_b = st.columns(2)
    run_a = col_a.selectbox("Run A", runs, format_func=tables.label, key="hm_a")
    run_b = col_b.selectbox("Run B", runs, index=1, format_func=tables.label, key="hm_b")
    _warn_unparsed(tables, {"Run A": run_a, "Run B": run_b})
    if view == "Side by side":
        for col, run in ((col_a, run_a), (col_b, run_b)):
            cells = tables.heatmap[tables.heatmap["run_id"] == run]
            col.altair_chart(charts.heatmap(cells, tables.label(run), **draw), width="stretch",
                             height=charts.HEATMAP_FRAME)
        st.caption(_heat_caption(tables))
        csv_button(tables.heatmap[tables.heatmap["run_id"].isin([run_a, run_b])], "heatmap-pair", "dl_heat")
        return
    diff = lb.heatmap_difference(tables.heatmap, run_a, run_b)
    st.altair_chart(charts.difference(diff, f"A − B: {tables.label(run_a)} − {tables.label(run_b)}",
                                      lengths=tables.lengths, fps=fps), width="stretch", height=charts.HEATMAP_FRAME)
    covered = int(diff["covered"].sum())
    holm = int(diff["verdict"].str.startswith("beyond").sum())
    loose = int(diff["verdict"].str.startswith("p <").sum())
    overall, p_overall = lb.overall_difference(tables, run_a, run_b)
    message = (f"Overall: A − B = {overall:+.1f} points (two-proportion z-test p = {p_overall:.3g}). "
               f"The difference covers {covered} of {len(diff)} cells (those both runs scored). "
               f"{holm} cell(s) differ beyond noise (two-proportion z-test, Holm-corrected over the {covered} cells, "
               f"5%; marked **); {loose} more pass the test uncorrected (marked *), where about "
               f"{lb.ALPHA * covered:.1f} would by chance alone. Blue: A more accurate; orange: B.")
    (st.warning if covered < len(diff) else st.caption)(message)
    csv_button(diff, "heatmap-difference", "dl_heat")


def _warn_unparsed(tables: lb.Tables, runs: dict[str, str]) -> None:
    """Say so where a run's low accuracy is (partly) answers that could not be parsed
    (``runs``: how the page refers to each run -> run id)."""
    board = tables.leaderboard.set_index("run")
    for role, run in runs.items():
        share = board.at[run, "unparsed %"]
        if share > HIGH_UNPARSED_PCT:
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


def _interval_table(frame: pd.DataFrame, category: str) -> pd.DataFrame:
    cells = frame.assign(cell=[f"{a:.1f} ({lo:.0f}–{hi:.0f}), n={n}" for a, lo, hi, n in
                               zip(frame["accuracy"], frame["ci_low"], frame["ci_high"], frame["n"])])
    return cells.pivot(index=category, columns="run_label", values="cell").fillna("").reset_index()


def section_breakdowns(tables: lb.Tables, fps: float) -> None:
    runs = st.multiselect("Runs", tables.run_ids, default=tables.run_ids[:8], format_func=tables.label,
                          key="bd_runs")
    pick = lambda f: run_labels(f[f["run_id"].isin(runs)], tables)  # noqa: E731
    st.caption(f"Bars and whiskers: accuracy and its Wilson 95% interval. Dashed line: chance ({tables.chance:.0f}%).")
    st.subheader("Accuracy against haystack length")
    by_length = pick(tables.by_length)
    if len(by_length):
        st.altair_chart(charts.by_length(by_length, tables.lengths, tables.chance, fps), width="stretch",
                        height=charts.CHART_FRAME)
    csv_button(tables.by_length, "accuracy-by-length", "dl_len")

    st.subheader("By task type")
    by_task = pick(tables.by_task)
    if len(by_task):
        order = sorted(by_task["task_type"].unique())
        st.altair_chart(charts.grouped_bars(by_task, "task_type", order, tables.chance), width="stretch",
                        height=charts.CHART_FRAME)
        st.dataframe(_interval_table(by_task, "task_type"), hide_index=True, key="bd_task_table")
    csv_button(tables.by_task, "accuracy-by-task", "dl_task")

    st.subheader("By needle duration")
    by_dur = pick(tables.by_duration)
    if len(by_dur):
        order = [b for b in accuracy.NEEDLE_SECONDS_LABELS if b in set(by_dur["needle_duration"])]
        st.altair_chart(charts.grouped_bars(by_dur, "needle_duration", order, tables.chance), width="stretch",
                        height=charts.CHART_FRAME)
        st.caption("Needle duration bins in seconds, as `generator inspect` counts them.")
    else:
        st.info("Needle durations come from the benchmark manifest, which is not open.")
    csv_button(tables.by_duration, "accuracy-by-needle-duration", "dl_dur")


def section_cases(tables: lb.Tables, manifest: ld.Manifest, data_dir: str) -> None:
    runs = st.multiselect("Runs to compare", tables.run_ids, default=tables.run_ids[:4],
                          format_func=tables.label, key="cb_runs")
    c1, c2, c3, c4 = st.columns(4)
    lengths = tables.lengths
    if st.session_state.get("cb_length") not in [None, *lengths]:
        st.session_state["cb_length"] = None
    length = c1.selectbox("Haystack length", [None, *lengths], key="cb_length",
                          format_func=lambda v: "all" if v is None else str(v))
    decile = c2.selectbox("Depth decile", [None, *range(10)], key="cb_decile",
                          format_func=lambda v: "all" if v is None else accuracy.depth_label(v))
    source = manifest.cases if manifest.available else tables.results
    task_types = sorted(source["task_type"].dropna().unique())
    task = c3.selectbox("Task type", [None, *task_types], key="cb_task",
                        format_func=lambda v: "all" if v is None else v)
    outcome = c4.selectbox("Outcome", cs.OUTCOMES, key="cb_outcome")
    search = st.text_input("Search case id or question", key="cb_search")
    table = cs.case_table(tables, manifest, runs, length=length, decile=decile, task_type=task,
                          outcome=outcome, search=search)
    st.caption(f"{len(table)} case(s)")
    st.dataframe(table, hide_index=True, column_config={"depth": st.column_config.NumberColumn(format="%.3f")},
                 key="cb_table")
    csv_button(table, "cases", "dl_cases")
    if table.empty:
        return
    case_id = st.selectbox("Case", table["case_id"].tolist(), key="cb_case")
    _case_detail(tables, manifest, runs, case_id, data_dir)


def _case_detail(tables: lb.Tables, manifest: ld.Manifest, runs: list[str], case_id: str, data_dir: str) -> None:
    info = manifest.cases[manifest.cases["case_id"] == case_id] if manifest.available else pd.DataFrame()
    st.subheader("Case")
    st.text(case_id)
    if len(info):
        case = info.iloc[0]
        fps = float(case["fps"])
        st.text(f"Q: {case['question']}")
        st.text("\n".join(f"{option}   ✓ gold" if str(option).split(".", 1)[0].strip() == case["answer"]
                          else str(option) for option in case["options"]))
        start, end = case["needle_start"] / fps, (case["needle_start"] + case["needle_frames"]) / fps
        st.caption(f"length {case['length']:,} frames ({cs.hms(case['length'] / fps)}) · depth {case['depth']:.3f} · "
                   f"needle {cs.hms(start)}–{cs.hms(end)} (frames {case['needle_start']}–"
                   f"{case['needle_start'] + case['needle_frames'] - 1})")
        st.text(f"task: {case['task_type']} · domain: {case['domain']}")
        st.altair_chart(charts.case_timeline(cs.timeline(case["segments"], fps), "The whole case"),
                        width="stretch", height=charts.TIMELINE_FRAME, key="cb_timeline")
    rows = tables.results[(tables.results["case_id"] == case_id) & tables.results["run_id"].isin(runs)]
    answers = rows.assign(run=rows["run_id"].map(tables.label))[
        ["run", "prediction", "correct", "raw_output", "error", "seconds"]]
    st.dataframe(answers.astype(object).where(answers.notna(), ""), hide_index=True, key="cb_answers")
    if not (len(info) and manifest.frames_ok):
        st.caption("Thumbnails need the benchmark's frame store (not available).")
        return
    stride = st.select_slider("Thumbnail stride (frames; seconds at 1 FPS)", cs.STRIDES, value=10, key="cb_stride")
    try:
        before, needle, after = thumbnails(data_dir, manifest.fingerprint, case_id, stride)
    except Exception as exc:  # a damaged store shows a message, not a traceback
        st.warning("Could not read frames.")
        st.text(lb.public_text(str(exc), {data_dir: Path(data_dir).name}))
        return
    fps = float(info.iloc[0]["fps"])
    for title, group in (("Haystack before the needle", before), ("Needle", needle),
                         ("Haystack after the needle", after)):
        if group:
            st.markdown(f"**{title}**")
            st.image([f for _, f in group], caption=[f"{cs.hms(i / fps)} (frame {i})" for i, _ in group], width=128)


def section_upload(results_root: str, manifest: ld.Manifest, tables: lb.Tables | None) -> None:
    st.markdown(f"Upload a results JSONL file (one `Result` per line; extension {', '.join(up.EXTENSIONS)}; at most "
                f"{up.MAX_UPLOAD_MB} MB, 1 MB = 2^20 bytes). It is validated against the schema and the opened "
                "benchmark's manifest and saved as a new run in the results folder, marked as uploaded.")
    if msg := st.session_state.pop("upload_saved", None):
        st.success("Saved the upload as a new run:")
        st.text(msg)
    gen = st.session_state.setdefault("upload_gen", 0)
    file = st.file_uploader("Results file", key=f"upload_{gen}", max_upload_size=up.MAX_UPLOAD_MB)
    if file is None:
        return
    shown_name = up.sanitize_run_name(file.name, 128)
    if problem := up.check_extension(file.name):
        st.error("Upload refused; nothing was saved.")
        st.text(f"{shown_name}: {problem}")
        return
    check = up.validate_upload(file.getvalue(), manifest.cases if manifest.available else None)
    if check.ok and tables is not None and len(tables.leaderboard):
        same = tables.leaderboard[tables.leaderboard["digest"] == lb.answers_digest(up.results_frame(check))]
        if len(same):
            check.add(f"the file holds exactly the answers of run {same['run'].iloc[0]} (same content hash), "
                      "which is already on the leaderboard")
    if not check.ok:
        count = len(check.problems) + check.truncated
        st.error(f"Upload refused: not a valid results file ({count} problem(s)); nothing was saved. "
                 "The file and its problems, as read from it:")
        st.code(f"{shown_name}\n{check.summary()}", language=None)
        return
    st.success(f"{len(check.results)} valid results. The file and the model name, as given:")
    st.text(f"{shown_name}\n{check.model}")
    name = st.text_input("Run name", value=up.default_run_name(file.name, check.model), key="upload_name")
    c1, c2, c3 = st.columns(3)
    settings = {"frames": c1.text_input("frames (optional)", key="up_frames"),
                "keyframes_k": c2.text_input("K (optional)", key="up_k"),
                "tau": c3.text_input("τ (optional)", key="up_tau")}
    st.caption("Will be saved as:")
    st.text(up.sanitize_run_name(name))
    if st.button("Save run", key="upload_save"):
        settings = {k: _number(v) for k, v in settings.items()}
        run_dir = up.save_upload(check, results_root, name, filename=file.name,
                                 manifest_fingerprint=manifest.fingerprint, cases_total=len(manifest.cases),
                                 settings=settings)
        st.session_state["upload_saved"] = f"{run_dir.name} ({len(check.results)} results)"
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
    tables, manifest = load_tables(results_root, data_dir, ld.folder_signature(results_root, data_dir))
    public = {results_root: Path(results_root).name, data_dir: Path(data_dir).name}
    st.caption(f"Results folder: {Path(results_root).name} · benchmark: {Path(data_dir).name}"
               + (f" · {len(manifest.cases)} cases, manifest {manifest.fingerprint[:12]}" if manifest.available
                  else ""))
    if manifest.message:
        st.warning(lb.public_text(manifest.message, public))
    if tables.leaderboard.empty:
        st.info("No results yet: the results folder holds no runs (folders with a run.json). "
                "Score a model with the runner, or upload a results file below.")
        st.subheader("Upload results")
        section_upload(results_root, manifest, None)
        return
    fps = fps_of(manifest)
    tabs = st.tabs(["Leaderboard", "Heatmaps", "Breakdowns", "Case browser", "Upload", "Diagnostics"])
    with tabs[0]:
        section_leaderboard(tables)
    with tabs[1]:
        section_heatmaps(tables, fps)
    with tabs[2]:
        section_breakdowns(tables, fps)
    with tabs[3]:
        section_cases(tables, manifest, data_dir)
    with tabs[4]:
        section_upload(results_root, manifest, tables)
    with tabs[5]:
        tab_diagnostics.section(results_root, ld.folder_signature(results_root, data_dir),
                                manifest.cases if manifest.available else None, tables.run_ids, tables.label, fps)


main()
