"""``runner report`` and the leaderboard read one run folder the same way (issue 23).

Both are fed the same edge-case folders: a run without ``cases_total``, one whose
``cases_total`` is the boolean ``true``, one whose stored ``correct`` contradicts the
manifest's gold letter, one written as version 1 (no ``answer_rule``; its prediction is the
strict parser's), one that records no manifest fingerprint (read against the open one) and a
circular one (right only if every rotation is) and one with a result for a case the manifest
does not hold (left out against it, counted without it). The report's summary,
its ``--csv`` summary and the page's board must give each run the same status, scored count,
correct and unparsed counts and accuracy, and every case the same correctness, with the
manifest and without it, under either answer rule."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from leaderboard import data as lb
from leaderboard.loading import load_manifest, load_results
from niah.cases import Benchmark
from runner import report as rp
from runner_helpers import write_fake_bench

N_CASES = 8


def _line(case, raw: str, version: int, correct: bool | None = None) -> dict:
    from niah.answer_references import videomme_answer
    from niah.answers import parse_answer
    strict, official = parse_answer(raw, case.options), videomme_answer(raw, case.options)
    line = {"case_id": case.case_id, "model": "m", "raw_output": raw, "length": case.length,
            "depth": case.depth, "task_type": case.task_type, "seconds": 0.5, "error": None}
    if version == 1:
        line.update(prediction=strict, correct=strict == case.answer if correct is None else correct)
    else:
        line.update(prediction=official, prediction_strict=strict, answer_rule="videomme",
                    correct=official == case.answer if correct is None else correct)
    return line


def _write(root: Path, name: str, info: dict, lines: list[dict]) -> None:
    run = root / name
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"run_id": name, "model": "m", **info}))
    (run / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.fixture
def folders(tmp_path: Path):
    bench_dir = write_fake_bench(tmp_path / "bench", n=N_CASES)
    bench = Benchmark.open(bench_dir)
    cases, fp = bench.cases, bench.fingerprint
    root = tmp_path / "results"
    right = [f"The answer is {c.answer}." for c in cases]
    wrong = [f"The answer is {'B' if c.answer == 'A' else 'A'}." for c in cases]
    # "red" is B to the strict parser and nothing to the official rule; "A and B" the reverse
    v1_outputs = ["red", "A and B", *right[2:]]
    _write(root, "no-total", {"manifest_fingerprint": fp},
           [_line(c, raw, 2) for c, raw in zip(cases[:3], right)])
    _write(root, "bool-total", {"manifest_fingerprint": fp, "cases_total": True},
           [_line(cases[0], right[0], 2)])
    _write(root, "contradicts-gold", {"manifest_fingerprint": fp, "cases_total": N_CASES},
           [_line(c, raw, 2, correct=i % 2 == 0) for i, (c, raw) in enumerate(zip(cases, right[:4] + wrong[4:]))])
    _write(root, "version-1", {"manifest_fingerprint": fp, "cases_total": N_CASES},
           [_line(c, raw, 1) for c, raw in zip(cases, v1_outputs)])
    _write(root, "partial", {"manifest_fingerprint": fp, "cases_total": N_CASES},
           [_line(c, raw, 2) for c, raw in zip(cases[:5], wrong)])
    _write(root, "no-fingerprint", {"cases_total": N_CASES}, [_line(c, raw, 2) for c, raw in zip(cases, right)])
    _write(root, "circular", {"manifest_fingerprint": fp, "cases_total": N_CASES},
           [_circular_line(c, i) for i, c in enumerate(cases)])
    # every case right, plus a line for a case the manifest does not hold (stored as right)
    _write(root, "outside-case", {"manifest_fingerprint": fp, "cases_total": N_CASES},
           [_line(c, raw, 2) for c, raw in zip(cases, right)] + [dict(_line(cases[0], right[0], 2), case_id="gone")])
    return root, bench_dir


def _circular_line(case, i: int) -> dict:
    """A circular line: cases 0-3 right in every rotation, 4-5 wrong in rotation 2, 6-7 wrong
    in rotation 0; case 4's stored ``correct`` says right all the same."""
    from niah.circular import all_rotations, shown_letter
    other = "B" if case.answer == "A" else "A"
    rotations = []
    for r, options in enumerate(all_rotations(case.options)):
        said = other if (i in (4, 5) and r == 2) or (i in (6, 7) and r == 0) else case.answer
        shown = shown_letter(said, case.options, r)
        rotations.append({"rotation": r, "raw_output": f"The answer is {shown}.", "shown": shown, "prediction": said,
                          "prediction_strict": said, "correct": said == case.answer})
    line = _line(case, rotations[0]["raw_output"], 2, correct=i < 5)
    return dict(line, rotations=rotations)


def _report_tables(root: Path, bench_dir: Path | None, rule: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    bench = Benchmark.open(bench_dir) if bench_dir is not None else None
    runs, _ = rp.load_runs(root, bench, rule)
    summary = rp.tables(runs, bench)["summary"]
    table = pd.DataFrame({"run": summary["run"], "status": summary["status"], "scored": summary["scored"],
                          "correct": summary["correct"], "unparsed": summary["unparsed"],
                          "accuracy": (100 * summary["accuracy"]).round(9)})
    frame = rp.results_frame(runs, bench)
    cases = frame[["run", "case_id", "correct"]].sort_values(["run", "case_id"]).reset_index(drop=True)
    return table.sort_values("run").reset_index(drop=True), cases, summary


def _page_tables(root: Path, bench_dir: Path | None, rule: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    manifest = load_manifest(bench_dir) if bench_dir is not None else None
    tables = lb.build_tables(load_results(root), manifest, rule)
    board = tables.leaderboard
    correct = tables.results.groupby("run_id")["correct"].sum()
    table = pd.DataFrame({"run": board["run"], "status": board["status"], "scored": board["scored"],
                          "correct": [int(correct.get(r, 0)) for r in board["run"]], "unparsed": board["unparsed"],
                          "accuracy": board["accuracy"].astype(float).round(9)})
    cases = tables.results.rename(columns={"run_id": "run"})[["run", "case_id", "correct"]]
    return table.sort_values("run").reset_index(drop=True), cases.sort_values(["run", "case_id"]).reset_index(drop=True)


@pytest.mark.parametrize("with_manifest", [True, False])
@pytest.mark.parametrize("rule", ["videomme", "strict", "lmms-eval"])
def test_report_and_page_read_every_edge_case_folder_alike(folders, with_manifest, rule):
    root, bench_dir = folders
    bench_dir = bench_dir if with_manifest else None
    report_table, report_cases, summary = _report_tables(root, bench_dir, rule)
    page_table, page_cases = _page_tables(root, bench_dir, rule)
    pd.testing.assert_frame_equal(report_table, page_table, check_dtype=False)
    pd.testing.assert_frame_equal(report_cases, page_cases, check_dtype=False)
    # what `runner report --csv` writes is the same table
    written = pd.read_csv(io.StringIO(summary.to_csv(index=False)))
    assert list(written.sort_values("run")["status"]) == list(page_table["status"])


def test_the_edge_cases_are_read_as_the_rules_say(folders):
    """The shared reading itself: missing and boolean totals are unknown, a stored ``correct``
    that contradicts the gold is recomputed, a version-1 line is read under the strict rule."""
    root, bench_dir = folders
    table, cases, _ = _report_tables(root, None, "videomme")
    status = dict(zip(table["run"], table["status"]))
    assert status == {"no-total": "unknown total", "bool-total": "unknown total", "contradicts-gold": "complete",
                      "version-1": "complete", "partial": f"partial 5/{N_CASES}", "circular": "complete",
                      "no-fingerprint": "complete", "outside-case": "complete"}
    with_gold, _, _ = _report_tables(root, bench_dir, "videomme")
    correct = dict(zip(with_gold["run"], with_gold["correct"]))
    assert correct["contradicts-gold"] == 4            # the stored flags say 4 too, but not the same 4
    bench = Benchmark.open(bench_dir)
    gold_cases = _report_tables(root, bench_dir, "videomme")[1]
    mine = gold_cases[gold_cases["run"] == "contradicts-gold"]
    assert dict(zip(mine["case_id"], mine["correct"])) == {c.case_id: i < 4 for i, c in enumerate(bench.cases)}
    strict_table = _report_tables(root, bench_dir, "strict")[0]
    strict = dict(zip(strict_table["run"], strict_table["correct"]))
    # version 1: "red" is right under strict only when B is gold, "A and B" under official only when A is
    gold = [c.answer for c in bench.cases]
    assert strict["version-1"] == (gold[0] == "B") + (N_CASES - 2)
    assert correct["version-1"] == (gold[1] == "A") + (N_CASES - 2)
    # circular: right only in every rotation, whatever the stored flag says, under either rule
    assert correct["circular"] == strict["circular"] == 4


def test_a_case_outside_the_manifest_is_left_out_and_said(folders):
    """Against the manifest the extra line counts nowhere (8 scored, all right) and both say so;
    without one there is nothing to leave it out by, so both count its stored flag (9 of 9)."""
    root, bench_dir = folders
    note = "1 result(s) outside the manifest left out"
    runs, notes = rp.load_runs(root, Benchmark.open(bench_dir), "videomme")
    assert f"outside-case: {note}" in notes and sum(note in n for n in notes) == 1
    board = lb.build_tables(load_results(root), load_manifest(bench_dir), "videomme").leaderboard.set_index("run")
    assert note in board.loc["outside-case", "marks"] and board.loc["outside-case", "scored"] == N_CASES
    assert board.loc["outside-case", "accuracy"] == 100.0 and board.loc["outside-case", "rankable"]
    assert not any(note in m for m in board.drop(index="outside-case")["marks"])
    report_table = _report_tables(root, bench_dir, "videomme")[0].set_index("run")
    assert report_table.loc["outside-case", "scored"] == N_CASES
    assert _report_tables(root, None, "videomme")[0].set_index("run").loc["outside-case", "scored"] == N_CASES + 1
