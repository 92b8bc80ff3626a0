"""The planner and its option parsers at their edges: the paper's longest length kept, a needle
never in its own haystack, needle positions on a fixed depth grid, quotas that do not divide
evenly, a needle as long as the case. Written against what ``generator build`` promises."""
from __future__ import annotations

import pytest

from generator.plan import NeedleCandidate, parse_depths, parse_lengths, plan_cases
from niah.errors import InputError
from niah.videomme import QA


def qa(n: int, video: str, task: str) -> QA:
    return QA(video=video, video_id=f"{n:03d}", duration="short", domain="D", sub_category="S",
              question_id=f"{n:03d}-1", task_type=task, question=f"Q{n}?",
              options=("A. one", "B. two", "C. three", "D. four"), answer="ABCD"[n % 4])


def needles_and_pool(frames: dict[str, int], tasks=("T1", "T2", "T3")):
    """Every video is both a needle candidate and a haystack (one duration class for both)."""
    needles = [NeedleCandidate(qa(i, video, tasks[i % len(tasks)]), n) for i, (video, n) in enumerate(frames.items())]
    return needles, dict(frames)


# ----- parse_lengths / parse_depths ----------------------------------------------------
def test_paper_range_keeps_its_longest_length():
    assert parse_lengths("2k..10k") == [2000, 4000, 6000, 8000, 10000]
    assert parse_lengths("2k..10k:1k")[-1] == 10000
    assert parse_lengths("100..300:100") == [100, 200, 300]
    assert parse_lengths("100..100") == [100]  # a range of one length


def test_lengths_forms_and_order():
    assert parse_lengths("1.5k") == [1500]
    assert parse_lengths("600,300,1200") == [300, 600, 1200]
    assert parse_lengths(" 2K ") == [2000]


@pytest.mark.parametrize("text", ["0", "-5", "1.2", "0.0001k", "abc", "", "10k..2k", "300,300", "2k..4k:0",
                                  "2k..4k:x", "1,,2"])
def test_bad_lengths_are_one_input_error_naming_the_option(text):
    with pytest.raises(InputError) as info:
        parse_lengths(text, "--lengths")
    assert info.value.where == "--lengths"


def test_depths():
    assert parse_depths(None) is None
    assert parse_depths("0,0.5,1") == [0.0, 0.5, 1.0]
    assert parse_depths("1") == [1.0] and parse_depths("0") == [0.0]  # the ends are depths


@pytest.mark.parametrize("text", ["1.01", "-0.01", "x", "", "0.5,,1", "nan"])
def test_bad_depths(text):
    with pytest.raises(InputError) as info:
        parse_depths(text, "--depths")
    assert info.value.where == "--depths"


# ----- plan_cases ----------------------------------------------------------------------
def test_a_needle_video_never_appears_in_its_own_haystack():
    # one duration class: every video is also a haystack, and the pool barely covers a case
    frames = {f"v{k}": 40 + 7 * k for k in range(6)}
    needles, pool = needles_and_pool(frames)
    plan = plan_cases(needles, pool, [150, 200], total=40, seed=3)
    assert len(plan.cases) == 40
    for case in plan.cases:
        hay_videos = {s.video_id for s in case.segments if s.role == "haystack"}
        assert case.needle.video_id not in hay_videos, case.case_id


def test_needle_starts_on_the_depth_grid():
    frames = {f"h{k}": 500 for k in range(3)}
    needles = [NeedleCandidate(qa(i, f"n{i}", "T"), 17 + i) for i in range(5)]
    grid = [0.0, 0.25, 0.5, 0.9, 1.0]
    plan = plan_cases(needles, frames, [300], total=10, seed=1, depths=grid)
    assert len(plan.cases) == 10
    for case in plan.cases:
        index = int(case.case_id.split("-")[1])
        hay = case.length - case.needle.num_frames
        assert case.needle.start_frame == round(grid[index % len(grid)] * hay), case.case_id
        assert case.depth == round(case.needle.start_frame / hay, 6)
        played = 0
        for seg in case.segments:  # the needle segment sits where the needle says
            if seg.role == "needle":
                assert played == case.needle.start_frame
            played += seg.num_frames


def test_a_needle_as_long_as_the_case_is_skipped_not_divided_by_zero():
    frames = {f"h{k}": 500 for k in range(2)}
    needles = [NeedleCandidate(qa(0, "n0", "T"), 100)]
    plan = plan_cases(needles, frames, [100], total=3, seed=0)
    assert plan.cases == [] and any("no needle fits" in n for n in plan.notes)
    plan = plan_cases(needles, frames, [101], total=3, seed=0, depths=[1.0])  # one haystack frame
    assert [c.needle.start_frame for c in plan.cases] == [1, 1, 1]
    assert all(c.depth == 1.0 for c in plan.cases)


def test_quotas_that_do_not_divide_evenly():
    frames = {f"h{k}": 400 for k in range(3)}
    tasks = ["T1", "T2", "T3"]
    needles = [NeedleCandidate(qa(i, f"n{i}", tasks[i % 3]), 20) for i in range(9)]
    plan = plan_cases(needles, frames, [100, 200], total=7, seed=5)
    by_length = {n: sum(c.length == n for c in plan.cases) for n in (100, 200)}
    assert by_length == {100: 4, 200: 3}
    assert plan.balance == {100: {"T1": 2, "T2": 1, "T3": 1}, 200: {"T1": 1, "T2": 1, "T3": 1}}
    ids = [c.case_id for c in plan.cases]
    assert ids == ["L100-0000", "L100-0001", "L100-0002", "L100-0003", "L200-0000", "L200-0001", "L200-0002"]


def test_reused_questions_are_noted():
    frames = {f"h{k}": 400 for k in range(3)}
    needles = [NeedleCandidate(qa(0, "n0", "T1"), 20)]
    plan = plan_cases(needles, frames, [100], total=3, seed=0)
    assert len(plan.cases) == 3
    assert plan.notes == ["length 100: questions reused at other depths/haystacks: T1 3 cases from 1 questions"]


def test_a_haystack_never_repeats_a_stretch_and_stays_inside_its_videos():
    frames = {"h0": 60, "h1": 45, "h2": 70, "h3": 30}
    needles = [NeedleCandidate(qa(i, f"n{i}", "T"), 10 + i) for i in range(4)]
    plan = plan_cases(needles, frames, [150, 190], total=30, seed=11)
    for case in plan.cases:
        refs = [(s.video_id, s.src_start_frame + i) for s in case.segments if s.role == "haystack"
                for i in range(s.num_frames)]
        assert len(refs) == len(set(refs)) == case.length - case.needle.num_frames
        for seg in case.segments:
            if seg.role == "haystack":
                assert 0 <= seg.src_start_frame and seg.src_start_frame + seg.num_frames <= frames[seg.video_id]
            else:
                assert (seg.src_start_frame, seg.num_frames) == (0, case.needle.num_frames)


def test_pool_too_small_for_a_length_is_noted():
    frames = {"h0": 50}
    needles = [NeedleCandidate(qa(0, "n0", "T"), 10)]
    plan = plan_cases(needles, frames, [60, 61], total=2, seed=0)
    assert [c.length for c in plan.cases] == [60]  # 50 haystack frames + 10 needle frames fit exactly
    assert plan.notes == ["length 61: no needle fits (needles must be shorter than the case and the haystack "
                          "pool must cover the rest); 0 of 1 cases made"]


@pytest.mark.parametrize("text,message", [
    ("abc", "--lengths: 'abc' is not a frame count (e.g. 2000, 2k, 1.5k)"),
    ("0", "--lengths: '0' is not a positive whole number of frames"),
    ("1.5", "--lengths: '1.5' is not a positive whole number of frames"),
    ("4k..2k", "--lengths: '4k..2k': range ends before it starts"),
    ("3,3", "--lengths: '3,3': a length is repeated"),
])
def test_length_messages(text, message):
    with pytest.raises(InputError) as info:
        parse_lengths(text)
    assert str(info.value) == message


@pytest.mark.parametrize("text,message", [
    ("x", "--depths: 'x' is not a comma list of numbers"),
    ("0.5,2", "--depths: '0.5,2': depths must lie in [0, 1]"),
])
def test_depth_messages(text, message):
    with pytest.raises(InputError) as info:
        parse_depths(text)
    assert str(info.value) == message


def test_a_case_carries_its_questions_text_and_the_builds_fps():
    frames = {"h0": 300}
    question = QA(video="n0", video_id="007", duration="short", domain="Sports", sub_category="Football",
                  question_id="007-2", task_type="Counting Problem", question="How many goals?",
                  options=("A. 1", "B. 2", "C. 3", "D. 4"), answer="C")
    plan = plan_cases([NeedleCandidate(question, 30)], frames, [100], total=1, seed=0, fps=2.0)
    case = plan.cases[0]
    assert (case.question, case.options, case.answer, case.task_type, case.domain, case.sub_category) == (
        "How many goals?", ["A. 1", "B. 2", "C. 3", "D. 4"], "C", "Counting Problem", "Sports", "Football")
    assert (case.needle.video_id, case.needle.question_id, case.needle.num_frames, case.fps) == ("n0", "007-2", 30, 2.0)
    assert case.depth == round(case.needle.start_frame / 70, 6)


def test_balance_lists_task_types_in_order():
    frames = {f"h{k}": 400 for k in range(3)}
    needles = [NeedleCandidate(qa(i, f"n{i}", task), 20) for i, task in enumerate(["Tz", "Ta", "Tm"])]
    plan = plan_cases(needles, frames, [100], total=3, seed=2)
    assert list(plan.balance[100]) == ["Ta", "Tm", "Tz"]


def test_haystacks_open_at_random_offsets_of_their_first_video():
    frames = {f"h{k}": 500 for k in range(4)}
    needles = [NeedleCandidate(qa(i, f"n{i}", "T"), 10) for i in range(3)]
    plan = plan_cases(needles, frames, [100], total=20, seed=4)
    starts = [c.segments[0].src_start_frame for c in plan.cases if c.segments[0].role == "haystack"]
    assert len(set(starts)) > 10 and max(starts) > 100 and all(c.fps == 1.0 for c in plan.cases)


@pytest.mark.parametrize("text", ["x..2k", "2k..x", "2k..4k:x"])
def test_each_part_of_a_range_is_checked_under_the_options_name(text):
    with pytest.raises(InputError) as info:
        parse_lengths(text, "--lengths")
    assert info.value.where == "--lengths" and "'x' is not a frame count" in info.value.what


def test_reuse_notes_list_every_task_type():
    frames = {f"h{k}": 400 for k in range(3)}
    needles = [NeedleCandidate(qa(0, "n0", "T1"), 20), NeedleCandidate(qa(1, "n1", "T2"), 20)]
    plan = plan_cases(needles, frames, [100], total=4, seed=0)
    assert plan.notes == ["length 100: questions reused at other depths/haystacks: T1 2 cases from 1 questions; "
                          "T2 2 cases from 1 questions"]


# ----- layouts, the tape and its windows ----------------------------------------------------
import random  # noqa: E402

from generator.plan import Tape  # noqa: E402


def test_an_unknown_layout_is_one_input_error_naming_the_option():
    needles, pool = needles_and_pool({"v0": 30, "v1": 40})
    with pytest.raises(InputError) as info:
        plan_cases(needles, pool, [50], total=2, seed=0, layout="spiral")
    assert info.value.where == "--haystacks"
    assert str(info.value) == "--haystacks: 'spiral': expected one of tape, independent"


def test_a_plan_records_its_layout():
    frames = {f"h{k}": 400 for k in range(3)}
    needles = [NeedleCandidate(qa(0, "n0", "T"), 20)]
    assert plan_cases(needles, frames, [100], total=2, seed=0).layout == "independent"
    assert plan_cases(needles, frames, [100], total=2, seed=0, layout="independent").layout == "independent"
    tape = plan_cases(needles, frames, [100], total=2, seed=0, layout="tape")
    assert tape.layout == "tape" and sorted(tape.tape) == ["h0", "h1", "h2"]


def test_a_tape_that_exactly_holds_the_haystack_is_enough():
    frames = {"h0": 30, "h1": 40}
    needles = [NeedleCandidate(qa(0, "n0", "T"), 10)]
    plan = plan_cases(needles, frames, [80], total=6, seed=2, layout="tape")  # 70 haystack frames, tape of 70
    assert len(plan.cases) == 6
    for case in plan.cases:
        hay = [(s.video_id, s.src_start_frame + i) for s in case.segments if s.role == "haystack"
               for i in range(s.num_frames)]
        assert sorted(hay) == sorted((v, f) for v, n in frames.items() for f in range(n))  # the whole tape, once


def test_a_tape_too_short_for_a_haystack_is_refused_with_the_numbers():
    frames = {"h0": 30, "h1": 40}
    needles = [NeedleCandidate(qa(0, "n0", "T"), 10)]
    with pytest.raises(InputError) as info:
        plan_cases(needles, frames, [81], total=2, seed=0, layout="tape")
    assert str(info.value) == ("--lengths: the haystack tape holds 70 frames (2 videos), shorter than the haystack "
                               "of a 81-frame case with a 10-frame needle (71 frames); use shorter --lengths or more "
                               "haystack videos")


def test_a_needles_own_video_does_not_count_towards_its_tape():
    # one duration class: the tape holds 120 frames, but not 120 for any needle
    needles, pool = needles_and_pool({"v0": 30, "v1": 40, "v2": 50})
    with pytest.raises(InputError) as info:
        plan_cases(needles, pool, [125], total=2, seed=0, layout="tape")
    assert str(info.value).startswith("--lengths: the haystack tape holds 90 frames (3 videos), shorter than the "
                                      "haystack of a 125-frame case with a 30-frame needle (95 frames)")
    plan = plan_cases(needles, pool, [120], total=3, seed=0, layout="tape")  # 70 + 50 fits the 50-frame needle
    assert len(plan.cases) == 3


def test_a_tape_window_starts_anywhere_that_does_not_come_round_again():
    tape = Tape((("A", 10), ("B", 10), ("C", 10)))
    rng = random.Random(0)
    starts = set()
    for _ in range(600):
        runs = tape.window(25, "X", rng)
        videos = [v for v, _, _ in runs]
        assert len(videos) == len(set(videos)) and sum(n for _, _, n in runs) == 25, runs
        assert all(n > 0 for _, _, n in runs) and all(first == 0 for _, first, _ in runs[1:]), runs
        order = "ABC" * 2
        assert "".join(videos) in order, runs  # tape neighbours, read round the circle
        assert runs[0][1] + runs[0][2] == 10 or len(runs) == 1, runs  # the first run reads its video to the end
        starts.add(runs[0][:2])
    # an offset o is valid iff the window ends before its first video again: o <= 30 - 25
    assert starts == {(v, o) for v in "ABC" for o in range(6)}


def test_a_tape_window_skips_the_needles_video_and_may_fill_the_tape():
    tape = Tape((("A", 10), ("B", 10), ("C", 10)))
    rng = random.Random(1)
    windows = {tuple(tape.window(20, "B", rng)) for _ in range(50)}
    assert windows == {(("A", 0, 10), ("C", 0, 10)), (("C", 0, 10), ("A", 0, 10))}
    with pytest.raises(ValueError) as info:
        tape.window(21, "B", rng)
    assert str(info.value) == "window of 21 frames on a tape of 20"


def test_independent_haystacks_may_open_at_the_last_frame_of_their_first_video():
    frames = {f"h{k}": 2 for k in range(10)}
    needles = [NeedleCandidate(qa(0, "n0", "T"), 5)]
    plan = plan_cases(needles, frames, [10], total=40, seed=0, depths=[1.0])  # the needle last
    assert all(c.segments[0].role == "haystack" for c in plan.cases)
    assert {c.segments[0].src_start_frame for c in plan.cases} == {0, 1}


def test_a_seeded_tape_window_takes_the_drawn_start_counting_in_tape_order():
    # reproducibility: one uniform draw per window over the valid starts listed in tape order
    # (A's offsets, then B's, then C's), so the same seed gives the same windows, byte for byte
    tape = Tape((("A", 3), ("B", 10), ("C", 10)))
    starts = [(v, o) for v, n in tape.videos for o in range(min(n, 23 - 15 + 1))]
    got, reference = random.Random(5), random.Random(5)
    for _ in range(40):
        assert tape.window(15, "X", got)[0][:2] == starts[reference.randrange(len(starts))]
