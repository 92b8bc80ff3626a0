"""Why a model misses, and whether it guessed: the aggregation behind ``runner report``'s and
the leaderboard's diagnostics (one place, so both give the same numbers).

* **Needle in view.** A result records the case frames the model saw at full resolution
  (``view.full_frames``); :func:`niah.view.count_in_span` counts those inside the needle.
  Per run (and per length x depth cell): P(needle in view) = share of cases with at least one
  such frame, and the accuracy given in view / not in view. A model that misses with the needle
  in view failed to *understand* it; one that misses with it out of view failed to *find* it.
  The needle-oracle (the same VLM shown only the needle) run on the same manifest is the
  comprehension ceiling: what finding the needle perfectly would give.
  A case of several needles is in view when a frame of a needle its question is about is seen
  (the target of a distractors case, any needle of ordering and counting); ``needles_seen``
  counts how many of all its needles had a frame seen (``needles``: how many it has).
* **Circular evaluation.** A circular run's case is correct only if every option rotation is;
  its chance is ``(1/n)^n`` per case (0.39 % for four options) against ``1/n`` for the plain
  question, which a circular run also answers (rotation 0).
* **Letters.** The letters a run answers against the gold letters as shown (every rotation of
  a circular run): position bias at a glance.

Every proportion has its Wilson 95 % interval from ``scipy.stats.binomtest(k, n)
.proportion_ci(method="wilson")``. Results written before schema 2 have no ``view``: their
in-view figures are "not recorded" (NaN), never zero.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from niah.accuracy import depth_decile
from niah.circular import circular_chance
from niah.results import Result
from niah.schema import Case
from niah.view import count_in_spans, sees_only_the_needle, spans_seen

#: Case facts the diagnostics need from the manifest, one row per case.
FACT_COLUMNS = ["case_id", "needle_start", "needle_frames", "answer", "n_options", "asked_spans", "spans"]
#: One row per scored (run, case).
CASE_COLUMNS = ["run", "model", "case_id", "length", "depth_decile", "correct", "failed", "circular",
                "plain_correct", "n_options", "in_view", "view_recorded", "frames_seen", "needles", "needles_seen"]
NO_ANSWER = "none"
#: An in-view figure of results written before results schema 2 (they have no ``view``).
NOT_RECORDED = "not recorded"
#: The needle-in-view measures of :func:`decomposition`, in the order the tables show them.
IN_VIEW_MEASURES = ("p_in_view", "acc_in_view", "acc_not_in_view")


def facts_of(cases: Iterable[Case]) -> pd.DataFrame:
    """The manifest facts (needle span, gold letter, option count, the (start, frames) spans of
    the needles the question is about and of all needles) of ``cases``."""
    rows = [(c.case_id, c.needle.start_frame, c.needle.num_frames, c.answer, len(c.options),
             tuple((n.start_frame, n.num_frames) for n in c.asked_needles),
             tuple((n.start_frame, n.num_frames) for n in c.all_needles)) for c in cases]
    return pd.DataFrame(rows, columns=FACT_COLUMNS)


def proportion(k: int, n: int) -> tuple[float, float, float]:
    """``(k/n, Wilson 95 % low, high)``; NaNs when ``n`` is 0."""
    if n <= 0:
        return (float("nan"),) * 3
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def format_share(p: float, low: float, high: float, n: int | None = None, missing: str = "–") -> str:
    """``"23.4% [22–25] (3000)"``: a proportion as a percentage with its interval (and cases);
    ``missing`` where it is NaN (no cases)."""
    if p != p:
        return missing
    return f"{100 * p:.1f}% [{100 * low:.0f}–{100 * high:.0f}]" + (f" ({n})" if n is not None else "")


def format_measure(row: Mapping[str, Any], name: str, missing: str = "–") -> str:
    """:func:`format_share` of the measure ``name`` of a :func:`decomposition` row."""
    return format_share(row[name], row[f"{name}_low"], row[f"{name}_high"], int(row[f"{name}_n"]), missing)


def in_view_cells(row: Mapping[str, Any], have_manifest: bool, without_manifest: str, missing: str = "–") -> list[str]:
    """The :data:`IN_VIEW_MEASURES` of a :func:`decomposition` row as table cells, the same in the
    report and on the leaderboard: ``without_manifest`` when no manifest gives the needles' spans,
    :data:`NOT_RECORDED` when none of the row's results recorded what the model saw."""
    if not have_manifest:
        return [without_manifest] * len(IN_VIEW_MEASURES)
    if row["recorded"] == 0:
        return [NOT_RECORDED] * len(IN_VIEW_MEASURES)
    return [format_measure(row, name, missing) for name in IN_VIEW_MEASURES]


def needles_seen_cell(row: Mapping[str, Any], have_manifest: bool, without_manifest: str) -> str:
    """Mean needles seen per case against mean needles per case (``"1.40 of 2.50"``), the same
    in the report and on the leaderboard; ``without_manifest`` when no manifest gives the spans,
    :data:`NOT_RECORDED` when none of the row's results recorded what the model saw."""
    if not have_manifest:
        return without_manifest
    if row["recorded"] == 0:
        return NOT_RECORDED
    return f"{row['mean_needles_seen']:.2f} of {row['mean_needles']:.2f}"


def spans_of(needles: Iterable[tuple]) -> tuple[tuple, tuple]:
    """(asked spans, all spans) from the leaderboard's ``needles`` cell: ``(video, start, frames,
    asked)`` per needle, as :func:`facts_of` gives them from cases."""
    needles = list(needles)
    return (tuple((s, f) for _, s, f, asked in needles if asked), tuple((s, f) for _, s, f, _ in needles))


def case_frame(runs: Iterable[tuple[str, str, Mapping[str, Result]]], facts: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (run, case) of ``runs`` (``(run_id, model, results by case_id)``).

    ``in_view`` (frames of the needle seen at full resolution) is NaN where the result has no
    ``view`` or there are no ``facts`` (the needle's span is in the manifest)."""
    spans: dict[str, tuple[tuple, tuple, int]] = {}  # case -> (asked spans, all spans, options)
    if facts is not None:
        one = [((int(s), int(f)),) for s, f in zip(facts["needle_start"], facts["needle_frames"])]
        asked = facts["asked_spans"] if "asked_spans" in facts else one  # facts of one-needle cases only
        every = facts["spans"] if "spans" in facts else one
        spans = {cid: (a, e, int(n)) for cid, a, e, n in zip(facts["case_id"], asked, every, facts["n_options"])}
    rows = []
    for run_id, model, results in runs:
        for r in results.values():
            span = spans.get(r.case_id)
            frames = (r.view or {}).get("full_frames") if isinstance(r.view, dict) else None
            recorded = isinstance(frames, list)
            in_view = count_in_spans(frames, span[0]) if recorded and span else np.nan
            seen = spans_seen(frames, span[1]) if recorded and span else np.nan
            rotations = r.rotations if isinstance(r.rotations, list) and r.rotations else None
            plain = bool(rotations[0].get("correct")) if rotations else bool(r.correct)
            n_options = len(rotations) if rotations else (span[2] if span else np.nan)
            rows.append((run_id, model, r.case_id, r.length, int(depth_decile([r.depth])[0]), bool(r.correct),
                         r.error is not None, rotations is not None, plain and r.error is None, n_options,
                         in_view, recorded, len(frames) if recorded else np.nan,
                         len(span[1]) if span else np.nan, seen))
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def decomposition(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys``: cases, cases with a recorded view, P(needle in view) and the
    accuracy in view / not in view, each with its Wilson interval (NaN when not recorded)."""
    out = []
    for key, group in (frame.groupby(keys, sort=True) if len(frame) else []):
        key = key if isinstance(key, tuple) else (key,)
        known = group[group["view_recorded"] & group["in_view"].notna()]
        seen = known[known["in_view"] > 0]
        unseen = known[known["in_view"] == 0]
        row: dict[str, Any] = dict(zip(keys, key))
        row.update(n=len(group), recorded=len(known), in_view=len(seen),
                   accuracy=proportion(int(group["correct"].sum()), len(group))[0])
        for name, (k, n) in {"p_in_view": (len(seen), len(known)),
                             "acc_in_view": (int(seen["correct"].sum()), len(seen)),
                             "acc_not_in_view": (int(unseen["correct"].sum()), len(unseen))}.items():
            row[name], row[f"{name}_low"], row[f"{name}_high"] = proportion(k, n)
            row[f"{name}_n"] = n
        row["mean_frames_in_view"] = float(known["in_view"].mean()) if len(known) else np.nan
        row["mean_needles"] = float(known["needles"].mean()) if len(known) else np.nan
        row["mean_needles_seen"] = float(known["needles_seen"].mean()) if len(known) else np.nan
        out.append(row)
    columns = [*keys, "n", "recorded", "in_view", "accuracy", "mean_frames_in_view", "mean_needles", "mean_needles_seen",
               *[f"{m}{s}" for m in ("p_in_view", "acc_in_view", "acc_not_in_view") for s in ("", "_low", "_high", "_n")]]
    return pd.DataFrame(out, columns=columns)


def circular_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per run: plain accuracy (rotation 0 of a circular run) and circular accuracy with their
    intervals and chance levels (mean over cases of 1/n and of (1/n)^n)."""
    out = []
    for run, group in (frame.groupby("run", sort=True) if len(frame) else []):
        n = len(group)
        circular = bool(group["circular"].all())
        options = group["n_options"].astype("float64")
        plain = proportion(int(group["plain_correct"].sum()), n)
        circ = proportion(int(group["correct"].sum()), n) if circular else (np.nan,) * 3
        out.append({"run": run, "model": group["model"].iloc[0], "circular": circular, "n": n,
                    "plain": plain[0], "plain_low": plain[1], "plain_high": plain[2],
                    "plain_chance": float(np.nanmean(1.0 / options)) if options.notna().any() else np.nan,
                    "circ": circ[0], "circ_low": circ[1], "circ_high": circ[2],
                    "circ_chance": float(np.nanmean([circular_chance(int(k)) for k in options.dropna()]))
                    if circular and options.notna().any() else np.nan})
    return pd.DataFrame(out, columns=["run", "model", "circular", "n", "plain", "plain_low", "plain_high",
                                      "plain_chance", "circ", "circ_low", "circ_high", "circ_chance"])


def letter_frame(runs: Iterable[tuple[str, str, Mapping[str, Result]]], facts: pd.DataFrame | None) -> pd.DataFrame:
    """One row per answer: ``run, gold, predicted`` letters as shown to the model (each rotation
    of a circular run; ``none`` when no letter could be read). Plain runs need ``facts`` for the
    gold letter; failed cases are left out."""
    gold_of = dict(zip(facts["case_id"], facts["answer"])) if facts is not None else {}
    rows = []
    for run_id, _model, results in runs:
        for r in results.values():
            if r.error is not None:
                continue
            if isinstance(r.rotations, list) and r.rotations:
                rows += [(run_id, rot.get("gold_shown"), rot.get("shown") or NO_ANSWER) for rot in r.rotations
                         if rot.get("gold_shown")]
            elif r.case_id in gold_of:
                rows.append((run_id, gold_of[r.case_id], r.prediction or NO_ANSWER))
    return pd.DataFrame(rows, columns=["run", "gold", "predicted"])


def letter_table(letters: pd.DataFrame, run: str) -> pd.DataFrame:
    """Gold letters (rows) x predicted letters (columns, ``none`` last) of one run, counts,
    with ``all`` margins."""
    mine = letters[letters["run"] == run]
    if mine.empty:
        return pd.DataFrame()
    # crosstab sorts the columns: capital letters, then "none", then the "all" margin
    table = pd.crosstab(mine["gold"], mine["predicted"], margins=True, margins_name="all")
    table.index.name, table.columns.name = "gold", None
    return table


def oracle_ceilings(frame: pd.DataFrame, infos: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, float, float, float]]:
    """For each run, the needle-oracle run on the same manifest (the one with most cases):
    ``{run: (oracle run, plain accuracy, low, high)}``; runs without one are left out. An
    oracle is a run whose settings declare it saw only the needle
    (:func:`niah.view.sees_only_the_needle`), whatever its model is called."""
    oracles: dict[Any, tuple[str, int]] = {}
    for run, info in infos.items():
        if sees_only_the_needle(info):
            n = int((frame["run"] == run).sum())
            fp = info.get("manifest_fingerprint")
            if n and (fp not in oracles or n > oracles[fp][1]):
                oracles[fp] = (run, n)
    out = {}
    for run, info in infos.items():
        found = oracles.get(info.get("manifest_fingerprint"))
        if found:
            group = frame[frame["run"] == found[0]]
            out[run] = (found[0], *proportion(int(group["plain_correct"].sum()), len(group)))
    return out
