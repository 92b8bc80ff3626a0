"""Upload validation and saving (no Streamlit)."""
from __future__ import annotations

import json
import pickle

import pytest

from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard import upload as up
import synthetic_runs as synthetic
from niah.results import list_runs, read_run


@pytest.fixture
def setup(demo):
    manifest = ld.load_manifest(demo["data"])
    results = synthetic.make_results(demo["cases"], "uploader", 0.8)
    return manifest, results


def _body(results, extra_lines=()):
    lines = [r.to_json() for r in results] + list(extra_lines)
    return ("\n".join(lines) + "\n").encode()


def test_valid_file_passes(setup):
    manifest, results = setup
    check = up.validate_upload(_body(results), manifest.cases)
    assert check.ok, check.problems
    assert len(check.results) == len(results) and check.model == "uploader"


def _problems(data, manifest, **kw):
    check = up.validate_upload(data, manifest.cases, **kw)
    assert not check.ok
    return check.problems


def test_refusals_name_the_line_and_why(setup):
    manifest, results = setup
    good = [r.to_json() for r in results[:3]]
    cases = {
        "unknown case id": json.dumps({**json.loads(good[0]), "case_id": "L999-0000"}),
        "duplicate case_id": good[0],
        "field 'length' has type str": json.dumps({**json.loads(good[1]), "case_id": results[4].case_id,
                                                   "length": "300"}),
        "missing field 'correct'": json.dumps({k: v for k, v in json.loads(good[2]).items() if k != "correct"}),
        "not valid JSON": "{'case_id': 1}",
        "unknown field(s)": json.dumps({**json.loads(good[1]), "__reduce__": "os.system"}),
        "not a JSON object": "[1, 2, 3]",
        "NaN is not a valid JSON number": good[0].replace('"seconds":', '"seconds":NaN,"x":'),
    }
    for why, line in cases.items():
        problems = _problems(("\n".join(good) + "\n" + line + "\n").encode(), manifest)
        assert len(problems) == 1, (why, problems)
        assert problems[0].startswith("line 4:") and why in problems[0], (why, problems)


def test_manifest_consistency_is_checked(setup):
    manifest, results = setup
    r = json.loads(results[0].to_json())
    gold = manifest.cases.set_index("case_id").loc[r["case_id"], "answer"]
    wrong = next(x for x in "ABCD" if x != gold)
    for change, why in [({"length": 999}, "manifest says"), ({"depth": 0.123456}, "manifest says"),
                        ({"task_type": "Other"}, "manifest says"), ({"prediction": "Z", "correct": False}, "option letter"),
                        ({"prediction": gold, "correct": False}, "scores True"),
                        ({"prediction": wrong, "correct": True}, "scores False"),
                        ({"prediction": None, "correct": True}, "scores False")]:
        problems = _problems(json.dumps({**r, **change}).encode(), manifest)
        assert problems[0].startswith("line 1:") and why in problems[0], (change, problems)


def test_size_encoding_empty_and_mixed_models(setup):
    manifest, results = setup
    big = _problems(b"x" * 2048, manifest, max_bytes=1024)
    assert big == ["file is 2,048 bytes, over the 1,024 bytes limit (1,024 bytes); nothing was read"]
    assert "line 2: not UTF-8" in _problems(b'{"a": 1}\n\xff\xfe\n', manifest)[0]
    assert "empty" in _problems(b"\n \n", manifest)[0]
    other = json.loads(results[1].to_json()) | {"model": "someone-else"}
    mixed = _problems(_body([results[0]], [json.dumps(other)]), manifest)
    assert "several models" in mixed[0] and "line 2" in mixed[0]
    assert "no benchmark manifest" in up.validate_upload(_body(results), None).problems[0]


def test_pickle_is_not_loaded(setup):
    manifest, _ = setup
    problems = _problems(pickle.dumps({"case_id": "x"}), manifest)
    assert problems[0].startswith("line 1:")


def test_many_problems_are_capped_and_summarised_per_kind(setup):
    manifest, results = setup
    check = up.validate_upload(b"nope\n" * 500, manifest.cases)
    assert len(check.problems) == up.MAX_PROBLEMS and check.truncated == 500 - up.MAX_PROBLEMS
    assert check.summary() == "not valid JSON: 500 lines (first: line 1: not valid JSON (Expecting value at column 1))"
    # 50 identical "missing field" lines and one other problem: two summary lines
    lines = [json.dumps({k: v for k, v in json.loads(r.to_json()).items() if k != "correct"}) for r in results[:15]]
    lines.append(json.dumps({**json.loads(results[15].to_json()), "case_id": "L999-0000"}))
    summary = up.validate_upload("\n".join(lines).encode(), manifest.cases).summary().splitlines()
    assert summary == ["missing field 'correct': 15 lines (first: line 1)",
                       "line 16: case 'L999-0000': unknown case id (not in the benchmark manifest)"]


def test_a_json_array_says_json_lines_are_expected(setup):
    manifest, results = setup
    body = ("[" + ",".join(r.to_json() for r in results) + "]").encode()
    problems = _problems(body, manifest)
    assert len(problems) == 1 and "expected JSON Lines" in problems[0]
    assert up.validate_upload(up.example_line(manifest.cases).encode(), manifest.cases).ok


def test_uploads_folder_caps_count_and_size(setup, tmp_path):
    manifest, results = setup
    check = up.validate_upload(_body(results), manifest.cases)
    kw = dict(filename="x.jsonl", manifest_fingerprint=manifest.fingerprint, cases_total=len(results))
    uploads = tmp_path / "uploads"
    up.save_upload(check, uploads, "one", max_uploads=2, **kw)
    up.save_upload(check, uploads, "two", max_uploads=2, **kw)
    with pytest.raises(up.UploadsFull, match=r"^the uploads folder is full \(2 of 2 uploads, .*nothing was saved$"):
        up.save_upload(check, uploads, "three", max_uploads=2, **kw)
    size = up.uploads_usage(uploads)[1]
    with pytest.raises(up.UploadsFull):
        up.save_upload(check, uploads, "four", max_uploads=10, max_total_bytes=size + 100, **kw)
    assert sorted(p.name for p in uploads.iterdir()) == ["one", "two"]  # nothing else written


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "etc-passwd"), ("..", "upload"), ("", "upload"), ("/abs/path", "abs-path"),
    ("a/../../b", "a-b"), ("ok-name_1.2", "ok-name_1.2"), ("spaces and ünïcode", "spaces-and-unicode"),
    (".hidden", "hidden"), ("x" * 200, "x" * 64), ("nul\x00byte", "nul-byte"), ("C:\\win\\dir", "C-win-dir"),
])
def test_sanitize_run_name(name, expected):
    assert up.sanitize_run_name(name) == expected


def test_save_stays_inside_results_and_is_readable(setup, tmp_path):
    manifest, results = setup
    check = up.validate_upload(_body(results), manifest.cases)
    sandbox = tmp_path / "sandbox"
    root = sandbox / "res"
    first = up.save_upload(check, root, "../../evil", filename="../x.jsonl", manifest_fingerprint=manifest.fingerprint,
                           cases_total=len(manifest.cases), settings={"frames": 16, "tau": None})
    second = up.save_upload(check, root, "../../evil", filename="x.jsonl", manifest_fingerprint=manifest.fingerprint,
                            cases_total=len(manifest.cases))
    assert first.parent == root.resolve() and first.name == "evil" and second.name == "evil-2"
    assert sorted(p.name for p in sandbox.iterdir()) == ["res"]
    info, read, problems = read_run(first)
    assert not problems and len(read) == len(results)
    assert info["uploaded"] is True and info["model"] == "uploader" and info["settings"] == {"frames": 16}
    assert info["manifest_fingerprint"] == manifest.fingerprint and info["cases_total"] == 20
    assert [p.name for p in list_runs(root)] == ["evil", "evil-2"]
    board = lb.build_tables(ld.load_results(root), manifest).leaderboard
    assert list(board["status"]) == ["complete", "complete"] and list(board["uploaded"]) == [True, True]


def test_refuses_to_save_invalid(setup, tmp_path):
    manifest, _ = setup
    check = up.validate_upload(b"nope\n", manifest.cases)
    with pytest.raises(ValueError):
        up.save_upload(check, tmp_path / "sandbox", "x", filename="x", manifest_fingerprint=None, cases_total=None)
    assert not (tmp_path / "sandbox").exists()


def test_default_limit_refuses_a_file_over_20_mb(setup):
    manifest, results = setup
    line = results[0].to_json().encode() + b"\n"
    data = line * (up.MAX_UPLOAD_BYTES // len(line) + 1)
    assert len(data) > up.MAX_UPLOAD_BYTES == 20 * 10**6
    problems = _problems(data, manifest)
    assert len(problems) == 1 and "over the 20 MB limit (20,000,000 bytes); nothing was read" in problems[0]
