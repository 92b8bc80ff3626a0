"""The diagnostics part of ``runner report``: needle in view, accuracy given in view / not in
view, the needle-oracle's ceiling, circular vs plain accuracy, and predicted vs gold letters.

The numbers come from :mod:`niah.diagnostics` (as the leaderboard's do). Runs whose results
carry no ``view`` (written before results schema 2, or by a model that records none) show
"not recorded"; the needle's span is in the manifest, so in-view figures need ``--data``.
"""
from __future__ import annotations

import io
from typing import Any, Callable

import pandas as pd

from niah import diagnostics as dg
from niah.cases import Benchmark

DECILES = [f"d{k}" for k in range(10)]
MISSING = "-"  # plain text: the report's figure for a proportion of no cases


def summary_table(frame: pd.DataFrame, ceilings: dict[str, tuple[str, float, float, float]],
                  have_manifest: bool) -> pd.DataFrame:
    """One row per run: P(needle in view), accuracy in view / not in view, oracle ceiling."""
    decomp = dg.decomposition(frame, ["run"]).set_index("run") if len(frame) else pd.DataFrame()
    rows = []
    for run in sorted(frame["run"].unique()) if len(frame) else []:
        d = decomp.loc[run]
        ceiling = ceilings.get(run)
        cells = dg.in_view_cells(d, have_manifest, "needs --data", MISSING)
        rows.append({"run": run, "model": frame.loc[frame["run"] == run, "model"].iloc[0],
                     "P(needle in view)": cells[0], "acc given in view": cells[1], "acc given not in view": cells[2],
                     "needles seen": dg.needles_seen_cell(d, have_manifest, "needs --data"),
                     "needle-oracle ceiling": (dg.format_share(*ceiling[1:], missing=MISSING) + f" ({ceiling[0]})"
                                               if ceiling else "no oracle run")})
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def circular_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run: plain accuracy (rotation 0) and circular accuracy, with chance levels."""
    rows = []
    for _, c in dg.circular_summary(frame).iterrows():
        rows.append({"run": c["run"], "model": c["model"],
                     "plain": dg.format_share(c["plain"], c["plain_low"], c["plain_high"], missing=MISSING),
                     "plain chance": f"{100 * c['plain_chance']:.1f}%" if c["plain_chance"] == c["plain_chance"] else "-",
                     "circular": (dg.format_share(c["circ"], c["circ_low"], c["circ_high"], missing=MISSING)
                                  if c["circular"] else "not a circular run"),
                     "circular chance": f"{100 * c['circ_chance']:.2f}%" if c["circular"] else "-"})
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def cell_table(frame: pd.DataFrame, run: str, measure: str) -> pd.DataFrame:
    """One run, length (rows) x depth decile (columns, + ``all``): ``measure`` of
    :func:`niah.diagnostics.decomposition` as ``% [interval] (n)``."""
    mine = frame[frame["run"] == run]
    lengths = sorted(mine["length"].unique())
    table = pd.DataFrame(index=[str(x) for x in lengths] + ["all"], columns=DECILES + ["all"], dtype=object)
    for length in lengths + ["all"]:
        rows = mine if length == "all" else mine[mine["length"] == length]
        cells = dg.decomposition(rows, ["depth_decile"]).set_index("depth_decile")
        overall = dg.decomposition(rows.assign(_all=0), ["_all"]).iloc[0]
        for decile, name in zip(list(range(10)) + ["all"], DECILES + ["all"]):
            row = overall if decile == "all" else (cells.loc[decile] if decile in cells.index else None)
            table.loc[str(length), name] = MISSING if row is None else dg.format_measure(row, measure, MISSING)
    table.index.name = "length"
    return table


def render(runs: list[Any], bench: Benchmark | None, show: Callable[[pd.DataFrame], str], h: str) -> str:
    """The diagnostics sections for ``runs`` (``runner.report.Run``)."""
    facts = dg.facts_of(bench.cases) if bench is not None else None
    triples = [(run.run_id, run.model, run.results) for run in runs]
    frame = dg.case_frame(triples, facts)
    if frame.empty:
        return ""
    out = io.StringIO()
    ceilings = dg.oracle_ceilings(frame, {run.run_id: run.info for run in runs})
    out.write(f"\n{h}Needle in view: did the model find the needle, and did it understand it\n\n"
              f"{show(summary_table(frame, ceilings, bench is not None))}\n")
    out.write("\nP(needle in view): share of cases where at least one frame the model saw at full resolution "
              "lies in the needle; acc given in view / not in view: accuracy over those cases; % [Wilson 95% "
              "interval, scipy.stats.binomtest] (cases). A miss in view is a failure to understand, out of "
              "view a failure to find; the needle-oracle run on the same manifest (the VLM shown only the "
              f"needle) is the comprehension ceiling. Needles seen: mean per case of the needles (distractors "
              "included) with a frame seen at full resolution, of the mean needles per case; in a case of "
              "several needles 'in view' means a needle the question is about. "
              f"'{dg.NOT_RECORDED}': results written before results schema 2 (no view).\n")
    out.write(f"\n{h}Circular evaluation: correct only if every rotation of the options is\n\n"
              f"{show(circular_table(frame))}\n")
    out.write("\nplain: the question as published (rotation 0 of a circular run); chance 1/n per case; "
              "circular chance (1/n)^n per case (0.39% for four options).\n")
    if bench is not None:
        for run in runs:
            mine = frame[frame["run"] == run.run_id]
            if not (mine["frames_seen"] > 0).any():  # nothing seen at full resolution (chance): nothing to split
                continue
            for measure, title in (("p_in_view", "P(needle in view)"), ("acc_in_view", "accuracy | needle in view"),
                                   ("acc_not_in_view", "accuracy | needle not in view")):
                out.write(f"\n{h}{run.run_id}: {title} by length x needle depth decile, % [95% interval] "
                          f"(cases)\n\n{show(cell_table(frame, run.run_id, measure))}\n")
    letters = dg.letter_frame(triples, facts)
    for run in runs:
        table = dg.letter_table(letters, run.run_id)
        if not table.empty:
            out.write(f"\n{h}{run.run_id}: predicted letter (columns) vs gold letter (rows), as shown"
                      f"{' (every rotation)' if frame.loc[frame['run'] == run.run_id, 'circular'].all() else ''}"
                      f"\n\n{show(table)}\n")
    return out.getvalue()
