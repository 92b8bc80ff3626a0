"""niah.run_reading: each rule of reading a run folder, at its edges (issue 23)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from niah import answers, run_reading as rr

OPTIONS = ["A. red", "B. blue", "C. green", "D. the sea"]


@pytest.mark.parametrize("info, total", [
    ({}, None), ({"cases_total": None}, None), ({"cases_total": True}, None), ({"cases_total": False}, None),
    ({"cases_total": -1}, None), ({"cases_total": "5"}, None), ({"cases_total": 5.0}, None),
    ({"cases_total": 0}, 0), ({"cases_total": 5}, 5),
])
def test_total_is_a_non_negative_integer_and_never_a_boolean(info, total):
    assert rr.total_of(info) == total and type(rr.total_of(info)) is type(total)


@pytest.mark.parametrize("covered, total, complete, status", [
    (3, None, False, "unknown total"), (0, None, False, "unknown total"),
    (0, 0, False, "partial 0/0"), (2, 5, False, "partial 2/5"), (4, 5, False, "partial 4/5"),
    (5, 5, True, "complete"), (6, 5, True, "complete"), (1, 1, True, "complete"),
])
def test_status_of_covered_cases_against_the_total(covered, total, complete, status):
    assert rr.is_complete(covered, total) is complete
    assert rr.run_status(covered, total) == status


def test_a_line_without_a_rule_is_read_as_the_strict_parsers():
    assert rr.stored_rule(None) == answers.LEGACY_RULE == "strict"
    assert rr.stored_rule(float("nan")) == "strict"
    assert rr.stored_rule("official") == "official" and rr.stored_rule("strict") == "strict"


def test_unknown_rule_is_refused_naming_the_known_ones():
    answers.canonical("official")
    with pytest.raises(ValueError) as info:
        answers.canonical("loose")
    assert str(info.value) == "unknown answer rule 'loose'; known: lmms-eval, videomme, strict"


@pytest.mark.parametrize("error, letter, gold, expected", [
    (None, "A", "A", True), (None, "B", "A", False), ("OOM", "A", "A", False), (None, None, "A", False),
    (None, None, None, False), (None, "A", None, False), ("", "A", "A", False),
])
def test_correct_means_ran_and_letter_is_gold(error, letter, gold, expected):
    assert rr.is_correct(error, letter, gold) is expected


def test_correct_elementwise():
    got = rr.correct(pd.Series([False, False, True, False, False]), pd.Series(["A", "B", "A", None, None]),
                     np.array(["A", "A", "A", None, "A"], dtype=object))
    assert got.tolist() == [True, False, False, False, False] and got.dtype == bool


def _frame(rows):
    return pd.DataFrame(rows, columns=list(rr.LETTER_INPUTS), dtype=object)


def test_letters_under_each_kind_of_line():
    rows = _frame([
        ["B", "The answer is B", "official", "B"],   # stored under official
        ["A", "the sea", "official", "D"],           # strict stored beside
        ["A", "the sea", "official", None],          # strict not stored: read again
        ["D", "the sea", None, None],                # version 1: strict stored as prediction
        ["C", "The answer is C", "strict", "C"],     # stored under strict, read under official again
    ])
    options = [OPTIONS, tuple(OPTIONS), OPTIONS, OPTIONS, OPTIONS]
    # "official" names the videomme reading now, and lines stored under the old name are read again
    # (its extractor was not the script's): "the sea" has no capital A-D
    assert rr.letters_under(rows, options, "official").tolist() == ["B", None, None, None, "C"]
    rows.loc[:2, "answer_rule"] = "videomme"   # stored under videomme: taken as stored
    assert rr.letters_under(rows, options, "videomme").tolist() == ["B", "A", "A", None, "C"]
    rows.loc[:2, "answer_rule"] = "official"
    assert rr.letters_under(rows, options, "strict").tolist() == ["B", "D", "D", "D", "C"]


def test_unknown_options_keep_the_stored_letter():
    rows = _frame([["A", "the sea", "official", None], ["D", "the sea", None, None],
                   ["B", "the sea", "official", None]])
    assert rr.letters_under(rows, [None, float("nan"), OPTIONS], "strict").tolist() == ["A", "D", "D"]
    assert rr.letters_under(rows, [None, None, OPTIONS], "official").tolist() == ["A", "D", None]


def test_each_distinct_output_and_options_is_extracted_once(monkeypatch):
    calls = []
    real = rr._extract
    monkeypatch.setattr(rr, "_extract", lambda rule, raw, options: calls.append((raw, tuple(options))) or
                        real(rule, raw, options))
    rows = _frame([["X", "B", None, None]] * 3 + [["X", "C", None, None]] * 2 + [["X", "B", None, None]])
    other = ["A. 1", "B. 2", "C. 3"]
    got = rr.letters_under(rows, [OPTIONS, OPTIONS, other, OPTIONS, OPTIONS, other], "official")
    assert got.tolist() == ["B", "B", "B", "C", "C", "B"]
    assert sorted(calls) == sorted([("B", tuple(OPTIONS)), ("B", tuple(other)), ("C", tuple(OPTIONS))])


def test_letters_of_no_lines():
    assert rr.letters_under(_frame([]), [], "official").tolist() == []
    with pytest.raises(ValueError):
        rr.letters_under(_frame([]), [], "loose")


@pytest.mark.parametrize("rotations, records", [
    (None, None), ([], None), ("AB", None), ({"prediction": "A"}, None),
    ([{"prediction": "A", "prediction_strict": "B", "raw_output": "A"}], (("A", "B", "A"),)),
    ([{"prediction": 1, "prediction_strict": None, "raw_output": 2}, 7], ((None, None, ""), (None, None, ""))),
    ([{"prediction": "A", "prediction_strict": 5, "raw_output": "A"}], (("A", None, "A"),)),
    ((({"raw_output": "x"}),), ((None, None, "x"),)),
])
def test_rotation_records(rotations, records):
    assert rr.rotation_records(rotations) == records


def _records(gold: str, wrong_in: set[int], strict: bool = True):
    """Four rotations of OPTIONS answered ``gold`` except in ``wrong_in`` (answered A or B),
    with the letter as shown in the raw output and stored mapped back."""
    from niah.circular import all_rotations, shown_letter
    out = []
    for r, _ in enumerate(all_rotations(OPTIONS)):
        said = ("B" if gold == "A" else "A") if r in wrong_in else gold
        shown = shown_letter(said, OPTIONS, r)
        out.append({"prediction": said, "prediction_strict": said if strict else None,
                    "raw_output": f"The answer is {shown}."})
    return rr.rotation_records(out)


def test_every_rotation_must_be_right():
    # a line with too few rotations does not end the reading: the wrong line after it is still read
    records = [None, _records("C", set()), _records("C", {2}), _records("C", {0}), _records("C", set())[:3],
               _records("C", set()), _records("C", {1})]
    options = [OPTIONS] * 5 + [None, OPTIONS]
    for rule in ("official", "strict"):
        got = rr.rotations_right(records, options, ["official"] * 7, rule, ["C"] * 5 + [None, "C"])
        assert got.tolist() == [True, True, False, False, False, True, False]
    assert rr.rotations_right([], [], [], "official", []).tolist() == []


def test_a_rotation_not_stored_under_the_rule_is_read_again_as_shown():
    # strict not stored: each rotation's output is read again with that rotation's options and
    # mapped back; a wrong stored videomme letter does not count under strict
    records = list(_records("D", {1}, strict=False))
    right = rr.rotations_right([tuple(records)], [OPTIONS], ["videomme"], "strict", ["D"])
    assert right.tolist() == [False]
    # the stored videomme letter of rotation 2 is wrong, its output says the gold as shown:
    # right under strict (read again, mapped back), wrong under videomme (as stored)
    mixed = tuple(("A", None, raw) if r == 2 else (letter, None, raw)
                  for r, (letter, _, raw) in enumerate(_records("D", set(), strict=False)))
    assert rr.rotations_right([mixed], [OPTIONS], ["videomme"], "strict", ["D"]).tolist() == [True]
    assert rr.rotations_right([mixed], [OPTIONS], ["videomme"], "videomme", ["D"]).tolist() == [False]
    all_right = _records("D", set(), strict=False)
    assert rr.rotations_right([all_right], [OPTIONS], ["videomme"], "strict", ["D"]).tolist() == [True]
    # under the rule it is stored under, each rotation's stored letter is taken (its strict one is absent)
    assert rr.rotations_right([all_right], [OPTIONS], ["videomme"], "videomme", ["D"]).tolist() == [True]
    # a line stored under strict: its rotations' letters are strict ones, so videomme reads again
    assert rr.rotations_right([all_right], [OPTIONS], ["strict"], "videomme", ["D"]).tolist() == [True]


def test_correct_is_a_boolean_array_whatever_the_inputs_dtype():
    """Flags read from an object column (pandas with None) still give a boolean array: ``~`` on
    Python booleans in an object array would give -1/-2, and ``&`` an object array."""
    failed, ok = np.array([False, True, False], dtype=object), np.array([True, True, False], dtype=object)
    got = rr.correct(failed, ["A", "A", "A"], ["A", "A", "A"], ok)
    assert got.dtype == bool and got.tolist() == [True, False, False]
    right = rr.rotations_right([None, _records("C", set())[:3]], [OPTIONS] * 2, ["official"] * 2, "official", ["C"] * 2)
    assert right.dtype == bool and right.tolist() == [True, False]


def test_correct_needs_every_rotation():
    assert rr.is_correct(None, "A", "A", rotations_ok=False) is False
    assert rr.is_correct(None, "A", "A", rotations_ok=True) is True
    assert rr.correct([False, False], ["A", "A"], ["A", "A"], np.array([True, False])).tolist() == [True, False]


@pytest.mark.parametrize("recorded, current, check", [
    ("f", None, "no benchmark"), (None, None, "not recorded"), ("", None, "not recorded"), (3, None, "not recorded"),
    (None, "f", "not recorded"), (7, "f", "not recorded"), ("f", "f", "match"), ("g", "f", "DIFFERS"),
    ("", "f", "DIFFERS"),
])
def test_manifest_check(recorded, current, check):
    assert rr.manifest_check(recorded, current) == check
