"""Is one leaderboard entry better than another, and how sure is its rank? Tests that fit
what is compared, all aware that cases of one cluster (one needle question) are not
independent (:mod:`niah.clusters`).

An entry is a run or a seed group; per case it has a *score*: 1/0 for a single run, the
mean correctness over its seeds for a group (NaN where it has no answer). Two entries are
compared on the cases both answered, through the per-case differences ``d_i = a_i - b_i``
and their per-cluster totals ``D_c``:

* single run vs single run, no two cases in one cluster: **exact McNemar**, the binomial
  test of the discordant cases at 1/2 (``scipy.stats.binom``, as ``binomtest`` gives);
* single run vs single run with repeated clusters: **cluster-adjusted McNemar** (Durkalski
  et al. 2003, Stat Med 22:2417): ``(sum_c D_c)^2 / sum_c D_c^2`` against chi-square(1),
  which is McNemar's chi-square when every cluster holds one case and is the normal form of
  the cluster sign-flip permutation test; with at most :data:`EXACT_CLUSTERS` clusters that
  differ, that permutation test itself, enumerated exactly (exact McNemar again when each
  differing cluster differs by one case), where chi-square would be too rough;
* anything with a seed group: **paired t-test on the cluster totals** ``D_c`` (mean 0 under
  no difference; ``scipy.stats.t``, G - 1 degrees of freedom), which is the paired t-test on
  the per-case differences of means when no cluster repeats. A sign test of a group's mean
  throws the size of each difference away (a coin-flip run 1.1 points below four random
  seeds got p = 4.5e-74 from it; this test gives 0.2, as a permutation test does).

All three are analytic, so one matrix product serves 1,225 pairs in milliseconds and
p-values stay resolvable after Holm over a whole table (a Monte Carlo permutation p cannot
go below 1 / its replicates). Rank uncertainty is a cluster bootstrap: the clusters are
drawn with replacement, every entry's accuracy recomputed and ranked, and each entry's
2.5-97.5 % range of ranks reported, as LMSYS's arena does over battles.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from niah.clusters import cluster_totals

#: What :func:`paired` says it ran, per pair.
MCNEMAR, MCNEMAR_CLUSTERED, PAIRED_T = "exact McNemar", "cluster-adjusted McNemar", "paired t on cluster totals"
#: Up to this many differing clusters, single runs get the exact cluster sign-flip test.
EXACT_CLUSTERS = 12
#: Bootstrap replicates of the rank intervals (fixed seed: the page is reproducible).
RANK_REPLICATES = 1000
RANK_SEED = 20261202


@dataclass(frozen=True)
class Paired:
    """Per pair: ``difference`` (a - b, points, on the common cases), ``p`` (two-sided),
    ``common`` (cases both answered), ``clusters`` (clusters among them), ``test`` (its name)."""

    difference: np.ndarray
    p: np.ndarray
    common: np.ndarray
    clusters: np.ndarray
    test: np.ndarray


def paired(a: np.ndarray, b: np.ndarray, cluster: np.ndarray, single: np.ndarray) -> Paired:
    """Compare row ``i`` of ``a`` with row ``i`` of ``b`` (pairs x cases scores, NaN: no
    answer); ``cluster``: each case's cluster code; ``single``: per pair, whether both
    sides are single runs (scores 0/1)."""
    d = np.atleast_2d(np.subtract(a, b, dtype="float64"))  # NaN where either has no answer
    totals, counts = cluster_totals(d, cluster)
    return _from_totals(totals, counts, single)


def paired_entries(scores: np.ndarray, first: np.ndarray, second: np.ndarray, cluster: np.ndarray,
                   single: np.ndarray) -> Paired:
    """:func:`paired` of entry ``first[i]`` against entry ``second[i]`` (rows of ``scores``,
    entries x cases). Entries that answered every case (the ranked ones) are compared from
    their cluster totals alone, ``totals[a] - totals[b]``: linear in clusters per pair, not in
    cases, which is what makes a 50-entry matrix (1,225 pairs) take milliseconds."""
    scores = np.asarray(scores, dtype="float64")
    first, second = np.asarray(first, dtype="int64"), np.asarray(second, dtype="int64")
    if np.isnan(scores).any():
        return paired(scores[first], scores[second], cluster, single)
    sums, counts = cluster_totals(scores, cluster)
    return _from_totals(sums[first] - sums[second], np.broadcast_to(counts[:1], (len(first), counts.shape[1])),
                        single)


def _from_totals(totals: np.ndarray, counts: np.ndarray, single: np.ndarray) -> Paired:
    """The tests of :func:`paired` from each pair's per-cluster totals of the differences and
    the number of common cases in each cluster (a case-level difference is a cluster total
    wherever clusters hold one case, so exact McNemar's counts are read from them)."""
    from scipy.stats import binom, chi2, t

    occupied = counts > 0
    common = counts.sum(axis=1).astype("int64")
    g = occupied.sum(axis=1)
    repeated = (counts > 1).any(axis=1)
    single = np.asarray(single, dtype=bool) & np.ones(len(totals), dtype=bool)
    total = totals.sum(axis=1)
    with np.errstate(invalid="ignore"):
        difference = 100.0 * total / common  # no common case: 0 / 0, NaN

    better, worse = (totals > 0).sum(axis=1), (totals < 0).sum(axis=1)  # cases, where clusters are single cases
    discordant = better + worse
    p_exact = np.minimum(1.0, 2.0 * binom.cdf(np.minimum(better, worse), discordant, 0.5))  # none: cdf 1, p 1

    with np.errstate(divide="ignore", invalid="ignore"):
        # no differing cluster: 0 / 0, but the exact test below takes every pair with so few
        p_clustered = chi2.sf(total ** 2 / (totals ** 2).sum(axis=1), 1)
        mean = total / g
        var = ((totals - mean[:, None]) ** 2 * occupied).sum(axis=1) / (g - 1)
        stat = mean / np.sqrt(var / g)
    p_t = np.where(var > 0, 2.0 * t.sf(np.abs(stat), np.maximum(g - 1, 1)), np.where(mean == 0, 1.0, 0.0))
    p_t = np.where(g >= 2, p_t, 1.0)

    for i in np.flatnonzero(single & repeated & ((totals != 0).sum(axis=1) <= EXACT_CLUSTERS)):
        p_clustered[i] = sign_flip_exact(totals[i][totals[i] != 0])
    test = np.where(single, np.where(repeated, MCNEMAR_CLUSTERED, MCNEMAR), PAIRED_T)
    p = np.where(single, np.where(repeated, p_clustered, p_exact), p_t)
    p = np.where(common > 0, p, np.nan)
    return Paired(difference, p, common, g, test)


def sign_flip_exact(totals: np.ndarray) -> float:
    """Two-sided p of the cluster sign-flip permutation test of ``sum(totals) = 0``, over all
    ``2**len(totals)`` sign patterns (the clusters' totals are symmetric about 0 under no
    difference); no totals: one empty pattern, p = 1."""
    k = len(totals)
    signs = 1 - 2 * ((np.arange(2 ** k)[:, None] >> np.arange(k)) & 1)
    flipped = np.abs(signs @ totals)
    return float(np.mean(flipped >= abs(float(np.sum(totals))) - 1e-9))


def rank_intervals(scores: np.ndarray, cluster: np.ndarray, replicates: int = RANK_REPLICATES,
                   seed: int = RANK_SEED, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Per entry (row of ``scores``: entries x cases, NaN no answer): the lowest and highest
    rank (1 = best, ties share the better rank) of the central ``level`` of its ranks over
    ``replicates`` cluster-bootstrap draws."""
    sums, counts = cluster_totals(scores, cluster)
    entries, groups = sums.shape
    if entries == 0 or groups == 0:
        return np.zeros(entries, dtype="int64"), np.zeros(entries, dtype="int64")
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, groups, size=(replicates, groups)) + groups * np.arange(replicates)[:, None]
    weights = np.bincount(drawn.ravel(), minlength=replicates * groups).reshape(replicates, groups).T.astype("float64")
    with np.errstate(invalid="ignore"):
        acc = (sums @ weights) / (counts @ weights)  # entries x replicates; nothing answered: 0 / 0
    acc = np.where(np.isnan(acc), -np.inf, acc)
    ranks = rankdata(-acc, method="min", axis=0)
    tail = (1 - level) / 2
    low = np.quantile(ranks, tail, axis=1, method="lower").astype("int64")
    high = np.quantile(ranks, 1 - tail, axis=1, method="higher").astype("int64")
    return low, high
