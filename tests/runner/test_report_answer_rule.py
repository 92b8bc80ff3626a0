"""``runner report --answer-rule official|strict``: every result read under the asked rule.

The outputs are those of the fidelity issue's table (a one-token ViLAMP output such as "The",
"A and B", ...). Case answers and options come from the manifest (``--data``)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from niah.cases import Benchmark
from niah.errors import InputError
from runner.report import load_runs, report, tables
from runner_helpers import run_cli, write_fake_bench

# (raw output, official letter, strict letter) for options "A. A man is cooking.", "B. red", "C. blue", "D. green"
OUTPUTS = [
    ("The", None, None),
    ("red", None, "B"),                    # strict maps a word to the one option containing it
    ("A and B", "A", None),
    ("The best answer is C.", "C", "C"),
    ("(D)", "D", "D"),
    ("answer: b", None, "B"),
    ("", None, None),
]


def _line(case, raw: str, version: int) -> str:
    """A result line as version 1 (strict prediction, no rule) or 2 (both readings) wrote it."""
    from niah.answers import official_answer, parse_answer
    strict, official = parse_answer(raw, case.options), official_answer(raw, case.options)
    line = {"case_id": case.case_id, "model": "vilamp", "raw_output": raw, "length": case.length,
            "depth": case.depth, "task_type": case.task_type, "seconds": 0.1, "error": None}
    if version == 1:
        line.update(prediction=strict, correct=strict == case.answer)
    else:
        line.update(prediction=official, correct=official == case.answer, answer_rule="official",
                    prediction_strict=strict)
    return json.dumps(line)


@pytest.fixture
def runs(tmp_path: Path):
    bench_dir = write_fake_bench(tmp_path / "bench", n=len(OUTPUTS))
    bench = Benchmark.open(bench_dir)
    root = tmp_path / "results"
    for version in (1, 2):
        run = root / f"v{version}"
        run.mkdir(parents=True)
        (run / "run.json").write_text(json.dumps({"run_id": run.name, "model": "vilamp", "cases_total": len(OUTPUTS),
                                                  "manifest_fingerprint": bench.fingerprint}))
        (run / "results.jsonl").write_text("".join(_line(c, raw, version) + "\n"
                                                   for c, (raw, _, _) in zip(bench.cases, OUTPUTS)))
    return root, bench_dir, bench


@pytest.mark.parametrize("rule, column", [("official", 1), ("strict", 2)])
def test_every_line_is_read_under_the_asked_rule(runs, rule, column):
    root, _, bench = runs
    loaded, notes = load_runs(root, bench, rule)
    assert notes == []
    for run in loaded:                      # a version-1 and a version-2 run: the same readings
        got = [run.results[c.case_id].prediction for c in bench.cases]
        assert got == [row[column] for row in OUTPUTS], run.run_id
        assert [run.results[c.case_id].correct for c in bench.cases] == \
            [row[column] == c.answer for row, c in zip(OUTPUTS, bench.cases)]
        assert run.answer_rule == rule
    summary = tables(loaded, bench)["summary"].set_index("run")
    expected = sum(row[column] == c.answer for row, c in zip(OUTPUTS, bench.cases))
    assert list(summary["correct"]) == [expected, expected]
    assert list(summary["unparsed"]) == [sum(row[column] is None for row in OUTPUTS)] * 2


def test_without_the_manifest_other_rule_lines_are_shown_as_stored_and_said(runs):
    root, _, _ = runs
    loaded, notes = load_runs(root, None, "official")
    by_id = {r.run_id: r for r in loaded}
    assert by_id["v2"].answer_rule == "official"
    assert by_id["v1"].answer_rule == "strict"          # all stored by the strict parser
    assert notes == [f"v1: {len(OUTPUTS)} result(s) stored under another answer rule are shown as stored; "
                     "pass --data to read them under official"]
    with pytest.raises(InputError):
        load_runs(root, None, "lenient")


def test_cli_names_the_rule_on_the_page(runs):
    root, bench_dir, _ = runs
    official = run_cli("report", "--out", str(root), "--data", str(bench_dir))
    strict = run_cli("report", "--out", str(root), "--data", str(bench_dir), "--answer-rule", "strict")
    assert official.returncode == strict.returncode == 0, official.stderr + strict.stderr
    assert "answers read under the official rule (Video-MME's extraction" in official.stdout
    assert "answers read under the strict rule (the project's parser" in strict.stdout
    bad = run_cli("report", "--out", str(root), "--answer-rule", "lenient")
    assert bad.returncode == 2 and "--answer-rule" in bad.stderr


def test_report_function_default_is_official(runs):
    root, bench_dir, _ = runs
    assert "official rule" in report(root, data=bench_dir)


def _last_letter(text, options):
    """A third reading for the test: the last capital option letter in the output."""
    from niah.answers import option_letters
    found = [ch for ch in (text or "") if ch in option_letters(options)]
    return found[-1] if found else None


@pytest.fixture
def third_reading(monkeypatch):
    """One registry entry, removed after the test."""
    from niah import answers
    reading = answers.Reading("last-letter", _last_letter, "the last capital option letter (a test reading)")
    monkeypatch.setitem(answers.READINGS, reading.name, reading)
    return reading


def test_a_third_reading_is_one_registry_entry(runs, third_reading):
    """The CLI's choices and help, the report's tables and header take a newly registered
    reading with no other change (the leaderboard's control: tests/leaderboard)."""
    from runner.cli import build_parser
    root, bench_dir, bench = runs
    parser = build_parser()
    assert parser.parse_args(["report", "--answer-rule", "last-letter"]).answer_rule == "last-letter"
    report_help = next(a for a in parser._subparsers._group_actions[0].choices["report"]._actions
                       if "--answer-rule" in a.option_strings)
    assert "last-letter" in report_help.choices and third_reading.description in report_help.help
    text = report(root, data=bench_dir, rule="last-letter")
    assert f"answers read under the last-letter rule ({third_reading.description}" in text
    loaded, _ = load_runs(root, bench, "last-letter")
    expected = sum(_last_letter(raw, c.options) == c.answer for c, (raw, _, _) in zip(bench.cases, OUTPUTS))
    assert list(tables(loaded, bench)["summary"]["correct"]) == [expected, expected]
    assert all(run.answer_rule == "last-letter" for run in loaded)
