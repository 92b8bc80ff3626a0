"""The board's statistics on hand-made populations (issue 26): copies judged by time, seed
siblings kept together, the paired test that fits a seed group, the reading warning, rank
ranges and the pairwise matrix."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_1samp

from leaderboard import board as bd
from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard.columns import C
from niah.results import Result
import synthetic_runs as synthetic

CASES = synthetic.make_cases((300, 600, 900), 40, videos=40)  # 40 questions, each at 3 lengths


def _letters(skill: float, seed: str) -> list[str]:
    rng = random.Random(seed)
    return [c.answer if rng.random() < skill else "ABCD"[("ABCD".index(c.answer) + 1) % 4] for c in CASES]


def _write(root, run_id: str, letters: list[str], created: str | None = None, model: str | None = None,
           seed: int | None = None, raw: str = "The answer is {}.", fingerprint: str = "",
           metadata: dict | None = None) -> None:
    results = [Result(case_id=c.case_id, model=model or run_id, prediction=x, raw_output=raw.format(x),
                      correct=x == c.answer, length=c.length, depth=c.depth, task_type=c.task_type, seconds=1.0,
                      error=None) for c, x in zip(CASES, letters)]
    info = synthetic.run_info(model or run_id, fingerprint, len(CASES))
    if created:
        info["created"] = created
    if seed is not None:
        info["settings"] = {**info["settings"], "seed": seed}
    if metadata is not None:
        info["metadata"] = metadata
    synthetic.write_run(root, run_id, results, info)


@pytest.fixture
def population(tmp_path):
    data, root = tmp_path / "data", tmp_path / "results"
    fp = synthetic.write_manifest(data, CASES)
    return data, root, fp


def _board(data, root) -> lb.Tables:
    return lb.build_tables(ld.load_results(root), ld.load_manifest(data))


def _near(letters: list[str], changes: int) -> list[str]:
    out = list(letters)
    for i in range(changes):
        out[i] = "ABCD"[("ABCD".index(out[i]) + 1) % 4]
    return out


# ----- copies ---------------------------------------------------------------------------------------
def test_the_earliest_created_run_is_the_original_whatever_the_names(population):
    data, root, fp = population
    original = _letters(0.8, "orig")
    _write(root, "zz-original", original, "2026-11-20T10:00:00Z", fingerprint=fp)
    _write(root, "aa-near-copy", _near(original, 1), "2026-12-01T10:00:00Z", fingerprint=fp)
    _write(root, "a0-exact-copy", original, "2026-12-02T09:00:00+01:00", fingerprint=fp)
    _write(root, "other", _letters(0.5, "other"), "2026-11-01T00:00:00Z", fingerprint=fp)
    board = _board(data, root).leaderboard.set_index(C.run.name)
    assert board.loc["zz-original", C.rank.name] == 1 and board.loc["zz-original", C.near_copy_of.name] == ""
    assert board.loc["aa-near-copy", C.near_copy_of.name] == "zz-original"
    assert "near copy of zz-original" in board.loc["aa-near-copy", C.marks.name]
    assert board.loc["a0-exact-copy", C.near_copy_of.name] == "zz-original"
    assert "copy of zz-original" in board.loc["a0-exact-copy", C.marks.name]
    assert pd.isna(board.loc["aa-near-copy", C.rank.name]) and pd.isna(board.loc["a0-exact-copy", C.rank.name])
    assert board.loc["zz-original", C.created.name] == "2026-11-20T10:00:00+00:00"


def test_a_chain_of_near_copies_points_at_its_root(population):
    data, root, fp = population
    first = _letters(0.7, "root")
    second = _near(first, 2)            # 98.3 % like the root
    third = list(second)
    for i in range(2, 4):               # 98.3 % like the second, 96.7 % like the root
        third[i] = "ABCD"[("ABCD".index(third[i]) + 1) % 4]
    _write(root, "c-root", first, "2026-10-01T00:00:00Z", fingerprint=fp)
    _write(root, "b-second", second, "2026-10-02T00:00:00Z", fingerprint=fp)
    _write(root, "a-third", third, "2026-10-03T00:00:00Z", fingerprint=fp)
    board = _board(data, root).leaderboard.set_index(C.run.name)
    assert board.loc["b-second", C.near_copy_of.name] == "c-root"
    assert board.loc["a-third", C.near_copy_of.name] == "c-root"
    assert "b-second" in board.loc["a-third", C.reason.name] and "c-root" in board.loc["a-third", C.reason.name]
    assert board[C.rank.name].notna().sum() == 1


def test_seed_siblings_that_agree_are_one_entry_not_copies(population):
    """A deterministic model's two seeds agree on 99.2 % of cases: both stay in the group's mean."""
    data, root, fp = population
    answers = _letters(0.75, "det")
    _write(root, "det-s0", answers, "2026-11-01T00:00:00Z", model="det", seed=0, fingerprint=fp)
    _write(root, "det-s1", _near(answers, 1), "2026-11-02T00:00:00Z", model="det", seed=1, fingerprint=fp)
    _write(root, "det-copy", answers, "2026-11-03T00:00:00Z", model="thief", fingerprint=fp)
    board = _board(data, root).leaderboard.set_index(C.run.name)
    for run in ("det-s0", "det-s1"):
        assert board.loc[run, C.near_copy_of.name] == "" and board.loc[run, C.rank.name] == 1
        assert board.loc[run, C.entry_members.name] == 2
    assert board.loc["det-copy", C.near_copy_of.name] == "det-s0"


# ----- the paired test of a seed group ------------------------------------------------------------------
def test_a_seed_group_against_a_run_at_chance_is_a_paired_t_test_on_question_totals(population):
    data, root, fp = population
    def guesses(seed: str) -> list[str]:
        rng = random.Random(seed)
        return [rng.choice("ABCD") for _ in CASES]

    for k in range(4):
        _write(root, f"random-s{k}", guesses(f"r{k}"), model="random", seed=k, fingerprint=fp)
    _write(root, "coin", guesses("coin"), fingerprint=fp)
    tables = _board(data, root)
    board = tables.leaderboard.set_index(C.run.name)
    res = tables.results.pivot(index="case_id", columns="run_id", values="correct").astype(float)
    group = res[[f"random-s{k}" for k in range(4)]].mean(axis=1)
    question = pd.Series({c.case_id: c.needle.question_id for c in CASES})
    assert board[C.rank.name].notna().all() and board[C.near_copy_of.name].eq("").all()
    below = "coin" if board.loc["coin", C.rank.name] == 2 else "random-s0"
    diff = (res["coin"] - group) if below == "coin" else (group - res["coin"])
    expected = ttest_1samp(diff.groupby(question).sum(), 0.0).pvalue
    assert board.loc[below, C.p_above.name] == pytest.approx(expected, rel=1e-9)
    assert board.loc[below, C.test_above.name] == "paired t on cluster totals"
    assert board.loc[below, C.p_above.name] > 0.05


# ----- readings --------------------------------------------------------------------------------------------
def test_a_run_whose_readings_disagree_is_marked_and_says_which_reading_it_uses(population):
    data, root, fp = population
    _write(root, "answer-colon", _letters(0.8, "colon"), raw="Answer: {}", fingerprint=fp)
    _write(root, "plain", _letters(0.8, "plain"), fingerprint=fp)
    tables = _board(data, root)
    board = tables.leaderboard.set_index(C.run.name)
    assert "readings differ" in board.loc["answer-colon", C.marks.name]
    assert board.loc["answer-colon", C.readings.name].startswith("official; strict differs on ")
    assert board.loc["answer-colon", C.readings_gap.name] > 50
    assert board.loc["plain", C.readings.name] == "" and board.loc["plain", C.readings_gap.name] == 0
    table = bd.compact(tables, section="project").set_index(C.run.header)
    assert table.loc["[readings differ] answer-colon", C.readings.header].startswith("official; strict")
    strict = lb.build_tables(ld.load_results(root), ld.load_manifest(data), "strict").leaderboard.set_index("run")
    assert strict.loc["answer-colon", C.readings.name].startswith("strict; official differs on ")


# ----- rank ranges and the pairwise matrix ---------------------------------------------------------------
def test_rank_ranges_and_the_pairwise_matrix(population):
    data, root, fp = population
    for name, skill in (("best", 0.95), ("mid-1", 0.6), ("mid-2", 0.6), ("worst", 0.2)):
        _write(root, name, _letters(skill, name), "2026-11-02T08:00:00Z", fingerprint=fp,
               metadata={"parameters": "7B", "organisation": "Lab <b>", "link": "https://example.org/m"})
    tables = _board(data, root)
    board = tables.leaderboard.set_index(C.run.name)
    assert (board.loc["best", C.rank_low.name], board.loc["best", C.rank_high.name]) == (1, 1)
    assert board.loc["mid-1", C.rank_low.name] <= 2 and board.loc["mid-1", C.rank_high.name] >= 3
    pairs = tables.pairwise
    assert len(pairs) == 6 and set(pairs["section"]) == {"project"}
    assert (pairs["p_holm"] >= pairs["p"]).all()
    mids = pairs[pairs["a"].str.contains("mid") & pairs["b"].str.contains("mid")].iloc[0]
    assert mids["p_holm"] > 0.05
    best_worst = pairs[pairs["a"].str.endswith("best") & pairs["b"].str.endswith("worst")].iloc[0]
    assert best_worst["p_holm"] < 1e-6 and best_worst["difference"] > 60
    # model metadata: optional columns, as plain text, and on the run card
    table = bd.compact(tables, section="project", extra=("parameters", "organisation", "link", "date"))
    row = table.set_index(C.run.header).loc["best"]
    assert (row["parameters"], row["organisation"], row["link"], row["date"]) == (
        "7B", "Lab <b>", "https://example.org/m", "2026-11-02")
    assert "parameters" not in bd.compact(tables, section="project").columns
    card = bd.run_card(tables, "best").set_index("field")["value"]
    assert card["parameters"] == "7B" and card["organisation"] == "Lab <b>"
