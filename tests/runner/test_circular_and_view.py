"""Circular evaluation and needle-in-view diagnostics, end to end on the chance model and on
hand-written results: rotations, the mapping back to the original options, chance levels,
the decomposition's numbers and the report's sections."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from niah import diagnostics as dg
from niah.accuracy import wilson_interval
from niah.circular import all_rotations, circular_chance, rotated_options, shown_letter, to_original
from niah.results import read_run
from niah.view import needle_in_view
from runner.models.random_choice import RandomChoiceModel
from runner.score import score_case
from runner_helpers import fake_bench, fake_bench_dir, make_case, run_cli  # noqa: F401 (fixtures)

OPTIONS = ["A. red", "B. blue", "C. green", "D. a man is cooking."]


def test_rotations_move_contents_keep_letters_and_map_back():
    assert rotated_options(OPTIONS, 0) is not OPTIONS and rotated_options(OPTIONS, 0) == OPTIONS
    assert rotated_options(OPTIONS, 1) == ["A. blue", "B. green", "C. a man is cooking.", "D. red"]
    assert len(all_rotations(OPTIONS)) == 4
    for r in range(4):
        shown = rotated_options(OPTIONS, r)
        for gold in "ABCD":
            letter = shown_letter(gold, OPTIONS, r)
            assert shown[ord(letter) - 65][3:] == OPTIONS[ord(gold) - 65][3:]  # the same content
            assert to_original(letter, OPTIONS, r) == gold
    assert to_original(None, OPTIONS, 2) is None
    assert abs(circular_chance(4) - 0.00390625) < 1e-12 and circular_chance(2) == 0.25


def test_random_circular_accuracy_over_3000_cases_is_chance_to_the_fourth():
    model = RandomChoiceModel(seed=0)
    cases = [make_case(i, 120, (i % 11) / 10, "OCR Problems", "ABCD"[(i * 7) % 4]) for i in range(3000)]
    results = [score_case(model, case, None, "random", circular=True) for case in cases]
    circular = sum(r.correct for r in results)
    plain = sum(r.rotations[0]["correct"] for r in results)
    assert all(len(r.rotations) == 4 and r.error is None for r in results)
    # consistent with (1/4)^4 = 0.39 % (11.7 expected of 3,000), and clearly not with 1/4
    assert binomtest(circular, 3000, circular_chance(4)).pvalue > 0.05, circular
    assert binomtest(circular, 3000, 0.25).pvalue < 1e-100
    assert binomtest(plain, 3000, 0.25).pvalue > 0.05, plain
    # rotation 0 is the plain draw, letter for letter
    assert [r.prediction for r in results[:200]] == [model.answer(c).text for c in cases[:200]]


def _runs(out: Path) -> dict[bool, Path]:
    return {read_run(p)[0]["options"].get("circular", False): p for p in out.iterdir() if p.is_dir()}


def test_cli_circular_rotation0_equals_plain_and_report_shows_both(fake_bench_dir, tmp_path):
    out = tmp_path / "results"
    for extra in ([], ["--circular"]):
        proc = run_cli("score", "--data", str(fake_bench_dir), "--model", "random", "--out", str(out),
                       "--no-progress", *extra)
        assert proc.returncode == 0, proc.stderr
    runs = _runs(out)
    assert set(runs) == {False, True} and runs[False].name != runs[True].name  # the setting splits the run id
    _, plain, _ = read_run(runs[False])
    _, circ, _ = read_run(runs[True])
    assert set(plain) == set(circ) and len(plain) == 24
    for case_id, p in plain.items():
        c = circ[case_id]
        assert (c.rotations[0]["raw_output"], c.rotations[0]["prediction"]) == (p.raw_output, p.prediction)
        assert c.prediction == p.prediction and p.rotations is None
        assert c.correct == all(r["correct"] for r in c.rotations)
        assert p.view == c.view == {"full_frames": []}  # chance sees nothing
    # a result line of results schema 1 (no view): still read, shown as not recorded
    old = out / "old-run"
    old.mkdir()
    (old / "run.json").write_text(json.dumps({**read_run(runs[False])[0], "run_id": "old-run"}))
    lines = [json.dumps({k: v for k, v in json.loads(line).items()
                         if k not in ("answer_rule", "prediction_strict", "view", "rotations", "input_cut")})
             for line in (runs[False] / "results.jsonl").read_text().splitlines()]
    (old / "results.jsonl").write_text("\n".join(lines) + "\n")
    proc = run_cli("report", "--out", str(out), "--data", str(fake_bench_dir))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    section = text[text.index("Needle in view"):text.index("Circular evaluation")]
    row = {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| ")}
    assert "not recorded" in row["old-run"]
    assert "0.0% [0–" in row[runs[False].name] and "(24)" in row[runs[False].name]  # in view: 0 of 24
    assert "Circular evaluation" in text and "0.39%" in text and "not a circular run" in text
    assert "predicted letter (columns) vs gold letter (rows)" in text and "(every rotation)" in text


def _view_result(case, frames, correct, model="m"):
    return {"case_id": case.case_id, "model": model, "prediction": "A", "raw_output": "A", "correct": correct,
            "length": case.length, "depth": case.depth, "task_type": case.task_type, "seconds": 0.1,
            "error": None, "view": {"full_frames": frames}}


def test_decomposition_counts_and_intervals_by_hand(fake_bench, tmp_path):
    from niah.results import Result
    cases = fake_bench.cases[:12]
    results = {}
    for i, case in enumerate(cases):
        start = case.needle.start_frame
        frames = [start, start + 9] if i % 3 == 0 else ([start + 5] if i % 3 == 1 else [case.length + 5])
        if i % 3 == 2 and start > 0:
            frames = [start - 1]  # just before the needle: not in view
        elif i % 3 == 2:
            frames = [start + 10]  # just after it
        results[case.case_id] = Result.from_dict(_view_result(case, frames, correct=i % 2 == 0))
    for case in cases:
        assert needle_in_view(results[case.case_id].view, case) == {0: 2, 1: 1, 2: 0}[cases.index(case) % 3]
    frame = dg.case_frame([("r", "m", results)], dg.facts_of(fake_bench.cases))
    row = dg.decomposition(frame, ["run"]).iloc[0]
    # 8 of 12 in view; correct (even i) in view: i in {0, 4, 6, 10} -> 4 of 8; not in view: i in {2, 8} -> 2 of 4
    assert (row["p_in_view_n"], row["in_view"]) == (12, 8)
    assert (row["acc_in_view"], row["acc_in_view_n"]) == (0.5, 8)
    assert (row["acc_not_in_view"], row["acc_not_in_view_n"]) == (0.5, 4)
    low, high = wilson_interval(8, 12)  # the project's own closed form, against scipy's
    assert np.isclose(row["p_in_view_low"], low) and np.isclose(row["p_in_view_high"], high)
    assert row["mean_frames_in_view"] == (4 * 2 + 4 * 1) / 12
    # a needle-oracle run on the same manifest is every run's ceiling
    oracle = {c.case_id: Result.from_dict(_view_result(c, [c.needle.start_frame], True, "needle-oracle"))
              for c in cases[:10]}
    frame = dg.case_frame([("r", "m", results), ("o", "needle-oracle", oracle)], dg.facts_of(fake_bench.cases))
    info = {"manifest_fingerprint": "x"}
    oracle = {**info, "model": "needle-oracle", "settings": {"sampling": "needle-only"}}
    ceilings = dg.oracle_ceilings(frame, {"r": {**info, "model": "m"}, "o": oracle})
    assert ceilings["r"][:2] == ("o", 1.0) and ceilings["r"][2] < 1.0
    assert dg.oracle_ceilings(frame, {"r": {"model": "m", "manifest_fingerprint": "y"}, "o": oracle}).get("r") is None
