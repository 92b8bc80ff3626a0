"""niah.accuracy at its edges: the exact binomial test of ``beyond_chance`` against the
doubled smaller tail written here (and scipy's one-sided binomtest), its Holm families,
missing values given as None, the silence of empty groups, dtypes kept, and the Wilson
bounds' rounding guards."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, binomtest

from niah.accuracy import beyond_chance, chance_of, holm, summarise, summarise_grid, wilson_interval


def doubled_tail(k: int, n: int, c: float) -> float:
    """Two-sided exact binomial p as beyond_chance documents it: twice the smaller tail."""
    return min(1.0, 2 * min(binom.cdf(k, n, c), binom.sf(k - 1, n, c)))


@pytest.mark.parametrize("k,n,c", [(6, 10, 0.25), (0, 10, 0.5), (1, 12, 0.5)])
def test_a_single_cell_is_flagged_exactly_below_its_doubled_smaller_tail(k: int, n: int, c: float) -> None:
    """One cell is its own Holm family, so the flag flips at alpha = its p ("p < alpha")."""
    p = doubled_tail(k, n, c)
    one_sided = [binomtest(k, n, c, alternative=a).pvalue for a in ("less", "greater")]
    assert p == pytest.approx(2 * min(one_sided), rel=1e-9) and p < 0.05
    assert beyond_chance([k], [n], [c], ["run"], alpha=p).tolist() == [False]
    assert beyond_chance([k], [n], [c], ["run"], alpha=p * (1 + 1e-9)).tolist() == [True]


def test_holm_runs_within_each_family_over_its_scored_cells_only() -> None:
    """p = 0.039 per cell: significant alone, not when Holm doubles it; unscored cells (no
    cases, or no known chance) neither count in the family nor get flagged."""
    flags = beyond_chance([6, 6, 0, 6], [10, 10, 0, 10], [0.25, 0.25, 0.25, np.nan], ["a", "b", "a", "a"])
    assert flags.dtype == bool and flags.tolist() == [True, True, False, False]
    # a one-case cell is scored: it doubles the other cell's p in their family
    assert beyond_chance([6, 0], [10, 1], [0.25, 0.25], ["a", "a"]).tolist() == [False, False]


def test_missing_counts_or_chance_given_as_none_leave_the_cell_unscored() -> None:
    """Plain lists from JSON carry null as None: that cell is unscored, the others are tested."""
    flags = beyond_chance([6, None, 6, 6], [10, None, 10, 10], [0.25, 0.25, None, 0.25], ["a", "a", "a", "b"])
    assert flags.tolist() == [True, False, False, True]
    assert np.isnan(holm([0.01, None, 0.02])[1]) and holm([0.01, None, 0.02])[[0, 2]].tolist() == [0.02, 0.02]


def test_empty_groups_and_option_lists_give_nan_without_a_warning() -> None:
    """n = 0 and no options are expected (a grid's unscored cells): NaN, and no RuntimeWarning
    in the report's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = wilson_interval([0, 0, 3], [0, 5, 3])
        chance = chance_of([[], ["A", "B"]])
        grid = summarise_grid(pd.DataFrame({"g": ["x"], "correct": [True], "unparsed": [False], "failed": [False],
                                            "chance": [0.5]}), {"g": ["x", "y"]})
    assert np.isnan(low[0]) and np.isnan(high[0]) and (low[1], high[2]) == (0.0, 1.0)
    assert np.isnan(chance[0]) and chance[1] == 0.5
    assert grid["chance"].tolist()[0] == 0.5 and np.isnan(grid["chance"].tolist()[1])


def test_int32_counts_of_a_large_group_do_not_overflow() -> None:
    """Counts read as int32 (a parquet column): n * n of 30,000 cases passes 2**31."""
    k, n = np.array([12_000], dtype="int32"), np.array([30_000], dtype="int32")
    assert np.allclose(wilson_interval(k, n), wilson_interval([12_000.0], [30_000.0]), rtol=1e-12)


def test_wilson_bounds_stay_in_0_1_where_the_formula_rounds_past_them() -> None:
    """The formula's bounds lie in [0, 1], but at a vanishing (cluster-adjusted, fractional) k
    or n - k, centre - half rounds below 0 and centre + half above 1."""
    low, _ = wilson_interval(1e-16, 1.0)
    _, high = wilson_interval(48.3752100950675, 48.375210096325866)
    assert low == 0.0 and high == 1.0


def frame_with_clusters(rows: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"run": rng.choice(["a", "b", "out"], rows), "cluster": rng.integers(0, 8, rows),
                         "correct": rng.random(rows) < 0.6, "unparsed": rng.random(rows) < 0.1,
                         "failed": rng.random(rows) < 0.05})


def test_grid_with_clusters_has_the_design_effect_of_summarise_on_its_levels() -> None:
    """Rows outside the levels ("out") are left out of the cluster-aware interval as well; the
    grid's columns are numeric (integer counts, float accuracy) also with unscored cells."""
    frame = frame_with_clusters()
    grid = summarise_grid(frame, {"run": ["a", "b", "none"]})
    ref = summarise(frame[frame["run"] != "out"], ["run"])
    assert list(grid.columns) == list(ref.columns) and "design_effect" in grid.columns
    assert np.allclose(grid[["design_effect", "ci_low", "ci_high"]].iloc[:2], ref[["design_effect", "ci_low", "ci_high"]])
    assert grid["n"].dtype == "int64" and grid["correct"].dtype == "int64" and grid["accuracy"].dtype == "float64"
    assert grid["n"].tolist()[2] == 0 and np.isnan(grid["accuracy"].tolist()[2])


def test_summarise_drops_rows_with_a_missing_key_also_with_several_keys() -> None:
    """A NaN key leaves its row out, as a groupby does, with one key or more."""
    frame = frame_with_clusters().drop(columns="cluster")
    frame["length"] = pd.array(np.where(np.arange(len(frame)) % 2, 2000, 4000), dtype="Int64")
    frame.loc[0, "run"] = None
    kept = frame.iloc[1:]
    for keys in (["run"], ["run", "length"]):
        out = summarise(frame, keys)
        assert out["n"].tolist() == kept.groupby(keys, sort=True).size().tolist()
    assert summarise(frame, ["length"])["length"].dtype == "Int64"  # the key keeps its dtype
