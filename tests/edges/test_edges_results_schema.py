"""The results schema is declared once (niah.results.FIELDS): the dataclass, its validation,
the leaderboard's arrow schema, empty frame and column lists all follow the table, so adding
a field is one entry, and today's files are read by the fast (arrow) path, never silently by
the line-by-line one (issue 23)."""
from __future__ import annotations

import dataclasses
import json

import pandas.testing as pdt
import pytest

from leaderboard import loading as ld
from niah import results as nr

NONE = type(None)
#: a JSON value of each declared type, realistic for the diagnostics
SAMPLES = {str: "B", bool: True, int: 7, float: 0.25, dict: {"full_frames": [3, 4], "kept": 12},
           list: [{"rotation": 0, "raw_output": "B", "prediction": "B", "shown": None, "correct": True}]}


def full_line(table, case_id: str) -> dict:
    """A line with every field of ``table`` set to a non-null value of its first type."""
    return {f.name: case_id if f.name == "case_id" else SAMPLES[f.types[0]] for f in table}


def write_run(root, lines) -> object:
    run = root / "run"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"model": "B"}))
    (run / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return run


def no_slow_path(monkeypatch):
    """Make the line-by-line reader fail the test if the loader falls back to it."""
    def refuse(run_dir):
        raise AssertionError(f"{run_dir} was read line by line: the arrow path refused it")
    monkeypatch.setattr(ld, "_slow_read_run", refuse)


def test_the_dataclass_is_the_table():
    got = dataclasses.fields(nr.Result)
    assert [f.name for f in got] == [f.name for f in nr.FIELDS]
    for declared, made in zip(nr.FIELDS, got):
        assert (made.default is None) if declared.optional else made.default is dataclasses.MISSING
        assert (NONE in getattr(made.type, "__args__", (made.type,))) is declared.nullable
    assert nr.OPTIONAL_FIELDS == ("error", "answer_rule", "prediction_strict", "view", "rotations", "input_cut")
    assert nr.Result.schema is nr.FIELDS and nr.Result.__module__ == "niah.results"


def test_the_frame_columns_follow_the_table():
    assert ld.result_columns() == ["run_id", "case_id", "model", "prediction", "raw_output", "correct", "length",
                                   "depth", "task_type", "seconds", "error", "answer_rule", "prediction_strict",
                                   "rotations"]
    empty = ld._empty_results()
    assert list(empty.columns) == ld.result_columns()[1:]
    assert empty.dtypes.astype(str).tolist() == ["object", "object", "object", "object", "bool", "int64", "float64",
                                                 "object", "float64", "object", "object", "object", "object"]


def test_todays_full_lines_take_the_arrow_path(tmp_path, monkeypatch):
    lines = [full_line(nr.FIELDS, f"c{i}") for i in range(3)]
    for line in lines:
        nr.Result.from_dict(line)  # valid lines, every field set
    run = write_run(tmp_path / "r", lines)
    assert ld._fast_read_file(run / "results.jsonl") is not None
    slow = ld.load_results(tmp_path / "r", fast=False).results
    no_slow_path(monkeypatch)
    fast = ld.load_results(tmp_path / "r").results
    pdt.assert_frame_equal(fast, slow)


def test_version_1_lines_take_the_arrow_path(tmp_path, monkeypatch):
    lines = [{k: v for k, v in full_line(nr.FIELDS, f"c{i}").items() if k not in nr.OPTIONAL_FIELDS}
             for i in range(2)]
    run = write_run(tmp_path / "r", lines)
    no_slow_path(monkeypatch)
    frame, problems = ld.read_run_frame(run)
    assert problems == [] and frame["error"].isna().all() and len(frame) == 2


@pytest.mark.parametrize("name, value", [("view", "not a dict"), ("rotations", {"a": 1}), ("input_cut", "3"),
                                         ("unknown", 1)])
def test_a_dropped_field_of_another_type_goes_line_by_line(tmp_path, name, value):
    run = write_run(tmp_path / "r", [dict(full_line(nr.FIELDS, "c0"), **{name: value})])
    assert ld._fast_read_file(run / "results.jsonl") is None
    frame, problems = ld.read_run_frame(run)
    assert frame.empty and len(problems) == 1


def test_a_non_finite_float_goes_line_by_line(tmp_path):
    run = write_run(tmp_path / "r", [full_line(nr.FIELDS, "c0")])
    (run / "results.jsonl").write_text((run / "results.jsonl").read_text().replace('"depth": 7', '"depth": NaN'))
    assert "NaN" in (run / "results.jsonl").read_text()
    assert ld._fast_read_file(run / "results.jsonl") is None


@pytest.mark.parametrize("extra", [
    nr.Field("tokens", (int, NONE), "int64", optional=True),                     # a new column
    nr.Field("note", (str, NONE), "string", optional=True),
    nr.Field("trace", (dict, NONE), "struct", optional=True, column=False),      # a new diagnostic
])
def test_adding_a_field_to_the_table_is_all_it_takes(tmp_path, monkeypatch, extra):
    table = (*nr.FIELDS, extra)
    result = nr.result_class(table)
    monkeypatch.setattr(nr, "FIELDS", table)
    monkeypatch.setattr(nr, "Result", result)
    written = result(**full_line(table, "c0"))
    line = json.loads(written.to_json())
    assert result.from_dict(line) == written                                   # round-trips through the dataclass
    with pytest.raises(ValueError, match=f"field '{extra.name}' has type bool"):
        result.from_dict(dict(line, **{extra.name: True}))
    assert result.from_dict({k: v for k, v in line.items() if k != extra.name}).__getattribute__(extra.name) is None
    write_run(tmp_path / "r", [line, full_line(table, "c1")])
    slow = ld.load_results(tmp_path / "r", fast=False).results
    no_slow_path(monkeypatch)
    fast = ld.load_results(tmp_path / "r").results
    pdt.assert_frame_equal(fast, slow)
    assert (extra.name in fast.columns) is extra.column
    if extra.column:
        assert fast[extra.name].tolist() == [SAMPLES[extra.types[0]]] * 2
        assert extra.name in ld._empty_results().columns


def test_a_required_field_missing_or_null_goes_line_by_line(tmp_path):
    line = full_line(nr.FIELDS, "c0")
    del line["length"]
    run = write_run(tmp_path / "r", [line])
    assert ld._fast_read_file(run / "results.jsonl") is None
    assert ld.read_run_frame(run)[1][0].endswith("missing field 'length'")


def test_validation_follows_each_fields_types():
    line = full_line(nr.FIELDS, "c0")
    assert nr.Result.from_dict(dict(line, depth=1)).depth == 1                   # int where float is declared
    assert nr.Result.from_dict(dict(line, prediction=None)).prediction is None   # nullable but required
    for name, bad in [("length", True), ("length", 1.0), ("correct", 1), ("case_id", None), ("view", [1])]:
        with pytest.raises(ValueError, match=repr(name)):
            nr.Result.from_dict(dict(line, **{name: bad}))
    with pytest.raises(ValueError, match="missing field 'prediction'"):
        nr.Result.from_dict({k: v for k, v in line.items() if k != "prediction"})
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['x'\]"):
        nr.Result.from_dict(dict(line, x=1))
    with pytest.raises(ValueError, match="not a JSON object"):
        nr.Result.from_dict([line])
