"""Edges of niah.diagnostics: blind baselines per run, chance per run, multi-needle facts."""
from __future__ import annotations

import math

import pandas as pd

from edges_lib import make_case, result_of
from niah import diagnostics as dg
from niah.view import NEEDLE_ONLY

BLIND = {"model": "m", "manifest_fingerprint": "F", "settings": {"visual": False}}
ORACLE = {"model": "o", "manifest_fingerprint": "F", "settings": {"sampling": NEEDLE_ONLY}}


def _frame(counts: dict[str, tuple[int, int]], options: dict[str, list] | None = None) -> pd.DataFrame:
    """``run -> (cases, correct)`` as a case frame (only the columns these functions read)."""
    rows = []
    for run, (n, k) in counts.items():
        opts = (options or {}).get(run, [4] * n)
        rows += [{"run": run, "model": "m", "plain_correct": i < k, "n_options": opts[i]} for i in range(n)]
    return pd.DataFrame(rows)


def test_the_blind_run_with_more_of_its_own_cases_is_used():
    """Cases are counted per blind run, not over the frame: b2 (3 cases) beats b1 (2), though
    a big seeing run is in the frame."""
    frame = _frame({"r": (10, 5), "b1": (2, 2), "b2": (3, 0)})
    infos = {"r": {"model": "m", "manifest_fingerprint": "F"}, "b1": BLIND, "b2": BLIND}
    assert dg.blind_baselines(frame, infos)["r"][:2] == ("b2", 0.0)


def test_a_blind_run_without_cases_is_ignored():
    """A blind run listed after one with cases but with none itself does not replace it."""
    frame = _frame({"r": (4, 1), "b1": (2, 1)})
    infos = {"r": {"model": "m", "manifest_fingerprint": "F"}, "b1": BLIND, "b0": BLIND}
    assert dg.blind_baselines(frame, infos)["r"][:2] == ("b1", 0.5)


def test_blind_and_oracle_ties_keep_the_first_listed():
    """Two blind (oracle) runs with as many cases: the first listed stays."""
    frame = _frame({"r": (4, 1), "b1": (2, 1), "b2": (2, 2), "o1": (2, 0), "o2": (2, 2)})
    infos = {"r": {"model": "m", "manifest_fingerprint": "F"}, "b1": BLIND, "b2": BLIND, "o1": ORACLE, "o2": ORACLE}
    assert dg.blind_baselines(frame, infos)["r"][:2] == ("b1", 0.5)
    assert dg.oracle_ceilings(frame, infos)["r"][:2] == ("o1", 0.0)


def test_chance_is_of_the_runs_own_cases_only():
    """Another run's option counts do not leak into a run's chance."""
    frame = _frame({"a": (2, 0), "b": (2, 0)}, {"a": [2, 2], "b": [4, 4]})
    assert dg.chance(frame, "a") == 0.5
    assert dg.chance(frame, "b") == 0.25


def test_chance_is_unknown_when_any_option_count_is():
    """One case of unknown option count makes the run's chance NaN, not the mean of the rest."""
    frame = _frame({"a": (2, 0)}, {"a": [2, float("nan")]})
    assert math.isnan(dg.chance(frame, "a"))


def _facts(case, **extra) -> pd.DataFrame:
    row = {"case_id": case.case_id, "needle_start": 10, "needle_frames": 2, "answer": case.answer, "n_options": 4}
    return pd.DataFrame([{**row, **extra}])


def test_case_frame_reads_asked_spans_and_spans_of_multi_needle_facts():
    """In view counts frames of the asked needle (at 50), not of the first needle (at 10);
    needles and needles seen come from all spans."""
    case = make_case(0)
    facts = _facts(case, asked_spans=((50, 2),), spans=((10, 2), (50, 2)))
    r = result_of(case, "A", view={"full_frames": [10, 11]})
    row = dg.case_frame([("run", "m", {case.case_id: r})], facts).iloc[0]
    assert (row["in_view"], row["needles"], row["needles_seen"]) == (0, 2, 1)


def test_case_frame_of_one_needle_facts_without_span_columns():
    """Facts without ``asked_spans``/``spans`` (one-needle cases) use the needle's own span."""
    case = make_case(0)
    r = result_of(case, "A", view={"full_frames": [10, 30]})
    row = dg.case_frame([("run", "m", {case.case_id: r})], _facts(case)).iloc[0]
    assert (row["in_view"], row["needles"], row["needles_seen"]) == (1, 1, 1)


def test_needles_seen_cell_with_one_recorded_case():
    """One recorded case is enough for the figure."""
    row = {"recorded": 1, "mean_needles_seen": 1.4, "mean_needles": 2.5}
    assert dg.needles_seen_cell(row, True, "n/a") == "1.40 of 2.50"


def test_circular_summary_of_a_one_case_run_names_its_model():
    """A run of a single case still names its model (its first row)."""
    frame = pd.DataFrame([{"run": "r", "model": "m", "circular": False, "n_options": 4, "plain_correct": True,
                           "correct": True}])
    assert dg.circular_summary(frame).iloc[0]["model"] == "m"
