"""Manifest validation from both sides: each rule refuses the line that breaks it and accepts
the line that just meets it, as ``Benchmark.open`` reports it (one ``InputError`` naming the
manifest line)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from niah.cases import Benchmark
from niah.errors import InputError
from niah.schema import Case

VIDEO_FRAMES = {"hay": 100, "ndl": 20}


def valid_line() -> dict:
    """A 60-frame case: 30 haystack frames, a 10-frame needle, 20 more haystack frames."""
    return {
        "case_id": "L60-0000", "length": 60, "fps": 1.0, "depth": 0.6,
        "needle": {"video_id": "ndl", "question_id": "q1", "start_frame": 30, "num_frames": 10},
        "segments": [
            {"video_id": "hay", "src_start_frame": 10, "num_frames": 30, "role": "haystack"},
            {"video_id": "ndl", "src_start_frame": 0, "num_frames": 10, "role": "needle"},
            {"video_id": "hay", "src_start_frame": 40, "num_frames": 20, "role": "haystack"},
        ],
        "question": "What colour?", "options": ["A. red", "B. blue"], "answer": "A",
        "task_type": "T", "domain": "", "sub_category": "", "schema_version": 1,
    }


def write_bench(root: Path, lines: list[dict]) -> Path:
    """A benchmark folder whose frame store holds stream files and indexes with no pixels
    (``Benchmark.open`` reads indexes only)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    (root / "dataset.json").write_text(json.dumps({"frame_store": "frames"}))
    store = root / "frames"
    store.mkdir(exist_ok=True)
    (store / "store.json").write_text(json.dumps(
        {"width": 32, "height": 32, "fps": 1.0, "crf": 18, "preset": "ultrafast"}))
    for video, frames in VIDEO_FRAMES.items():
        (store / f"{video}.json").write_text(json.dumps({"video_id": video, "frames": frames,
                                                         "offsets": list(range(frames + 1))}))
        (store / f"{video}.h264").write_bytes(b"\0" * frames)
    return root


def refused(tmp_path: Path, line: dict, *words: str) -> str:
    root = write_bench(tmp_path / "bench", [valid_line(), line])
    with pytest.raises(InputError) as info:
        Benchmark.open(root)
    message = str(info.value)
    assert "manifest.jsonl" in message
    for word in words:
        assert word in message, message
    return message


def edited(**changes) -> dict:
    line = copy.deepcopy(valid_line())
    line["case_id"] = "L60-0001"
    for path, value in changes.items():
        target = line
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return line


def test_the_valid_case_opens(tmp_path):
    bench = Benchmark.open(write_bench(tmp_path / "bench", [valid_line()]))
    assert [c.case_id for c in bench.cases] == ["L60-0000"]
    assert len(bench.frame_refs(bench.cases[0])) == 60


def test_segments_holding_fewer_or_more_frames_than_length(tmp_path):
    assert "manifest.jsonl:2" in refused(tmp_path, edited(length=61), "60 frames, length is 61")
    refused(tmp_path, edited(length=59), "60 frames, length is 59")


def test_a_zero_frame_segment_is_refused_even_when_the_total_is_right(tmp_path):
    line = edited()
    line["segments"].insert(1, {"video_id": "hay", "src_start_frame": 0, "num_frames": 0, "role": "haystack"})
    refused(tmp_path, line, "no frames")


def test_negative_segment_start(tmp_path):
    refused(tmp_path, edited(segments__0__src_start_frame=-1), "negative start")
    Benchmark.open(write_bench(tmp_path / "ok", [edited(segments__0__src_start_frame=0)]))  # 0 is a start


@pytest.mark.parametrize("field,value", [("needle__video_id", "hay"), ("needle__start_frame", 31),
                                         ("needle__num_frames", 9), ("segments__1__video_id", "hay")])
def test_a_needle_segment_that_disagrees_with_the_needle(tmp_path, field, value):
    line = edited(**{field: value})  # the segments' total stays right: only the needle rule can refuse it
    refused(tmp_path, line, "needle segment disagrees")


def test_no_needle_segment(tmp_path):
    refused(tmp_path, edited(segments__1__role="haystack"), "no needle segment")


@pytest.mark.parametrize("depth", [-0.01, 1.01])
def test_depth_outside_unit_interval(tmp_path, depth):
    refused(tmp_path, edited(depth=depth), "outside [0, 1]")


@pytest.mark.parametrize("depth", [0.0, 1.0])
def test_depth_at_the_ends_is_accepted(tmp_path, depth):
    Benchmark.open(write_bench(tmp_path / "b", [edited(depth=depth)]))


def test_a_segment_starting_inside_its_video_but_ending_past_it(tmp_path):
    # hay has 100 frames: 40 + 60 = 100 is its last frame exactly; 41 + 60 runs one past the end
    fits = edited(segments__2__src_start_frame=80)
    Benchmark.open(write_bench(tmp_path / "fits", [fits]))
    line = edited(segments__2__src_start_frame=81)
    refused(tmp_path, line, "frames 81..100 outside video hay")


def test_a_video_missing_from_the_store(tmp_path):
    refused(tmp_path, edited(segments__0__video_id="gone"), "video gone not in frame store")


@pytest.mark.parametrize("change", [{"schema_version": 2}, {"extra": 1}])
def test_other_schema_or_unknown_field(tmp_path, change):
    line = {**edited(), **change}
    refused(tmp_path, line)


def test_missing_field_is_a_value_error_naming_it():
    line = valid_line()
    del line["question"]
    with pytest.raises(ValueError, match="question"):
        Case.from_dict(line)


def test_cases_round_trip_through_their_manifest_line():
    case = Case.from_dict(valid_line())
    assert Case.from_dict(json.loads(case.to_json())) == case
    assert case.to_json() == json.dumps(json.loads(case.to_json()), sort_keys=True, separators=(",", ":"))
    assert case.depth_decile == 6
    assert Case.from_dict({**valid_line(), "depth": 1.0}).depth_decile == 9
    assert Case.from_dict({**valid_line(), "depth": 0.0}).depth_decile == 0


def test_case_lookup_by_id(tmp_path):
    bench = Benchmark.open(write_bench(tmp_path / "bench", [valid_line()]))
    assert bench.case("L60-0000").length == 60
    with pytest.raises(InputError, match="no case 'L60-9999'"):
        bench.case("L60-9999")


def test_a_manifest_line_keeps_non_ascii_text_as_written():
    case = Case.from_dict({**valid_line(), "question": "¿Qué color?", "options": ["A. 红", "B. blue"]})
    line = case.to_json()
    assert "¿Qué color?" in line and "A. 红" in line and "\\u" not in line


def test_another_schema_version_says_which_it_is_and_which_this_code_reads():
    with pytest.raises(ValueError, match="^schema_version 2, this code reads 1$"):
        Case.from_dict({**valid_line(), "schema_version": 2})
    with pytest.raises(ValueError, match="^schema_version None, this code reads 1$"):
        Case.from_dict({k: v for k, v in valid_line().items() if k != "schema_version"})


@pytest.mark.parametrize("field,value", [("length", "60"), ("segments__0__num_frames", "30"),
                                         ("segments__0__num_frames", 30.0), ("needle__start_frame", True),
                                         ("depth", "0.6"), ("fps", 0), ("fps", None)])
def test_a_hand_edited_value_of_the_wrong_type_is_one_error_not_a_traceback(tmp_path, field, value):
    # first found by these tests: "30" raised TypeError out of Benchmark.open (a traceback, and a
    # leaderboard page that fell over), 30.0 frames and fps 0 were accepted
    refused(tmp_path, edited(**{field: value}), "L60-0001")


@pytest.mark.parametrize("role", ["haystak", "needle"])
def test_segment_roles_are_haystack_or_the_one_needle(tmp_path, role):
    # first found by these tests: a second needle segment or a misspelt role was accepted
    refused(tmp_path, edited(segments__2__role=role), "segment roles")


def test_open_messages_name_the_file_line_and_case(tmp_path):
    root = write_bench(tmp_path / "bench", [valid_line(), edited(segments__2__src_start_frame=81)])
    with pytest.raises(InputError) as info:
        Benchmark.open(root)
    assert str(info.value) == f"{root / 'manifest.jsonl'}: case L60-0001: frames 81..100 outside video hay"
    (root / "manifest.jsonl").write_text(json.dumps(valid_line()) + "\n\n{oops\n")
    with pytest.raises(InputError) as info:
        Benchmark.open(root)
    assert info.value.where == f"{root / 'manifest.jsonl'}:3"
    (root / "manifest.jsonl").write_text(json.dumps(valid_line()) + "\n")
    (root / "dataset.json").write_text("{nope")
    with pytest.raises(InputError, match="not valid JSON") as info:
        Benchmark.open(root)
    assert info.value.where == str(root / "dataset.json")
    (root / "dataset.json").unlink()
    with pytest.raises(InputError) as info:
        Benchmark.open(root)
    assert str(info.value) == (f"{root}: not a built benchmark (needs manifest.jsonl and dataset.json); "
                               "run `python -m generator build`")


def test_the_fingerprint_is_the_manifests_sha256(tmp_path):
    import hashlib
    root = write_bench(tmp_path / "bench", [valid_line()])
    assert Benchmark.open(root).fingerprint == hashlib.sha256((root / "manifest.jsonl").read_bytes()).hexdigest()
    assert Benchmark.open(root).dataset == {"frame_store": "frames"} and Benchmark.open(root).root == root


def ordering_line() -> dict:
    """A 60-frame ordering case: needles of 10 frames at 30 and 5 frames at 50, asked in order."""
    line = valid_line()
    second = {"video_id": "ndl", "question_id": "q2", "start_frame": 50, "num_frames": 5}
    line["segments"][2]["num_frames"] = 10
    line["segments"] += [{"video_id": "ndl", "src_start_frame": 10, "num_frames": 5, "role": "needle"},
                         {"video_id": "hay", "src_start_frame": 50, "num_frames": 5, "role": "haystack"}]
    return {**line, "family": "ordering", "needles": [line["needle"], second], "about": "which came first"}


def test_a_case_of_several_needles_reads_every_needle_and_round_trips():
    """``needles`` is read into ``Needle`` s (never dropped, never passed on raw) and written back."""
    case = Case.from_dict(ordering_line())
    assert [(n.question_id, n.start_frame, n.num_frames) for n in case.needles] == [("q1", 30, 10), ("q2", 50, 5)]
    assert Case.from_dict(json.loads(case.to_json())) == case
    assert json.loads(case.to_json())["needles"] == ordering_line()["needles"]


@pytest.mark.parametrize("family_fields", [{"family": "text"}, {"about": "its colour"},
                                           {"needles": [valid_line()["needle"]]}])
def test_a_case_writes_its_family_fields_when_any_is_not_the_default(family_fields):
    """A ``needle-qa`` case keeps the bytes of a manifest from before families, but a case with
    any family field off its default writes all three, so its line reads back as the same case."""
    plain = Case.from_dict(valid_line())
    assert not {"family", "needles", "about"} & set(json.loads(plain.to_json()))
    case = Case.from_dict({**valid_line(), **family_fields})
    assert {"family", "needles", "about"} <= set(json.loads(case.to_json()))
    assert Case.from_dict(json.loads(case.to_json())) == case


def test_an_unknown_family_is_named_with_the_known_ones():
    """The message lists the families a manifest may use, word for word."""
    with pytest.raises(ValueError) as info:
        Case.from_dict({**valid_line(), "family": "sorting"})
    assert str(info.value) == ("case L60-0000: family 'sorting', "
                               "expected one of needle-qa, ordering, counting, text, distractors")


def test_a_question_about_a_needle_not_among_the_needles_is_refused():
    """Every needle has its segment, but the question's needle is none of them."""
    line = ordering_line()
    line["needle"] = {**line["needle"], "question_id": "q9"}
    with pytest.raises(ValueError) as info:
        Case.from_dict(line)
    assert str(info.value) == "case L60-0000: the question's needle is not one of the needles"
