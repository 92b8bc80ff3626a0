"""Loading and aggregation (no Streamlit)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from leaderboard import data as lb
from leaderboard import synthetic
from niah.results import Result


def _tables(demo):
    return lb.build_tables(lb.load_results(demo["results"]), lb.load_manifest(demo["data"]))


def test_missing_folders_give_empty_tables(tmp_path):
    manifest = lb.load_manifest(tmp_path / "nope")
    assert not manifest.available and "No benchmark" in manifest.message
    tables = lb.build_tables(lb.load_results(tmp_path / "nothing"), manifest)
    assert tables.leaderboard.empty and tables.heatmap.empty and tables.run_ids == []
    assert lb.case_table(tables, manifest, []).empty


def test_manifest_without_frames_still_opens(demo):
    manifest = lb.load_manifest(demo["data"])
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
    assert partial["status"].startswith("partial (") and pd.isna(partial["rank"])
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
    tables = lb.build_tables(lb.load_results(tmp_path / "r"), lb.load_manifest(tmp_path / "data"))
    deciles = tables.results.set_index("case_id")["depth_decile"]
    assert deciles["L300-0009"] == 9 and deciles["L300-0000"] == 0


def test_fast_and_line_by_line_readers_agree(demo):
    fast = lb.load_results(demo["results"]).results.sort_values(["run_id", "case_id"]).reset_index(drop=True)
    slow = lb.load_results(demo["results"], fast=False).results.sort_values(["run_id", "case_id"]).reset_index(drop=True)
    pdt.assert_frame_equal(fast, slow)


GOOD = {"case_id": "c1", "model": "m", "prediction": "A", "raw_output": "A", "correct": True, "length": 300,
        "depth": 0.5, "task_type": "t", "seconds": 1.0}


@pytest.mark.parametrize("bad", [
    dict(GOOD, prediction=1), dict(GOOD, length=300.0), dict(GOOD, length=True), dict(GOOD, length="300"),
    dict(GOOD, correct=1), dict(GOOD, seconds=True), dict(GOOD, depth="0.5"), dict(GOOD, extra=1),
    {k: v for k, v in GOOD.items() if k != "case_id"}, dict(GOOD, model=None), [1, 2], dict(GOOD, error=3),
])
def test_fast_reader_never_accepts_what_result_refuses(tmp_path, bad):
    run = tmp_path / "r" / "run"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "results.jsonl").write_text(json.dumps(dict(GOOD, case_id="c0")) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ValueError):
        Result.from_dict(bad)
    frame, problems = lb.read_run_frame(run)
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
    loaded = lb.load_results(tmp_path)
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
    board = lb.build_tables(lb.load_results(tmp_path), lb.load_manifest(tmp_path / "none")).leaderboard
    assert list(board["run"]) == ["full", "half"]
    assert board["rank"].iloc[0] == 1 and pd.isna(board["rank"].iloc[1])
    assert list(board["manifest"]) == ["no benchmark", "no benchmark"]
    assert board["status"].iloc[1] == "partial (3/6)"


def test_heatmap_difference(demo):
    tables = _tables(demo)
    diff = lb.heatmap_difference(tables.heatmap, "model-a", "model-b")
    assert len(diff) == len(tables.heatmap[tables.heatmap["run_id"] == "model-a"])
    assert np.allclose(diff["difference"], diff["accuracy_a"] - diff["accuracy_b"])


def test_case_table_filters(demo):
    tables = _tables(demo)
    manifest = lb.load_manifest(demo["data"])
    runs = ["model-a", "model-b"]
    all_cases = lb.case_table(tables, manifest, runs)
    assert len(all_cases) == 20 and {"model-a", "model-b", "question", "answer"} <= set(all_cases.columns)
    only = lb.case_table(tables, manifest, runs, length=600, decile=9)
    assert set(only["length"]) == {600} and set(only["depth_decile"]) == {9}
    res = tables.results.set_index(["run_id", "case_id"])["correct"]
    for case_id in lb.case_table(tables, manifest, runs, outcome="all wrong")["case_id"]:
        assert not res[("model-a", case_id)] and not res[("model-b", case_id)]
    for case_id in lb.case_table(tables, manifest, runs, outcome="models disagree")["case_id"]:
        assert res[("model-a", case_id)] != res[("model-b", case_id)]
    assert list(lb.case_table(tables, manifest, runs, search="l300-0003")["case_id"]) == ["L300-0003"]
    # without a manifest the cases come from the results
    bare = lb.case_table(tables, None, runs)
    assert len(bare) == 20 and (bare["answer"] == "").all()


def test_thumbnail_indices_stay_inside_the_case():
    for length, start, frames in [(300, 0, 10), (300, 290, 10), (300, 100, 50), (600, 1, 1), (50, 10, 40)]:
        before, needle, after = lb.thumbnail_indices(length, start, frames)
        assert needle and needle[0] == start and needle[-1] == start + frames - 1
        assert all(0 <= i < start for i in before) and all(start + frames <= i < length for i in after)
    assert lb.thumbnail_indices(300, 0, 10)[0] == [] and lb.thumbnail_indices(300, 290, 10)[2] == []


def test_folder_signature_changes_when_results_grow(demo):
    before = lb.folder_signature(demo["results"], demo["data"])
    path = demo["results"] / "model-c" / "results.jsonl"
    path.write_text(path.read_text() + "\n")
    assert lb.folder_signature(demo["results"], demo["data"]) != before


def test_csv_round_trip(demo):
    board = _tables(demo).leaderboard
    back = pd.read_csv(__import__("io").BytesIO(lb.to_csv_bytes(board)))
    assert list(back["run"]) == list(board["run"])


def test_run_without_results_lines(tmp_path):
    (tmp_path / "r" / "empty").mkdir(parents=True)
    (tmp_path / "r" / "empty" / "run.json").write_text(json.dumps({"model": "m", "cases_total": 5}))
    board = lb.build_tables(lb.load_results(tmp_path / "r")).leaderboard
    assert board["status"].tolist() == ["partial (0/5)"] and board["scored"].tolist() == [0]
    assert pd.isna(board["accuracy"].iloc[0]) and pd.isna(board["rank"].iloc[0])


def test_launcher_command():
    from leaderboard.__main__ import build_command
    cmd = build_command(["--results", "R", "--data", "D", "--port", "9999", "--headless"])
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("leaderboard/app.py")
    assert cmd[cmd.index("--server.port") + 1] == "9999" and "--server.headless" in cmd
    assert cmd[cmd.index("--"):] == ["--", "--results", "R", "--data", "D"]
    default = build_command([])
    assert default[default.index("--"):] == ["--", "--results", "results", "--data", "data/niah"]
