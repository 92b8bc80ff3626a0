"""Property tests of the pure cores: manifest validation (a generated family of valid cases,
each broken one way), the Wilson interval and chance, the reuse simulation against a
brute-force replay."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from niah.accuracy import chance_of, wilson_interval
from niah.schedule import case_frame_refs, simulate_reuse
from niah.schema import Case

FAST = settings(max_examples=80, deadline=None)


# ----- manifest validation ---------------------------------------------------------------
@st.composite
def valid_lines(draw) -> dict:
    """A manifest line that must open: haystack runs around one needle, depth from its place."""
    before = draw(st.lists(st.integers(1, 50), max_size=3))
    after = draw(st.lists(st.integers(1, 50), max_size=3))
    needle_frames = draw(st.integers(1, 40))
    segments = [{"video_id": f"h{i}", "src_start_frame": draw(st.integers(0, 500)), "num_frames": n,
                 "role": "haystack"} for i, n in enumerate(before)]
    start = sum(before)
    segments.append({"video_id": "ndl", "src_start_frame": 0, "num_frames": needle_frames, "role": "needle"})
    segments += [{"video_id": f"g{i}", "src_start_frame": draw(st.integers(0, 500)), "num_frames": n,
                  "role": "haystack"} for i, n in enumerate(after)]
    length = start + needle_frames + sum(after)
    hay = length - needle_frames
    return {"case_id": "c", "length": length, "fps": 1.0, "depth": round(start / hay, 6) if hay else 0.0,
            "needle": {"video_id": "ndl", "question_id": "q", "start_frame": start, "num_frames": needle_frames},
            "segments": segments, "question": "Q?", "options": ["A. a", "B. b"], "answer": "A", "task_type": "T",
            "domain": "", "sub_category": "", "schema_version": 1}


def _needle_index(line: dict) -> int:
    return next(i for i, s in enumerate(line["segments"]) if s["role"] == "needle")


BREAKS = {
    "length one more": lambda l, d: l.update(length=l["length"] + d),
    "length one less": lambda l, d: l.update(length=l["length"] - d),
    "a segment of no frames": lambda l, d: l["segments"].insert(0, {"video_id": "z", "src_start_frame": 0,
                                                                    "num_frames": 0, "role": "haystack"}),
    "a negative start": lambda l, d: l["segments"][0].update(src_start_frame=-d),
    "needle video": lambda l, d: l["needle"].update(video_id="other"),
    "needle start": lambda l, d: l["needle"].update(start_frame=l["needle"]["start_frame"] + d),
    "needle frames": lambda l, d: l["needle"].update(num_frames=l["needle"]["num_frames"] + d),
    "segment video": lambda l, d: l["segments"][_needle_index(l)].update(video_id="other"),
    "no needle": lambda l, d: l["segments"][_needle_index(l)].update(role="haystack"),
    "depth below 0": lambda l, d: l.update(depth=-d / 100),
    "depth above 1": lambda l, d: l.update(depth=1 + d / 100),
    "schema version": lambda l, d: l.update(schema_version=1 + d),
    "unknown field": lambda l, d: l.update(colour="red"),
    "missing field": lambda l, d: l.pop("answer"),
    "segment field": lambda l, d: l["segments"][0].update(speed=d),
    "frames as text": lambda l, d: l["segments"][-1].update(num_frames=str(l["segments"][-1]["num_frames"])),
    "frames as a float": lambda l, d: l["segments"][0].update(num_frames=l["segments"][0]["num_frames"] + 0.0),
    "length as text": lambda l, d: l.update(length=str(l["length"])),
    "depth as text": lambda l, d: l.update(depth=str(l["depth"])),
    "fps not positive": lambda l, d: l.update(fps=1 - d),
    "a second needle": lambda l, d: l["segments"].append({**l["segments"][_needle_index(l)], "src_start_frame": d}),
    "an unknown role": lambda l, d: l["segments"][0].update(role="hay"),
}


@FAST
@given(valid_lines())
def test_every_valid_line_opens_and_round_trips(line):
    case = Case.from_dict(json.loads(json.dumps(line)))
    assert Case.from_dict(json.loads(case.to_json())) == case


@settings(max_examples=150, deadline=None)
@given(valid_lines(), st.sampled_from(sorted(BREAKS)), st.integers(1, 5))
def test_every_broken_line_is_refused(line, how, amount):
    BREAKS[how](line, amount)
    with pytest.raises(ValueError):
        Case.from_dict(json.loads(json.dumps(line)))


# ----- Wilson interval and chance -------------------------------------------------------------
@FAST
@given(st.integers(1, 5000), st.data())
def test_wilson_bounds(n, data):
    k = data.draw(st.integers(0, n))
    low, high = (float(x) for x in wilson_interval(k, n))
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)
    if k < n:  # monotone in k
        low2, high2 = (float(x) for x in wilson_interval(k + 1, n))
        assert low2 >= low and high2 >= high
    if 0 < k < n:  # and it is the score interval: the two roots of its quadratic
        z = 1.959963984540054
        for bound in (low, high):
            assert (k / n - bound) ** 2 == pytest.approx(z * z * bound * (1 - bound) / n, rel=1e-6, abs=1e-12)


@FAST
@given(st.lists(st.integers(0, 8), max_size=20))
def test_chance_is_one_over_the_options(counts):
    chance = chance_of([["x"] * c for c in counts])
    for count, value in zip(counts, chance):
        if count:
            assert value == 1 / count and 0 < value <= 1
        else:
            assert math.isnan(value)


# ----- reuse simulation ------------------------------------------------------------------------
@st.composite
def case_lists(draw) -> list[Case]:
    cases = []
    for k in range(draw(st.integers(0, 6))):
        runs = draw(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 12), st.integers(1, 6)),
                             min_size=1, max_size=3))
        line = {"case_id": f"c{k}", "length": 0, "fps": 1.0, "depth": 0.0, "question": "Q", "options": ["A. a"],
                "answer": "A", "task_type": "T", "schema_version": 1,
                "segments": [{"video_id": v, "src_start_frame": s, "num_frames": n, "role": "haystack"}
                             for v, s, n in runs]}
        line["segments"][0]["role"] = "needle"
        v, s, n = runs[0]
        line["needle"] = {"video_id": v, "question_id": "q", "start_frame": 0, "num_frames": n}
        line["length"] = sum(r[2] for r in runs)
        cases.append(Case.from_dict(line))
    return cases


def replay(cases: list[Case], capacity: int) -> tuple[int, int, int]:
    """The LRU written the slow obvious way: a list, most recently used last."""
    memory: list = []
    encoded = 0
    refs = [ref for case in cases for ref in case_frame_refs(case)]
    for ref in refs:
        if ref in memory:
            memory.remove(ref)
        else:
            encoded += 1
        memory.append(ref)
        del memory[:max(0, len(memory) - capacity)]
    return encoded, len(refs), len(set(refs))


@FAST
@given(case_lists(), st.integers(0, 40))
def test_reuse_simulation_equals_a_replay(cases, capacity):
    stats = simulate_reuse(cases, capacity)
    assert (stats.encoded, stats.case_frames, stats.unique_frames) == replay(cases, capacity)
    assert stats.unique_frames <= stats.encoded <= stats.case_frames
    if capacity >= stats.unique_frames:
        assert stats.encoded == stats.unique_frames


def test_an_empty_interval_is_nan():
    low, high = wilson_interval(0, 0)
    assert np.isnan(low) and np.isnan(high)
