"""niah.clusters against transcriptions written here, case by case in plain Python: the design
effect (the sandwich variance of a proportion with G/(G-1), over the binomial one), the
per-cluster totals and the cluster codes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from niah import clusters


def deff_by_hand(group: list[int], cluster: list[int], correct: list[float], groups: int) -> list[float]:
    """Per group: 1 unless some cluster holds two cases and the ratio is finite; else
    max(1, [G/(G-1) * sum_c (k_c - p n_c)^2 / n^2] / [p (1-p) / n])."""
    out = []
    for j in range(groups):
        rows = [(c, y) for g, c, y in zip(group, cluster, correct) if g == j]
        n = len(rows)
        by_cluster: dict[int, list[float]] = {}
        for c, y in rows:
            by_cluster.setdefault(c, []).append(y)
        if not n or max(len(v) for v in by_cluster.values()) < 2 or len(by_cluster) < 2:
            out.append(1.0)
            continue
        p = sum(y for _, y in rows) / n
        if p in (0.0, 1.0):
            out.append(1.0)
            continue
        big_g = len(by_cluster)
        sandwich = big_g / (big_g - 1) * sum((sum(v) - p * len(v)) ** 2 for v in by_cluster.values()) / n ** 2
        out.append(max(1.0, sandwich / (p * (1 - p) / n)))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_design_effect_is_the_sandwich_ratio(seed):
    rng = np.random.default_rng(seed)
    groups, cases = int(rng.integers(1, 5)), int(rng.integers(1, 60))
    group = rng.integers(0, groups, cases)
    cluster = rng.integers(0, int(rng.integers(1, 12)), cases)
    correct = (rng.random(cases) < rng.random()).astype(float)
    got = clusters.design_effect(group, cluster, correct, groups)
    assert got == pytest.approx(deff_by_hand(list(group), list(cluster), list(correct), groups), rel=1e-12)


def test_design_effect_by_hand_between_one_and_two_and_with_huge_cluster_ids():
    # group 0: clusters {1,1} and {0,0}: deff 2 * (1 + 1) / 16 / (1/16) = 4;
    # group 1: clusters {1}, {0}, {1,1}: p = 3/4, G = 3, sum = 1/16 + 9/16 + 1/4 = 7/8,
    # sandwich 3/2 * 7/8 / 16 = 21/256, binomial 3/64: 1.75
    group, cluster = [0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 2, 3, 4, 4]
    correct = [1, 1, 0, 0, 1, 0, 1, 1]
    assert clusters.design_effect(group, cluster, correct, 2).tolist() == [4.0, 1.75]
    far = [c + (1 << 30) for c in cluster]   # ids past any dense table
    assert clusters.design_effect(group, far, correct, 2).tolist() == [4.0, 1.75]


def test_design_effect_is_one_where_the_ratio_is_not_defined_or_below_one():
    # one cluster (G/(G-1) = 1/0), all right (0/0), one repeated cluster of 2 that splits evenly
    assert clusters.design_effect([0, 0, 0], [5, 5, 5], [1, 0, 1], 1).tolist() == [1.0]
    assert clusters.design_effect([0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1], 1).tolist() == [1.0]
    below = clusters.design_effect([0] * 6, [0, 0, 1, 2, 3, 4], [1, 0, 1, 0, 1, 0], 1)
    assert below.tolist() == [1.0] and deff_by_hand([0] * 6, [0, 0, 1, 2, 3, 4], [1, 0, 1, 0, 1, 0], 1) == [1.0]
    assert clusters.design_effect([], [], [], 3).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("seed", range(6))
def test_cluster_totals_are_a_groupby_sum(seed):
    rng = np.random.default_rng(seed)
    rows, cases = int(rng.integers(1, 4)), int(rng.integers(1, 30))
    values = rng.integers(0, 2, (rows, cases)).astype(float)
    values[rng.random((rows, cases)) < 0.2] = np.nan
    cluster = rng.integers(0, 6, cases)
    sums, counts = clusters.cluster_totals(values, cluster)
    frame = pd.DataFrame(values.T).assign(cluster=cluster).groupby("cluster")
    assert np.array_equal(sums, frame.sum().to_numpy().T) and np.array_equal(counts, frame.count().to_numpy().T)


def test_cluster_totals_of_no_cases():
    sums, counts = clusters.cluster_totals(np.zeros((2, 0)), np.array([], dtype=int))
    assert sums.shape == counts.shape == (2, 0)


@pytest.mark.parametrize("given, expected", [
    ([2, 0, 1], [2, 0, 1]), ([1, 0], [1, 0]), (np.array([1, 0], dtype=np.uint8), [1, 0]),
    (["q1", None, "q2", None, "q1"], [0, 2, 1, 3, 0]), ([-1, 3, -1], [0, 1, 0]), ([], []),
    ([float("nan"), "a"], [1, 0]),   # a NaN beside strings is missing, not "nan"
])
def test_codes(given, expected):
    got = clusters.codes(given)
    assert got.tolist() == expected and got.dtype == np.int64
