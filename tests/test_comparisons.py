"""niah.comparisons, niah.clusters and the multiplicity rules of niah.accuracy on hand-made
and simulated populations (vectorised numpy, fixed seeds, a few seconds in all)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, fisher_exact, ttest_1samp, ttest_rel

from niah import accuracy, clusters, comparisons


def _clustered_population(rng, questions: int, per_question: int, mean: float, spread: float) -> np.ndarray:
    """Each question's chance of being answered right drawn around ``mean`` (a Beta with
    that mean), the same for its ``per_question`` cases: cases of one question go together."""
    a = mean * (1 / spread - 1)
    b = (1 - mean) * (1 / spread - 1)
    p = rng.beta(a, b, size=questions)
    return rng.random((questions, per_question)) < p[:, None]


# ----- the paired tests --------------------------------------------------------------------------
def test_a_seed_group_against_a_run_at_chance_gets_the_paired_t_test():
    """The issue's case: four random seeds at ~25 % against a coin-flip run at 23.9 %. The
    old sign test of the group's per-case mean said p = 4.5e-74; the paired t-test on the
    per-case differences of means says ~0.2, and so does this."""
    rng = np.random.default_rng(29)  # a draw 1.0 point apart, as in the issue
    cases = 3000
    seeds = (rng.random((4, cases)) < 0.25).mean(axis=0)
    coin = (rng.random(cases) < 0.239).astype(float)
    result = comparisons.paired(seeds[None], coin[None], np.arange(cases), np.array([False]))
    assert result.test[0] == comparisons.PAIRED_T
    assert result.p[0] == pytest.approx(ttest_rel(seeds, coin).pvalue, rel=1e-9)
    assert result.p[0] > 0.2 and result.difference[0] == pytest.approx(-1.04, abs=0.01)
    sign_p = binomtest(int((seeds > coin).sum()), int((seeds != coin).sum())).pvalue  # what the table used to show
    assert sign_p < 1e-20


def test_with_repeated_questions_the_t_test_runs_on_the_question_totals():
    rng = np.random.default_rng(3)
    question = np.repeat(np.arange(250), 4)
    group = (rng.random((3, 1000)) < 0.6).mean(axis=0)
    run = (rng.random(1000) < 0.55).astype(float)
    result = comparisons.paired(group[None], run[None], question, np.array([False]))
    totals = pd.Series(group - run).groupby(question).sum()
    assert result.p[0] == pytest.approx(ttest_1samp(totals, 0.0).pvalue, rel=1e-9)
    assert result.clusters[0] == 250 and result.common[0] == 1000


def test_two_single_runs_get_exact_mcnemar_or_its_cluster_adjusted_form():
    rng = np.random.default_rng(1)
    a, b = (rng.random(400) < 0.6).astype(float), (rng.random(400) < 0.5).astype(float)
    own = comparisons.paired(a[None], b[None], np.arange(400), np.array([True]))
    better, worse = int((a > b).sum()), int((a < b).sum())
    assert own.test[0] == comparisons.MCNEMAR
    assert own.p[0] == pytest.approx(binomtest(better, better + worse).pvalue, rel=1e-9)
    shared = comparisons.paired(a[None], b[None], np.arange(400) // 4, np.array([True]))
    totals = pd.Series(a - b).groupby(np.arange(400) // 4).sum()
    assert shared.test[0] == comparisons.MCNEMAR_CLUSTERED
    from scipy.stats import chi2
    assert shared.p[0] == pytest.approx(chi2.sf(totals.sum() ** 2 / (totals ** 2).sum(), 1), rel=1e-9)
    # few differing questions: the sign-flip test enumerated; one case each is exact McNemar again
    few = np.zeros(40)
    few[[0, 4, 8, 12, 16, 20]] = 1.0
    exact = comparisons.paired(few[None], np.zeros((1, 40)), np.arange(40) // 2, np.array([True]))
    assert exact.p[0] == pytest.approx(binomtest(6, 6).pvalue)


def test_cluster_aware_tests_hold_their_size_where_the_case_level_test_does_not():
    """400 simulated pairs of equally good single runs on 150 questions x 4 cases, where on
    each question one of the two happens to be the better (by a random amount, either way):
    McNemar over cases rejects far more than 5 %; the cluster-adjusted form stays near 5 %."""
    rng = np.random.default_rng(11)
    pairs, questions, per = 400, 150, 4
    q = rng.beta(2, 1.5, size=(pairs, questions, 1))
    delta = rng.normal(0, 0.2, size=(pairs, questions, 1))
    p_a, p_b = np.clip(q + delta, 0, 1), np.clip(q - delta, 0, 1)
    a = (rng.random((pairs, questions, per)) < p_a).reshape(pairs, -1).astype(float)
    b = (rng.random((pairs, questions, per)) < p_b).reshape(pairs, -1).astype(float)
    question = np.repeat(np.arange(questions), per)
    clustered = comparisons.paired(a, b, question, np.ones(pairs, dtype=bool)).p
    naive = comparisons.paired(a, b, np.arange(questions * per), np.ones(pairs, dtype=bool)).p
    assert (clustered < 0.05).mean() <= 0.075
    assert (naive < 0.05).mean() > 0.15


# ----- intervals -----------------------------------------------------------------------------------
def test_cluster_aware_intervals_cover_where_wilson_does_not():
    """1,000 simulated runs of 300 questions x 4 cases (question difficulty from a Beta around
    60 %): the cluster-aware interval covers the population accuracy in >= 93 % of runs at
    nominal 95 %; Wilson over cases, treating the 1,200 cases as independent, does not."""
    rng = np.random.default_rng(2026)
    runs, questions, per, mean = 1000, 300, 4, 0.6
    correct = np.concatenate([_clustered_population(rng, questions, per, mean, spread=0.3).ravel()
                              for _ in range(runs)])
    frame = pd.DataFrame({"run": np.repeat(np.arange(runs), questions * per), "correct": correct,
                          "unparsed": False, "failed": False,
                          "cluster": np.tile(np.repeat(np.arange(questions), per), runs)})
    out = accuracy.summarise(frame, ["run"])
    plain = accuracy.summarise(frame.drop(columns="cluster"), ["run"])
    covered_clustered = ((out["ci_low"] <= mean) & (mean <= out["ci_high"])).mean()
    covered_wilson = ((plain["ci_low"] <= mean) & (mean <= plain["ci_high"])).mean()
    assert covered_clustered >= 0.93
    assert covered_wilson < 0.90
    assert (out["design_effect"] > 1.5).all()


def test_design_effect_is_one_without_shared_clusters_and_at_the_ends():
    group = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    cluster = np.array([0, 1, 2, 3, 4, 4, 5, 5])
    correct = np.array([1, 0, 1, 0, 1, 1, 1, 1])
    assert list(clusters.design_effect(group, cluster, correct, 2)) == [1.0, 1.0]
    assert list(clusters.codes(["v1", None, "v1", None])) == [0, 1, 0, 2]


# ----- ranks -----------------------------------------------------------------------------------------
def test_rank_intervals_are_tight_for_a_clear_leader_and_wide_for_a_tie():
    rng = np.random.default_rng(5)
    question = np.repeat(np.arange(500), 4)
    scores = np.vstack([rng.random(2000) < 0.9, rng.random(2000) < 0.6, rng.random(2000) < 0.6,
                        rng.random(2000) < 0.3]).astype(float)
    low, high = comparisons.rank_intervals(scores, question)
    assert (low[0], high[0]) == (1, 1) and (low[3], high[3]) == (4, 4)
    assert low[1] == low[2] == 2 and high[1] == high[2] == 3
    again = comparisons.rank_intervals(scores, question)
    assert np.array_equal(again[0], low) and np.array_equal(again[1], high)  # fixed seed: reproducible


# ----- holds up to and the heatmap's noise rule ------------------------------------------------------
def _uncorrected_holds(lengths, correct, n, alpha=0.05):
    """The rule before Holm: the first length whose own Fisher test is below alpha ends it."""
    held = lengths[0]
    for length, k, m in zip(lengths[1:], correct[1:], n[1:]):
        if fisher_exact([[k, m - k], [correct[0], n[0] - correct[0]]], alternative="less").pvalue < alpha:
            break
        held = length
    return held


def test_a_flat_model_is_cut_short_in_at_most_five_percent_of_seeds():
    rng = np.random.default_rng(26)
    lengths, n, seeds = [2000, 4000, 6000, 8000, 10000], 600, 400
    counts = rng.binomial(n, 0.9, size=(seeds, len(lengths)))
    cut = np.mean([accuracy.holds_up_to(lengths, list(c), [n] * 5) != lengths[-1] for c in counts])
    old = np.mean([_uncorrected_holds(lengths, list(c), [n] * 5) != lengths[-1] for c in counts])
    assert cut <= 0.05
    assert old > 0.08  # the uncorrected rule: about one run in nine


def test_a_flat_model_with_one_mild_dip_holds_up_to_the_longest_length():
    lengths, n = [2000, 4000, 6000, 8000, 10000], [600] * 5
    correct = [540, 540, 518, 540, 540]  # 90 % with one length at 86.3 % (one-sided p = 0.03)
    assert accuracy.holds_up_to(lengths, correct, n) == 10000
    assert _uncorrected_holds(lengths, correct, n) == 4000  # what the page said before
    # a real drop still ends it
    assert accuracy.holds_up_to(lengths, [540, 535, 420, 400, 380], n) == 4000


def test_a_run_at_chance_shows_hardly_any_cell_beyond_chance():
    """200 simulated runs at chance on a 5 x 10 grid of 12-case cells: with Holm over each
    run's 50 cells, at most 5 % of runs show any cell beyond chance (the interval rule showed
    2-4 per run)."""
    rng = np.random.default_rng(4)
    runs, cells, n = 200, 50, 12
    correct = rng.binomial(n, 0.25, size=(runs, cells))
    flags = accuracy.beyond_chance(correct.ravel(), np.full(runs * cells, n), np.full(runs * cells, 0.25),
                                   np.repeat(np.arange(runs), cells))
    assert flags.reshape(runs, cells).any(axis=1).mean() <= 0.05
    low, high = accuracy.wilson_interval(correct, n)
    assert ((low > 0.25) | (high < 0.25)).any(axis=1).mean() > 0.5  # the uncorrected rule
    strong = accuracy.beyond_chance([12, 3, 0], [12, 12, 0], [0.25, 0.25, 0.25], [0, 0, 0])
    assert list(strong) == [True, False, False]


def test_the_drop_tests_are_fishers():
    lengths, n = [1, 2, 3], [100, 100, 100]
    for counts in ([90, 80, 70], [90, 89, 60], [50, 50, 50]):
        p = [fisher_exact([[k, 100 - k], [counts[0], 100 - counts[0]]], alternative="less").pvalue for k in counts[1:]]
        first_drop = next((i for i, q in enumerate(accuracy.holm(p)) if q < 0.05), None)
        assert accuracy.holds_up_to(lengths, counts, n) == (lengths[first_drop] if first_drop is not None else 3)


def test_exact_mcnemar_is_scipy_binomtest_over_its_range():
    """The vectorised binomial tail against scipy.stats.binomtest itself, every split of n
    discordant cases (one pair of runs per split, tested at once)."""
    for n in (1, 2, 7, 30, 101):
        ks = np.arange(0, n + 1, max(1, n // 13))
        a = np.zeros((len(ks), n + 5))
        b = np.zeros((len(ks), n + 5))
        for row, k in enumerate(ks):
            a[row, :k] = 1.0
            b[row, k:n] = 1.0
        p = comparisons.paired(a, b, np.arange(n + 5), np.ones(len(ks), dtype=bool)).p
        assert p == pytest.approx([binomtest(int(k), n).pvalue for k in ks], rel=1e-9)
    none = comparisons.paired(np.ones((1, 4)), np.ones((1, 4)), np.arange(4), np.array([True]))
    assert none.p[0] == 1.0 and none.test[0] == comparisons.MCNEMAR
