"""niah.accuracy against published and hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from niah import accuracy


def test_wilson_matches_published_values():
    # Newcombe (1998), Statistics in Medicine 17:857, table I (score method without continuity
    # correction): 81/263 -> 0.2553-0.3662, 15/148 -> 0.0624-0.1605, 0/20 -> 0-0.1611, 1/29 -> 0.0061-0.1718
    low, high = accuracy.wilson_interval([81, 15, 0, 1], [263, 148, 20, 29])
    assert low == pytest.approx([0.2553, 0.0624, 0.0, 0.0061], abs=1e-4)
    assert high == pytest.approx([0.3662, 0.1605, 0.1611, 0.1718], abs=1e-4)


def test_wilson_ends_and_empty_groups():
    low, high = accuracy.wilson_interval([0, 5, 0], [5, 5, 0])
    assert low[0] == 0.0 and high[1] == 1.0 and 0 < high[0] < 1 and 0 < low[1] < 1
    assert math.isnan(low[2]) and math.isnan(high[2])


def test_holm_adjusts_in_order_and_keeps_nans():
    # m = 4 valid: sorted 0.01, 0.02, 0.03, 0.5 -> 0.04, 0.06, 0.06 (monotone), 0.5
    adjusted = accuracy.holm([0.03, 0.01, np.nan, 0.5, 0.02])
    assert adjusted[[1, 4, 0, 3]] == pytest.approx([0.04, 0.06, 0.06, 0.5])
    assert math.isnan(adjusted[2])


def test_depth_decile_and_duration_bins():
    assert list(accuracy.depth_decile([0.0, 0.05, 0.1, 0.55, 0.95, 0.999, 1.0])) == [0, 0, 1, 5, 9, 9, 9]
    bins = accuracy.needle_duration_bin([30, 60, 61, 90, 91, 120, 121])
    assert list(bins.astype(str)) == ["<=60s", "<=60s", "61-90s", "61-90s", "91-120s", "91-120s", ">120s"]


def test_summarise_counts_intervals_and_chance():
    frame = pd.DataFrame({"run": ["a"] * 5 + ["b"] * 2,
                          "correct": [True, True, False, False, False, True, True],
                          "unparsed": [False, False, True, False, False, False, False],
                          "failed": [False, False, False, True, False, False, False],
                          "chance": accuracy.chance_of([["A", "B", "C", "D"]] * 4 + [["A", "B"]] + [["A", "B"]] * 2)})
    out = accuracy.summarise(frame, ["run"]).set_index("run")
    assert list(out.columns) == [*accuracy.SUMMARY_COLUMNS, "chance"]
    a = out.loc["a"]
    assert (a["n"], a["correct"], a["unparsed"], a["failed"]) == (5, 2, 1, 1)
    assert a["accuracy"] == 0.4 and a["chance"] == pytest.approx((4 * 0.25 + 0.5) / 5)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((0.1176, 0.7693), abs=1e-4)
    assert out.loc["b", "ci_high"] == 1.0
    empty = accuracy.summarise(frame.iloc[:0].drop(columns="chance"), ["run"])
    assert empty.empty and "chance" not in empty.columns
