"""What every tab shares: the loaded state of the page (:class:`Page`), download buttons
(CSV named after its runs, SVG of a chart) and how runs are named and coloured.

Every string that comes from a results file, a run folder or an upload (model names, run
ids, raw outputs, problems) is shown through ``st.text``, ``st.code``, a dataframe or a
chart, never through Markdown, so no name can add a link, an image or a code span.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from leaderboard import charts
from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard.columns import C


@dataclass
class Page:
    """The state every tab renders from."""

    tables: lb.Tables | None
    manifest: ld.Manifest
    results_root: str
    data_dir: str
    uploads_root: str
    read_only: bool
    max_uploads: int
    max_upload_bytes: int

    @property
    def fps(self) -> float:
        """The benchmark's frame rate (1 FPS as built); lengths are shown in time at it."""
        cases = self.manifest.cases
        return float(cases["fps"].iloc[0]) if self.manifest.available and len(cases) else 1.0

    @property
    def colours(self) -> dict[str, str]:
        return run_colours(self.tables)


def run_colours(tables: lb.Tables) -> dict[str, str]:
    """Each run's label -> its colour (:func:`leaderboard.charts.entry_colour`): entries
    take distinct hues in board order (ranked first, by rank), a seed group's runs shades of
    its hue; pooled seed series (``<model> · seeds ... pooled``) their group's hue."""
    board = tables.leaderboard
    entry = board[C.entry.name].where(board[C.rankable.name], "run:" + board[C.run.name].astype(str))
    positions = {e: i for i, e in enumerate(dict.fromkeys(entry))}
    out = {}
    for e, group in board.groupby(entry, sort=False):
        for member, (label, model) in enumerate(zip(group[C.label.name], group[C.model.name])):
            out[label] = charts.entry_colour(positions[e], member, len(group))
            out.setdefault(f"{model} · pooled", charts.entry_colour(positions[e]))
    return out


def file_part(text: str) -> str:
    """A run id as a file name part (letters, digits, ``.``, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.") or "run"


def export_name(kind: str, runs: list[str]) -> str:
    """``kind--runA--runB`` (at most 4 runs named, then how many more)."""
    parts = [file_part(r) for r in runs[:4]] + ([f"{len(runs) - 4}-more"] if len(runs) > 4 else [])
    return "--".join([kind, *parts]) if parts else kind


def csv_button(frame: pd.DataFrame, kind: str, runs: list[str], key: str) -> None:
    """A CSV download whose file name and first column name its runs."""
    name = export_name(kind, runs)
    st.download_button(f"Download {name}.csv", lb.to_csv_bytes(frame), file_name=f"{name}.csv",
                       mime="text/csv", key=key, on_click="ignore")


def svg_button(chart: alt.TopLevelMixin, kind: str, runs: list[str], key: str) -> None:
    """The chart as an SVG file, rendered offline by vl-convert (what the page draws)."""
    name = export_name(kind, runs)
    st.download_button(f"Download {name}.svg", lambda: chart_svg(chart), file_name=f"{name}.svg",
                       mime="image/svg+xml", key=key, on_click="ignore")


def chart_svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_dict())


def public(page: Page) -> dict[str, str]:
    return {page.results_root: Path(page.results_root).name, page.data_dir: Path(page.data_dir).name}
