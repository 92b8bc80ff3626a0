"""niah.comparisons at its edges, against scipy.stats and against transcriptions written here
in plain Python: pairs without common cases or spread, one cluster, exactly EXACT_CLUSTERS
differing clusters, NaN in one run only, several pairs of different kinds in one call, and
the rank bootstrap drawn by hand from the same seed."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy.stats import binomtest, chi2, ttest_1samp

from niah import comparisons


# ----- paired: the bookkeeping -------------------------------------------------------------------
def test_a_pair_without_common_cases_gives_nan_silently_and_common_is_a_count():
    """Nothing answered by both: difference and p are NaN, without a RuntimeWarning on the
    page build; ``common`` is int64 (the significance table shows it as a whole number)."""
    a = np.array([[np.nan, np.nan, np.nan], [1.0, 0.0, 1.0]])
    b = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = comparisons.paired(a, b, np.array([0, 0, 1]), np.array([True, True]))
    assert np.isnan(result.difference[0]) and np.isnan(result.p[0])
    assert result.difference[1] == pytest.approx(100 / 3)
    assert result.common.tolist() == [0, 3] and result.common.dtype == np.int64
    assert result.clusters.tolist() == [0, 2]


def test_one_common_case_still_gets_a_p():
    """A single common case that differs: exact McNemar with one discordant case, p = 1."""
    result = comparisons.paired(np.array([1.0, np.nan]), np.array([0.0, 0.0]), np.arange(2), np.array([True]))
    assert result.common[0] == 1 and result.p[0] == 1.0 and result.difference[0] == 100.0


def test_a_case_either_run_left_unanswered_is_left_out():
    """NaN in one run only drops that case from both: the same as comparing the cases both
    answered; a cluster emptied that way is not counted among the clusters."""
    rng = np.random.default_rng(7)
    a = (rng.random(60) < 0.6).astype(float)
    b = (rng.random(60) < 0.5).astype(float)
    cluster = np.arange(60) // 3
    a[[0, 1, 2, 10]] = np.nan  # all of cluster 0, one case of cluster 3
    b[[30, 31, 32]] = np.nan   # all of cluster 10
    keep = ~np.isnan(a) & ~np.isnan(b)
    for single in (True, False):
        holes = comparisons.paired(a, b, cluster, np.array([single]))
        kept = comparisons.paired(a[keep], b[keep], cluster[keep], np.array([single]))
        assert holes.p[0] == kept.p[0] and holes.difference[0] == kept.difference[0]
        assert holes.common[0] == 53 and holes.clusters[0] == 18 and holes.test[0] == kept.test[0]


def test_boolean_runs_are_scored_as_ones_and_zeros():
    """Correctness as booleans (as a ``correct`` column holds it) compares as 1/0 floats."""
    rng = np.random.default_rng(8)
    a, b = rng.random((2, 40)) < 0.5
    cluster = np.arange(40) // 2
    as_bool = comparisons.paired(a, b, cluster, np.array([True]))
    as_float = comparisons.paired(a.astype(float), b.astype(float), cluster, np.array([True]))
    assert as_bool.p[0] == as_float.p[0] and as_bool.difference[0] == as_float.difference[0]


def test_single_flags_given_as_numbers_mean_the_same_as_booleans():
    """``single`` from a 0/1 numeric column picks the same tests as ``[True, False]``."""
    rng = np.random.default_rng(9)
    a, b = (rng.random((2, 2, 30)) < 0.5).astype(float)
    flags = comparisons.paired(a, b, np.arange(30), np.array([True, False]))
    numbers = comparisons.paired(a, b, np.arange(30), np.array([1.0, 0.0]))
    assert numbers.test.tolist() == flags.test.tolist() == [comparisons.MCNEMAR, comparisons.PAIRED_T]
    assert numbers.p.tolist() == flags.p.tolist()


def test_paired_entries_of_no_pairs_is_empty():
    """No pairs (a section of one entry): empty results, not an indexing error."""
    scores = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    result = comparisons.paired_entries(scores, [], [], np.arange(3), [])
    assert result.p.shape == result.difference.shape == result.common.shape == (0,)


# ----- paired: which test, pair by pair ----------------------------------------------------------
def test_single_runs_get_the_clustered_form_only_where_their_own_clusters_repeat():
    """Two pairs in one call on the same clusters of two cases: the pair whose NaNs leave one
    case per cluster gets exact McNemar, the other the cluster-adjusted form."""
    rng = np.random.default_rng(10)
    a, b = (rng.random((2, 2, 40)) < 0.5).astype(float)
    a[0, ::2] = np.nan
    result = comparisons.paired(a, b, np.arange(40) // 2, np.array([True, True]))
    assert result.test.tolist() == [comparisons.MCNEMAR, comparisons.MCNEMAR_CLUSTERED]
    d = a[0, 1::2] - b[0, 1::2]
    assert result.p[0] == pytest.approx(binomtest(int((d > 0).sum()), int((d != 0).sum())).pvalue, rel=1e-12)


def test_twelve_differing_clusters_are_enumerated_thirteen_are_chi_square():
    """Clusters of two cases, one case differing (+1) in each of k clusters: at k =
    EXACT_CLUSTERS the sign-flip test is enumerated (binomtest(k, k)), one more and it is
    chi-square(1) of k^2 / k."""
    for k, expected in ((12, binomtest(12, 12).pvalue), (13, chi2.sf(13.0, 1))):
        a = np.zeros(2 * k + 4)
        a[0:2 * k:2] = 1.0
        result = comparisons.paired(a, np.zeros_like(a), np.arange(len(a)) // 2, np.array([True]))
        assert result.test[0] == comparisons.MCNEMAR_CLUSTERED
        assert result.p[0] == pytest.approx(expected, rel=1e-12)
    assert comparisons.EXACT_CLUSTERS == 12


def test_cluster_adjusted_mcnemar_is_chi_square_pair_by_pair():
    """Four pairs of single runs in one call, 60 clusters of 3 cases, many differing: each p
    is chi-square(1) of (sum_c D_c)^2 / sum_c D_c^2 over its own cluster totals."""
    rng = np.random.default_rng(12)
    a, b = (rng.random((2, 4, 180)) < rng.uniform(0.3, 0.7, (2, 4, 1))).astype(float)
    cluster = np.arange(180) // 3
    result = comparisons.paired(a, b, cluster, np.ones(4, dtype=bool))
    expected = []
    for row in a - b:
        totals = [sum(row[cluster == c]) for c in range(60)]
        expected.append(chi2.sf(sum(totals) ** 2 / sum(d * d for d in totals), 1))
    assert result.p == pytest.approx(expected, rel=1e-9)
    assert set(result.test) == {comparisons.MCNEMAR_CLUSTERED}


def test_identical_single_runs_in_shared_clusters_get_p_one():
    result = comparisons.paired(np.ones(8), np.ones(8), np.arange(8) // 4, np.array([True]))
    assert result.test[0] == comparisons.MCNEMAR_CLUSTERED and result.p[0] == 1.0


# ----- paired t on cluster totals ----------------------------------------------------------------
def _t_by_hand(a: list[float], b: list[float], cluster: list[int]) -> float:
    """ttest_1samp of the per-cluster totals of a - b over the cases both answered; fewer than
    two clusters: 1."""
    totals: dict[int, float] = {}
    for x, y, c in zip(a, b, cluster):
        if not (math.isnan(x) or math.isnan(y)):
            totals[c] = totals.get(c, 0.0) + x - y
    return float(ttest_1samp(list(totals.values()), 0.0).pvalue) if len(totals) >= 2 else 1.0


@pytest.mark.parametrize("seed", range(6))
def test_paired_t_is_scipy_ttest_1samp_pair_by_pair(seed: int):
    """Several seed-group pairs at once, each with its own NaN holes (whole clusters too) and
    one, two or more clusters answered: each p is ttest_1samp of its own cluster totals."""
    rng = np.random.default_rng(seed)
    pairs, cases = 6, 24
    cluster = rng.integers(0, 8, cases)
    a = rng.integers(0, 4, (pairs, cases)) / 3
    b = rng.integers(0, 2, (pairs, cases)).astype(float)
    a[rng.random((pairs, cases)) < 0.2] = np.nan
    a[0, cluster != cluster[0]] = np.nan                          # one cluster
    a[1, (cluster != cluster[0]) & (cluster != cluster[1])] = np.nan  # at most two
    a[2, cluster == cluster[2]] = np.nan                          # a whole cluster out
    result = comparisons.paired(a, b, cluster, np.zeros(pairs, dtype=bool))
    expected = [_t_by_hand(list(a[i]), list(b[i]), list(cluster)) for i in range(pairs)]
    assert result.p == pytest.approx(expected, rel=1e-9)
    assert set(result.test) == {comparisons.PAIRED_T}
    answered = ~np.isnan(a) & ~np.isnan(b)
    assert result.clusters.tolist() == [len(set(cluster[row])) for row in answered]


def test_paired_t_on_two_clusters_has_one_degree_of_freedom():
    """G = 2 cluster totals 1 and 2: t = 1.5 / (sqrt(1/2) / sqrt(2)) = 3 on 1 degree of
    freedom, p = 2 * (1/2 - atan(3) / pi) (Cauchy tails)."""
    a = np.array([1.0, 1.0, 1.0, 1.0])
    b = np.array([0.0, 1.0, 0.0, 0.0])
    result = comparisons.paired(a, b, np.array([0, 1, 1, 1]), np.array([False]))
    assert result.clusters[0] == 2
    assert result.p[0] == pytest.approx(1 - 2 * math.atan(3) / math.pi, rel=1e-12)


def test_paired_t_without_spread_or_with_one_cluster():
    """No spread among the cluster totals: p = 1 when they are all 0, p = 0 when they all
    equal the same non-zero total; one cluster: p = 1 whatever it holds. Without warnings."""
    group = np.array([[0.5, 0.5, 0.5, 0.5], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    run = np.array([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.0, 1.0, 0.0, 0.0]])
    cluster = np.array([[0, 0, 1, 1], [0, 1, 2, 3], [0, 0, 0, 0]])
    p = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(3):
            p.append(comparisons.paired(group[i], run[i], cluster[i], np.array([False])).p[0])
    assert p == [1.0, 0.0, 1.0]


# ----- sign-flip test ----------------------------------------------------------------------------
def _sign_flip_by_hand(totals: list[float]) -> float:
    """Share of the 2^k sign patterns whose |signed sum| reaches |sum(totals)|."""
    observed = abs(sum(totals))
    patterns = list(itertools.product((1, -1), repeat=len(totals)))
    return sum(abs(sum(s * t for s, t in zip(signs, totals))) >= observed for signs in patterns) / len(patterns)


@pytest.mark.parametrize("seed", range(8))
def test_sign_flip_exact_is_the_enumeration_written_out(seed: int):
    """Totals in quarters (exact in binary, so ties are exact) of random sizes 1..9."""
    rng = np.random.default_rng(seed)
    totals = rng.integers(-12, 13, int(rng.integers(1, 10))) / 4
    assert comparisons.sign_flip_exact(totals) == _sign_flip_by_hand(list(totals))


def test_sign_flip_exact_by_hand():
    """[2, 1, 1]: |sum| 4 for 2 of 8 patterns (the observed and its mirror), so p = 1/4; one
    total: p = 1; none: p = 1."""
    assert comparisons.sign_flip_exact(np.array([2.0, 1.0, 1.0])) == 0.25
    assert comparisons.sign_flip_exact(np.array([1.5, 0.25, 0.5])) == 0.25
    assert comparisons.sign_flip_exact(np.array([-3.0])) == 1.0
    assert comparisons.sign_flip_exact(np.array([])) == 1.0


# ----- rank intervals ----------------------------------------------------------------------------
def _rank_intervals_by_hand(scores: np.ndarray, cluster: np.ndarray, replicates: int, seed: int,
                            level: float) -> tuple[list[int], list[int]]:
    """The cluster bootstrap written out: clusters drawn with replacement from
    ``default_rng(seed).integers(0, G, (replicates, G))``, each entry's accuracy over the
    drawn clusters' answered cases (none answered: below everyone), rank = 1 + entries
    strictly better, then the ranks at positions floor(t (R-1)) and ceil((1-t) (R-1)) of the
    sorted ranks, t = (1 - level) / 2."""
    ids = sorted(set(cluster.tolist()))
    draws = np.random.default_rng(seed).integers(0, len(ids), (replicates, len(ids)))
    ranks: list[list[int]] = [[] for _ in scores]
    for draw in draws:
        accuracy = []
        for row in scores:
            right = answered = 0.0
            for g in draw:
                values = [v for v, c in zip(row, cluster) if c == ids[g] and not math.isnan(v)]
                right, answered = right + sum(values), answered + len(values)
            accuracy.append(right / answered if answered else -math.inf)
        for e, mine in enumerate(accuracy):
            ranks[e].append(1 + sum(other > mine for other in accuracy))
    tail = (1 - level) / 2
    low = [sorted(r)[math.floor(tail * (replicates - 1))] for r in ranks]
    high = [sorted(r)[math.ceil((1 - tail) * (replicates - 1))] for r in ranks]
    return low, high


@pytest.mark.parametrize("seed, level", [(3, 0.95), (1, 0.5), (4, 0.2), (5, 0.9)])
def test_rank_intervals_are_the_bootstrap_written_out(seed: int, level: float):
    """Five close entries with different coverage (NaN holes), a copy of one of them (a tie)
    and one that answered nothing, on clusters of 1-4 cases; 40 replicates."""
    rng = np.random.default_rng(seed)
    cases = 30
    cluster = rng.integers(0, 12, cases)
    scores = (rng.random((5, cases)) < rng.uniform(0.4, 0.6, (5, 1))).astype(float)
    scores[rng.random((5, cases)) < 0.3] = np.nan
    scores = np.vstack([scores, scores[1], np.full(cases, np.nan)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = comparisons.rank_intervals(scores, cluster, replicates=40, seed=seed + 100, level=level)
    assert (low.tolist(), high.tolist()) == _rank_intervals_by_hand(scores, cluster, 40, seed + 100, level)
    assert low[1] == low[5] and high[1] == high[5]
    assert low[-1] == high[-1] == len(scores)
    assert low.dtype == high.dtype == np.int64


def test_three_identical_entries_all_rank_first():
    """Ties share the better rank (method "min"): three copies rank 1 in every draw."""
    scores = np.tile((np.arange(20) % 3 == 0).astype(float), (3, 1))
    low, high = comparisons.rank_intervals(scores, np.arange(20) // 2, replicates=50)
    assert low.tolist() == high.tolist() == [1, 1, 1]


def test_rank_intervals_of_nothing_one_entry_and_one_cluster():
    """No entries: two empty int64 arrays; entries but no cases: ranks 0, int64 as always;
    one entry: rank 1; one cluster: the fixed order of the entries' accuracies."""
    for entries, cases in ((0, 4), (3, 0)):
        low, high = comparisons.rank_intervals(np.zeros((entries, cases)), np.arange(cases))
        assert low.tolist() == high.tolist() == [0] * entries
        assert low.dtype == high.dtype == np.int64
    low, high = comparisons.rank_intervals(np.array([[1.0, 0.0, 1.0]]), np.arange(3))
    assert low.tolist() == high.tolist() == [1]
    low, high = comparisons.rank_intervals(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]]), np.zeros(3, dtype=int))
    assert low.tolist() == high.tolist() == [2, 1]
