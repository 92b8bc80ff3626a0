"""Circular scoring through the runner's library: every rotation asked and recorded, answers
mapped back to the original options, correct only if all rotations are, rotation 0 as the
plain result, and a model that returns the wrong number of answers is a case error."""
from __future__ import annotations

import json

import pytest

from niah.cases import Benchmark
from niah.results import read_run
from runner.models.base import Answer
from runner.score import score, score_case
from edges_lib import make_case, write_bench

OPTIONS = ["A. red", "B. blue", "C. green", "D. the sea"]


@pytest.fixture
def bench(tmp_path) -> Benchmark:
    return Benchmark.open(write_bench(tmp_path / "bench", [make_case(i) for i in range(4)]))


class Rotating:
    """Answers each rotation by what it is shown: ``knows`` finds the gold content wherever it
    is; otherwise it says ``fixed`` every time (a position-biased guesser)."""

    name = "rotating"

    def __init__(self, knows: bool = True, fixed: str = "A", drop: int = 0) -> None:
        self.knows, self.fixed, self.drop, self.calls = knows, fixed, drop, []

    def settings(self) -> dict:
        return {}

    def answer(self, case, bench):
        return self.answer_rotations(case, bench, [case.options])[0]

    def answer_rotations(self, case, bench, option_lists):
        assert isinstance(bench, Benchmark)
        self.calls.append([list(o) for o in option_lists])
        gold = case.options["ABCD".index(case.answer)][3:]
        outs = []
        for r, options in enumerate(option_lists):
            letter = next(o[0] for o in options if o[3:] == gold) if self.knows else self.fixed
            text = f"The answer is {letter}." if r else Answer(f"({letter})", full_frames=[9, 2], input_cut=r)
            outs.append(text)
        return outs[self.drop:]


def test_every_rotation_is_asked_recorded_and_mapped_back(bench):
    case = bench.cases[1]  # gold "B"
    model = Rotating()
    result = score_case(model, case, bench, "rotating", circular=True)
    assert model.calls == [[OPTIONS, ["A. blue", "B. green", "C. the sea", "D. red"],
                            ["A. green", "B. the sea", "C. red", "D. blue"],
                            ["A. the sea", "B. red", "C. blue", "D. green"]]]
    assert [r["rotation"] for r in result.rotations] == [0, 1, 2, 3]
    assert [r["shown"] for r in result.rotations] == ["B", "A", "D", "C"]
    assert [r["gold_shown"] for r in result.rotations] == ["B", "A", "D", "C"]
    assert [r["prediction"] for r in result.rotations] == ["B"] * 4
    assert [r["prediction_strict"] for r in result.rotations] == ["B"] * 4
    assert [r["raw_output"] for r in result.rotations] == ["(B)", "The answer is A.", "The answer is D.",
                                                          "The answer is C."]
    assert all(r["correct"] for r in result.rotations) and result.correct and result.error is None
    # rotation 0 is the plain question: its output, letter and view are the result's
    assert (result.raw_output, result.prediction, result.prediction_strict) == ("(B)", "B", "B")
    assert result.view == {"full_frames": [2, 9]} and result.input_cut == 0


def test_a_position_biased_guesser_fails_circular_but_may_pass_plain(bench):
    case = bench.cases[0]  # gold "A": always saying "A" is right in rotation 0 only
    result = score_case(Rotating(knows=False, fixed="A"), case, bench, "m", circular=True)
    assert result.prediction == "A" and result.rotations[0]["correct"]
    assert [r["prediction"] for r in result.rotations] == ["A", "B", "C", "D"]
    assert [r["correct"] for r in result.rotations] == [True, False, False, False] and not result.correct
    plain = score_case(Rotating(knows=False, fixed="A"), case, bench, "m")
    assert plain.correct and plain.rotations is None


def test_an_unreadable_or_out_of_range_rotation_answer_is_no_prediction(bench):
    case = bench.cases[2]
    result = score_case(Rotating(knows=False, fixed="E"), case, bench, "m", circular=True)
    assert [r["shown"] for r in result.rotations] == [None] * 4
    assert [r["prediction"] for r in result.rotations] == [None] * 4 and not result.correct


def test_the_wrong_number_of_rotation_answers_is_a_case_error(bench):
    result = score_case(Rotating(drop=1), bench.cases[0], bench, "m", circular=True)
    assert result.error == "RuntimeError: answer_rotations gave 3 answers for 4 rotations"
    assert result.rotations is None and not result.correct and result.prediction is None


def test_a_circular_run_is_its_own_run_and_says_so(bench, tmp_path):
    plain = score(bench, Rotating(knows=False), tmp_path / "out", progress=False, warn=lambda m: None)
    circ = score(bench, Rotating(knows=False), tmp_path / "out", progress=False, warn=lambda m: None, circular=True)
    assert plain.run_id != circ.run_id and circ.circular and not plain.circular
    assert (plain.correct, circ.correct) == (1, 0)  # make_case(0) has gold "A"
    assert "circular accuracy 0.0% (0/4)" in circ.line() and "circular accuracy" not in plain.line()
    assert json.loads((circ.run_dir / "run.json").read_text())["options"] == {"circular": True}
    assert json.loads((plain.run_dir / "run.json").read_text())["options"] == {}
    _, results, _ = read_run(circ.run_dir)
    assert all(len(r.rotations) == 4 for r in results.values())
    assert [results[c.case_id].rotations[0]["correct"] for c in bench.cases] == [True, False, False, False]
