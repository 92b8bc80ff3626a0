"""Runs at their edges: a torn tail at the 64 KiB read block, a ``run_name`` folder of other
options refused by the library itself, uploads at the size limit or with impossible lines,
and a seed group ranked by its mean."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard import upload as up
from niah.cases import Benchmark
from niah.errors import InputError
from niah.results import read_run
from niah.schema import Case
from runner.models.base import Answer
from runner.score import ResultsFile, score, score_case
from edges_lib import Scripted, make_case, result_of, write_bench, write_run

BLOCK = 1 << 16
GOOD = b'{"a":1}\n'


# ----- resume: the torn tail ------------------------------------------------------------
@pytest.mark.parametrize("torn", [1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 2 * BLOCK + 3])
def test_a_torn_tail_of_any_size_is_cut_back_to_the_last_whole_line(tmp_path, torn):
    path = tmp_path / "results.jsonl"
    path.write_bytes(GOOD * 3 + b"y" * torn)
    with ResultsFile(path) as handle:
        assert handle.repaired == torn
    assert path.read_bytes() == GOOD * 3


@pytest.mark.parametrize("before", [1, BLOCK - len(GOOD), BLOCK, BLOCK + 1])
def test_the_last_newline_on_a_block_boundary(tmp_path, before):
    # the last whole line ends exactly where a 64 KiB block starts (or one byte either side)
    head = b"x" * (before - 1) + b"\n"
    path = tmp_path / "results.jsonl"
    path.write_bytes(head + b"z" * BLOCK)
    with ResultsFile(path) as handle:
        assert handle.repaired == BLOCK
    assert path.read_bytes() == head


@pytest.mark.parametrize("size", [1, 2, BLOCK + 5])
def test_a_file_that_is_all_torn_line_is_emptied(tmp_path, size):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b"q" * size)
    with ResultsFile(path) as handle:
        assert handle.repaired == size
    assert path.read_bytes() == b""


@pytest.fixture
def bench(tmp_path) -> Benchmark:
    return Benchmark.open(write_bench(tmp_path / "bench", [make_case(i) for i in range(4)]))


def quiet(_message: str) -> None:
    pass


def test_a_run_name_folder_of_other_options_is_refused_by_the_library(bench, tmp_path):
    model = Scripted({c.case_id: "A" for c in bench.cases})
    score(bench, model, tmp_path / "out", run_name="mine", options={"frames": 8}, progress=False, warn=quiet)
    before = (tmp_path / "out" / "mine" / "results.jsonl").read_bytes()
    with pytest.raises(InputError, match="options.frames: 8 here, 16 now"):
        score(bench, model, tmp_path / "out", run_name="mine", options={"frames": 16}, progress=False, warn=quiet)
    with pytest.raises(InputError, match="model_path"):
        score(bench, model, tmp_path / "out", run_name="mine", model_path="/elsewhere", options={"frames": 8},
              progress=False, warn=quiet)
    assert (tmp_path / "out" / "mine" / "results.jsonl").read_bytes() == before
    again = score(bench, model, tmp_path / "out", run_name="mine", options={"frames": 8}, progress=False, warn=quiet)
    assert (again.skipped, again.scored, again.done) == (4, 0, 4)


def test_score_records_both_rules_the_view_and_failures(bench, tmp_path):
    cases = bench.cases
    answers = {cases[0].case_id: Answer("Based on the video, blue", full_frames=[7, 3], diagnostics={"k": 2},
                                        input_cut=5),
               cases[1].case_id: "The answer is B.", cases[2].case_id: RuntimeError("CUDA out of memory"),
               cases[3].case_id: None}
    summary = score(bench, Scripted(answers), tmp_path / "out", progress=False, warn=quiet)
    _, results, problems = read_run(summary.run_dir)
    assert problems == []
    first = results[cases[0].case_id]
    assert (first.prediction, first.prediction_strict, first.answer_rule) == ("B", "B", "lmms-eval")
    assert first.view == {"full_frames": [3, 7], "k": 2} and first.input_cut == 5
    assert first.correct == (cases[0].answer == "B")
    assert results[cases[1].case_id].correct == (cases[1].answer == "B")
    failed = results[cases[2].case_id]
    assert failed.error == "RuntimeError: CUDA out of memory" and not failed.correct and failed.prediction is None
    empty = results[cases[3].case_id]
    assert empty.raw_output == "" and empty.prediction is None and empty.error is None and not empty.correct
    assert (summary.done, summary.errors, summary.unparsed) == (4, 1, 1)
    assert summary.correct == sum(r.correct for r in results.values())


def test_score_case_keeps_a_long_error_to_one_bounded_line(bench):
    case = bench.cases[0]
    result = score_case(Scripted({case.case_id: ValueError("x\n" * 1000)}), case, bench, "m")
    assert result.error.startswith("ValueError: x x") and len(result.error) == 500 and "\n" not in result.error
    assert result.seconds >= 0 and result.length == 40 and result.depth == case.depth and result.task_type == "T"


def test_a_failed_case_keeps_no_output_and_time_is_in_milliseconds(bench):
    import time

    class Slow(Scripted):
        def answer(self, case, bench_):
            time.sleep(0.0123)
            return super().answer(case, bench_)

    case = bench.cases[0]
    failed = score_case(Slow({case.case_id: RuntimeError("boom")}), case, bench, "m")
    assert (failed.raw_output, failed.prediction, failed.prediction_strict, failed.view) == ("", None, None, None)
    assert 0.012 <= failed.seconds < 2 and round(failed.seconds, 3) == failed.seconds
    plain = score_case(Slow({case.case_id: Answer("The answer is A.")}), case, bench, "m")
    assert plain.view is None and plain.input_cut == 0 and plain.prediction == "A"  # Answer says 0 cut by default


# ----- uploads -------------------------------------------------------------------------
def manifest_cases(cases: list[Case]) -> pd.DataFrame:
    return pd.DataFrame([{"case_id": c.case_id, "length": c.length, "depth": c.depth, "task_type": c.task_type,
                          "answer": c.answer, "options": tuple(c.options)} for c in cases])


def body(results: list) -> bytes:
    return "".join(r.to_json() + "\n" for r in results).encode()


def test_an_upload_of_exactly_the_size_limit_is_accepted():
    cases = [make_case(i) for i in range(3)]
    data = body([result_of(c, c.answer) for c in cases])
    assert up.validate_upload(data, manifest_cases(cases), max_bytes=len(data)).ok
    refused = up.validate_upload(data, manifest_cases(cases), max_bytes=len(data) - 1)
    assert not refused.ok and "over the" in refused.problems[0] and "nothing was read" in refused.problems[0]


@pytest.mark.parametrize("change,why", [
    ({"seconds": -0.5}, "seconds -0.5 out of range"),
    ({"seconds": 1e7}, "seconds 10000000.0 out of range"),
    ({"error": "CUDA out of memory", "correct": True},
     "correct is True, but prediction 'B' against gold 'B' scores False"),
    ({"prediction": "E", "correct": False}, "prediction 'E' is not an option letter"),
    ({"prediction": "b", "correct": False}, "prediction 'b' is not an option letter"),
    ({"length": 41}, "length 41, but the manifest says 40"),
    ({"depth": 0.5}, "depth 0.5, but the manifest says 0.666667"),
    ({"task_type": "U"}, "task_type 'U', but the manifest says 'T'"),
])
def test_impossible_upload_lines_are_refused(change, why):
    cases = [make_case(i) for i in range(2)]
    results = [result_of(cases[0], cases[0].answer), result_of(cases[1], **{"prediction": cases[1].answer, **change})]
    check = up.validate_upload(body(results), manifest_cases(cases))
    assert not check.ok and check.problems == [f"line 2: case 'L40-0001': {why}"]


def test_an_unknown_case_and_a_duplicate_are_named():
    cases = [make_case(i) for i in range(2)]
    stranger = result_of(make_case(7), "A")
    check = up.validate_upload(body([result_of(cases[0], "A"), stranger, result_of(cases[0], "A")]),
                               manifest_cases(cases))
    assert check.problems == ["line 2: case 'L40-0007': unknown case id (not in the benchmark manifest)",
                              "line 3: duplicate case_id 'L40-0000' (first on line 1)"]
    assert [r.case_id for r in check.results] == ["L40-0000"] and not check.ok


@pytest.mark.parametrize("change", [{"seconds": 0}, {"seconds": 9_999_999.0}, {"depth": 20 / 30 + 5e-7},
                                    {"prediction": None, "correct": False}])
def test_upload_lines_at_the_edges_are_accepted(change):
    cases = [make_case(i) for i in range(2)]
    results = [result_of(cases[0], cases[0].answer), result_of(cases[1], **{"prediction": cases[1].answer, **change})]
    check = up.validate_upload(body(results), manifest_cases(cases))
    assert check.ok, check.problems


def test_a_wrong_failed_case_marked_correct_false_is_fine_and_an_error_never_scores():
    case = make_case(0)
    failed = result_of(case, case.answer, error="decode error", correct=False)
    assert up.validate_upload(body([failed]), manifest_cases([case])).ok


# ----- ranks of seed groups ------------------------------------------------------------
@pytest.fixture
def ranked(tmp_path):
    cases = [make_case(i) for i in range(10)]
    data = write_bench(tmp_path / "bench", cases)
    manifest = ld.load_manifest(data)
    runs = tmp_path / "runs"
    runs.mkdir()
    write_run(runs, "solo", cases, 6, seed=None, fingerprint=manifest.fingerprint)       # 60 %
    write_run(runs, "m-seed0", cases, 9, seed=0, fingerprint=manifest.fingerprint)       # 90 %
    write_run(runs, "m-seed1", cases, 2, seed=1, fingerprint=manifest.fingerprint)       # 20 %: mean 55 %
    return runs, manifest, cases


def board_of(runs: Path, manifest) -> pd.DataFrame:
    return lb.build_tables(ld.load_results(runs), manifest).leaderboard.set_index("run")


def test_a_seed_group_ranks_by_its_mean_not_its_best_seed(ranked):
    runs, manifest, _ = ranked
    board = board_of(runs, manifest)
    assert board.loc["solo", "rank"] == 1  # 60 % beats the group's mean of 55 %, not its best seed's 90 %
    assert board.loc["m-seed0", "rank"] == board.loc["m-seed1", "rank"] == 2
    assert board.loc["m-seed0", "accuracy"] == pytest.approx(90.0) and board.loc["solo", "accuracy"] == pytest.approx(60.0)


def test_a_partial_seed_leaves_its_groups_rank_alone(ranked):
    runs, manifest, cases = ranked
    write_run(runs, "m-seed2", cases, 5, seed=2, fingerprint=manifest.fingerprint, scored=5)  # 100 % of 5 cases
    board = board_of(runs, manifest)
    assert pd.isna(board.loc["m-seed2", "rank"]) and board.loc["m-seed2", "status"] == "partial 5/10"
    ranks = board["rank"].astype(object).where(board["rank"].notna(), None).to_dict()
    assert {run: ranks[run] for run in ("solo", "m-seed0", "m-seed1")} == {"solo": 1, "m-seed0": 2, "m-seed1": 2}
