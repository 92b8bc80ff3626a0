"""The page's task filter: the board, its breakdowns and heatmaps over the cases of some task
families only (``generator build --tasks``; docs/tasks.md).

The filter keeps the manifest's cases of the chosen families and the results on those cases, so
every table is computed as if the benchmark held those cases alone: a run complete on the whole
benchmark is complete on the part, and "holds up to" and the heatmaps are per family.
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from leaderboard import loading as ld
from niah.schema import FAMILIES


def families(manifest: ld.Manifest) -> list[str]:
    """The task families of the manifest's cases, in :data:`niah.schema.FAMILIES` order."""
    present = set(manifest.cases["family"]) if manifest.available and len(manifest.cases) else set()
    return [f for f in FAMILIES if f in present]


def restrict(loaded: ld.Loaded, manifest: ld.Manifest, chosen: tuple[str, ...]) -> tuple[ld.Loaded, ld.Manifest]:
    """``loaded`` and ``manifest`` reduced to the cases of the ``chosen`` families (results on
    cases outside the manifest have no family and are left out too)."""
    cases = manifest.cases[manifest.cases["family"].isin(chosen)]
    results = loaded.results[loaded.results["case_id"].isin(set(cases["case_id"]))]
    return replace(loaded, results=results), replace(manifest, cases=cases)


def choose(manifest: ld.Manifest) -> tuple[str, ...]:
    """The families the page shows (a selector when the manifest holds several; () = all)."""
    present = families(manifest)
    if len(present) < 2:
        return ()
    chosen = st.multiselect("Task families", present, default=present, key="tasks",
                            help="the board, breakdowns and heatmaps over the cases of these families only "
                                 "(docs/tasks.md)")
    return () if set(chosen) in (set(present), set()) else tuple(f for f in present if f in chosen)
