"""The report's numbers against hand-computed ones, on hand-written result files."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from niah.errors import InputError
from runner.report import length_depth_table, load_runs, markdown, report, results_frame, tables


def result(case_id, length, depth, task, correct, prediction="A", error=None):
    return json.dumps({"case_id": case_id, "model": "m", "prediction": prediction, "raw_output": "x",
                       "correct": correct, "length": length, "depth": depth, "task_type": task,
                       "seconds": 0.1, "error": error, "answer_rule": "official"})


def write_run(root: Path, run_id: str, model: str, total: int, files: dict[str, list[str]]) -> None:
    run = root / run_id
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"run_id": run_id, "model": model, "cases_total": total,
                                              "manifest_fingerprint": "f" * 64}))
    for name, lines in files.items():
        (run / name).write_text("".join(line + "\n" for line in lines))


@pytest.fixture
def results_root(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    write_run(root, "m1-aaa", "m1", 6, {"results.jsonl": [
        result("c1", 60, 0.0, "X", True),
        result("c2", 60, 0.05, "X", False, "B"),
        result("c3", 60, 0.55, "Y", True),
        result("c4", 120, 1.0, "Y", False, None),              # unparsed
        result("c5", 120, 0.95, "X", False, None, "boom"),     # error
    ]})
    write_run(root, "m2-bbb", "m2", 2, {
        "results-shard1of2.jsonl": [result("c1", 60, 0.0, "X", True)],
        "results-shard2of2.jsonl": [result("c3", 60, 0.55, "Y", True),
                                    result("c1", 60, 0.0, "X", False),  # duplicate: first one kept
                                    '{"case_id": "c9", "mod'],            # torn
    })
    return root


def test_summary_numbers(results_root):
    runs, notes = load_runs(results_root)
    assert notes == [] and [r.run_id for r in runs] == ["m1-aaa", "m2-bbb"]
    summary = tables(runs)["summary"].set_index("run")
    m1, m2 = summary.loc["m1-aaa"], summary.loc["m2-bbb"]
    assert (m1["scored"], m1["total"], m1["status"], m1["correct"]) == (5, 6, "partial 5/6", 2)
    assert math.isclose(m1["accuracy"], 0.4)
    assert (m1["unparsed"], m1["errors"], m1["bad_lines"]) == (1, 1, 0)
    assert (m2["scored"], m2["total"], m2["status"], m2["correct"]) == (2, 2, "complete", 2)
    assert math.isclose(m2["accuracy"], 1.0) and m2["bad_lines"] == 2


def test_by_task_type(results_root):
    runs, _ = load_runs(results_root)
    by_task = tables(runs)["by_task_type"]
    m1 = by_task[by_task["run"] == "m1-aaa"].set_index("task_type")
    assert (m1.loc["X", "n"], m1.loc["X", "correct"]) == (3, 1)
    assert math.isclose(m1.loc["X", "accuracy"], 1 / 3)
    assert (m1.loc["Y", "n"], m1.loc["Y", "correct"]) == (2, 1)


def test_length_by_depth(results_root):
    runs, _ = load_runs(results_root)
    long = tables(runs)["by_length_depth"]
    m1 = long[long["run"] == "m1-aaa"].set_index(["length", "depth_decile"])
    assert (m1.loc[(60, 0), "n"], m1.loc[(60, 0), "correct"]) == (2, 1)
    assert (m1.loc[(60, 5), "n"], m1.loc[(60, 5), "correct"]) == (1, 1)
    assert (m1.loc[(120, 9), "n"], m1.loc[(120, 9), "correct"]) == (2, 0)   # 0.95 and 1.0 -> d9
    assert len(m1) == 3
    table = length_depth_table(results_frame(runs), "m1-aaa")
    # Wilson 95 % intervals: 1/2 -> 9.5-90.5 %, 1/1 -> 20.7-100 %, 2/3 -> 20.8-93.9 %, 0/2 -> 0-65.8 %,
    # 2/5 -> 11.8-76.9 % (hand-computed from the score-interval formula)
    assert table.loc["60", "d0"] == "50.0 [9–91] (2)"
    assert table.loc["60", "d5"] == "100.0 [21–100] (1)"
    assert table.loc["60", "d1"] == "-"
    assert table.loc["60", "all"] == "66.7 [21–94] (3)"
    assert table.loc["120", "d9"] == "0.0 [0–66] (2)"
    assert table.loc["all", "d0"] == "50.0 [9–91] (2)"
    assert table.loc["all", "all"] == "40.0 [12–77] (5)"


def test_rendered_report_and_csv(results_root, tmp_path):
    text = report(results_root, csv_dir=tmp_path / "csv")
    assert "| m1-aaa | m1 | official | 5/6 | partial 5/6 | 2 | 40.0% [12–77] | 1 | 1 | 0 |" in text
    assert "| m2-bbb | m2 | official | 2/2 | complete | 2 | 100.0% [34–100] | 0 | 0 | 2 |" in text
    assert "m1-aaa (m1, partial 5/6: 5 scored)" in text
    assert "| X | 33.3 [6–79] (3) | 100.0 [21–100] (1) |" in text
    assert "chance needs --data" in text
    assert "duplicate case_id c1" in text
    for name in ("summary", "by_task_type", "by_length_depth"):
        assert (tmp_path / "csv" / f"{name}.csv").exists()
    import pandas as pd
    csv = pd.read_csv(tmp_path / "csv" / "summary.csv")
    assert list(csv["scored"]) == [5, 2] and list(csv["accuracy"]) == [0.4, 1.0]
    assert csv["ci_low"].tolist() == pytest.approx([0.1176, 0.3424], abs=1e-4)
    assert csv["ci_high"].tolist() == pytest.approx([0.7693, 1.0], abs=1e-4)
    plain = report(results_root, fmt="text")
    assert "m1-aaa" in plain and "|" not in plain.splitlines()[2]


def test_markdown_table():
    import pandas as pd
    df = pd.DataFrame({"a": [1, 2.5]}, index=pd.Index(["x", "y"], name="k"))
    assert markdown(df) == "| k | a |\n|---|---|\n| x | 1 |\n| y | 2.5 |"


def test_missing_or_empty_results_folder(tmp_path):
    with pytest.raises(InputError, match="no such results folder"):
        load_runs(tmp_path / "nope")
    with pytest.raises(InputError, match="no runs here"):
        load_runs(tmp_path)


def test_report_with_the_benchmark_adds_chance_and_needle_duration(small_bench, tmp_path):
    import pandas as pd

    from niah import accuracy
    from niah.cases import Benchmark

    bench = Benchmark.open(small_bench)
    root = tmp_path / "results"
    lines = [result(c.case_id, c.length, c.depth, c.task_type, i % 2 == 0, c.answer if i % 2 == 0 else "Z")
             for i, c in enumerate(bench.cases)]
    write_run(root, "m-ccc", "m", len(bench.cases), {"results.jsonl": lines})
    info = json.loads((root / "m-ccc" / "run.json").read_text())
    (root / "m-ccc" / "run.json").write_text(json.dumps({**info, "manifest_fingerprint": bench.fingerprint}))
    text = report(root, data=small_bench, csv_dir=tmp_path / "csv")
    chance = sum(1 / len(c.options) for c in bench.cases) / len(bench.cases)
    assert f"| {100 * chance:.1f}% |" in text and "chance: mean of 1/options" in text
    assert "Accuracy by needle duration (seconds)" in text
    durations = pd.read_csv(tmp_path / "csv" / "by_needle_duration.csv")
    seconds = [c.needle.num_frames / c.fps for c in bench.cases]
    expected = pd.Series(accuracy.needle_duration_bin(seconds)).astype(str).value_counts()
    assert durations.set_index("needle_duration")["n"].to_dict() == expected.to_dict()
    summary = pd.read_csv(tmp_path / "csv" / "summary.csv")
    assert summary["chance"].tolist() == pytest.approx([chance])
