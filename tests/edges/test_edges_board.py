"""The leaderboard's tables from hand-counted runs: each run's status, manifest check, label,
rank, per-length columns, unparsed and failed counts, chance; digests; the overall difference."""
from __future__ import annotations

import io
import json
import warnings

import pandas as pd
import pytest
from scipy.stats import binomtest

from edges_lib import make_case, result_of, write_bench, write_run
from leaderboard import data as lb
from leaderboard import loading as ld
from niah.results import RUN_INFO_NAME


@pytest.fixture
def runs(tmp_path):
    cases = [make_case(i) for i in range(4)] + [make_case(4, options=["A. yes", "B. no"])]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "full", cases, 4, seed=None, fingerprint=manifest.fingerprint)         # 4/5
    write_run(root, "half", cases, 2, seed=None, fingerprint=manifest.fingerprint, scored=2)
    write_run(root, "other", cases, 5, seed=None, fingerprint="0" * 64)
    write_run(root, "unrecorded", cases, 1, seed=None, fingerprint=None)                   # 1/5
    odd = [result_of(cases[0], None, model="odd", raw_output="no idea", correct=False),
           result_of(cases[1], None, model="odd", error="CUDA out of memory", correct=False, seconds=3.5),
           *(result_of(c, c.answer, model="odd") for c in cases[2:])]
    (root / "odd").mkdir()
    (root / "odd" / "results.jsonl").write_text("".join(r.to_json() + "\n" for r in odd))
    (root / "odd" / RUN_INFO_NAME).write_text(json.dumps({"model": "odd", "manifest_fingerprint": manifest.fingerprint,
                                                          "cases_total": 5, "uploaded": True}))
    return root, manifest


def bench_and_runs(tmp_path, cases):
    """The manifest of a benchmark of ``cases``, and an empty folder for runs."""
    manifest = ld.load_manifest(write_bench(tmp_path / "bench", cases))
    root = tmp_path / "runs"
    root.mkdir()
    return manifest, root


def board_of(root, manifest):
    return lb.build_tables(ld.load_results(root), manifest)


def test_every_runs_status_check_label_and_rank(runs):
    root, manifest = runs
    tables = board_of(root, manifest)
    board = tables.leaderboard.set_index("run")
    assert board.loc["full", ["status", "manifest", "scored", "cases"]].tolist() == ["complete", "match", 5, 5]
    assert board.loc["half", ["status", "manifest", "scored"]].tolist() == ["partial 2/5", "match", 2]
    assert board.loc["other", ["status", "manifest"]].tolist() == ["complete", "DIFFERS"]
    assert board.loc["unrecorded", ["status", "manifest"]].tolist() == ["complete", "not recorded"]
    assert board.loc["half", "label"] == "half [partial 2/5]"
    assert board.loc["other", "label"] == "other [other manifest]"
    assert board.loc["odd", "label"] == "odd [uploaded]"
    ranks = {run: (None if pd.isna(r) else int(r)) for run, r in board["rank"].items()}
    # uploads are ranked in their own section, below the project's runs (ranked, then unranked)
    assert ranks == {"full": 1, "unrecorded": 2, "half": None, "other": None, "odd": 1}
    assert list(tables.leaderboard["run"]) == ["full", "unrecorded", "half", "other", "odd"]
    assert board.loc["odd", "section"] == "uploaded" and board.loc["full", "section"] == "project"
    assert board.loc["full", "accuracy"] == pytest.approx(80.0) and board.loc["full", "acc@40"] == pytest.approx(80.0)
    assert board.loc["full", "n@40"] == 5 and board.loc["half", "n@40"] == 2
    assert (board.loc["odd", "unparsed"], board.loc["odd", "errors"]) == (1, 1)
    assert board.loc["odd", "unparsed %"] == pytest.approx(20.0) and board.loc["odd", "s/case"] == pytest.approx(1.9)
    assert board.loc["odd", "uploaded"] and not board.loc["full", "uploaded"]
    assert tables.chance == pytest.approx(100 * (4 * 0.25 + 0.5) / 5) and not tables.chance_assumed
    assert board.loc["full", "chance"] == pytest.approx(tables.chance)
    assert tables.lengths == [40] and tables.run_ids[0] == "full"
    assert tables.label("half") == "half [partial 2/5]" and tables.label("nope") == "nope"


def test_without_a_benchmark_totals_come_from_run_json(runs):
    root, _ = runs
    tables = board_of(root, None)
    board = tables.leaderboard.set_index("run")
    assert board.loc["full", ["status", "manifest", "cases"]].tolist() == ["complete", "no benchmark", 5]
    assert board.loc["unrecorded", "manifest"] == "not recorded"
    assert board.loc["half", "status"] == "partial 2/5"
    assert tables.chance == 25.0 and tables.chance_assumed


def test_a_run_without_cases_total_has_an_unknown_total(tmp_path):
    cases = [make_case(0)]
    root = tmp_path / "runs"
    root.mkdir()
    write_run(root, "r", cases, 1, seed=None, fingerprint="f")
    info = json.loads((root / "r" / RUN_INFO_NAME).read_text())
    (root / "r" / RUN_INFO_NAME).write_text(json.dumps({**info, "cases_total": None}))
    board = board_of(root, None).leaderboard
    assert board["status"].tolist() == ["unknown total"] and pd.isna(board["rank"].iloc[0])


def test_run_labels():
    assert lb.run_label("m-1", "m", []) == "m-1"
    assert lb.run_label("x", "m", ["partial 2/4", "other manifest", "uploaded"]) == \
        "m · x [partial 2/4] [other manifest] [uploaded]"


def test_overall_paired_difference(runs):
    root, manifest = runs
    tables = board_of(root, manifest)
    paired = lb.paired_difference(tables, "full", "unrecorded")
    overall = paired.overall.iloc[0]
    # full is right on 3 cases unrecorded misses and never the other way: exact McNemar = binomial on 3 of 3
    assert paired.common == 5 and (overall["a_only"], overall["b_only"]) == (3, 0)
    assert overall["difference"] == pytest.approx(60.0) and overall["p"] == pytest.approx(binomtest(3, 3, 0.5).pvalue)
    assert lb.paired_difference(tables, "full", "missing").common == 0


def test_public_text_and_csv(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    text = f"{link}/a and {real}/b"
    assert lb.public_text(text, {link: "data"}) == "data/a and data/b"
    frame = pd.DataFrame({"run": ["é", "b"], "accuracy": [50.0, None]})
    data = lb.to_csv_bytes(frame)
    assert data.decode("utf-8").splitlines()[0] == "run,accuracy"
    assert pd.read_csv(io.BytesIO(data)).equals(frame)


def test_a_run_json_without_fingerprint_or_total_beside_runs_with_them(tmp_path):
    # first found by these tests: beside runs that record them, a missing fingerprint became NaN and read as
    # "DIFFERS" (labelled "other manifest", unranked) and a missing total showed as "partial 1/nan"
    cases = [make_case(0), make_case(1)]
    root = tmp_path / "runs"
    root.mkdir()
    write_run(root, "a-none", cases, 1, seed=None, fingerprint=None)
    write_run(root, "b-total", cases, 2, seed=None, fingerprint="f")
    info = json.loads((root / "a-none" / RUN_INFO_NAME).read_text())
    (root / "a-none" / RUN_INFO_NAME).write_text(json.dumps({**info, "cases_total": None}))
    board = board_of(root, None).leaderboard.set_index("run")
    assert board.loc["a-none", ["status", "manifest"]].tolist() == ["unknown total", "not recorded"]
    assert board.loc["b-total", ["status", "manifest"]].tolist() == ["complete", "no benchmark"]
    manifest = ld.load_manifest(write_bench(tmp_path / "bench", cases))
    write_run(root, "c-match", cases, 0, seed=None, fingerprint=manifest.fingerprint)
    board = board_of(root, manifest).leaderboard.set_index("run")
    assert board.loc["a-none", ["status", "manifest", "label"]].tolist() == ["complete", "not recorded", "a-none"]
    assert board.loc["a-none", "rank"] == 1 and board.loc["c-match", "rank"] == 2


# ----- more of what the page shows, word for word ------------------------------------------
from dataclasses import replace as _replace

from niah.schema import Segment as _Segment


def _case_at(i: int, length: int, options: list[str] | None = None):
    """``make_case(i)`` at another haystack length (needle at frame 20, a decile of its own)."""
    base = make_case(i, options)
    segments = [_Segment("hay", i, 20, "haystack"), _Segment("ndl", 0, 10, "needle"),
                _Segment("hay", 30, length - 30, "haystack")]
    return _replace(base, case_id=f"L{length}-{i:04d}", length=length, depth=round(20 / (length - 10), 6),
                    segments=segments)


def _write_lines(root, run_id, results, **info):
    """A run folder holding ``results`` (Result objects) and a run.json of ``info``."""
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text("".join(r.to_json() + "\n" for r in results))
    (run_dir / RUN_INFO_NAME).write_text(json.dumps(info))


def _empty_run(root, run_id, **info):
    (root / run_id).mkdir(parents=True)
    (root / run_id / RUN_INFO_NAME).write_text(json.dumps(info))


def test_unranked_reasons_word_for_word(tmp_path):
    cases = [make_case(i) for i in range(5)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "full", cases, 5, seed=None, fingerprint=manifest.fingerprint)
    _empty_run(root, "empty", model="e", manifest_fingerprint=manifest.fingerprint, cases_total=5)
    write_run(root, "foreign-part", cases, 2, seed=None, fingerprint="0" * 64, scored=2)
    write_run(root, "foreign-3", cases[:3], 3, seed=None, fingerprint="0" * 64)  # its own total: 3
    board = board_of(root, manifest).leaderboard.set_index("run")
    assert board.loc["full", "reason"] == "" and board.loc["full", "rank"] == 1
    empty = board.loc["empty"]
    assert (empty["status"], empty["reason"], empty["scored"]) == ("partial 0/5", "no results", 0)
    assert (empty["unparsed"], empty["errors"]) == (0, 0) and pd.isna(empty["unparsed %"])
    assert pd.isna(empty["rank"]) and pd.isna(empty["holds_up_to"])
    assert board.loc["foreign-part", "reason"] == \
        "partial 2/5: only complete runs are ranked; scored on another manifest"
    # another manifest: judged against the run's own total, not this benchmark's
    other = board.loc["foreign-3"]
    assert (other["status"], other["cases"], other["manifest"]) == ("complete", 3, "DIFFERS")
    assert other["reason"] == "scored on another manifest" and pd.isna(other["rank"])


def test_a_near_copy_says_how_close_and_the_upload_is_the_copy(tmp_path):
    cases = [make_case(i) for i in range(50)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "b-own", cases, 50, seed=None, fingerprint=manifest.fingerprint)
    write_run(root, "a-up", cases, 49, seed=None, fingerprint=manifest.fingerprint)  # one answer differs
    info = json.loads((root / "a-up" / RUN_INFO_NAME).read_text())
    (root / "a-up" / RUN_INFO_NAME).write_text(json.dumps({**info, "uploaded": True}))
    board = board_of(root, manifest).leaderboard.set_index("run")
    up = board.loc["a-up"]
    assert up["near_copy_of"] == "b-own" and up["agreement"] == pytest.approx(98.0)
    assert up["reason"] == ("98.0% the same answers as an earlier run on 50 common cases; the original, b-own, is "
                            "the earliest created")
    assert up["marks"] == "near copy of b-own · uploaded" and pd.isna(up["rank"])
    assert board.loc["b-own", "near_copy_of"] == "" and board.loc["b-own", "rank"] == 1


def test_holds_up_to_only_for_complete_runs_above_chance(tmp_path):
    cases = [make_case(i) for i in range(5)] + [_case_at(i, 80) for i in range(5)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "good", cases, 10, seed=None, fingerprint=manifest.fingerprint)
    write_run(root, "part", cases, 5, seed=None, fingerprint=manifest.fingerprint, scored=5)  # length 40 only
    write_run(root, "weak", cases, 0, seed=None, fingerprint=manifest.fingerprint)  # 0 % at the shortest
    board = board_of(root, manifest).leaderboard.set_index("run")
    assert board.loc["good", "holds_up_to"] == 80
    assert board.loc["part", "status"] == "partial 5/10" and pd.isna(board.loc["part", "holds_up_to"])
    assert board.loc["weak", "status"] == "complete" and pd.isna(board.loc["weak", "holds_up_to"])


def test_every_manifest_length_has_columns_even_if_no_run_scored_it(tmp_path):
    cases = [make_case(i) for i in range(3)] + [_case_at(i, 80) for i in range(3)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "part", cases, 3, seed=None, fingerprint=manifest.fingerprint, scored=3)
    tables = board_of(root, manifest)
    assert tables.lengths == [40, 80]
    board = tables.leaderboard
    assert {"acc@80", "lo@80", "hi@80", "n@80"} <= set(board.columns)
    assert board["acc@80"].isna().all() and board["acc@80"].dtype == "float64"  # a number column, empty
    assert board["acc@40"].tolist() == [pytest.approx(100.0)]


def test_paired_verdicts_margins_and_cells(tmp_path):
    short = [make_case(i) for i in range(6)]          # length 40, depth decile 6
    long = [_case_at(i, 80) for i in range(6)]        # length 80, depth decile 2
    manifest, root = bench_and_runs(tmp_path, short + long)
    wrong = lambda c: "ABCD"[("ABCD".index(c.answer) + 1) % 4]  # noqa: E731
    # the long cases first in each file: the tables are still ordered by length
    _write_lines(root, "a", [result_of(c, c.answer, model="a") for c in long + short],
                 model="a", manifest_fingerprint=manifest.fingerprint, cases_total=12)
    _write_lines(root, "b", [result_of(c, c.answer, model="b") for c in long] +
                 [result_of(c, wrong(c), model="b") for c in short],
                 model="b", manifest_fingerprint=manifest.fingerprint, cases_total=12)
    tables = board_of(root, manifest)
    paired = lb.paired_difference(tables, "a", "b")
    assert (paired.run_a, paired.run_b, paired.common, paired.only_a, paired.only_b) == ("a", "b", 12, 0, 0)
    # a right on 6 cases b misses, never the reverse: p = 2 / 2**6 overall
    overall = paired.overall.iloc[0]
    assert overall["p"] == pytest.approx(2 / 64) and overall["verdict"] == "beyond noise (Holm)"
    # per length: the same p at 40, but Holm over two lengths doubles it
    by_length = paired.by_length
    assert by_length["length"].tolist() == [40, 80]
    assert by_length["verdict"].tolist() == ["p < 0.05 (uncorrected)", "within noise"]
    assert by_length["p_holm"].tolist() == [pytest.approx(4 / 64), 1.0]
    by_decile = paired.by_decile
    assert by_decile["depth_decile"].tolist() == [2, 6]
    assert by_decile["depth_range"].tolist() == ["20–30%", "60–70%"]
    assert by_decile["verdict"].tolist() == ["within noise", "p < 0.05 (uncorrected)"]
    cells = paired.cells
    assert list(cells.columns) == ["length", "depth_decile", "depth_range", "n", "accuracy_a", "accuracy_b",
                                   "difference", "a_only", "b_only", "p", "test", "p_holm", "verdict", "covered"]
    assert len(cells) == 20 and list(cells.index) == list(range(20))
    assert cells["n"].dtype == "int64"
    covered = cells[cells["covered"]]
    assert covered[["length", "depth_decile", "n"]].values.tolist() == [[40, 6, 6], [80, 2, 6]]
    assert (cells.loc[~cells["covered"], "n"] == 0).all()
    assert set(cells.loc[~cells["covered"], "verdict"]) == {"not in both runs"}
    heat = tables.heatmap[tables.heatmap["run_id"] == "a"]
    assert heat["depth_range"].tolist()[:3] == ["0–10%", "10–20%", "20–30%"]


def test_each_answer_rule_reads_stored_and_raw_answers(tmp_path):
    cases = [make_case(i) for i in range(3)]  # answers A, B, C
    manifest, root = bench_and_runs(tmp_path, cases)
    lines = [
        # stored under the official rule, with a different strict reading
        result_of(cases[0], "A", raw_output="A", answer_rule="official", prediction_strict="B"),
        # stored under the official rule, no strict reading: strict re-reads the raw output
        result_of(cases[1], "B", raw_output="The answer is (B).", answer_rule="official"),
        # stored under the strict rule: official re-reads the raw output, not the strict reading
        result_of(cases[2], "D", raw_output="C", answer_rule="strict", prediction_strict="D"),
    ]
    _write_lines(root, "r", lines, model="r", manifest_fingerprint=manifest.fingerprint, cases_total=3)
    loaded = ld.load_results(root)
    official = lb.build_tables(loaded, manifest, "official")
    strict = lb.build_tables(loaded, manifest, "strict")
    assert official.rule == "videomme" and strict.rule == "strict"      # the old name read as the new
    assert official.results["letter"].tolist() == ["A", "B", "C"]
    assert official.results["correct"].tolist() == [True, True, True]
    assert strict.results["letter"].tolist() == ["B", "B", "D"]
    assert strict.results["correct"].tolist() == [False, True, False]
    assert official.leaderboard["accuracy"].iloc[0] == pytest.approx(100.0)
    assert strict.leaderboard["accuracy"].iloc[0] == pytest.approx(100 / 3)
    with pytest.raises(ValueError) as err:
        lb.build_tables(loaded, manifest, "loose")
    assert str(err.value) == "unknown answer rule 'loose'; known: lmms-eval, videomme, strict"


def test_failed_cases_are_errors_not_unparsed(tmp_path):
    cases = [make_case(i) for i in range(4)]
    manifest, root = bench_and_runs(tmp_path, cases)
    lines = [result_of(cases[0], None, raw_output="", error="CUDA out of memory", correct=False),
             result_of(cases[1], None, raw_output="", error="decode error", correct=False),
             result_of(cases[2], None, raw_output="no idea", correct=False),
             result_of(cases[3], cases[3].answer)]
    _write_lines(root, "r", lines, model="r", manifest_fingerprint=manifest.fingerprint, cases_total=4)
    row = board_of(root, manifest).leaderboard.iloc[0]
    assert (row["unparsed"], row["errors"], row["scored"]) == (1, 2, 4)
    assert row["unparsed %"] == pytest.approx(25.0) and row["accuracy"] == pytest.approx(25.0)


def test_a_result_for_a_case_outside_the_manifest(tmp_path):
    """Read against the manifest, a stray line counts nowhere and the run says so (as ``runner
    report`` does); a run scored on another manifest keeps it, shown and never ranked."""
    cases = [make_case(i) for i in range(4)] + [make_case(4, options=["A. yes", "B. no"])]
    manifest, root = bench_and_runs(tmp_path, cases)
    stray = _replace(make_case(9), case_id="X-9999")
    lines = [result_of(c, c.answer) for c in cases] + [result_of(stray, "B", correct=False)]
    _write_lines(root, "r", lines, model="r", manifest_fingerprint=manifest.fingerprint, cases_total=5)
    _write_lines(root, "other", lines, model="other", manifest_fingerprint="another", cases_total=6)
    tables = board_of(root, manifest)
    res, board = tables.results, tables.leaderboard.set_index("run")
    mine = res[res["run_id"] == "r"].set_index("case_id")
    assert "X-9999" not in mine.index and mine["in_manifest"].all()
    row = board.loc["r"]
    assert (row["status"], row["scored"], row["unparsed"], row["accuracy"]) == ("complete", 5, 0, 100.0)
    assert "1 result(s) outside the manifest left out" in row["marks"]
    assert row["chance"] == pytest.approx(100 * (4 * 0.25 + 0.5) / 5)
    theirs = res[res["run_id"] == "other"].set_index("case_id")
    assert theirs["in_manifest"].tolist() == [True] * 5 + [False]
    assert theirs.loc["X-9999", "letter"] == "B"  # no options to read it again by: its own letter
    assert not theirs.loc["X-9999", "correct"]  # and no gold letter to match
    assert theirs.loc["X-9999", "chance"] == pytest.approx(1 / lb.ASSUMED_OPTIONS)
    assert board.loc["other", "scored"] == 6 and not board.loc["other", "rankable"]
    assert "outside the manifest" not in board.loc["other", "marks"]


def test_the_model_is_run_jsons_name(tmp_path):
    cases = [make_case(i) for i in range(2)]
    root = tmp_path / "runs"
    root.mkdir()
    _empty_run(root, "a-empty", model="alpha", cases_total=2)
    _write_lines(root, "b-run", [result_of(c, c.answer, model="line-name") for c in cases],
                 model="json-name", cases_total=2)
    tables = board_of(root, None)
    assert tables.results["model"].tolist() == ["json-name", "json-name"]
    assert tables.leaderboard.set_index("run").loc["b-run", "model"] == "json-name"
    assert tables.results["run_id"].tolist() == ["b-run", "b-run"]


def test_without_a_benchmark_the_files_correct_and_assumed_chance_count(tmp_path):
    cases = [make_case(i) for i in range(5)]
    root = tmp_path / "runs"
    root.mkdir()
    write_run(root, "r", cases, 4, seed=None, fingerprint="f")
    tables = board_of(root, None)
    row = tables.leaderboard.iloc[0]
    assert row["accuracy"] == pytest.approx(80.0) and row["chance"] == pytest.approx(25.0)
    assert tables.results["in_manifest"].tolist() == [False] * 5
    assert tables.results["chance"].tolist() == [0.25] * 5


def test_an_empty_manifest_assumes_four_options(tmp_path):
    manifest = ld.load_manifest(write_bench(tmp_path / "bench", []))
    assert manifest.available and len(manifest.cases) == 0
    root = tmp_path / "runs"
    root.mkdir()
    _empty_run(root, "r", model="r", manifest_fingerprint=manifest.fingerprint, cases_total=1)
    tables = board_of(root, manifest)
    assert tables.leaderboard["status"].tolist() == ["partial 0/0"]
    assert tables.chance == pytest.approx(100 / lb.ASSUMED_OPTIONS) and not tables.chance_assumed


def test_seed_column_keeps_whole_seeds(tmp_path):
    cases = [make_case(i) for i in range(2)]
    root = tmp_path / "runs"
    root.mkdir()
    write_run(root, "s1", cases, 2, seed=1, fingerprint="f")
    write_run(root, "z-none", cases, 1, seed=None, fingerprint="f")
    board = board_of(root, None).leaderboard
    seeds = dict(zip(board["run"], board["seed"]))
    assert seeds["s1"] == 1 and isinstance(seeds["s1"], int) and seeds["z-none"] is None
    back = pd.read_csv(io.BytesIO(lb.to_csv_bytes(board)), dtype=str, keep_default_na=False)
    assert dict(zip(back["run"], back["seed"])) == {"s1": "1", "z-none": ""}


def test_totals_of_zero_and_one_case(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    _empty_run(root, "zero", model="z", cases_total=0)
    row = board_of(root, None).leaderboard.iloc[0]
    assert (row["status"], row["reason"], bool(row["rankable"])) == ("partial 0/0", "no results", False)
    one = [make_case(0)]
    manifest = ld.load_manifest(write_bench(tmp_path / "bench", one))
    root1 = tmp_path / "runs1"
    root1.mkdir()
    write_run(root1, "one", one, 1, seed=None, fingerprint=manifest.fingerprint)
    _empty_run(root1, "none", model="n", manifest_fingerprint=manifest.fingerprint, cases_total=1)
    board = board_of(root1, manifest).leaderboard.set_index("run")
    assert (board.loc["one", "status"], board.loc["one", "rank"]) == ("complete", 1)
    assert bool(board.loc["one", "rankable"]) and board.loc["one", "reason"] == ""
    assert (board.loc["none", "status"], board.loc["none", "reason"]) == ("partial 0/1", "no results")
    assert pd.isna(board.loc["none", "rank"])


def test_breakdown_tables_problems_and_run_cards(tmp_path):
    cases = [make_case(i) for i in range(3)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "r", cases, 3, seed=None, fingerprint=manifest.fingerprint)
    with open(root / "r" / "results.jsonl", "a") as handle:
        handle.write("not json\n")
    tables = board_of(root, manifest)
    assert list(tables.problems) == ["r"] and tables.problems["r"][0].startswith("r/results.jsonl:4:")
    assert json.loads(tables.runs_info["r"])["model"] == "r" and list(tables.runs_info) == ["r"]
    task_length = tables.by_task_length
    assert task_length[["run_id", "task_type", "length", "n"]].values.tolist() == [["r", "T", 40, 3]]
    duration_length = tables.by_duration_length
    assert duration_length["needle_duration"].tolist() == ["<=60s", "61-90s", "91-120s", ">120s"]
    assert duration_length["n"].tolist() == [3, 0, 0, 0] and set(duration_length["length"]) == {40}
    bare = board_of(root, None)
    summary = ["n", "correct", "accuracy", "ci_low", "ci_high", "unparsed", "failed", "chance"]
    assert list(bare.by_duration.columns) == ["run_id", "needle_duration", *summary] and bare.by_duration.empty
    assert list(bare.by_duration_length.columns) == ["run_id", "needle_duration", "length", *summary]
    assert bare.by_duration_length.empty and len(bare.by_task_length) == 1


def test_a_case_outside_the_manifest_with_no_letter_is_not_correct(tmp_path):
    """No letter and no gold letter are not a match (None == None); the line is kept because the
    run was scored on another manifest (on this one it would be left out)."""
    cases = [make_case(i) for i in range(3)]
    manifest, root = bench_and_runs(tmp_path, cases)
    stray = _replace(make_case(9), case_id="X-9999")
    lines = [result_of(c, c.answer) for c in cases] + [result_of(stray, None, raw_output="hmm", correct=True)]
    _write_lines(root, "r", lines, model="r", manifest_fingerprint="another", cases_total=4)
    tables = board_of(root, manifest)
    res = tables.results.set_index("case_id")
    assert not res.loc["X-9999", "correct"] and res.loc["X-9999", "unparsed"]
    assert tables.leaderboard.iloc[0]["accuracy"] == pytest.approx(75.0)  # 3 of the 4 lines


def test_old_format_runs_without_a_benchmark_keep_their_letters_and_are_not_copies(tmp_path):
    """Without the manifest an old line cannot be read again; its own letter stands, so two
    different runs neither read as all-unparsed nor as copies of each other."""
    cases = [make_case(i) for i in range(25)]
    root = tmp_path / "runs"
    root.mkdir()
    good = [result_of(c, c.answer) for c in cases]
    bad = [result_of(c, "ABCD"[("ABCD".index(c.answer) + 1) % 4]) for c in cases]
    _write_lines(root, "good", good, model="good", cases_total=25)
    _write_lines(root, "bad", bad, model="bad", cases_total=25)
    board = board_of(root, None).leaderboard.set_index("run")
    assert board.loc["good", "unparsed"] == 0 and board.loc["bad", "unparsed"] == 0
    assert board.loc["good", "accuracy"] == pytest.approx(100.0) and board.loc["bad", "accuracy"] == 0.0
    assert "copy" not in board.loc["bad", "reason"] and "copy" not in board.loc["good", "reason"]


def test_results_against_a_manifest_without_cases_are_counted_not_crashed(tmp_path):
    manifest, root = bench_and_runs(tmp_path, [])
    cases = [make_case(i) for i in range(3)]
    _write_lines(root, "r", [result_of(c, c.answer) for c in cases], model="r", manifest_fingerprint="another",
                 cases_total=3)
    _write_lines(root, "s", [result_of(c, c.answer) for c in cases], model="s",
                 manifest_fingerprint=manifest.fingerprint, cases_total=3)
    tables = board_of(root, manifest)
    assert tables.results["in_manifest"].tolist() == [False] * 3 and not tables.results["correct"].any()
    board = tables.leaderboard.set_index("run")
    assert board.loc["r", "scored"] == 3  # scored on another manifest: kept, no gold to match
    assert board.loc["s", "scored"] == 0 and "3 result(s) outside the manifest left out" in board.loc["s", "marks"]


# ----- survivors of make mutate in leaderboard/data.py -------------------------------------
from leaderboard import ranking as _ranking
from niah import comparisons as _comparisons


def _same_question(case, question: str):
    """``case`` with its needle asking ``question`` (cases sharing one are one cluster)."""
    return _replace(case, needle=_replace(case.needle, question_id=question))


def test_a_case_outside_the_manifest_is_a_cluster_of_its_own_in_every_run(tmp_path):
    """Runs scored on another manifest keep a case this one lacks: its cluster code must not be
    any manifest question's (nor None), and the same in both runs; no stray index column."""
    cases = [make_case(i) for i in range(3)]
    manifest, root = bench_and_runs(tmp_path, cases)
    stray = make_case(7)
    for run in ("x", "y"):
        _write_lines(root, run, [result_of(c, c.answer) for c in [*cases, stray]], model=run,
                     manifest_fingerprint="0" * 64, cases_total=4)
    results = board_of(root, manifest).results
    cluster = results.set_index(["run_id", "case_id"])["cluster"]
    inside = {cluster[("x", c.case_id)] for c in cases}
    assert len(inside) == 3 and results["cluster"].dtype.kind == "i"
    assert cluster[("x", stray.case_id)] == cluster[("y", stray.case_id)]
    assert cluster[("x", stray.case_id)] not in inside
    assert "index" not in results.columns


def test_a_failed_case_with_the_gold_letter_is_not_correct(tmp_path):
    """A line with an error is never correct, even if it also carries the right letter."""
    cases = [make_case(0), make_case(1)]
    manifest, root = bench_and_runs(tmp_path, cases)
    _write_lines(root, "r", [result_of(cases[0], "A", error="CUDA out of memory"), result_of(cases[1], "B")],
                 model="r", manifest_fingerprint=manifest.fingerprint, cases_total=2)
    tables = board_of(root, manifest)
    assert tables.results["correct"].tolist() == [False, True]
    assert tables.leaderboard["errors"].iloc[0] == 1 and tables.leaderboard["accuracy"].iloc[0] == pytest.approx(50.0)


def test_an_exact_copy_is_marked_copy_not_near_copy(tmp_path):
    """Every answer the same as an earlier run: the mark says "copy", not "near copy"."""
    cases = [make_case(i) for i in range(50)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "b-own", cases, 50, seed=None, fingerprint=manifest.fingerprint)
    write_run(root, "a-up", cases, 50, seed=None, fingerprint=manifest.fingerprint)
    info = json.loads((root / "a-up" / RUN_INFO_NAME).read_text())
    (root / "a-up" / RUN_INFO_NAME).write_text(json.dumps({**info, "uploaded": True}))
    board = board_of(root, manifest).leaderboard.set_index("run")
    assert board.loc["a-up", "marks"] == "copy of b-own · uploaded"


def test_readings_that_differ_on_exactly_the_threshold_are_not_flagged(tmp_path):
    """One case in 20 read differently by the strict reading is 5 %, not more than
    READINGS_DIFFER_PCT: no mark; one in 10 is flagged with its share. A run without results
    and a run.json without a creation time show a gap of 0 and blank dates."""
    cases = [make_case(i) for i in range(20)]
    manifest, root = bench_and_runs(tmp_path, cases)

    def lines(n_differ: int) -> list:
        return [result_of(c, c.answer, raw_output=c.answer, answer_rule="official",
                          prediction_strict="D" if c.answer != "D" else "A") if i < n_differ
                else result_of(c, c.answer, raw_output=c.answer, answer_rule="official") for i, c in enumerate(cases)]

    for run, n in (("five", 1), ("ten", 2)):
        _write_lines(root, run, lines(n), model=run, manifest_fingerprint=manifest.fingerprint, cases_total=20)
    _empty_run(root, "none", model="n", manifest_fingerprint=manifest.fingerprint, cases_total=20)
    board = board_of(root, manifest).leaderboard.set_index("run")
    assert lb.READINGS_DIFFER_PCT == 5.0
    assert board.loc["five", "readings_gap"] == pytest.approx(5.0)
    assert "readings differ" not in board.loc["five", "marks"] and board.loc["five", "readings"] == ""
    assert board.loc["ten", "readings_gap"] == pytest.approx(10.0)
    assert board.loc["ten", "readings"] == "lmms-eval; strict differs on 10%"
    assert board.loc["none", "readings_gap"] == 0.0
    assert (board.loc["none", "created"], board.loc["none", "date"]) == ("", "")


def test_heatmap_cells_beyond_chance(tmp_path):
    """A run right on all 20 cases of a cell is beyond chance there; unscored cells are not."""
    cases = [make_case(i) for i in range(20)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "r", cases, 20, seed=None, fingerprint=manifest.fingerprint)
    heat = board_of(root, manifest).heatmap
    scored = heat["n"] > 0
    assert scored.sum() == 1 and heat.loc[scored, "beyond_chance"].tolist() == [True]
    assert not heat.loc[~scored, "beyond_chance"].any()


def test_pairwise_and_paired_difference_use_the_needle_question_clusters(tmp_path):
    """Cases asking the same needle question are one cluster: the ranked pairs and the two-run
    comparison use the cluster-adjusted test, not exact McNemar over cases."""
    cases = [_same_question(make_case(i), f"q{i // 4}") for i in range(40)]
    manifest, root = bench_and_runs(tmp_path, cases)
    write_run(root, "good", cases, 30, seed=None, fingerprint=manifest.fingerprint)
    write_run(root, "poor", cases, 10, seed=None, fingerprint=manifest.fingerprint)
    tables = board_of(root, manifest)
    assert tables.pairwise["test"].tolist() == [_comparisons.MCNEMAR_CLUSTERED]
    assert lb.paired_difference(tables, "good", "poor").overall["test"].tolist() == [_comparisons.MCNEMAR_CLUSTERED]


def test_one_case_per_question_compares_by_exact_mcnemar(runs):
    """Every case its own question: the comparison names the exact McNemar test."""
    root, manifest = runs
    overall = lb.paired_difference(board_of(root, manifest), "full", "unrecorded").overall
    assert overall["test"].tolist() == [_comparisons.MCNEMAR]


def test_no_runs_still_have_the_pairwise_columns(tmp_path):
    """An empty runs folder: the pairwise table (shown and exported) keeps its columns."""
    root = tmp_path / "runs"
    root.mkdir()
    tables = board_of(root, None)
    assert list(tables.pairwise.columns) == list(_ranking.PAIRWISE_COLUMNS)


def test_all_missing_settings_are_blank_object_columns(runs):
    """Columns nobody recorded (tau, keyframes, ...) are object columns, blank on the page, not
    a float column of NaN."""
    root, manifest = runs
    tau = board_of(root, manifest).leaderboard[lb.C.tau.name]
    assert tau.isna().all() and tau.dtype == object


def test_no_common_cases_compare_without_warnings(runs):
    """Two runs without a common case: the comparison is empty, with no RuntimeWarning of a
    mean over nothing."""
    root, manifest = runs
    tables = board_of(root, manifest)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paired = lb.paired_difference(tables, "full", "missing")
    assert paired.common == 0 and pd.isna(paired.overall["accuracy_a"].iloc[0])
