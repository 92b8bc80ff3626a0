"""The case browser's data: filters, thumbnail indices, timeline, time formats (no Streamlit)."""
from __future__ import annotations

import pytest

from leaderboard import cases as cs
from leaderboard import data as lb
from leaderboard import loading as ld


def _tables(demo):
    return lb.build_tables(ld.load_results(demo["results"]), ld.load_manifest(demo["data"]))


def test_empty_tables_give_no_cases(tmp_path):
    manifest = ld.load_manifest(tmp_path / "nope")
    tables = lb.build_tables(ld.load_results(tmp_path / "nothing"), manifest)
    assert cs.case_table(tables, manifest, []).empty
    with pytest.raises(ValueError, match="unknown outcome"):
        cs.case_table(tables, manifest, [], outcome="some")


def test_case_table_filters(demo):
    tables = _tables(demo)
    manifest = ld.load_manifest(demo["data"])
    runs = ["model-a", "model-b"]
    all_cases = cs.case_table(tables, manifest, runs)
    assert len(all_cases) == 20 and {"model-a", "model-b", "question", "answer"} <= set(all_cases.columns)
    only = cs.case_table(tables, manifest, runs, length=600, decile=9)
    assert set(only["length"]) == {600} and set(only["depth_decile"]) == {9}
    res = tables.results.set_index(["run_id", "case_id"])["correct"]
    for case_id in cs.case_table(tables, manifest, runs, outcome="all wrong")["case_id"]:
        assert not res[("model-a", case_id)] and not res[("model-b", case_id)]
    for case_id in cs.case_table(tables, manifest, runs, outcome="models disagree")["case_id"]:
        assert res[("model-a", case_id)] != res[("model-b", case_id)]
    assert list(cs.case_table(tables, manifest, runs, search="l300-0003")["case_id"]) == ["L300-0003"]
    # without a manifest the cases come from the results
    bare = cs.case_table(tables, None, runs)
    assert len(bare) == 20 and (bare["answer"] == "").all()


def test_thumbnail_indices_stay_inside_the_case():
    for stride in cs.STRIDES:
        for length, start, frames in [(300, 0, 10), (300, 290, 10), (300, 100, 50), (600, 1, 1), (50, 10, 40),
                                      (10000, 5000, 120)]:
            before, needle, after = cs.thumbnail_indices(length, start, frames, stride)
            assert needle and needle[0] == start and needle[-1] == start + frames - 1
            assert len(needle) <= cs.MAX_NEEDLE_THUMBS + 1
            assert all(0 <= i < start for i in before) and all(start + frames <= i < length for i in after)
    assert cs.thumbnail_indices(300, 0, 10)[0] == [] and cs.thumbnail_indices(300, 290, 10)[2] == []


def test_thumbnail_stride_spaces_the_frames():
    before, needle, after = cs.thumbnail_indices(1000, 500, 60, stride=10, context=3)
    assert before == [470, 480, 490] and after == [560, 570, 580]
    assert needle == [500, 510, 520, 530, 540, 550, 559]
    # a stride too fine for a long needle is widened to at most MAX_NEEDLE_THUMBS steps
    assert len(cs.thumbnail_indices(10000, 0, 120, stride=1)[1]) <= cs.MAX_NEEDLE_THUMBS + 1


def test_times_and_timeline():
    assert cs.hms(0) == "0:00:00" and cs.hms(3725) == "1:02:05" and cs.hms(10000) == "2:46:40"
    assert cs.hmm(10000) == "2:47" and cs.hmm(2000) == "0:33"
    segments = (("hay0", 100, "haystack"), ("needle1", 30, "needle"), ("hay1", 3600, "haystack"))
    line = cs.timeline(segments, fps=1.0)
    assert list(line["start"]) == [0, 100, 130] and list(line["end"]) == [100, 130, 3730]
    assert list(line["role"]) == ["haystack", "needle", "haystack"] and line["to"].iloc[-1] == "1:02:10"



