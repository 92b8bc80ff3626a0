"""Uploads at their edges: names and extensions, sizes around a MiB, every bad line reported
(not only the first), long messages cut, what run.json records."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from edges_lib import make_case, result_of
from leaderboard import upload as up

CASES = [make_case(i) for i in range(3)]


def frame(cases=CASES, **changes) -> pd.DataFrame:
    rows = [{"case_id": c.case_id, "length": c.length, "depth": c.depth, "task_type": c.task_type,
             "answer": c.answer, "options": tuple(c.options)} for c in cases]
    return pd.DataFrame([{**r, **changes} for r in rows])


def lines(*items) -> bytes:
    return "".join((i if isinstance(i, str) else i.to_json()) + "\n" for i in items).encode()


def test_extensions():
    assert up.check_extension("run.JSONL") is None and up.check_extension("a.b.json") is None
    assert up.check_extension("x.csv") == "the file has extension '.csv'; accepted: .jsonl, .json, .txt"
    assert up.check_extension("") == "the file has no extension; accepted: .jsonl, .json, .txt"
    assert up.check_extension(None) == "the file has no extension; accepted: .jsonl, .json, .txt"


def test_default_run_names():
    assert up.default_run_name("My Results.JSONL", None) == "upload-My-Results"
    assert up.default_run_name("dir/r.json", "vilamp") == "upload-vilamp"
    assert up.default_run_name("r.txt", None) == "upload-r"
    assert up.default_run_name("r.jsonl.txt", None) == "upload-r.jsonl"
    assert up.default_run_name("", None) == "upload"


def test_sanitize_run_name_edges():
    assert up.sanitize_run_name("a..b") == "a.b"
    assert up.sanitize_run_name("ab_cd", max_len=3) == "ab"
    assert up.sanitize_run_name("_abc", max_len=2) == "ab"
    assert up.sanitize_run_name("Xray-X") == "Xray-X"


def test_depth_within_a_millionth_is_the_manifests():
    ok = up.validate_upload(lines(result_of(CASES[0], "A", depth=1e-6)), frame(depth=0.0))
    assert ok.ok, ok.problems
    off = up.validate_upload(lines(result_of(CASES[0], "A", depth=2e-6)), frame(depth=0.0))
    assert not off.ok


def test_option_letters_come_from_before_the_first_dot():
    cases = [make_case(0, options=["A. 1.5 m", "B. 2.5 m"])]
    assert up.validate_upload(lines(result_of(cases[0], "A")), frame(cases)).ok


def test_sizes_are_named_in_bytes_below_a_megabyte_and_in_the_widgets_megabytes_from_it():
    data = b"x" * (10**6 + 1)
    assert up.validate_upload(data, frame(), max_bytes=10**6).problems == [
        "file is 1,000,001 bytes, over the 1 MB limit (1,000,000 bytes); nothing was read"]
    assert up.validate_upload(data, frame(), max_bytes=10**6 - 1).problems == [
        "file is 1,000,001 bytes, over the 999,999 bytes limit (999,999 bytes); nothing was read"]


def test_every_bad_line_is_reported_not_only_the_first():
    good = result_of(CASES[0], "A")
    check = up.validate_upload(lines("{nope", '{"x": 1}', result_of(make_case(9), "A"), good, good, "[1"),
                               frame())
    assert [p.split(":", 1)[0] for p in check.problems] == ["line 1", "line 2", "line 3", "line 5", "line 6"]
    assert [r.case_id for r in check.results] == ["L40-0000"]


def test_messages_of_whole_file_problems():
    assert up.validate_upload(b"x", None).problems == [
        "no benchmark manifest is open, so the results cannot be validated; start the leaderboard with --data "
        "pointing at the benchmark"]
    assert up.validate_upload(b"\n\n", frame()).problems == ["the file holds no results (it is empty)"]
    mixed = up.validate_upload(lines(result_of(CASES[0], "A"), result_of(CASES[1], "A", model="b"),
                                     result_of(CASES[2], "A", model="c")), frame())
    assert mixed.problems == ["one upload is one run of one model, but the file names several models: "
                              "'up' (line 1), 'b' (line 2), 'c' (line 3)"]


def test_a_byte_order_mark_is_dropped():
    check = up.validate_upload("\ufeff".encode() + lines(result_of(CASES[0], "A")), frame())
    assert check.ok and check.results[0].case_id == "L40-0000"


def test_long_problems_are_cut_and_the_summary_joins_them():
    check = up.UploadCheck()
    check.add("x" * 300)
    check.add("y" * 301)
    assert check.problems == ["x" * 300, "y" * 300 + "…"]
    assert check.summary() == "x" * 300 + "\n" + "y" * 300 + "…"
    assert not check.ok and check.model is None


def test_results_frame_has_one_row_per_result():
    check = up.validate_upload(lines(result_of(CASES[0], "A"), result_of(CASES[1], "B")), frame())
    table = up.results_frame(check)
    assert list(table["case_id"]) == ["L40-0000", "L40-0001"] and {"prediction", "raw_output", "correct"} <= set(table)


def test_run_json_records_the_upload(tmp_path):
    check = up.validate_upload(lines(result_of(CASES[0], "A")), frame())
    run_dir = up.save_upload(check, tmp_path, "mine", filename="../My File " + "z" * 200 + ".jsonl",
                             manifest_fingerprint="f", cases_total=3, settings={"a": "", "b": None, "c": 0})
    info = json.loads((run_dir / "run.json").read_text())
    assert set(info) == {"run_id", "model", "uploaded", "uploaded_at", "uploaded_filename", "settings",
                         "manifest_fingerprint", "cases_total"}
    assert info["run_id"] == "mine" and info["model"] == "up" and info["uploaded"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", info["uploaded_at"])
    assert info["uploaded_filename"] == ("My-File-" + "z" * 200)[:128] and info["settings"] == {"c": 0}
    named = up.save_upload(check, tmp_path, "x", filename="", manifest_fingerprint=None, cases_total=None)
    assert json.loads((named / "run.json").read_text())["uploaded_filename"] == "upload"


def test_blank_lines_and_nan_lines_do_not_end_the_check():
    good = result_of(CASES[0], "A").to_json()
    nan = result_of(CASES[1], "A").to_json().replace('"seconds":1.5', '"seconds":NaN')
    check = up.validate_upload(f"{nan}\n\n{good}\n".encode(), frame())
    assert check.problems == ["line 1: NaN is not a valid JSON number"] and [r.case_id for r in check.results] == [
        "L40-0000"]


def test_default_name_drops_json_too_and_invalid_uploads_are_not_saved(tmp_path):
    assert up.default_run_name("r.json", None) == "upload-r"
    with pytest.raises(ValueError) as info:
        up.save_upload(up.UploadCheck(), tmp_path, "x", filename="x", manifest_fingerprint=None, cases_total=None)
    assert str(info.value) == "refusing to save an upload that did not validate"


def test_the_summary_names_each_kind_of_problem_once_with_its_count_and_first_line():
    """A file with two lines of every kind of manifest disagreement (and a duplicated case) is
    summarised one line per kind: the kind's name, how many lines, and the first in full."""
    c0, c1 = CASES[0], CASES[1]
    bad = [result_of(make_case(9), "A"), result_of(c0, "A", length=41), result_of(c0, "A", depth=0.5),
           result_of(c0, "A", task_type="U"), result_of(c0, "A", seconds=-1.0), result_of(c0, "E"),
           result_of(c0, "A", correct=False)]
    good = result_of(c1, "B")
    check = up.validate_upload(lines(*[b for b in bad for _ in (0, 1)], good, good, good), frame())
    assert check.summary().splitlines() == [
        "unknown case id: 2 lines (first: line 1: case 'L40-0009': unknown case id (not in the benchmark manifest))",
        "length differs from the manifest: 2 lines (first: line 3: case 'L40-0000': length 41, but the manifest "
        "says 40)",
        "depth differs from the manifest: 2 lines (first: line 5: case 'L40-0000': depth 0.5, but the manifest "
        "says 0.666667)",
        "task_type differs from the manifest: 2 lines (first: line 7: case 'L40-0000': task_type 'U', but the "
        "manifest says 'T')",
        "seconds out of range: 2 lines (first: line 9: case 'L40-0000': seconds -1.0 out of range)",
        "prediction is not an option letter: 2 lines (first: line 11: case 'L40-0000': prediction 'E' is not an "
        "option letter)",
        "correct disagrees with prediction and gold: 2 lines (first: line 13: case 'L40-0000': correct is False, "
        "but prediction 'A' against gold 'A' scores True)",
        "duplicate case_id: 2 lines (first: line 16: duplicate case_id 'L40-0001' (first on line 15))",
    ]
    assert len(check.problems) == 16 and not check.ok


def test_a_json_array_is_refused_even_after_leading_blank_lines():
    """Whitespace before the ``[`` does not hide that the file is an array, not JSON Lines."""
    good = lines(result_of(CASES[0], "A")).strip()
    assert up.validate_upload(b" \n\t[" + good + b"]\n", frame()).problems == [
        "the file is a JSON array; expected JSON Lines: one JSON object per line, no enclosing brackets "
        "(see the example line above)"]


def test_the_example_line_the_upload_tab_shows():
    """Without a manifest (or with an empty one) the example is a generic line; with one it is the
    manifest's first case, marked correct only if that case's answer is A, and it validates."""
    generic = ('{"answer_rule":null,"case_id":"L2000-0000","correct":false,"depth":0.5,"error":null,'
               '"input_cut":null,"length":2000,"model":"my-model","prediction":"A","prediction_strict":null,'
               '"raw_output":"The answer is A.","rotations":null,"seconds":1.5,"task_type":"Action Recognition",'
               '"view":null}')
    assert up.example_line(None) == generic
    assert up.example_line(frame()[:0]) == generic
    first = up.example_line(frame())
    assert first == ('{"answer_rule":null,"case_id":"L40-0000","correct":true,"depth":0.666667,"error":null,'
                     '"input_cut":null,"length":40,"model":"my-model","prediction":"A","prediction_strict":null,'
                     '"raw_output":"The answer is A.","rotations":null,"seconds":1.5,"task_type":"T","view":null}')
    assert up.validate_upload((first + "\n").encode(), frame()).ok
    wrong = up.example_line(frame(CASES[1:]))  # gold is B: the example's A is not correct
    assert json.loads(wrong)["case_id"] == "L40-0001" and json.loads(wrong)["correct"] is False
    assert up.validate_upload((wrong + "\n").encode(), frame()).ok


def test_the_uploads_folder_is_full_message_gives_counts_and_megabytes(tmp_path):
    """The refusal names the uploads and MB used (files in sub-folders count) against the caps,
    and nothing is written."""
    uploads = tmp_path / "uploads"
    (uploads / "old" / "sub").mkdir(parents=True)
    (uploads / "old" / "sub" / "results.jsonl").write_bytes(b"x" * (3 * 2**19))
    assert up.uploads_usage(uploads) == (1, 3 * 2**19)
    check = up.validate_upload(lines(result_of(CASES[0], "A")), frame())
    with pytest.raises(up.UploadsFull) as info:
        up.save_upload(check, uploads, "new", filename="r.jsonl", manifest_fingerprint=None, cases_total=None,
                       max_uploads=1)
    assert str(info.value) == "the uploads folder is full (1 of 1 uploads, 1.5 of 500 MB); nothing was saved"
    assert [p.name for p in uploads.iterdir()] == ["old"]


def test_an_upload_that_exactly_fills_the_byte_cap_is_saved(tmp_path):
    """A missing uploads folder holds nothing; an upload of exactly the remaining bytes fits, one
    byte more does not."""
    uploads = tmp_path / "uploads"
    assert up.uploads_usage(uploads) == (0, 0)
    check = up.validate_upload(lines(result_of(CASES[0], "A")), frame())
    size = len(lines(result_of(CASES[0], "A")))
    with pytest.raises(up.UploadsFull) as info:
        up.save_upload(check, uploads, "r", filename="r.jsonl", manifest_fingerprint=None, cases_total=None,
                       max_total_bytes=size - 1)
    assert str(info.value) == (f"the uploads folder is full (0 of 50 uploads, 0.0 of {(size - 1) / 2**20:g} MB); "
                               "nothing was saved")
    assert not uploads.exists()
    run_dir = up.save_upload(check, uploads, "r", filename="r.jsonl", manifest_fingerprint=None, cases_total=None,
                             max_total_bytes=size)
    assert (run_dir / "results.jsonl").read_bytes() == lines(result_of(CASES[0], "A"))


def test_a_circular_line_is_correct_only_if_every_rotation_is():
    """The upload check judges ``correct`` as the board reads it (niah.run_reading): a circular
    line needs every rotation's letter to be the gold one."""
    from niah.circular import all_rotations, shown_letter
    case = CASES[1]  # gold B

    def circular(wrong_rotation: int | None, correct: bool):
        rotations = [{"raw_output": f"({shown_letter(said, case.options, r)})", "prediction": said,
                      "prediction_strict": said}
                     for r, _ in enumerate(all_rotations(case.options))
                     for said in ["A" if r == wrong_rotation else "B"]]
        return result_of(case, "B", correct=correct, rotations=rotations, answer_rule="official")
    assert up.validate_upload(lines(circular(None, True)), frame()).problems == []
    assert up.validate_upload(lines(circular(2, False)), frame()).problems == []
    check = up.validate_upload(lines(circular(2, True)), frame())
    assert check.problems == ["line 1: case 'L40-0001': correct is True, but prediction 'B' against gold 'B' "
                              "scores False (not every rotation is right)"]
