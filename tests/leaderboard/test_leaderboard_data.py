"""Loading and aggregation (no Streamlit)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from leaderboard import data as lb
from leaderboard import loading as ld
import synthetic_runs as synthetic
from niah_testlib import letter_under
from niah.results import Result


def _tables(demo):
    return lb.build_tables(ld.load_results(demo["results"]), ld.load_manifest(demo["data"]))


def test_missing_folders_give_empty_tables(tmp_path):
    manifest = ld.load_manifest(tmp_path / "nope")
    assert not manifest.available and "No benchmark" in manifest.message
    tables = lb.build_tables(ld.load_results(tmp_path / "nothing"), manifest)
    assert tables.leaderboard.empty and tables.heatmap.empty and tables.run_ids == []
    assert tables.chance_assumed and tables.chance == 100 / lb.ASSUMED_OPTIONS


def test_manifest_without_frames_still_opens(demo):
    manifest = ld.load_manifest(demo["data"])
    assert manifest.available and not manifest.frames_ok
    assert manifest.fingerprint == demo["fingerprint"]
    assert len(manifest.cases) == 20 and "thumbnails are off" in manifest.message


def test_leaderboard_ranks_only_complete_runs_on_this_manifest(demo):
    board = _tables(demo).leaderboard
    by_run = board.set_index("run")
    assert list(board["run"][:3]) == ["model-b", "model-c", "model-a"] or by_run.loc["model-a", "rank"] >= 1
    ranked = board[board["rank"].notna()]
    assert set(ranked["run"]) == {"model-a", "model-b", "model-c"}
    assert list(ranked["accuracy"]) == sorted(ranked["accuracy"], reverse=True)
    assert list(ranked["rank"]) == sorted(ranked["rank"])
    # partial: marked, not ranked, listed after every ranked run, even with high accuracy
    partial = by_run.loc["partial-0"]
    assert partial["status"].startswith("partial ") and pd.isna(partial["rank"])
    assert partial["label"] == f"partial-0 [{partial['status']}]"
    assert partial["scored"] < partial["cases"] == 20
    assert board.index[board["run"] == "partial-0"][0] > ranked.index.max()
    # another manifest: flagged, not ranked
    assert by_run.loc["foreign-0", "manifest"] == "DIFFERS" and pd.isna(by_run.loc["foreign-0", "rank"])
    assert set(by_run.loc[["model-a", "model-b", "model-c", "partial-0"], "manifest"]) == {"match"}
    # settings columns from run.json
    assert by_run.loc["model-a", "frames"] == 32 and by_run.loc["model-a", "K"] == 8
    assert by_run.loc["model-a", "τ"] == 0.5


def test_accuracy_numbers_match_a_direct_count(demo):
    tables = _tables(demo)
    res = tables.results
    for run in tables.run_ids:
        sub = res[res["run_id"] == run]
        row = tables.leaderboard.set_index("run").loc[run]
        assert row["accuracy"] == pytest.approx(100 * sub["correct"].mean())
        assert row["scored"] == len(sub)
        for length in (300, 600):
            part = sub[sub["length"] == length]
            assert row[f"acc@{length}"] == pytest.approx(100 * part["correct"].mean())
        heat = tables.heatmap[tables.heatmap["run_id"] == run]
        assert heat["n"].sum() == len(sub)
        assert set(heat["depth_decile"]) <= set(range(10))
        assert tables.by_task[tables.by_task["run_id"] == run]["n"].sum() == len(sub)
        assert tables.by_duration[tables.by_duration["run_id"] == run]["n"].sum() == len(sub)


def test_depth_one_falls_in_last_decile(tmp_path):
    cases = synthetic.make_cases((300,), 10)
    fp = synthetic.write_manifest(tmp_path / "data", cases)
    synthetic.write_run(tmp_path / "r", "m", synthetic.make_results(cases, "m", 1.0),
                        synthetic.run_info("m", fp, len(cases)))
    tables = lb.build_tables(ld.load_results(tmp_path / "r"), ld.load_manifest(tmp_path / "data"))
    deciles = tables.results.set_index("case_id")["depth_decile"]
    assert deciles["L300-0009"] == 9 and deciles["L300-0000"] == 0


def test_fast_and_line_by_line_readers_agree(demo):
    fast = ld.load_results(demo["results"]).results.sort_values(["run_id", "case_id"]).reset_index(drop=True)
    slow = ld.load_results(demo["results"], fast=False).results.sort_values(["run_id", "case_id"]).reset_index(drop=True)
    pdt.assert_frame_equal(fast, slow)


def test_schema_2_lines_take_the_fast_reader(tmp_path):
    """A runner's line (rule, strict reading, what the model saw) is read column-wise, the
    same as line by line."""
    schema2 = dict(GOOD, answer_rule="official", prediction_strict="A", view={"full_frames": [1, 5], "k": 2},
                   rotations=[{"raw_output": "A", "prediction": "A", "prediction_strict": "A"}], input_cut=0)
    run = tmp_path / "r" / "run"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "results.jsonl").write_text("".join(json.dumps(dict(schema2, case_id=f"c{i}")) + "\n" for i in range(3)))
    assert ld._fast_read_file(run / "results.jsonl") is not None
    fast = ld.load_results(tmp_path / "r").results
    slow = ld.load_results(tmp_path / "r", fast=False).results
    pdt.assert_frame_equal(fast, slow)
    assert list(fast["answer_rule"]) == ["official"] * 3 and list(fast["prediction_strict"]) == ["A"] * 3


GOOD = {"case_id": "c1", "model": "m", "prediction": "A", "raw_output": "A", "correct": True, "length": 300,
        "depth": 0.5, "task_type": "t", "seconds": 1.0}


@pytest.mark.parametrize("bad", [
    dict(GOOD, prediction=1), dict(GOOD, length=300.0), dict(GOOD, length=True), dict(GOOD, length="300"),
    dict(GOOD, correct=1), dict(GOOD, seconds=True), dict(GOOD, depth="0.5"), dict(GOOD, extra=1),
    dict(GOOD, view=[1]), dict(GOOD, rotations={"a": 1}), dict(GOOD, input_cut="3"), dict(GOOD, answer_rule=1),
    {k: v for k, v in GOOD.items() if k != "case_id"}, dict(GOOD, model=None), [1, 2], dict(GOOD, error=3),
])
def test_fast_reader_never_accepts_what_result_refuses(tmp_path, bad):
    run = tmp_path / "r" / "run"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "results.jsonl").write_text(json.dumps(dict(GOOD, case_id="c0")) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ValueError):
        Result.from_dict(bad)
    frame, problems = ld.read_run_frame(run)
    assert list(frame["case_id"]) == ["c0"]
    assert len(problems) == 1 and ":2:" in problems[0]


def test_torn_line_duplicate_and_bad_run_json_are_reported(tmp_path):
    cases = synthetic.make_cases((300,), 4)
    results = synthetic.make_results(cases, "m", 1.0)
    run = synthetic.write_run(tmp_path, "m", results, {"model": "m"}, shards=2)
    with open(run / "results-shard0of2.jsonl", "a") as handle:
        handle.write(results[1].to_json() + "\n" + '{"case_id": "L300-00')  # duplicate from shard 1, torn tail
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    loaded = ld.load_results(tmp_path)
    assert sorted(loaded.runs["run_id"]) == ["broken", "m"]
    assert len(loaded.results[loaded.results["run_id"] == "m"]) == 4
    problems = loaded.problems["m"]
    assert any("duplicate case_id" in p for p in problems) and len(problems) == 2
    assert "unreadable" in loaded.problems["broken"][0]
    board = lb.build_tables(loaded).leaderboard.set_index("run")
    assert board.loc["m", "problems"] == 2 and board.loc["m", "status"] == "unknown total"
    assert pd.isna(board.loc["m", "rank"])


def test_no_benchmark_ranks_by_cases_total(tmp_path):
    cases = synthetic.make_cases((300,), 6)
    synthetic.write_run(tmp_path, "full", synthetic.make_results(cases, "full", 0.5), synthetic.run_info("full", "f" * 64, 6))
    synthetic.write_run(tmp_path, "half", synthetic.make_results(cases[:3], "half", 1.0),
                        synthetic.run_info("half", "f" * 64, 6))
    board = lb.build_tables(ld.load_results(tmp_path), ld.load_manifest(tmp_path / "none")).leaderboard
    assert list(board["run"]) == ["full", "half"]
    assert board["rank"].iloc[0] == 1 and pd.isna(board["rank"].iloc[1])
    assert list(board["manifest"]) == ["no benchmark", "no benchmark"]
    assert board["status"].iloc[1] == "partial 3/6"


def test_heatmap_is_the_full_grid_and_a_difference_says_what_it_covers(demo):
    tables = _tables(demo)
    grid = tables.heatmap[tables.heatmap["run_id"] == "partial-0"]
    assert len(grid) == len(tables.lengths) * 10 and (grid["n"] == 0).any()  # unscored cells kept, empty
    assert grid.loc[grid["n"] == 0, "accuracy"].isna().all()
    diff = lb.paired_difference(tables, "model-a", "model-b").cells
    assert len(diff) == 20 and diff["covered"].all()
    assert np.allclose(diff["difference"], diff["accuracy_a"] - diff["accuracy_b"])
    paired = lb.paired_difference(tables, "model-a", "partial-0")
    partial = paired.cells
    assert len(partial) == 20 and partial["covered"].sum() == (grid["n"] > 0).sum() < 20
    assert set(partial.loc[~partial["covered"], "verdict"]) == {"not in both runs"}
    # compared on the common cases only, and says how many were left out
    scored = int(tables.leaderboard.set_index("run").at["partial-0", "scored"])
    assert paired.common == scored and paired.only_a == 20 - scored and paired.only_b == 0


def test_difference_verdicts_follow_the_test(tmp_path):
    """A run right on every case against one wrong on every case: each 30-case cell differs
    beyond noise even after Holm's correction; against itself, nothing does. Every case has
    its own needle video, so each test is exact McNemar."""
    cases = synthetic.make_cases((300,), 300, videos=300)
    fp = synthetic.write_manifest(tmp_path / "data", cases)
    for name, skill in (("good", 10.0), ("bad", 0.0)):
        results = synthetic.make_results(cases, name, skill)
        results = [r.__class__(**{**r.__dict__, "prediction": r.prediction or "A", "error": None,
                                  "correct": (r.prediction or "A") == next(c.answer for c in cases
                                                                          if c.case_id == r.case_id)})
                   for r in results]
        synthetic.write_run(tmp_path / "r", name, results, synthetic.run_info(name, fp, len(cases)))
    tables = lb.build_tables(ld.load_results(tmp_path / "r"), ld.load_manifest(tmp_path / "data"))
    n = tables.heatmap.groupby("run_id")["n"].min()
    assert (n >= 29).all()
    good, bad = (tables.leaderboard.set_index("run").loc[r, "accuracy"] for r in ("good", "bad"))
    assert good > 90 and bad < 10
    paired = lb.paired_difference(tables, "good", "bad")
    diff = paired.cells
    assert (diff["verdict"] == "beyond noise (Holm)").all() and (diff["p_holm"] < 0.05).all()
    same = lb.paired_difference(tables, "good", "good")
    assert (same.cells["verdict"] == "within noise").all() and (same.cells["p"] == 1).all()
    overall = paired.overall.iloc[0]
    assert overall["difference"] == pytest.approx(good - bad) and overall["p"] < 1e-6
    assert (same.overall.iloc[0]["difference"], same.overall.iloc[0]["p"]) == (0.0, 1.0)
    # margins: every length and decile, each with its own exact test
    assert list(paired.by_length["length"]) == [300] and (paired.by_decile["p_holm"] < 0.05).all()
    assert paired.by_decile["n"].sum() == paired.common == 300


def test_intervals_and_chance_on_every_table(demo):
    tables = _tables(demo)
    for frame in (tables.leaderboard, tables.by_length, tables.heatmap, tables.by_task, tables.by_duration):
        scored = frame[frame["accuracy"].notna()]
        assert len(scored) and {"ci_low", "ci_high", "chance"} <= set(frame.columns)
        assert ((scored["ci_low"] <= scored["accuracy"]) & (scored["accuracy"] <= scored["ci_high"])).all()
        assert np.allclose(scored["chance"], 25.0)  # four options per case
    assert tables.chance == 25.0 and not tables.chance_assumed
    board = tables.leaderboard.set_index("run")
    lo, hi = board.loc["model-a", ["lo@300", "hi@300"]]
    assert 0 <= lo < board.loc["model-a", "acc@300"] < hi <= 100
    # duration bins are generator inspect's
    assert set(tables.by_duration["needle_duration"]) <= {"<=60s", "61-90s", "91-120s", ">120s"}


def test_identical_answers_are_flagged_and_not_ranked(demo):
    import shutil
    shutil.copytree(demo["results"] / "model-b", demo["results"] / "model-b-copy")
    board = _tables(demo).leaderboard.set_index("run")
    assert board.loc["model-b-copy", "near_copy_of"] == "model-b" and pd.isna(board.loc["model-b-copy", "rank"])
    assert "copy of model-b" in board.loc["model-b-copy", "marks"]
    assert "100.0% the same answers as an earlier run" in board.loc["model-b-copy", "reason"]
    assert board.loc["model-b", "rank"] == 1 and board.loc["model-b", "near_copy_of"] == ""


def test_seed_runs_share_a_group_and_a_rank(tmp_path):
    synthetic.write_demo(tmp_path / "r", tmp_path / "d", partial=0, foreign=0, seeds=3)
    board = lb.build_tables(ld.load_results(tmp_path / "r"), ld.load_manifest(tmp_path / "d")).leaderboard
    seeds = board[board["model"] == "random"]
    assert sorted(seeds["seed"]) == [0, 1, 2] and seeds["seed_group"].nunique() == 1
    assert seeds["rank"].nunique() == 1 and seeds["rank"].iloc[0] == 4  # one entry after the three models
    others = board[board["model"] != "random"]
    assert others["seed_group"].isna().all() and list(others["rank"]) == [1, 2, 3]


def test_a_partial_seed_stays_out_of_its_group_mean_and_the_group_keeps_its_rank(tmp_path):
    info = synthetic.write_demo(tmp_path / "r", tmp_path / "d", partial=0, foreign=0, seeds=3)
    cases = info["cases"]
    extra = {**synthetic.run_info("random", info["fingerprint"], len(cases)), "settings": {"seed": 9},
             "model_path": None}
    synthetic.write_run(tmp_path / "r", "random-seed9", synthetic.make_results(cases, "random", 1.0, 9, 0.4), extra)
    board = lb.build_tables(ld.load_results(tmp_path / "r"), ld.load_manifest(tmp_path / "d")).leaderboard
    by_run = board.set_index("run")
    complete = [f"random-seed{k}" for k in range(3)]
    assert (by_run.loc[complete, "rank"] == 4).all() and pd.isna(by_run.loc["random-seed9", "rank"])
    assert by_run.loc[complete[0], "entry_accuracy"] == pytest.approx(by_run.loc[complete, "accuracy"].mean())
    reason = by_run.loc["random-seed9", "reason"]
    assert reason.startswith("partial ") and "not in its seed group's mean (over its 3 complete seed(s))" in reason


def test_paired_columns_are_cluster_adjusted_mcnemar_with_holm(demo):
    """The table's tests against an independent count of discordant cases per needle question:
    each of the demo's 10 questions is asked at 2 lengths, so two single runs are compared by
    the cluster-adjusted McNemar test: the sign-flip test of the per-question totals of b - c,
    enumerated over every sign pattern when at most 12 questions differ, else its chi2(1) form
    (sum of totals)^2 / sum of squared totals."""
    import itertools

    from scipy.stats import chi2

    def clustered_mcnemar(totals):
        totals = [t for t in totals if t]
        if len(totals) > 12:
            return chi2.sf(sum(totals) ** 2 / sum(t * t for t in totals), 1)
        flips = [abs(sum(s * t for s, t in zip(signs, totals))) for signs in itertools.product((1, -1), repeat=len(totals))]
        return sum(f >= abs(sum(totals)) for f in flips) / len(flips)

    tables = _tables(demo)
    board = tables.leaderboard.set_index("run")
    res = tables.results.pivot(index="case_id", columns="run_id", values="correct")
    manifest = ld.load_manifest(demo["data"]).cases.set_index("case_id")
    video = manifest["needle_question"]
    order = ["model-b", "model-c", "model-a"]
    p = {}
    for run in order[1:]:
        for other, col in ((order[order.index(run) - 1], "above"), ("model-b", "first")):
            per_video = ((res[run] & ~res[other]).astype(int) - (~res[run] & res[other]).astype(int)).groupby(video).sum()
            p[(run, col)] = clustered_mcnemar(per_video.tolist())
            assert board.loc[run, f"p_{col}"] == pytest.approx(p[(run, col)])
            assert board.loc[run, f"n_{col}"] == 20 and board.loc[run, f"test_{col}"] == "cluster-adjusted McNemar"
    # Holm over the table's 3 distinct tests (#2's "above" and "first" are one)
    values = sorted([p[("model-c", "first")], p[("model-a", "above")], p[("model-a", "first")]])
    holm = [min(1.0, max((3 - i) * values[i] for i in range(j + 1))) for j in range(3)]
    shown = board.loc[["model-c", "model-a", "model-a"], "p_above_holm"].tolist()
    assert sorted([shown[0], shown[1], board.loc["model-a", "p_first_holm"]]) == pytest.approx(holm)
    assert board.loc["model-c", "p_above_holm"] == board.loc["model-c", "p_first_holm"]
    assert bool(board.loc["model-c", "tied_first"]) == (board.loc["model-c", "p_first_holm"] >= 0.05)


def test_holds_up_to_is_the_last_length_not_significantly_below_the_shortest():
    from niah import accuracy
    # 90% at 1k, 85% at 2k (not significantly lower at n=100), 40% at 3k (is), 88% at 4k (after the drop)
    assert accuracy.holds_up_to([1000, 2000, 3000, 4000], [90, 85, 40, 88], [100] * 4) == 2000
    assert accuracy.holds_up_to([1000, 2000], [90, 89], [100, 100]) == 2000
    assert accuracy.holds_up_to([1000, 2000], [0, 0], [0, 100]) is None


def test_answer_rule_changes_what_counts_as_correct(tmp_path):
    """A version-1 line (strict prediction) read under the official rule is re-extracted
    from its raw output, as niah.run_reading reads one line, row by row."""
    from niah import answers
    cases = synthetic.make_cases((300,), 20)
    fp = synthetic.write_manifest(tmp_path / "d", cases)
    results = synthetic.make_results(cases, "m", 0.9)
    # "The best answer is B, not A" style outputs: the rules disagree on some
    results = [r.__class__(**{**r.__dict__, "raw_output": f"Answer: {c.answer.lower()} ... or B"})
               for r, c in zip(results, cases)]
    synthetic.write_run(tmp_path / "r", "m", results, synthetic.run_info("m", fp, len(cases)))
    loaded, manifest = ld.load_results(tmp_path / "r"), ld.load_manifest(tmp_path / "d")
    for rule in answers.rule_names():
        tables = lb.build_tables(loaded, manifest, rule)
        gold = {c.case_id: c for c in cases}
        for row in tables.results.itertuples():
            case = gold[row.case_id]
            letter = letter_under(rule, row.raw_output, case.options, row.prediction, row.answer_rule,
                                 row.prediction_strict)
            assert row.letter == letter and row.correct == (row.error is None and letter == case.answer)
    strict, official = (lb.build_tables(loaded, manifest, r).leaderboard["accuracy"].iloc[0]
                        for r in ("strict", "official"))
    assert strict != official


def test_problems_name_files_relative_to_the_results_folder(tmp_path):
    cases = synthetic.make_cases((300,), 2)
    run = synthetic.write_run(tmp_path, "m", synthetic.make_results(cases, "m", 1.0), {"model": "m"})
    with open(run / "results.jsonl", "a") as handle:
        handle.write("not json\n")
    problems = ld.load_results(tmp_path).problems["m"]
    assert problems[0].startswith("m/results.jsonl:3:") and str(tmp_path) not in problems[0]
    text = f"{tmp_path}/data: no frame store"
    assert lb.public_text(text, {tmp_path: "data-folder"}) == "data-folder/data: no frame store"


def test_folder_signature_changes_when_results_grow(demo):
    before = ld.folder_signature(demo["results"], demo["data"])
    path = demo["results"] / "model-c" / "results.jsonl"
    path.write_text(path.read_text() + "\n")
    assert ld.folder_signature(demo["results"], demo["data"]) != before


def test_csv_round_trip(demo):
    board = _tables(demo).leaderboard
    back = pd.read_csv(__import__("io").BytesIO(lb.to_csv_bytes(board)))
    assert list(back["run"]) == list(board["run"])


def test_run_without_results_lines(tmp_path):
    (tmp_path / "r" / "empty").mkdir(parents=True)
    (tmp_path / "r" / "empty" / "run.json").write_text(json.dumps({"model": "m", "cases_total": 5}))
    board = lb.build_tables(ld.load_results(tmp_path / "r")).leaderboard
    assert board["status"].tolist() == ["partial 0/5"] and board["scored"].tolist() == [0]
    assert pd.isna(board["accuracy"].iloc[0]) and pd.isna(board["rank"].iloc[0])


def test_launcher_command():
    from leaderboard.launch import build_command
    cmd = build_command(["--results", "R", "--data", "D", "--port", "9999", "--headless"])
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("leaderboard/app.py")
    assert cmd[cmd.index("--server.port") + 1] == "9999" and "--server.headless" in cmd
    from leaderboard.upload import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB
    assert cmd[cmd.index("--server.maxUploadSize") + 1] == str(MAX_UPLOAD_MB) and MAX_UPLOAD_BYTES == MAX_UPLOAD_MB * 10**6
    assert cmd[cmd.index("--"):] == ["--", "--results", "R", "--data", "D"]
    default = build_command([])
    assert default[default.index("--"):] == ["--", "--results", "results", "--data", "data/niah"]
    # this machine only unless --address says otherwise; --read-only reaches the page
    assert default[default.index("--server.address") + 1] == "127.0.0.1"
    shared = build_command(["--address", "0.0.0.0", "--read-only", "--max-uploads", "5"])
    assert shared[shared.index("--server.address") + 1] == "0.0.0.0"
    assert shared[shared.index("--"):] == ["--", "--results", "results", "--data", "data/niah", "--read-only",
                                           "--max-uploads", "5"]


def test_summarise_matches_a_groupby(demo):
    from niah import accuracy
    res = _tables(demo).results
    fast = accuracy.summarise(res, ["run_id", "length", "depth_decile"])
    slow = res.groupby(["run_id", "length", "depth_decile"], sort=True).agg(
        n=("correct", "size"), correct=("correct", "sum"), unparsed=("unparsed", "sum")).reset_index()
    assert list(fast["n"]) == list(slow["n"]) and list(fast["correct"]) == list(slow["correct"])
    assert list(fast["run_id"]) == list(slow["run_id"]) and list(fast["unparsed"]) == list(slow["unparsed"])
    grid = accuracy.summarise_grid(res, {"run_id": sorted(res["run_id"].unique()), "length": [300, 600, 900],
                                         "depth_decile": list(range(10))})
    assert len(grid) == res["run_id"].nunique() * 30 and grid.loc[grid["length"] == 900, "n"].eq(0).all()
    scored = grid[grid["n"] > 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(scored[["n", "correct", "unparsed", "accuracy", "ci_low"]],
                                  fast[["n", "correct", "unparsed", "accuracy", "ci_low"]], check_dtype=False)


def test_every_launch_path_has_safe_defaults():
    """`streamlit run leaderboard/app.py` from the repository reads .streamlit/config.toml;
    `python -m leaderboard` passes the same as flags: local address, no usage statistics, no
    Deploy button, the page's upload cap."""
    import tomllib
    from pathlib import Path

    from leaderboard.launch import LOCAL, build_command
    from leaderboard.upload import MAX_UPLOAD_MB
    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["server"] == {"address": LOCAL, "maxUploadSize": MAX_UPLOAD_MB}
    assert config["browser"]["gatherUsageStats"] is False and config["client"]["toolbarMode"] == "minimal"
    cmd = build_command([])
    flags = dict(zip(cmd[5:cmd.index("--"):2], cmd[6:cmd.index("--"):2]))
    assert flags == {"--browser.gatherUsageStats": "false", "--server.maxUploadSize": str(MAX_UPLOAD_MB),
                     "--client.toolbarMode": "minimal", "--server.address": LOCAL}
