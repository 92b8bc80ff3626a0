"""The Significance tab: every pair of ranked entries of a section, compared by the test the
table uses for that pair (:func:`leaderboard.ranking.pairwise`), Holm-corrected over the
section's pairs, as a matrix and as a table; and each entry's bootstrap rank range."""
from __future__ import annotations

import streamlit as st

from leaderboard import board as bd
from leaderboard import charts
from leaderboard.columns import C
from leaderboard.page import Page, csv_button, svg_button
from leaderboard.ranking import ALPHA

TITLE = "Significance"


def render(page: Page) -> None:
    tables = page.tables
    pairs = tables.pairwise
    if pairs.empty:
        st.info("Fewer than two ranked entries in every section: nothing to compare.")
        return
    board = tables.leaderboard
    for section in bd.sections(tables):
        shown = pairs[pairs["section"] == section]
        if shown.empty:
            continue
        st.subheader(bd.SECTION_TITLES[section])
        entries = board[board[C.rankable.name] & (board[C.section.name] == section)].drop_duplicates(C.entry.name)
        frame = shown.assign(a=shown["name_a"], b=shown["name_b"])
        names = list(dict.fromkeys([*frame["a"], *frame["b"]]))
        chart = charts.significance(frame, names, ALPHA)
        st.altair_chart(chart, width="stretch", height=charts.ROW * len(names) + 200)
        svg_button(chart, f"significance-{section}", list(entries[C.run.name]), f"svg_sig_{section}")
        table = frame[["rank_a", "a", "rank_b", "b", "difference", "p", "p_holm", "test", "common"]].round(4)
        st.dataframe(table, hide_index=True, key=f"sig_{section}")
        csv_button(frame, f"significance-{section}", list(entries[C.run.name]), f"dl_sig_{section}")
    st.caption(f"Row entry minus column entry, in accuracy points, on the cases both answered. ** beyond noise after "
               f"Holm over all the section's pairs ({ALPHA:.0%}); * below {ALPHA:.0%} uncorrected only; faint: "
               "within noise. " + bd.significance_note(tables).split(". ", 1)[1])

