"""Cases that are not independent: a needle question is asked at several lengths and depths
(about 4 cases per question at Video-MME size) and a needle video carries about 3 questions,
so two cases of one video succeed or fail together more often than two cases of different
videos. Intervals and tests that treat every case as independent are then too narrow, as
lmms-eval's Video-MME task says when it clusters its standard errors by video.

The unit of independence is the *cluster*, whatever the caller names: the leaderboard uses a
case's needle question from the manifest (its needle video, which holds about 3 questions, is
the coarser choice lmms-eval makes); without a manifest every case is its own cluster and
everything below reduces to its independent-case form.

* :func:`design_effect`: per group, the clustered (sandwich) variance of the accuracy over
  the binomial one; a Wilson interval on the effective sample size ``n / deff``
  (:func:`niah.accuracy.summarise`, after Korn & Graubard 1998) keeps Wilson's behaviour at
  0 % and 100 % and widens as much as the clustering asks.
* :func:`cluster_totals`: per row of a runs x cases matrix, the sum over each cluster, the
  input of the cluster-aware paired tests (:mod:`niah.comparisons`) and of the cluster
  bootstrap of ranks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def codes(clusters: ArrayLike) -> np.ndarray:
    """Each case's cluster as 0..G-1 (a missing cluster id: the case is its own cluster, coded
    after the named ones); codes already (whole numbers from 0) are kept as they are."""
    array = np.asarray(clusters)
    if array.dtype.kind in ("i", "u") and (array.size == 0 or array.min() >= 0):
        return np.asarray(array, dtype="int64")
    # as given (np.asarray would spell a NaN beside strings as the string 'nan'); a missing id: -1
    out, named = pd.factorize(pd.Series(np.asarray(clusters, dtype=object)))
    alone = out < 0
    out[alone] = len(named) + np.arange(int(alone.sum()))
    return out


def design_effect(group: np.ndarray, cluster: np.ndarray, correct: np.ndarray, groups: int) -> np.ndarray:
    """Per group ``0..groups-1``: var(accuracy | clustered cases) / var(accuracy | independent
    cases), at least 1. The clustered variance is the sandwich estimator with the small-sample
    factor G/(G-1): ``G/(G-1) * sum_c (k_c - p n_c)^2 / n^2``. A group whose clusters each hold
    one case has design effect 1 (it *is* independent cases); so has a group at 0 % or 100 %
    (0/0) or with one cluster (G/(G-1) = 1/0): only a finite ratio is used."""
    group = np.asarray(group, dtype="int64")
    cluster = np.asarray(cluster, dtype="int64")
    y = np.asarray(correct, dtype="float64")
    out = np.ones(groups)
    if not len(group):
        return out
    width = int(cluster.max()) + 1
    # one code per (group, cluster) pair, numbered by hashing: linear, no sort, any cluster ids
    index, pair = pd.factorize(group * width + cluster)
    k_c = np.bincount(index, weights=y)   # index takes every value 0..len(pair)-1
    n_c = np.bincount(index)
    pair_group = pair // width
    n = np.bincount(group, minlength=groups)
    k = np.bincount(group, weights=y, minlength=groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        resid = np.bincount(pair_group, weights=(k_c - p[pair_group] * n_c) ** 2, minlength=groups)
        g = np.bincount(pair_group, minlength=groups)
        clustered = g / (g - 1) * resid / n ** 2
        binomial = p * (1 - p) / n
        deff = clustered / binomial
    repeated = np.bincount(pair_group, weights=n_c > 1, minlength=groups) > 0
    use = repeated & np.isfinite(deff)
    out[use] = np.maximum(1.0, deff[use])
    return out


def cluster_totals(values: np.ndarray, cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sums, counts)``: per row of ``values`` (rows x cases, NaN = not answered), the sum of
    its answered values and their number in each cluster (rows x G). Sorted once and summed
    with ``np.add.reduceat``: linear in the matrix, whatever the number of clusters."""
    cluster = np.asarray(cluster, dtype="int64")
    order = np.argsort(cluster, kind="stable")
    sorted_clusters = cluster[order]
    v = np.asarray(values, dtype="float64")[:, order]
    if not len(order):
        return np.zeros((len(v), 0)), np.zeros((len(v), 0))
    starts = np.flatnonzero(np.r_[True, sorted_clusters[1:] != sorted_clusters[:-1]])
    present = ~np.isnan(v)
    return np.add.reduceat(np.where(present, v, 0.0), starts, axis=1), np.add.reduceat(present * 1.0, starts, axis=1)
