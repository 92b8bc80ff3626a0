"""The Leaderboard tab: one table per section (the project's runs, then uploads), the
paired tests where the ranking is, the run card, the LaTeX and CSV exports."""
from __future__ import annotations


import streamlit as st

from leaderboard import board as bd
from leaderboard import data as lb
from leaderboard import about, export
from leaderboard import columns as cols
from leaderboard.columns import C
from leaderboard.page import Page, csv_button

TITLE = "Leaderboard"


def render(page: Page) -> None:
    tables = page.tables
    board = tables.leaderboard
    has_seeds = bool((board.loc[board[C.rankable.name], C.seed_group.name].value_counts() > 1).any())
    c1, c2, c3 = st.columns([2, 3, 3])
    combine = c1.checkbox("Combine runs that differ only by seed", value=True, key="combine_seeds",
                          disabled=not has_seeds)
    optional = cols.optional()
    extra = tuple(c2.multiselect("More columns", [c.name for c in optional], key="board_columns",
                                 format_func=lambda name: next(c.header for c in optional if c.name == name),
                                 help="Model metadata from run.json ('metadata': parameters, organisation, "
                                      "protocol, link) and the run's date."))
    search = c3.text_input("Search runs", key="board_search", placeholder="run id or model")
    help_of = {c.header: c.help for c in bd.columns(tables, extra)}
    for section in bd.sections(tables):
        st.subheader(bd.SECTION_TITLES[section])
        table = bd.compact(tables, combine_seeds=combine, section=section, extra=extra, search=search)
        st.dataframe(table, hide_index=True, key=f"board_{section}",
                     column_config={h: st.column_config.TextColumn(h, help=t) for h, t in help_of.items()})
    st.caption(caption(page))
    st.caption(bd.significance_note(tables))
    if has_seeds and combine:
        with st.expander("Seeds behind the combined rows"):
            st.dataframe(bd.seed_runs(tables), hide_index=True, key="board_seeds")
    differ = board[board[C.readings_gap.name] > lb.READINGS_DIFFER_PCT]
    if len(differ):
        st.warning(f"{len(differ)} run(s) give another letter under another answer reading on more than "
                   f"{lb.READINGS_DIFFER_PCT:.0f}% of their cases (column '{C.readings.header}'): their accuracy "
                   f"depends on how answers are read. This page reads them under '{tables.rule}'.")
        st.text("\n".join(f"{r}: {t}" for r, t in zip(differ[C.run.name], differ[C.readings.name])))
    high = board[board[C.unparsed_pct.name] > lb.HIGH_UNPARSED_PCT]
    if len(high):
        st.warning(f"{len(high)} run(s) have more than {lb.HIGH_UNPARSED_PCT:.0f}% unparsed answers, counted as wrong: "
                   "their accuracy measures the answer format as much as the model.")
        st.text(", ".join(high[C.run.name]))
    with st.expander("Run card: provenance from run.json"):
        run = st.selectbox("Run", tables.run_ids, format_func=tables.label, key="card_run")
        st.dataframe(bd.run_card(tables, run), hide_index=True, key="card")
    with st.expander("Run details: settings, model paths, provenance"):
        st.dataframe(bd.details(tables), hide_index=True, key="board_details")
    runs = list(board[C.run.name])
    c1, c2 = st.columns(2)
    with c1:
        csv_button(board, f"leaderboard-{tables.rule}", runs, "dl_board")
    with c2:
        st.download_button(f"Download leaderboard-{tables.rule}.tex (booktabs)", export.latex_table(tables),
                           file_name=f"leaderboard-{tables.rule}.tex", mime="text/x-tex", key="dl_tex",
                           on_click="ignore")
    with st.expander("About this benchmark and how to cite it"):
        st.markdown(about.DESCRIPTION)
        st.code(about.CITATION, language="bibtex")
    if tables.problems:
        with st.expander(f"Problems reading {len(tables.problems)} run(s)"):
            for run_id, problems in tables.problems.items():
                st.text(f"{run_id}: {len(problems)} problem(s)")
                st.code("\n".join(problems[:30]) + ("\n…" if len(problems) > 30 else ""), language=None)


def caption(page: Page) -> str:
    """What the numbers are: rule, intervals, chance, who is ranked."""
    tables = page.tables
    chance = (f"Chance is {tables.chance:.1f}%"
              + (" (assumed: 4 options; no benchmark open)." if tables.chance_assumed else
                 " (mean of 1/options over the benchmark's cases)."))
    rule = (f"Answers read under the '{tables.rule}' rule"
            + (" (no benchmark open: correctness as the results files record it)." if tables.chance_assumed
               else "; unparsed answers and failed cases count as wrong."))
    interval = ("plain Wilson 95% interval (no benchmark open: cases are taken as independent)" if tables.chance_assumed
                else "cluster-aware 95% interval: Wilson's on the effective number of cases (cases / design effect "
                     "of the needle questions, which repeat across lengths and depths)")
    return (f"{rule} Accuracy % over the cases a run scored, with its {interval}; per length: accuracy "
            f"(interval). {chance} Ranked: complete runs of this benchmark that are not copies (≥98% the same "
            "answers as an earlier-created run; a copy of a copy names the first; seeds of one model are never "
            "copies of each other); a seed group is ranked by the mean of its complete seeds. Every unranked "
            "run says why; uploads are ranked in their own section.")


