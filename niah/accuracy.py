"""Accuracy with its uncertainty and its chance level: the one aggregation behind
``runner report`` and the leaderboard, so both give the same numbers for the same cases.

A length x depth cell of a 200-case build holds a handful of cases, so an accuracy alone
("100 %" from one case) misleads; every figure therefore comes with a Wilson 95 % score
interval, which stays inside [0, 1] and keeps its coverage at small n and at 0 % or 100 %
(unlike the normal-approximation interval). Chance is kept beside it, because a
multiple-choice accuracy means nothing without it: per case it is 1 / number of options,
so a group's chance is the mean of that over its cases.

The input of :func:`summarise` is one row per scored (run, case) with boolean columns
``correct``, ``unparsed`` (the answer could not be parsed) and ``failed`` (the case did
not run), and optionally ``chance`` and ``cluster``. With ``cluster`` (the case's needle
video, :mod:`niah.clusters`) the intervals are cluster-aware: Wilson's on the effective
sample size n / design effect, which is Wilson's own wherever no two cases of a group share
a cluster. Proportions are fractions in [0, 1]; callers that show percentages scale them.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from niah import clusters

#: Two-sided 95 % quantile of the standard normal distribution.
Z95 = 1.959963984540054
#: Needle duration bins in seconds, right-closed, as ``generator inspect`` counts them.
NEEDLE_SECONDS_EDGES: tuple[float, ...] = (0, 60, 90, 120, math.inf)
NEEDLE_SECONDS_LABELS: tuple[str, ...] = ("<=60s", "61-90s", "91-120s", ">120s")
#: The columns :func:`summarise` adds to the group keys.
SUMMARY_COLUMNS = ["n", "correct", "accuracy", "ci_low", "ci_high", "unparsed", "failed"]


def depth_decile(depth: ArrayLike) -> np.ndarray:
    """0..9 per depth, the rule of :attr:`niah.schema.Case.depth_decile` (1.0 is in decile 9)."""
    values = np.asarray(depth, dtype="float64")
    return np.clip((values * 10).astype("int64"), 0, 9)


def depth_label(decile: int) -> str:
    return f"{decile * 10}–{decile * 10 + 10}%"


def needle_duration_bin(seconds: ArrayLike) -> pd.Categorical:
    """The duration bin of each needle (seconds at the case's fps), ordered short to long."""
    return pd.cut(np.asarray(seconds, dtype="float64"), bins=list(NEEDLE_SECONDS_EDGES),  # right-closed
                  labels=list(NEEDLE_SECONDS_LABELS))


def wilson_interval(correct: ArrayLike, n: ArrayLike, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``correct / n``; NaN where ``n`` is 0."""
    k = np.asarray(correct, dtype="float64")
    total = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / total
        denom = 1 + z * z / total
        centre = (p + z * z / (2 * total)) / denom
        half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    # exactly 0 / 1 at the ends (where the formula gives them up to rounding); inside, the
    # bounds lie in [0, 1] but can round past 0 (low) or 1 (high) at a vanishing k or n - k
    low = np.where(k <= 0, 0.0, np.maximum(centre - half, 0.0))
    high = np.where(k >= total, 1.0, np.minimum(centre + half, 1.0))
    empty = total <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values: controls the chance of any false "real
    difference" across all the cells of a comparison at the nominal level. NaNs stay NaN."""
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid])]  # ties get the same adjusted p in either order
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        out[index] = running
    return out


def chance_of(options: Sequence[Sequence[str]]) -> np.ndarray:
    """Per case, the accuracy of a uniform guess: 1 / number of options (NaN for none)."""
    counts = np.array([len(o) for o in options])
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, 1.0 / counts, np.nan)


def summarise(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys``: cases, correct, accuracy, Wilson 95 % interval, unparsed and
    failed counts, and (if the frame has a ``chance`` column) the group's chance level.

    Groups are the key combinations present, sorted by key (categorical keys in their
    category order). Counted with one ``np.bincount`` per column over the factorised keys,
    which is several times faster than a pandas groupby on the leaderboard's 60,000 rows."""
    has_chance = "chance" in frame.columns
    columns = [*keys, *SUMMARY_COLUMNS, *(["chance"] if has_chance else []),
               *(["design_effect"] if "cluster" in frame.columns else [])]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    codes, uniques = [], []
    for key in keys:
        values = frame[key]
        if isinstance(values.dtype, pd.CategoricalDtype):
            code, levels = values.cat.codes.to_numpy(), values.cat.categories
        else:
            code, levels = pd.factorize(values, sort=True)
        codes.append(code.astype("int64"))
        uniques.append(levels)
    sizes = [len(u) for u in uniques]
    valid = np.all([c >= 0 for c in codes], axis=0)  # NaN keys are dropped, as a groupby does
    present, inverse = np.unique(np.ravel_multi_index([c[valid] for c in codes], sizes), return_inverse=True)
    count = lambda col: np.bincount(inverse, weights=frame[col].to_numpy()[valid].astype("float64"))  # noqa: E731
    n = np.bincount(inverse)
    out = pd.DataFrame({key: np.asarray(uniques[i])[idx] for i, (key, idx) in
                        enumerate(zip(keys, np.unravel_index(present, sizes)))})
    for key in keys:
        if isinstance(frame[key].dtype, pd.CategoricalDtype):
            out[key] = pd.Categorical(out[key], categories=frame[key].cat.categories)
        elif frame[key].dtype != object and not isinstance(frame[key].dtype, pd.StringDtype):
            out[key] = out[key].astype(frame[key].dtype)
    out["n"] = n.astype("int64")
    for col in ("correct", "unparsed", "failed"):
        out[col] = np.rint(count(col)).astype("int64")
    if has_chance:
        out["chance"] = count("chance") / n
    out["accuracy"] = out["correct"] / out["n"]
    _intervals(out, frame[valid], inverse, len(present))
    return out[columns]


def _intervals(out: pd.DataFrame, rows: pd.DataFrame, group: np.ndarray, groups: int) -> None:
    """``ci_low``/``ci_high`` of each group of ``out`` (``group``: each row's group), Wilson's,
    on the effective sample size when ``rows`` name their ``cluster``."""
    if "cluster" not in rows.columns:
        out["ci_low"], out["ci_high"] = wilson_interval(out["correct"], out["n"])
        return
    deff = clusters.design_effect(group, clusters.codes(rows["cluster"]), rows["correct"].to_numpy(), groups)
    out["design_effect"] = deff
    out["ci_low"], out["ci_high"] = wilson_interval(out["correct"] / deff, out["n"] / deff)


def summarise_grid(frame: pd.DataFrame, levels: dict[str, Sequence]) -> pd.DataFrame:
    """:func:`summarise` over every combination of ``levels`` (key -> its values, in order),
    scored or not: an unscored combination has ``n`` 0 and NaN accuracy, so a grid keeps its
    empty cells (rows outside the levels are left out)."""
    keys = list(levels)
    has_chance, has_cluster = "chance" in frame.columns, "cluster" in frame.columns
    sizes = [len(levels[k]) for k in keys]
    # -1 for a value outside the levels (pd.Categorical would warn: pandas 4 raises there)
    codes = [pd.Index(list(levels[k])).get_indexer(frame[k]).astype("int64") for k in keys]
    valid = np.all([c >= 0 for c in codes], axis=0)
    total = int(np.prod(sizes))
    group = np.ravel_multi_index([c[valid] for c in codes], sizes)
    weights = lambda col: np.bincount(group, weights=frame[col].to_numpy()[valid].astype("float64"),  # noqa: E731
                                      minlength=total)
    n = np.bincount(group, minlength=total)
    grid = np.unravel_index(np.arange(total), sizes)
    out = pd.DataFrame({k: np.asarray(list(levels[k]), dtype=object)[idx] for k, idx in zip(keys, grid)})
    for k in keys:
        if all(isinstance(v, (int, np.integer)) for v in levels[k]):
            out[k] = out[k].astype("int64")
    out["n"] = n.astype("int64")
    for col in ("correct", "unparsed", "failed"):
        out[col] = np.rint(weights(col)).astype("int64")
    if has_chance:
        with np.errstate(invalid="ignore"):  # 0 / 0: NaN for an unscored cell
            out["chance"] = weights("chance") / n
    out["accuracy"] = np.where(n > 0, out["correct"] / np.maximum(n, 1), np.nan)
    _intervals(out, frame[valid], group, total)
    return out[[*keys, *SUMMARY_COLUMNS, *(["chance"] if has_chance else []), *(["design_effect"] if has_cluster else [])]]


def holds_up_to(lengths: Sequence[int], correct: Sequence[int], n: Sequence[int], alpha: float = 0.05) -> int | None:
    """The longest haystack length up to which accuracy is not significantly below the
    accuracy at the shortest length: each longer length is tested against the shortest by a
    one-sided Fisher exact test (alternative "less"; lengths are different cases, so unpaired;
    its p is the hypergeometric tail ``scipy.stats.hypergeom.cdf``, which is what
    ``scipy.stats.fisher_exact`` computes, for all lengths in one call), the p-values
    Holm-corrected over those tests, and the run
    holds up to the length before the first significant drop. Holm keeps the chance of
    calling any drop of a flat model at ``alpha`` however many lengths there are (four
    uncorrected tests cut a flat 90 % model short in about one run in nine). ``None``
    without a scored shortest length; an unscored length ends the run of lengths. One number
    for "how long can it go", as TimeScope and RULER give, read against the run's own
    short-haystack accuracy."""
    from scipy.stats import hypergeom

    order = np.argsort(np.asarray(lengths))
    lengths = [int(lengths[i]) for i in order]
    correct = [int(correct[i]) for i in order]
    n = [int(n[i]) for i in order]
    if not n or n[0] == 0:
        return None
    k0, n0 = correct[0], n[0]
    scored = next((i for i, m in enumerate(n[1:], 1) if m == 0), len(n))
    k, m = np.asarray(correct[1:scored]), np.asarray(n[1:scored])
    p = hypergeom.cdf(k, m + n0, k + k0, m)
    dropped = np.flatnonzero(holm(p) < alpha)
    return lengths[int(dropped[0])] if len(dropped) else lengths[scored - 1]


def beyond_chance(correct: ArrayLike, n: ArrayLike, chance: ArrayLike, family: ArrayLike,
                  alpha: float = 0.05) -> np.ndarray:
    """Per cell: is its accuracy different from chance, by a two-sided exact binomial test
    (twice the smaller tail of ``scipy.stats.binom`` at the cell's chance, capped at 1) with
    Holm over the cells of its ``family`` (one run's grid)? A cell's 95 % interval missing
    chance is an uncorrected test per cell: a run at chance then shows a few of its 50 cells
    as "significant" by luck alone. Unscored cells: False."""
    from scipy.stats import binom

    k = np.asarray(correct, dtype="float64")
    m = np.asarray(n, dtype="float64")
    c = np.asarray(chance, dtype="float64")
    scored = (m > 0) & np.isfinite(c)
    p = np.full(k.shape, np.nan)
    low, high = binom.cdf(k[scored], m[scored], c[scored]), binom.sf(k[scored] - 1, m[scored], c[scored])
    p[scored] = 2.0 * np.minimum(low, high)  # above 1 at most where Holm caps it at 1
    out = np.zeros(k.shape, dtype=bool)
    family = pd.factorize(pd.Series(family))[0]
    for f in np.unique(family[scored]):
        cells = scored & (family == f)
        out[cells] = holm(p[cells]) < alpha
    return out
