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


def random_scores(seed: int = 0, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"run": rng.choice(["b", "a", "c"], rows), "length": rng.choice([2000, 4000, 6000], rows),
                         "correct": rng.random(rows) < 0.4, "unparsed": rng.random(rows) < 0.1,
                         "failed": rng.random(rows) < 0.05, "chance": rng.choice([0.25, 0.5, 1 / 3], rows)})


def reference(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The same table from a plain pandas groupby."""
    out = frame.groupby(keys, sort=True).agg(n=("correct", "size"), correct=("correct", "sum"),
                                             unparsed=("unparsed", "sum"), failed=("failed", "sum"),
                                             chance=("chance", "mean")).reset_index()
    out["accuracy"] = out["correct"] / out["n"]
    return out


def test_grid_cells_equal_a_groupby_and_keep_the_empty_ones():
    frame = random_scores()
    grid = accuracy.summarise_grid(frame, {"run": ["c", "a", "b", "z"], "length": [2000, 4000, 6000, 8000]})
    assert grid[["run", "length"]].values.tolist()[:5] == [["c", 2000], ["c", 4000], ["c", 6000], ["c", 8000], ["a", 2000]]
    assert str(grid["length"].dtype) == "int64" and len(grid) == 16
    scored = grid[grid["n"] > 0].sort_values(["run", "length"]).reset_index(drop=True)
    ref = reference(frame, ["run", "length"])
    for col in ("n", "correct", "unparsed", "failed"):
        assert scored[col].tolist() == ref[col].tolist(), col
    assert np.allclose(scored["accuracy"], ref["accuracy"]) and np.allclose(scored["chance"], ref["chance"])
    low, high = accuracy.wilson_interval(ref["correct"], ref["n"])
    assert np.allclose(scored["ci_low"], low) and np.allclose(scored["ci_high"], high)
    empty = grid[grid["n"] == 0]
    assert len(empty) == 7 and empty["accuracy"].isna().all() and empty["chance"].isna().all()
    assert (empty[["correct", "unparsed", "failed"]] == 0).all().all() and empty["ci_low"].isna().all()
    # rows outside the levels are left out; no chance column in, none out
    only = accuracy.summarise_grid(frame.drop(columns="chance"), {"run": ["a"], "length": [2000]})
    assert only["n"].tolist() == [len(frame[(frame["run"] == "a") & (frame["length"] == 2000)])]
    assert "chance" not in only.columns
    none = accuracy.summarise_grid(frame.iloc[:0], {"run": ["a", "b"], "length": [2000]})
    assert none["n"].tolist() == [0, 0] and none["correct"].tolist() == [0, 0] and none["chance"].isna().all()
    assert list(none.columns) == ["run", "length", *accuracy.SUMMARY_COLUMNS, "chance"]


def test_summary_keeps_each_keys_type():
    frame = random_scores(1)
    frame["task"] = pd.Categorical(frame["run"].map({"a": "y", "b": "x", "c": "y"}), categories=["y", "x", "w"])
    frame["name"] = frame["run"].astype("string")
    out = accuracy.summarise(frame, ["task", "length"])
    assert list(out["task"].cat.categories) == ["y", "x", "w"] and out["task"].astype(str).tolist()[:3] == ["y"] * 3
    assert str(out["length"].dtype) == "int64"
    ref = reference(frame.assign(task=frame["task"].astype(str)), ["task", "length"])
    assert sorted(out["n"].tolist()) == sorted(ref["n"].tolist())
    by_name = accuracy.summarise(frame, ["name"])
    assert by_name["name"].tolist() == ["a", "b", "c"] and by_name["n"].tolist() == reference(frame, ["run"])["n"].tolist()
    single = accuracy.summarise(frame, ["run"])
    ref = reference(frame, ["run"])
    assert single["run"].tolist() == ["a", "b", "c"] and single["correct"].tolist() == ref["correct"].tolist()
    assert np.allclose(single["chance"], ref["chance"])


def test_holds_up_to_at_its_edges():
    from scipy.stats import fisher_exact
    # better than the shortest is no drop (the test is one-sided)
    assert accuracy.holds_up_to([1000, 2000], [50, 95], [100, 100]) == 2000
    # a drop at the second length: it holds only at the shortest
    assert accuracy.holds_up_to([1000, 2000, 3000], [90, 40, 90], [100, 100, 100]) == 1000
    # an unscored length stops the walk, whatever comes after it
    assert accuracy.holds_up_to([3000, 1000, 2000], [90, 90, 0], [100, 100, 0]) == 1000
    # p exactly at alpha is not significant ("p < alpha")
    p = fisher_exact([[80, 20], [90, 10]], alternative="less").pvalue
    assert accuracy.holds_up_to([1000, 2000], [90, 80], [100, 100], alpha=p) == 2000
    assert accuracy.holds_up_to([1000, 2000], [90, 80], [100, 100], alpha=p * 1.0001) == 1000
