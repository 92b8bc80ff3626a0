"""The ranking at its edges, on hand-made boards: paired columns over the cases both entries
answered (checked against an independent computation with ``scipy.stats.binomtest``), ranks
with ties, who is tied with #1, members of a seed group, and the order of the rows."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from leaderboard import ranking
from niah import comparisons

PAIRED = ["d_above", "p_above", "p_above_holm", "n_above", "d_first", "p_first", "p_first_holm", "n_first"]


def make_board(*rows) -> pd.DataFrame:
    """rows: ``(run, accuracy, rankable, section, seed_group)``; seed_group may be omitted."""
    records = []
    for row in rows:
        run, acc, rankable, section, *group = row
        records.append({"run": run, "accuracy": acc, "rankable": rankable, "section": section,
                        "seed_group": group[0] if group else None})
    board = pd.DataFrame(records)
    board["seed_group"] = board["seed_group"].astype(object)
    return board


def matrix(vectors: dict[str, list]) -> pd.DataFrame:
    """runs x cases, 1.0/0.0, NaN (None) where the run has no answer."""
    width = max(len(v) for v in vectors.values())
    return pd.DataFrame({run: [np.nan if x is None else float(x) for x in v] for run, v in vectors.items()},
                        index=[f"c{i:02d}" for i in range(width)]).T


def expected_pair(a, b) -> tuple[float, float, int]:
    """(difference in points, binomtest p, common cases), computed directly."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    common = [(x, y) for x, y in zip(a, b) if not math.isnan(x) and not math.isnan(y)]
    if not common:
        return math.nan, math.nan, 0
    diffs = [x - y for x, y in common]
    better, worse = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    p = binomtest(better, better + worse).pvalue if better + worse else 1.0
    return 100.0 * sum(diffs) / len(diffs), p, len(common)


def holm(ps: list[float]) -> list[float]:
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    out, running = [0.0] * len(ps), 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - k) * ps[i]))
        out[i] = running
    return out


def by_run(board: pd.DataFrame) -> pd.DataFrame:
    return board.set_index("run")


def same(x, y) -> bool:
    return (math.isnan(x) and math.isnan(y)) if (isinstance(x, float) and math.isnan(x)) else x == pytest.approx(y)


# ----- the paired columns --------------------------------------------------------------
def test_paired_columns_are_over_the_cases_both_entries_answered():
    vectors = {
        "a": [1, 1, 1, 1, 1, 1, 1, 1, None, 1, 1, 0],
        "b": [1, 0, 0, 1, None, 0, 0, 1, 1, 0, 1, 1],
        "c": [0, 0, 0, None, 0, 0, 1, 0, 0, None, 0, 0],
    }
    board = make_board(("b", 54.5, True, "project"), ("c", 10.0, True, "project"), ("a", 90.9, True, "project"))
    out = by_run(ranking.rank(board, matrix(vectors)))
    assert out.loc["a", "rank"] == 1 and out.loc["b", "rank"] == 2 and out.loc["c", "rank"] == 3
    # #1 has nobody above it: no paired numbers of its own
    assert all(pd.isna(out.loc["a", col]) for col in PAIRED)
    expected = {
        ("b", "above"): expected_pair(vectors["b"], vectors["a"]),
        ("b", "first"): expected_pair(vectors["b"], vectors["a"]),
        ("c", "above"): expected_pair(vectors["c"], vectors["b"]),
        ("c", "first"): expected_pair(vectors["c"], vectors["a"]),
    }
    # Holm over the distinct comparisons: #2's "above" and "first" are one test (b vs a)
    family = [("b", "above"), ("c", "above"), ("c", "first")]
    adjusted = dict(zip(family, holm([expected[k][1] for k in family])))
    adjusted[("b", "first")] = adjusted[("b", "above")]
    for (run, against), (d, p, n) in expected.items():
        assert out.loc[run, f"d_{against}"] == pytest.approx(d)
        assert out.loc[run, f"p_{against}"] == pytest.approx(p)
        assert out.loc[run, f"n_{against}"] == n
        assert out.loc[run, f"p_{against}_holm"] == pytest.approx(adjusted[(run, against)])
    # the common cases really are fewer than either entry's own
    assert out.loc["b", "n_above"] == 10 and out.loc["c", "n_above"] == 9 and out.loc["c", "n_first"] == 9


def test_an_entry_with_nothing_in_common_with_the_one_above_gets_nan_and_no_cases():
    vectors = {"a": [1, 1, 1, 1, None, None, None, None], "b": [None, None, None, None, 1, 0, 0, 0]}
    board = make_board(("a", 100.0, True, "project"), ("b", 25.0, True, "project"))
    out = by_run(ranking.rank(board, matrix(vectors)))
    for col in ("d_above", "p_above", "p_above_holm", "d_first", "p_first", "p_first_holm"):
        assert pd.isna(out.loc["b", col]), col
    assert out.loc["b", "n_above"] == 0 and out.loc["b", "n_first"] == 0


def test_a_nullable_boolean_case_matrix_gives_the_same_board():
    vectors = {"a": [1, 1, 1, 0, 1, None], "b": [0, 1, None, 0, 0, 1]}
    floats = matrix(vectors)
    nullable = floats.astype("boolean")
    board = make_board(("a", 80.0, True, "project"), ("b", 40.0, True, "project"))
    left, right = ranking.rank(board, floats), ranking.rank(board, nullable)
    pd.testing.assert_frame_equal(left, right)
    d, p, n = expected_pair(vectors["b"], vectors["a"])
    assert by_run(right).loc["b", "d_above"] == pytest.approx(d) and by_run(right).loc["b", "n_above"] == n


# ----- entries, members, ranks ---------------------------------------------------------
def test_a_seed_group_is_one_entry_and_its_partial_seed_has_no_paired_numbers():
    vectors = {
        "solo": [1] * 10,
        "m-s1": [1, 1, 0, 0, 1, 1, 0, 0, 1, 0],
        "m-s0": [1, 0, 1, 0, 1, 0, 1, 0, 0, 0],
        "m-s2": [1, 1, 1, 1, 1, None, None, None, None, None],
    }
    board = make_board(("m-s2", 100.0, False, "project", "m"), ("m-s1", 50.0, True, "project", "m"),
                       ("solo", 100.0, True, "project"), ("m-s0", 40.0, True, "project", "m"))
    result = ranking.rank(board, matrix(vectors))
    assert result["run"].tolist() == ["solo", "m-s0", "m-s1", "m-s2"]
    out = by_run(result)
    assert out["entry"].to_dict() == {"solo": "project|run:solo", "m-s0": "project|m", "m-s1": "project|m",
                                      "m-s2": "project|m"}
    assert out.loc["m-s0", "entry_members"] == out.loc["m-s1", "entry_members"] == 2
    assert out.loc["solo", "entry_members"] == 1 and pd.isna(out.loc["m-s2", "entry_members"])
    assert out.loc["m-s0", "entry_accuracy"] == out.loc["m-s1", "entry_accuracy"] == pytest.approx(45.0)
    assert pd.isna(out.loc["m-s2", "entry_accuracy"]) and pd.isna(out.loc["m-s2", "rank"])
    assert out.loc["m-s0", "rank"] == out.loc["m-s1", "rank"] == 2
    # the group's per-case mean against the solo run: a paired t-test on the per-case differences
    from scipy.stats import ttest_rel
    group = np.mean([vectors["m-s0"], vectors["m-s1"]], axis=0)
    d, _, n = expected_pair(group, vectors["solo"])
    p = ttest_rel(group, vectors["solo"]).pvalue
    for run in ("m-s0", "m-s1"):
        assert out.loc[run, "d_above"] == pytest.approx(d) and out.loc[run, "p_above"] == pytest.approx(p)
        assert out.loc[run, "n_above"] == n == 10
    # the partial seed shares the group's entry but none of its numbers
    for col in PAIRED:
        assert pd.isna(out.loc["m-s2", col]), col
    assert not out.loc["m-s2", "tied_first"]


def test_ties_share_the_smallest_rank_in_each_section():
    vectors = {r: [1, 0, 1, 0] for r in ("p1", "p2", "p3", "p4", "u1", "u2")}
    board = make_board(("p4", 25.0, True, "project"), ("p1", 50.0, True, "project"), ("p2", 50.0, True, "project"),
                       ("u2", 50.0, True, "uploaded"), ("p3", 50.0, True, "project"), ("u1", 75.0, True, "uploaded"))
    out = by_run(ranking.rank(board, matrix(vectors)))
    assert out["rank"].astype(int).to_dict() == {"p1": 1, "p2": 1, "p3": 1, "p4": 4, "u1": 1, "u2": 2}
    assert out.loc[["p1", "p2", "p3"], "tied_first"].all()


def test_an_entry_without_an_accuracy_ranks_below_one_of_zero():
    vectors = {"z": [0, 0, 0], "n": [None, None, None]}
    board = make_board(("n", np.nan, True, "project"), ("z", 0.0, True, "project"))
    result = ranking.rank(board, matrix(vectors))
    assert result["run"].tolist() == ["z", "n"]
    assert by_run(result)["rank"].astype(int).to_dict() == {"z": 1, "n": 2}


def test_ties_keep_the_boards_order_for_who_is_above_and_who_is_first():
    # many entries with equal accuracies, listed against alphabetical order: the entry listed
    # first among equals is the one above (and #1 among the top ones)
    rng = np.random.default_rng(7)
    names = [f"r{i:02d}" for i in range(24)][::-1]
    accs = [60.0 if i % 3 == 0 else 40.0 if i % 3 == 1 else 50.0 for i in range(24)]
    vectors = {}
    for name in names:
        v = rng.integers(0, 2, 30).astype(float)
        v[rng.random(30) < 0.2] = np.nan
        vectors[name] = [None if math.isnan(x) else x for x in v]
    board = make_board(*[(name, acc, True, "project") for name, acc in zip(names, accs)])
    out = by_run(ranking.rank(board, matrix(vectors)))
    order = [name for name, _ in sorted(zip(names, accs), key=lambda t: -t[1])]
    first = order[0]
    assert first == "r23"
    for position, name in enumerate(order[1:], start=1):
        d, p, n = expected_pair(vectors[name], vectors[order[position - 1]])
        assert same(out.loc[name, "d_above"], d) and out.loc[name, "n_above"] == n, name
        assert same(out.loc[name, "p_above"], p), name
        d, p, n = expected_pair(vectors[name], vectors[first])
        assert same(out.loc[name, "d_first"], d) and out.loc[name, "n_first"] == n, name
    assert all(pd.isna(out.loc[first, col]) for col in PAIRED)


# ----- tied with #1 --------------------------------------------------------------------
def test_who_is_tied_with_the_first():
    vectors = {"a": [1] * 20, "c": [1] * 19 + [0], "b": [0] * 20, "x": [1] * 20}
    board = make_board(("b", 0.0, True, "project"), ("x", 100.0, False, "project"), ("c", 95.0, True, "project"),
                       ("a", 100.0, True, "project"))
    out = by_run(ranking.rank(board, matrix(vectors)))
    assert out["tied_first"].astype(bool).to_dict() == {"a": True, "c": True, "b": False, "x": False}
    assert out.loc["b", "p_first_holm"] < ranking.ALPHA <= out.loc["c", "p_first_holm"]


def test_a_corrected_p_of_exactly_alpha_is_a_tie(monkeypatch):
    monkeypatch.setattr(ranking.accuracy, "holm", lambda ps: np.full(len(ps), ranking.ALPHA))
    vectors = {"a": [1] * 20, "b": [0] * 20}
    board = make_board(("a", 100.0, True, "project"), ("b", 0.0, True, "project"))
    out = by_run(ranking.rank(board, matrix(vectors)))
    assert out.loc["b", "p_first_holm"] == ranking.ALPHA
    assert bool(out.loc["b", "tied_first"]) and bool(out.loc["a", "tied_first"])


# ----- the rows ------------------------------------------------------------------------
def test_rows_are_sections_then_ranked_then_unranked_by_accuracy():
    vectors = {r: [1, 0, 1, 1] for r in ("p-top", "p-low", "u-top", "u-low")}
    board = make_board(("u-c", 90.0, False, "uploaded"), ("p-b", 30.0, False, "project"),
                       ("u-low", 25.0, True, "uploaded"), ("p-a", 70.0, False, "project"),
                       ("p-low", 50.0, True, "project"), ("p-c", 50.0, False, "project"),
                       ("u-top", 75.0, True, "uploaded"), ("p-top", 75.0, True, "project"),
                       ("u-a", 10.0, False, "uploaded"))
    result = ranking.rank(board, matrix(vectors))
    assert result["run"].tolist() == ["p-top", "p-low", "p-a", "p-c", "p-b", "u-top", "u-low", "u-c", "u-a"]
    assert isinstance(result.index, pd.RangeIndex) and result.index.tolist() == list(range(9))
    assert list(result.columns[:len(board.columns)]) == list(board.columns)
    assert set(result.columns) == set(board.columns) | set(ranking.RANK_COLUMNS)
    assert len(result.columns) == len(board.columns) + len(ranking.RANK_COLUMNS)
    unranked = result[~result["rankable"]]
    assert unranked["rank"].isna().all() and unranked["entry_accuracy"].isna().all()
    for col in PAIRED:
        assert unranked[col].isna().all(), col
    assert not unranked["tied_first"].astype(bool).any()


def test_a_board_with_nobody_ranked_still_has_integer_ranks():
    board = make_board(("a", 50.0, False, "project"), ("b", 70.0, False, "uploaded"))
    result = ranking.rank(board, pd.DataFrame())
    assert result["run"].tolist() == ["a", "b"]
    assert str(result["rank"].dtype) == "Int64" and result["rank"].isna().all()
    assert not result["tied_first"].astype(bool).any()
    for col in PAIRED:
        assert result[col].isna().all() and result[col].dtype == np.float64, col


def test_lone_entries_have_float_nan_paired_columns():
    vectors = {"a": [1, 0], "u": [0, 1]}
    board = make_board(("a", 50.0, True, "project"), ("u", 50.0, True, "uploaded"))
    result = ranking.rank(board, matrix(vectors))
    assert result["rank"].astype(int).tolist() == [1, 1]
    assert result["tied_first"].astype(bool).all()
    for col in PAIRED:
        assert result[col].dtype == np.float64 and result[col].isna().all(), col


def test_the_page_counts_each_distinct_comparison_once():
    """The caption's number of Holm tests: #2 vs #1 once, then two per entry below, per section."""
    from types import SimpleNamespace

    from leaderboard.board import significance_note
    vectors = {r: [1, 0, 1, 1, 0, 1] for r in "abcd"}
    board = make_board(("a", 90.0, True, "project"), ("b", 80.0, True, "project"), ("c", 70.0, True, "project"),
                       ("d", 60.0, True, "uploaded"), ("e", 50.0, False, "project"))
    out = ranking.rank(board, matrix(vectors))
    assert "Holm-corrected over the table's 3 tests" in significance_note(SimpleNamespace(leaderboard=out))


# ----- rank ranges ---------------------------------------------------------------------
def test_rank_ranges_are_the_bootstraps_of_the_ranked_entries_only():
    """rank_low / rank_high are comparisons.rank_intervals over the entries in rank order; a
    partial seed of a ranked group and an unranked run get none, as Int64 NA."""
    vectors = {"a": [1, 1, 1, 0, 1, 1, 1, 1], "g-s0": [1, 0, 1, 0, 1, 1, 0, 1], "g-s1": [0, 1, 1, 0, 1, 0, 1, 1],
               "g-s2": [1, 1, None, None, None, None, None, None], "x": [0] * 8}
    board = make_board(("g-s0", 62.5, True, "project", "g"), ("a", 87.5, True, "project"),
                       ("g-s2", 100.0, False, "project", "g"), ("g-s1", 62.5, True, "project", "g"),
                       ("x", 0.0, False, "project"))
    out = by_run(ranking.rank(board, matrix(vectors)))
    group = np.mean([vectors["g-s0"], vectors["g-s1"]], axis=0)
    low, high = comparisons.rank_intervals(np.vstack([vectors["a"], group]), np.arange(8))
    assert (out.loc["a", "rank_low"], out.loc["a", "rank_high"]) == (low[0], high[0])
    for run in ("g-s0", "g-s1"):
        assert (out.loc[run, "rank_low"], out.loc[run, "rank_high"]) == (low[1], high[1])
    for run in ("g-s2", "x"):
        assert pd.isna(out.loc[run, "rank_low"]) and pd.isna(out.loc[run, "rank_high"]), run
    assert str(out["rank_low"].dtype) == str(out["rank_high"].dtype) == "Int64"


def test_test_names_are_blank_text_where_there_is_no_comparison():
    """#1, an unranked run and a board with nobody ranked: test_above / test_first are "" (a
    text column), not NaN; a compared entry names its test."""
    vectors = {"a": [1, 1, 0, 1], "b": [0, 1, 0, 0]}
    board = make_board(("a", 75.0, True, "project"), ("b", 25.0, True, "project"), ("x", 50.0, False, "project"))
    out = by_run(ranking.rank(board, matrix(vectors)))
    for run in ("a", "x"):
        assert (out.loc[run, "test_above"], out.loc[run, "test_first"]) == ("", ""), run
    assert out.loc["b", "test_above"] == out.loc["b", "test_first"] == comparisons.MCNEMAR
    nobody = ranking.rank(make_board(("x", 50.0, False, "project")), pd.DataFrame())
    assert nobody[["test_above", "test_first"]].values.tolist() == [["", ""]]
    assert str(nobody["rank_low"].dtype) == str(nobody["rank_high"].dtype) == "Int64"


# ----- the pairwise matrix -------------------------------------------------------------
PAIRWISE_VECTORS = {
    "a": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    "m-s0": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0],
    "m-s1": [1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0],
    "c": [0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0],
    "u1": [1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1],
    "u2": [0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0],
}


def pairwise_board(*rows) -> pd.DataFrame:
    """make_board's rows ranked, with a ``model`` column (the run's name before any ``-s``)."""
    board = make_board(*rows)
    board["model"] = board["run"].str.split("-s").str[0]
    return board


def test_pairwise_is_every_pair_of_each_section_with_its_own_test_and_holm():
    """A seed group is one entry (named by model and seed count), a pair of single runs gets
    the cluster-adjusted McNemar over the needle questions, a pair with a group the paired
    t-test; every number is comparisons.paired on the same vectors, Holm within the section,
    and the rows of both sections are numbered 0..n-1."""
    board = pairwise_board(("m-s0", 66.7, True, "project", "m"), ("a", 91.7, True, "project"),
                           ("u2", 33.3, True, "uploaded"), ("c", 33.3, True, "project"),
                           ("m-s1", 66.7, True, "project", "m"), ("u1", 75.0, True, "uploaded"))
    case_correct = matrix(PAIRWISE_VECTORS)
    question = pd.Series([f"q{i // 2}" for i in range(12)], index=case_correct.columns)
    out = ranking.pairwise(ranking.rank(board, case_correct, question), case_correct, question)
    assert list(out.columns) == ranking.PAIRWISE_COLUMNS and out.index.tolist() == list(range(4))
    v = {run: np.asarray(x, dtype=float) for run, x in PAIRWISE_VECTORS.items()}
    v["m"] = (v["m-s0"] + v["m-s1"]) / 2
    entry = {"a": "project|run:a", "m": "project|m", "c": "project|run:c", "u1": "uploaded|run:u1",
             "u2": "uploaded|run:u2"}
    # (section, a, b, name_a, name_b, rank_a, rank_b, both single runs)
    rows = [("project", "a", "m", "#1 a", "#2 m · 2 seeds", 1, 2, False),
            ("project", "a", "c", "#1 a", "#3 c", 1, 3, True),
            ("project", "m", "c", "#2 m · 2 seeds", "#3 c", 2, 3, False),
            ("uploaded", "u1", "u2", "#1 u1", "#2 u2", 1, 2, True)]
    expected = [comparisons.paired(v[a], v[b], np.arange(12) // 2, np.array([single]))
                for _, a, b, *_, single in rows]
    assert out["test"].tolist() == [comparisons.PAIRED_T, comparisons.MCNEMAR_CLUSTERED, comparisons.PAIRED_T,
                                    comparisons.MCNEMAR_CLUSTERED]
    assert [e.test[0] for e in expected] == out["test"].tolist()
    assert out[["section", "a", "b", "name_a", "name_b", "rank_a", "rank_b"]].values.tolist() == [
        [s, entry[a], entry[b], na, nb, ra, rb] for s, a, b, na, nb, ra, rb, _ in rows]
    assert out["difference"].tolist() == pytest.approx([e.difference[0] for e in expected])
    assert out["p"].tolist() == pytest.approx([e.p[0] for e in expected])
    assert out["common"].tolist() == [12] * 4
    assert out["p_holm"].tolist() == pytest.approx(holm([e.p[0] for e in expected[:3]]) + [expected[3].p[0]])


def test_a_section_without_pairs_does_not_end_the_matrix():
    """One ranked project run (no pair) before two uploaded runs: the uploaded pair is still there."""
    board = pairwise_board(("a", 91.7, True, "project"), ("u1", 75.0, True, "uploaded"),
                           ("u2", 33.3, True, "uploaded"))
    case_correct = matrix(PAIRWISE_VECTORS)
    out = ranking.pairwise(ranking.rank(board, case_correct), case_correct)
    assert out[["section", "a", "b"]].values.tolist() == [["uploaded", "uploaded|run:u1", "uploaded|run:u2"]]
    assert out["test"].tolist() == [comparisons.MCNEMAR]


def test_no_pair_anywhere_still_gives_the_pairwise_columns():
    """One ranked run per section: an empty matrix with PAIRWISE_COLUMNS."""
    board = pairwise_board(("a", 91.7, True, "project"), ("u1", 75.0, True, "uploaded"))
    case_correct = matrix(PAIRWISE_VECTORS)
    out = ranking.pairwise(ranking.rank(board, case_correct), case_correct)
    assert out.empty and list(out.columns) == ranking.PAIRWISE_COLUMNS
