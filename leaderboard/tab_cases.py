"""The Case browser tab: filter cases, compare the runs' answers, see the case's timeline
with the needle marked and thumbnails around it."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from leaderboard import cases as cs
from leaderboard import charts
from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard.page import Page, csv_button, svg_button
from niah import accuracy

TITLE = "Case browser"
THUMB = (128, 128)


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


def render(page: Page) -> None:
    tables, manifest, data_dir = page.tables, page.manifest, page.data_dir
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
    csv_button(table, "cases", runs, "dl_cases")
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
        st.caption(f"length {case['length']:,} frames ({cs.hms(case['length'] / fps)}) · depth {case['depth']:.3f} · "
                   + " · ".join(cs.needle_spans(case["needles"], fps)))
        st.text(f"task: {case['family']}, {case['task_type']} · domain: {case['domain']}")
        timeline = charts.case_timeline(cs.timeline(case["segments"], fps), "The whole case")
        st.altair_chart(timeline, width="stretch", height=charts.TIMELINE_FRAME, key="cb_timeline")
        svg_button(timeline, f"timeline-{case_id}", [], "svg_timeline")
    rows = tables.results[(tables.results["case_id"] == case_id) & tables.results["run_id"].isin(runs)]
    answers = rows.assign(run=rows["run_id"].map(tables.label)).rename(columns={"letter": f"answer ({tables.rule})"})[
        ["run", f"answer ({tables.rule})", "correct", "raw_output", "error", "seconds"]]
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

