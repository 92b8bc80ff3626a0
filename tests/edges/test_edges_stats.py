"""Accuracy statistics, chance and the reuse simulation at their edges, each against a
reference written here (the Wilson formula from its definition, a brute-force LRU replay)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from niah.accuracy import (SUMMARY_COLUMNS, chance_of, depth_decile, depth_label, holm, needle_duration_bin,
                           summarise, wilson_interval)
from niah.schedule import case_frame_refs, locality_key, locality_order, simulate_reuse, tape_order
from niah.schema import Case, Needle, Segment


def wilson_reference(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(1, 10), (5, 10), (9, 10), (1, 2), (37, 120), (1, 1000)])
def test_wilson_matches_its_definition(k, n):
    low, high = wilson_interval(k, n)
    assert (float(low), float(high)) == pytest.approx(wilson_reference(k, n), abs=1e-12)


def test_wilson_is_exact_at_the_ends():
    low, high = wilson_interval([0, 10, 1, 1], [10, 10, 1, 0])
    assert high[1] == 1.0 and low[1] < 1.0 and low[1] == pytest.approx(wilson_reference(10, 10)[0])
    assert low[0] == 0.0 and high[0] == pytest.approx(wilson_reference(0, 10)[1])
    assert low[2] == pytest.approx(wilson_reference(1, 1)[0]) and high[2] == 1.0
    assert np.isnan(low[3]) and np.isnan(high[3])


def test_chance_of_an_empty_option_list_is_not_infinite():
    chance = chance_of([["A. x", "B. y", "C. z", "D. w"], ["A. x", "B. y"], [], ["A. x", "B. y", "C. z"]])
    assert chance[:2].tolist() == [0.25, 0.5] and np.isnan(chance[2]) and chance[3] == pytest.approx(1 / 3)


def test_holm_reference():
    p = [0.01, np.nan, 0.04, 0.03, 0.5]
    # ranks: 0.01*4, max(0.03*3, prev), max(0.04*2, prev), max(0.5*1, prev)
    assert holm(p)[[0, 2, 3, 4]].tolist() == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert np.isnan(holm(p)[1])
    assert holm([0.6, 0.7]).tolist() == [1.0, 1.0]  # capped at 1


def test_bins_at_their_edges():
    assert depth_decile([0.0, 0.0999, 0.1, 0.95, 1.0]).tolist() == [0, 0, 1, 9, 9]
    assert depth_label(0) == "0–10%" and depth_label(9) == "90–100%"
    bins = needle_duration_bin([1, 60, 60.5, 90, 91, 120, 121]).astype(str).tolist()
    assert bins == ["<=60s", "<=60s", "61-90s", "61-90s", "91-120s", "91-120s", ">120s"]


def test_summarise_counts_and_chance():
    frame = pd.DataFrame({"g": ["a", "a", "a", "b"], "correct": [True, False, True, False],
                          "unparsed": [False, True, False, False], "failed": [False, False, False, True],
                          "chance": [0.25, 0.5, 0.25, 0.25]})
    out = summarise(frame, ["g"])
    assert list(out.columns) == ["g", *SUMMARY_COLUMNS, "chance"]
    a = out.iloc[0]
    assert (a["n"], a["correct"], a["unparsed"], a["failed"]) == (3, 2, 1, 0)
    assert a["accuracy"] == pytest.approx(2 / 3) and a["chance"] == pytest.approx(1 / 3)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(wilson_reference(2, 3))
    assert out.iloc[1]["failed"] == 1 and out.iloc[1]["accuracy"] == 0.0
    assert list(summarise(frame.iloc[:0].drop(columns="chance"), ["g"]).columns) == ["g", *SUMMARY_COLUMNS]


# ----- reuse simulation ----------------------------------------------------------------
def make_case(case_id: str, runs: list[tuple[str, int, int]]) -> Case:
    """A case whose segments are ``runs`` of (video, first frame, frames); the last is the needle."""
    segments = [Segment(v, s, n, "haystack") for v, s, n in runs[:-1]]
    v, s, n = runs[-1]
    segments.append(Segment(v, s, n, "needle"))
    length = sum(r[2] for r in runs)
    start = length - n
    return Case(case_id, length, 1.0, 1.0, Needle(v, "q", start, n), segments, "Q?", ["A. a", "B. b"], "A", "T")


def brute_force(cases: list[Case], capacity: int) -> tuple[int, int, int]:
    memory: list[tuple[str, int]] = []  # most recent last
    encoded = total = 0
    for case in cases:
        for ref in case_frame_refs(case):
            total += 1
            if ref in memory:
                memory.remove(ref)
                memory.append(ref)
                continue
            encoded += 1
            memory.append(ref)
            memory = memory[-capacity:] if capacity > 0 else []
    unique = len({ref for case in cases for ref in case_frame_refs(case)})
    return encoded, total, unique


CASES = [make_case("a", [("h", 0, 6), ("n1", 0, 2)]), make_case("b", [("h", 3, 6), ("n2", 0, 2)]),
         make_case("c", [("h", 0, 4), ("g", 0, 3), ("n1", 0, 2)]), make_case("d", [("g", 1, 5), ("n2", 0, 2)])]


@pytest.mark.parametrize("capacity", [0, 1, 2, 5, 9, 12, 100])
def test_simulate_reuse_counts_every_frame_like_a_replay(capacity):
    stats = simulate_reuse(CASES, capacity)
    assert (stats.encoded, stats.case_frames, stats.unique_frames) == brute_force(CASES, capacity)


def test_capacity_smaller_than_the_unique_frames_still_counts_them_all():
    stats = simulate_reuse(CASES, 3)
    assert stats.case_frames == sum(c.length for c in CASES) == 32
    assert stats.unique_frames == 9 + 2 + 2 + 6 == 19
    assert stats.encoded > stats.unique_frames
    assert simulate_reuse(CASES, 100).encoded == 19  # with room for everything: each unique frame once
    assert stats.encodes_per_case_frame == stats.encoded / 32
    assert simulate_reuse([], 5).encodes_per_case_frame == 0.0


def test_locality_order_walks_the_tape_in_window_order():
    # h then g from g's frame 0 in case c: the cases are windows of one tape (h, g); they are
    # scored by where their window starts on it, ties by case id
    order = [c.case_id for c in locality_order(reversed(CASES))]
    assert order == ["a", "c", "b", "d"]


def test_locality_order_puts_shared_openings_together_when_not_one_tape():
    # e plays g then h from h's frame 2: on a tape the next video is read from its frame 0, so
    # these are not windows of one tape and cases sort by (video, start) of each segment
    cases = [*CASES, make_case("e", [("g", 0, 3), ("h", 2, 4), ("n1", 0, 2)])]
    assert tape_order(cases) is None
    order = [c.case_id for c in locality_order(reversed(cases))]
    assert order == [c.case_id for c in sorted(cases, key=locality_key)]
    assert order[:2] == ["e", "d"]  # both open in g, e at frame 0, d at frame 1


def test_depth_deciles_stay_in_0_to_9_even_for_out_of_range_depths():
    assert depth_decile([-0.15, -0.05, 1.2]).tolist() == [0, 0, 9]


def test_summarise_groups_in_key_order_with_integer_counts_and_only_observed_groups():
    keys = pd.Categorical(["b", "a", "b"], categories=["c", "b", "a"], ordered=False)
    frame = pd.DataFrame({"g": keys, "correct": [True, False, False], "unparsed": [False] * 3, "failed": [False] * 3})
    out = summarise(frame, ["g"])
    assert list(out["g"].astype(str)) == ["b", "a"]  # the categories' order, and no row for unseen "c"
    plain = summarise(frame.assign(g=frame["g"].astype(str)), ["g"])
    assert list(plain["g"]) == ["a", "b"]
    assert all(str(out[col].dtype) == "int64" for col in ("n", "correct", "unparsed", "failed"))
