"""Results lines and run folders at their edges (niah.results), the atomic writer, and the
frame store's pure helpers (settings, fingerprints, aspect from ffmpeg's banner)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import locale
import os
import pickle

import pytest

from niah import atomic
from niah import results as nr
from niah.errors import InputError
from niah.framestore import FrameStore, StoreSettings, display_aspect, source_fingerprint
from niah.results import OPTIONAL_FIELDS, RESULTS_SCHEMA_VERSION, Result, iter_result_lines, list_runs, read_run

LINE = {"case_id": "L60-0001", "model": "m", "prediction": "B", "raw_output": "B", "correct": True, "length": 60,
        "depth": 0.5, "task_type": "T", "seconds": 1.25}


def test_a_version_1_line_reads_with_the_new_fields_unrecorded():
    result = Result.from_dict(dict(LINE))
    assert all(getattr(result, name) is None for name in OPTIONAL_FIELDS)
    assert RESULTS_SCHEMA_VERSION == 2
    full = {**LINE, "error": None, "answer_rule": "official", "prediction_strict": "B", "view": {"full_frames": [1]},
            "rotations": [{"raw_output": "B"}], "input_cut": 0}
    assert Result.from_dict(full) == Result(**full)
    assert json.loads(Result(**full).to_json()) == full


@pytest.mark.parametrize("field,value,why", [
    ("correct", 1, "field 'correct' has type int"),
    ("length", True, "field 'length' has type bool"),
    ("length", 60.0, "field 'length' has type float"),
    ("seconds", "1", "field 'seconds' has type str"),
    ("depth", None, "field 'depth' has type NoneType"),
    ("input_cut", 1.5, "field 'input_cut' has type float"),
    ("view", [], "field 'view' has type list"),
    ("rotations", {}, "field 'rotations' has type dict"),
    ("prediction", 3, "field 'prediction' has type int"),
    ("answer_rule", False, "field 'answer_rule' has type bool"),
])
def test_a_field_of_the_wrong_type_is_named(field, value, why):
    with pytest.raises(ValueError, match=f"^{why}$"):
        Result.from_dict({**LINE, field: value})


def test_ints_are_numbers_and_missing_or_extra_fields_are_named():
    assert Result.from_dict({**LINE, "depth": 1, "seconds": 2}).depth == 1
    with pytest.raises(ValueError, match="^missing field 'task_type'$"):
        Result.from_dict({k: v for k, v in LINE.items() if k != "task_type"})
    with pytest.raises(ValueError, match=r"^unknown field\(s\) \['a', 'b'\]$"):
        Result.from_dict({**LINE, "b": 1, "a": 2})
    with pytest.raises(ValueError, match="^not a JSON object$"):
        Result.from_dict([LINE])


def test_iter_result_lines_reports_bad_lines_and_keeps_good_ones(tmp_path):
    path = tmp_path / "results.jsonl"
    good = json.dumps(LINE)
    path.write_text(f"{good}\n\n[1]\n{{\"case_id\": \n{json.dumps({**LINE, 'case_id': 'x'})}\n{good[:20]}")
    rows = list(iter_result_lines(path))
    assert [n for n, _, _ in rows] == [1, 3, 4, 5, 6]
    assert rows[0][1].case_id == "L60-0001" and rows[0][2] is None
    assert rows[1][1] is None and rows[1][2] == "not a JSON object"
    assert rows[2][1] is None and rows[2][2]  # torn JSON
    assert rows[3][1].case_id == "x" and rows[4][1] is None


def test_read_run_merges_shards_and_names_duplicates(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "m"}))
    a, b = {**LINE, "case_id": "a"}, {**LINE, "case_id": "b"}
    (run / "results-shard1of2.jsonl").write_text(json.dumps(a) + "\n")
    (run / "results-shard2of2.jsonl").write_text(json.dumps(b) + "\n" + json.dumps({**a, "model": "late"}) + "\n")
    (run / "notes.jsonl").write_text("not results\n")
    info, results, problems = read_run(run)
    assert info == {"model": "m"} and sorted(results) == ["a", "b"] and results["a"].model == "m"
    assert problems == [f"{run / 'results-shard2of2.jsonl'}:2: duplicate case_id a"]
    assert read_run(tmp_path / "empty") == ({}, {}, [])


def test_list_runs_lists_folders_with_a_run_json_by_name(tmp_path):
    for name in ("b", "a", "c"):
        (tmp_path / name).mkdir()
    (tmp_path / "a" / "run.json").write_text("{}")
    (tmp_path / "b" / "run.json").write_text("{}")
    (tmp_path / "loose.json").write_text("{}")
    assert [p.name for p in list_runs(tmp_path)] == ["a", "b"]
    assert list_runs(tmp_path / "missing") == []
    assert list_runs(tmp_path / "loose.json") == []


# ----- atomic writes ---------------------------------------------------------------------------
def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "out.json"
    atomic.write_json(target, {"b": 1, "a": [1, 2]})
    assert target.read_text() == '{\n "a": [\n  1,\n  2\n ],\n "b": 1\n}\n'
    assert atomic.dumps_json({"é": 1}) == '{\n "é": 1\n}\n'
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"a": [1, 2], "b": 1}  # the old file is intact
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]
    atomic.write_text(target, "ü")
    assert target.read_bytes() == "ü".encode()


# ----- frame store helpers ------------------------------------------------------------------------
def test_store_settings_fingerprint_changes_with_every_field():
    base = StoreSettings()
    assert base == StoreSettings(384, 384, 1.0, 18, "ultrafast") and len(base.fingerprint()) == 16
    others = [StoreSettings(width=385), StoreSettings(height=383), StoreSettings(fps=2.0), StoreSettings(crf=19),
              StoreSettings(preset="fast")]
    assert len({base.fingerprint(), *(s.fingerprint() for s in others)}) == 6
    assert base.fingerprint() == StoreSettings().fingerprint()


def test_source_fingerprint_is_size_and_hash_of_head_and_tail(tmp_path):
    small = tmp_path / "small.mp4"
    small.write_bytes(b"abc")
    assert source_fingerprint(small) == {"size": 3, "sha256_head_tail": hashlib.sha256(b"abc").hexdigest()}
    big = tmp_path / "big.mp4"
    data = os.urandom((2 << 20) + 10)
    big.write_bytes(data)
    expected = hashlib.sha256(data[: 1 << 20] + data[-(1 << 20):]).hexdigest()
    assert source_fingerprint(big) == {"size": len(data), "sha256_head_tail": expected}
    exactly = tmp_path / "two.mp4"  # exactly 2 MiB: the head is the whole file, hashed once
    exactly.write_bytes(data[: 2 << 20])
    assert source_fingerprint(exactly)["sha256_head_tail"] == hashlib.sha256(data[: 1 << 20]).hexdigest()


@pytest.mark.parametrize("banner,aspect", [
    (b"  Stream #0:0(und): Video: h264 (High), yuv420p, 1280x720 [SAR 1:1 DAR 16:9], 25 fps", round(16 / 9, 6)),
    (b"  Stream #0:0: Video: h264, yuv420p, 720x576 [SAR 16:15 DAR 4:3], 25 fps", round(4 / 3, 6)),
    (b"  Stream #0:0: Video: h264, yuv420p, 640x480, 25 fps", round(4 / 3, 6)),
    (b"  Stream #0:0: Video: h264, yuv420p, 640x480 [SAR 0:1 DAR 0:1], 25 fps", round(4 / 3, 6)),
    (b"  Stream #0:0: Video: h264, 1920x1080, 30 fps\n    side data: displaymatrix: rotation of -90.00 degrees",
     round(1080 / 1920, 6)),
    (b"  Stream #0:0: Video: h264, 1920x1080, 30 fps\n    side data: displaymatrix: rotation of 180.00 degrees",
     round(1920 / 1080, 6)),
    (b"  Stream #0:0: Video: h264, 0x0, 30 fps", None),
    (b"  Stream #0:0: Video: h264, 640x480 [SAR 1:2 DAR 2:3], 30 fps", round(320 / 480, 6)),
    (b"  Stream #0:0: Video: h264, 640x480 [SAR 2:1 DAR 8:3], 30 fps", round(1280 / 480, 6)),
    (b"  Stream #0:0: Video: h264, 640x480 [SAR 5:0 DAR 0:0], 30 fps", round(640 / 480, 6)),
    (b"  Stream #0:0: Video: h264, 1920x1080, 30 fps\n    displaymatrix: rotation of 270.00 degrees", round(1080 / 1920, 6)),
    (b"  Stream #0:0: Video: h264, 0x480, 30 fps", None),
    (b"  Stream #0:0: Video: h264, 640x0, 30 fps", None),
    (b"  Stream #0:0: Video: h264, 1x1, 30 fps", 1.0),
    (b"  Stream #0:0: Video: h264, 2x1, 30 fps", 2.0),
    (b"  Stream #0:1: Audio: aac, 44100 Hz", None),
])
def test_display_aspect_from_ffmpegs_banner(banner, aspect):
    assert display_aspect(banner) == aspect


def test_a_store_without_settings_or_with_damaged_settings_is_one_input_error(tmp_path):
    with pytest.raises(InputError, match="no frame store here"):
        FrameStore(tmp_path / "none")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "store.json").write_text('{"width": 1}')
    with pytest.raises(InputError, match="damaged frame store settings"):
        FrameStore(tmp_path / "bad")
    (tmp_path / "bad" / "store.json").write_text("[}")
    with pytest.raises(InputError, match="damaged frame store settings"):
        FrameStore(tmp_path / "bad")


@pytest.mark.parametrize("index,why", [
    ("not json", "JSONDecodeError"),
    ('{"frames": 2}', "KeyError"),
    ('{"frames": 2, "offsets": [0, 1]}', "offsets do not match the frame count"),
    ('{"frames": "2", "offsets": [0, 1, 2]}', "offsets do not match the frame count"),
    ('{"frames": 2, "offsets": {"a": 1}}', "offsets do not match the frame count"),
    ('{"frames": 2, "offsets": [0, 1, 5]}', "v.h264 is missing or not 5 bytes"),
])
def test_damaged_indexes_are_named(tmp_path, index, why):
    store = FrameStore(tmp_path / "s", StoreSettings(width=32, height=32))
    (tmp_path / "s" / "v.json").write_text(index)
    (tmp_path / "s" / "v.h264").write_bytes(b"ab")
    assert store.has("v") and store.video_ids() == ["v"]
    with pytest.raises(InputError, match="damaged frame store index") as info:
        store.num_frames("v")
    assert why in str(info.value) and info.value.where.endswith("v.json")
    assert not store.has("w")
    with pytest.raises(InputError, match="video w is not in the frame store"):
        store.index("w")


def test_an_index_without_aspect_asks_for_a_rebuild_and_one_with_it_answers(tmp_path):
    store = FrameStore(tmp_path / "s", StoreSettings(width=32, height=32))
    (tmp_path / "s" / "v.h264").write_bytes(b"ab")
    (tmp_path / "s" / "v.json").write_text('{"frames": 2, "offsets": [0, 1, 2]}')
    with pytest.raises(InputError, match="before source aspect ratios were recorded"):
        store.aspect("v")
    (tmp_path / "s" / "w.h264").write_bytes(b"ab")
    (tmp_path / "s" / "w.json").write_text('{"frames": 2, "offsets": [0, 1, 2], "aspect": 1.5}')
    assert store.aspect("w") == 1.5 and store.num_frames("w") == 2


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    store = FrameStore(tmp_path / "s", StoreSettings(width=32, height=32))
    dead = tmp_path / "s" / "v.h264.999999999.tmp"
    mine = tmp_path / "s" / f"v.h264.{os.getpid()}.tmp"
    odd = tmp_path / "s" / "v.tmp"
    for path in (dead, mine, odd):
        path.write_bytes(b"x")
    assert store.remove_stale_temporaries() == 1
    assert not dead.exists() and mine.exists() and odd.exists()


def test_a_result_line_is_canonical_compact_sorted_and_keeps_non_ascii():
    line = Result.from_dict({**LINE, "raw_output": "Réponse : B"}).to_json()
    assert line.startswith('{"answer_rule":null,"case_id":"L60-0001","correct":true,"depth":0.5,"error":null,')
    assert '"raw_output":"Réponse : B"' in line and ", " not in line and ": " not in line.replace("Réponse : B", "")


def test_a_line_of_bytes_that_are_not_utf8_is_one_problem_among_good_lines(tmp_path):
    path = tmp_path / "results.jsonl"
    good = json.dumps({**LINE, "raw_output": "é"}, ensure_ascii=False).encode()
    path.write_bytes(good + b"\n" + b'{"case_id": "\xff\xfe"}\n' + good.replace(b"L60-0001", b"L60-0002") + b"\n")
    rows = list(iter_result_lines(path))
    assert [r.case_id if r else None for _, r, _ in rows] == ["L60-0001", None, "L60-0002"]
    assert rows[0][1].raw_output == "é" and rows[1][2]


def test_the_class_made_from_the_table_is_a_frozen_documented_picklable_result(monkeypatch):
    """``Result`` is made once at import, so this makes it again: results must stay frozen, keep
    their name, docstring and module (pickle finds a class by module and name: Ray sends results
    between processes), and only the optional fields may be left out, reading as ``None``."""
    made = nr.result_class(nr.FIELDS)
    monkeypatch.setattr(nr, "Result", made)
    result = made.from_dict({**LINE, "view": {"full_frames": [3]}})
    assert (made.__name__, made.__qualname__, made.__module__) == ("Result", "Result", "niah.results")
    assert made.__doc__.startswith("The outcome of one model on one case")
    assert pickle.loads(pickle.dumps(result)) == result
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.correct = False  # type: ignore[misc]
    defaulted = {f.name: f.default for f in dataclasses.fields(made) if f.default is not dataclasses.MISSING}
    assert defaulted == dict.fromkeys(OPTIONAL_FIELDS)


@pytest.fixture
def ascii_locale():
    """The process's text encoding set to ASCII (a server started under ``LANG=C``), then restored."""
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    yield
    locale.setlocale(locale.LC_CTYPE, before)


def test_results_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    """Lines are written in UTF-8, so a reader under an ASCII locale must still get the text back."""
    path = tmp_path / "results.jsonl"
    path.write_bytes((Result.from_dict({**LINE, "raw_output": "Réponse : B"}).to_json() + "\n").encode())
    [(_, result, problem)] = list(iter_result_lines(path))
    assert problem is None and result.raw_output == "Réponse : B"
