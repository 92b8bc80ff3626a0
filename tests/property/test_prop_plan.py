"""Property tests of the planner and its option parsers: for any sources, lengths, count of
cases and number of task types, the plan keeps every promise ``generator build`` makes."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from generator.plan import NeedleCandidate, parse_depths, parse_lengths, plan_cases
from niah.errors import InputError
from niah.videomme import QA

FAST = settings(max_examples=60, deadline=None)


def qa(n: int, video: str, task: str) -> QA:
    return QA(video=video, video_id=f"{n:03d}", duration="short", domain="D", sub_category="S",
              question_id=f"{n:03d}-q", task_type=task, question="Q?", options=("A. a", "B. b", "C. c", "D. d"),
              answer="ABCD"[n % 4])


@st.composite
def sources(draw):
    """Needles (some of them also haystack videos: one duration class) and a haystack pool."""
    tasks = [f"T{k}" for k in range(draw(st.integers(1, 4)))]
    videos = {f"v{k}": draw(st.integers(1, 120)) for k in range(draw(st.integers(1, 6)))}
    needles = []
    for k in range(draw(st.integers(1, 8))):
        shared = draw(st.booleans()) and videos
        video = draw(st.sampled_from(sorted(videos))) if shared else f"n{k}"
        frames = videos[video] if shared else draw(st.integers(1, 60))
        needles.append(NeedleCandidate(qa(k, video, draw(st.sampled_from(tasks))), frames))
    pool = {v: f for v, f in videos.items() if draw(st.integers(0, 4))}  # most videos are haystacks
    lengths = sorted(draw(st.sets(st.integers(2, 160), min_size=1, max_size=3)))
    depths = draw(st.none() | st.lists(st.floats(0, 1), min_size=1, max_size=4))
    return needles, pool or videos, lengths, draw(st.integers(0, 25)), draw(st.integers(0, 2**32)), depths


def shares(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


@FAST
@given(sources())
def test_every_plan_keeps_its_promises(args):
    needles, pool, lengths, total, seed, depths = args
    plan = plan_cases(needles, pool, lengths, total, seed, depths)
    per_length = dict(zip(lengths, shares(total, len(lengths))))
    made = Counter(c.length for c in plan.cases)
    event(f"cases made: {'none' if not plan.cases else 'some'}")
    for length in lengths:
        fits = [n for n in needles if n.frames < length
                and sum(f for v, f in pool.items() if v != n.qa.video) >= length - n.frames]
        if not fits:
            assert made[length] == 0 and any(note.startswith(f"length {length}: no needle fits") for note in plan.notes)
            continue
        assert made[length] == per_length[length]  # quotas sum to the total of the length
        types = sorted({n.qa.task_type for n in fits})
        balance = plan.balance[length]
        assert sorted(balance) == types or (per_length[length] < len(types) and set(balance) <= set(types))
        assert sorted(balance.values(), reverse=True) == [q for q in shares(per_length[length], len(types)) if q]
    for case in plan.cases:
        assert sum(s.num_frames for s in case.segments) == case.length  # exact length
        assert 0.0 <= case.depth <= 1.0
        hay = [s for s in case.segments if s.role == "haystack"]
        assert case.needle.video_id not in {s.video_id for s in hay}  # never in its own haystack
        refs = [(s.video_id, s.src_start_frame + i) for s in hay for i in range(s.num_frames)]
        assert len(refs) == len(set(refs)) == case.length - case.needle.num_frames
        assert all(0 <= s.src_start_frame and s.src_start_frame + s.num_frames <= pool[s.video_id] for s in hay)
        if depths:
            index = int(case.case_id.split("-")[1])
            assert case.needle.start_frame == round(depths[index % len(depths)] * len(refs))


@settings(max_examples=25, deadline=None)
@given(sources())
def test_plans_are_deterministic(args):
    needles, pool, lengths, total, seed, depths = args
    first = [c.to_json() for c in plan_cases(needles, pool, lengths, total, seed, depths).cases]
    again = [c.to_json() for c in plan_cases(list(reversed(needles)), dict(reversed(list(pool.items()))), lengths,
                                             total, seed, depths).cases]
    assert first == again  # input order does not matter either


# ----- parsers -----------------------------------------------------------------------
@FAST
@given(st.integers(1, 20_000), st.integers(0, 20_000), st.integers(1, 5_000))
@example(2000, 8000, 2000)  # the paper's 2k..10k: its last length must stay
def test_ranges(start, span, step):
    end = start + span
    assert parse_lengths(f"{start}..{end}:{step}") == list(range(start, end + 1, step))
    if span:
        with pytest.raises(InputError, match="ends before it starts"):
            parse_lengths(f"{end}..{start}:{step}")


@FAST
@given(st.lists(st.integers(1, 100_000), min_size=1, max_size=6))
def test_comma_lists(values):
    text = ",".join(str(v) for v in values)
    if len(set(values)) < len(values):
        with pytest.raises(InputError, match="repeated"):
            parse_lengths(text)
    else:
        assert parse_lengths(text) == sorted(values)


@FAST
@given(st.integers(1, 99_999))
def test_k_suffix(frames):
    text = f"{frames / 1000:g}k"
    if float(text[:-1]) * 1000 == frames:
        assert parse_lengths(text) == [frames] and parse_lengths(text.upper()) == [frames]


@FAST
@given(st.lists(st.floats(-0.5, 1.5, allow_nan=False), min_size=1, max_size=5))
def test_depth_lists(depths):
    text = ",".join(repr(d) for d in depths)
    if all(0 <= d <= 1 for d in depths):
        assert parse_depths(text) == depths
    else:
        with pytest.raises(InputError, match=r"\[0, 1\]"):
            parse_depths(text)
