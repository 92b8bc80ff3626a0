"""The "Diagnostics" tab: why a model misses, and whether it guessed.

* **Needle in view**: per run, P(needle in view) (a frame the model saw at full resolution lies
  in the needle) and the accuracy given in view / not in view, each with its Wilson 95 %
  interval, beside the needle-oracle's accuracy on the same manifest (the comprehension
  ceiling); a length x depth heatmap of P(needle in view) and the conditional accuracies as
  bars with whiskers.
* **Circular vs plain** accuracy with their chance levels, and the **letters** a run answers
  against the gold letters (position bias).

Aggregation is :mod:`niah.diagnostics` (the same as ``runner report``). Results are read with
:func:`niah.results.read_run`, since the leaderboard's fast loader keeps only the accuracy
columns. Run names and other file-borne strings reach the page only as table cells and chart
text, never as Markdown (`st.dataframe`, not `st.table`, which renders Markdown in its cells).
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from leaderboard import loading as ld
from leaderboard.page import Page
from niah import diagnostics as dg
from niah.results import list_runs, read_run
from niah.view import sees_only_the_needle

TITLE = "Diagnostics"
@st.cache_data(show_spinner="Reading what the models saw…", max_entries=4)
def load(results_root: str, signature: tuple, facts: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(per-case frame, letters frame, run infos) of every run under ``results_root``;
    ``facts``: :data:`niah.diagnostics.FACT_COLUMNS` of the manifest's cases."""
    del signature  # the cache key: the folders' state
    triples, infos = [], {}
    for run_dir in list_runs(results_root):
        try:
            info, results, _ = read_run(run_dir)
        except (OSError, ValueError):
            continue  # the leaderboard tab names unreadable runs
        triples.append((run_dir.name, str(info.get("model", "?")), results))
        infos[run_dir.name] = info
    return dg.case_frame(triples, facts), dg.letter_frame(triples, facts), infos


def decomposition_table(frame: pd.DataFrame, infos: dict, label, have_manifest: bool) -> pd.DataFrame:
    """One row per run: P(needle in view), accuracy given in view / not, the oracle ceiling."""
    ceilings = dg.oracle_ceilings(frame, infos)
    rows = []
    for _, d in dg.decomposition(frame, ["run"]).iterrows():
        cells = dg.in_view_cells(d, have_manifest, "needs the benchmark")
        ceiling = ceilings.get(d["run"])
        correct = int(frame.loc[frame["run"] == d["run"], "correct"].sum())
        rows.append({"run": label(d["run"]), "accuracy": dg.format_share(*dg.proportion(correct, int(d["n"])), int(d["n"])),
                     "P(needle in view)": cells[0], "accuracy given in view": cells[1],
                     "accuracy given not in view": cells[2],
                     "needles seen": dg.needles_seen_cell(d, have_manifest, "needs the benchmark"),
                     "needle-oracle ceiling": dg.format_share(*ceiling[1:]) if ceiling else "no oracle run"})
    return pd.DataFrame(rows)


def circular_table(frame: pd.DataFrame, label) -> pd.DataFrame:
    rows = []
    for _, c in dg.circular_summary(frame).iterrows():
        rows.append({"run": label(c["run"]), "plain (rotation 0)": dg.format_share(c["plain"], c["plain_low"], c["plain_high"]),
                     "plain chance": f"{100 * c['plain_chance']:.1f}%" if c["plain_chance"] == c["plain_chance"] else "–",
                     "circular": dg.format_share(c["circ"], c["circ_low"], c["circ_high"]) if c["circular"] else "not a circular run",
                     "circular chance": f"{100 * c['circ_chance']:.2f}%" if c["circular"] else "–"})
    return pd.DataFrame(rows)


def in_view_heatmap(frame: pd.DataFrame, title: str, fps: float) -> alt.Chart:
    """Length (x) x depth decile (y, 0 % at the top): P(needle in view) %, cases in the cell."""
    cells = dg.decomposition(frame[frame["view_recorded"]], ["length", "depth_decile"])
    cells = cells.assign(pct=100 * cells["p_in_view"], lo=100 * cells["p_in_view_low"], hi=100 * cells["p_in_view_high"],
                         depth=[f"{10 * d}–{10 * d + 10}%" for d in cells["depth_decile"]],
                         text=[f"{100 * p:.0f}% ({n})" for p, n in zip(cells["p_in_view"], cells["p_in_view_n"])],
                         length_label=[f"{n:,} ({int(n / fps) // 3600}:{int(n / fps) % 3600 // 60:02d})"
                                       for n in cells["length"]])
    base = alt.Chart(cells, title=title).encode(
        x=alt.X("length_label:O", title="haystack length, frames (h:mm)", sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("depth:O", title="needle depth", sort=[f"{10 * d}–{10 * d + 10}%" for d in range(10)]))
    rect = base.mark_rect().encode(
        color=alt.Color("pct:Q", title="needle in view %", scale=alt.Scale(domain=[0, 100], scheme="greens")),
        tooltip=["length:Q", "depth:N", alt.Tooltip("pct:Q", format=".1f", title="P(in view) %"),
                 alt.Tooltip("lo:Q", format=".0f"), alt.Tooltip("hi:Q", format=".0f"), "p_in_view_n:Q"])
    text = base.mark_text(fontSize=11).encode(
        text="text:N", color=alt.condition("datum.pct > 60", alt.value("white"), alt.value("black")))
    return (rect + text).properties(height=320)


def conditional_bars(row: pd.Series, ceiling: tuple | None, title: str) -> alt.Chart:
    """Accuracy given in view / not in view with Wilson whiskers, the oracle ceiling as a rule."""
    bars = pd.DataFrame([{"group": name, "pct": 100 * row[key], "lo": 100 * row[f"{key}_low"],
                          "hi": 100 * row[f"{key}_high"], "n": int(row[f"{key}_n"])}
                         for name, key in (("needle in view", "acc_in_view"), ("needle not in view", "acc_not_in_view"))])
    bars = bars[bars["n"] > 0]
    base = alt.Chart(bars, title=title).encode(x=alt.X("group:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)))
    chart = (base.mark_bar().encode(y=alt.Y("pct:Q", title="accuracy % (Wilson 95% interval)",
                                             scale=alt.Scale(domain=[0, 100])))
             + base.mark_rule().encode(y="lo:Q", y2="hi:Q")
             + base.mark_text(dy=-8).encode(y="hi:Q", text=alt.Text("n:Q", format="d")))
    if ceiling:
        rule = pd.DataFrame([{"pct": 100 * ceiling[1], "label": f"needle-oracle ceiling {100 * ceiling[1]:.1f}%"}])
        chart += (alt.Chart(rule).mark_rule(strokeDash=[6, 3], color="black").encode(y="pct:Q")
                  + alt.Chart(rule).mark_text(align="left", dx=4, dy=-6).encode(y="pct:Q", text="label:N"))
    return chart.properties(height=300)


def render(page: Page) -> None:
    """The tab, over the page's runs (the project's; uploads are read from their own folder)."""
    cases = page.manifest.cases if page.manifest.available else None
    section(page.results_root, ld.folder_signature(page.results_root, page.data_dir, page.uploads_root),
            cases, page.tables.run_ids, page.tables.label, page.fps)


def section(results_root: str, signature: tuple, cases: pd.DataFrame | None, run_ids: list[str], label,
            fps: float) -> None:
    """The tab. ``run_ids`` and ``label``: the runs the leaderboard shows and their names."""
    facts = None
    if cases is not None and len(cases):
        spans = cases["needles"].map(dg.spans_of)
        facts = cases[["case_id", "needle_start", "needle_frames", "answer"]].assign(
            n_options=cases["options"].map(len), asked_spans=spans.str[0], spans=spans.str[1])
    frame, letters, infos = load(results_root, signature, facts)
    frame = frame[frame["run"].isin(run_ids)]
    if frame.empty:
        st.info("No scored cases.")
        return
    have_manifest = cases is not None and len(cases) > 0
    st.subheader("Needle in view: did the model find the needle, and did it understand it?")
    with st.container(key="dg_decomposition"):  # the key names the element in the page (browser test)
        st.dataframe(decomposition_table(frame, infos, label, have_manifest), hide_index=True)
    st.caption("P(needle in view): share of cases where at least one frame the model saw at full resolution "
               "(ViLAMP's keyframes, a uniform model's sampled frames) lies in the needle. Accuracy given in "
               "view / not in view: over those cases. % [Wilson 95% interval, scipy.stats.binomtest] (cases). "
               "A miss with the needle in view is a failure to understand it; out of view, a failure to find it. "
               "The needle-oracle run on this manifest (the same VLM shown only the needle) is the comprehension "
               "ceiling. Needles seen: mean per case of the needles (distractors included) with a frame seen, of "
               "the mean needles per case; with several needles 'in view' means a needle the question is about. "
               f"'{dg.NOT_RECORDED}': results written before results schema 2.")
    seen_runs = [r for r in run_ids if (frame.loc[frame["run"] == r, "frames_seen"] > 0).any()]
    if have_manifest and seen_runs:
        first = next((i for i, r in enumerate(seen_runs) if not sees_only_the_needle(infos.get(r, {}))), 0)
        run = st.selectbox("Run (needle in view)", seen_runs, index=first, format_func=label, key="dg_run")
        mine = frame[frame["run"] == run]
        left, right = st.columns(2)
        left.altair_chart(in_view_heatmap(mine, f"Needle in view: {label(run)}", fps), width="stretch")
        row = dg.decomposition(mine, ["run"]).iloc[0]
        right.altair_chart(conditional_bars(row, dg.oracle_ceilings(frame, infos).get(run),
                                            f"Accuracy by needle in view: {label(run)}"), width="stretch")
    st.subheader("Circular evaluation: correct only if every rotation of the options is")
    with st.container(key="dg_circular"):  # the key names the element in the page (browser test)
        st.dataframe(circular_table(frame, label), hide_index=True)
    st.caption("Plain: the question as published (rotation 0 of a circular run), chance 1/n per case. Circular "
               "(runner score --circular): the case is asked once per cyclic rotation of its options and counts "
               "only if every rotation is right; chance (1/n)^n per case, 0.39% for four options.")
    st.subheader("Predicted letter against gold letter")
    with_letters = [r for r in run_ids if (letters["run"] == r).any()]
    if with_letters:
        run = st.selectbox("Run (letters)", with_letters, format_func=label, key="dg_letters")
        with st.container(key="dg_letter_table"):
            st.dataframe(dg.letter_table(letters, run).astype(np.int64).reset_index(), hide_index=True)
        st.caption("Rows: the gold letter as shown; columns: the letter answered (every rotation of a circular "
                   "run); 'none': no letter could be read. A column far fuller than the others is position bias.")

