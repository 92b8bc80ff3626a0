"""Plan the benchmark: which needle question, haystack and depth each case gets.

Planning is pure and deterministic: it sees only sorted inputs (question ids and frame
counts) and one ``random.Random(seed)`` stream, so the same seed and sources always give
the same cases, byte for byte. It never touches video; the frame store already knows
every source's exact 1-FPS frame count.

Two haystack layouts (``layout=``, ``generator build --haystacks``):

* ``tape`` (the build's default): the haystack videos are put once in a seeded random order
  and read as a circle, the *tape*; each case's haystack is a window of it at a uniformly
  random start. A case is still "other videos, in random order, from a random offset in the
  first", but neighbouring windows share almost all their frames, so a runner that reuses
  per-frame features across cases (``niah.schedule``) encodes each source frame about once.
* ``independent`` (the layout of every benchmark built before the tape; kept byte for byte):
  each case shuffles the haystack videos on its own, so two cases share little.
"""
from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from niah.errors import InputError
from niah.schema import Case, Needle, Segment
from niah.videomme import QA

_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kK]?)\s*$")


def _parse_count(text: str, option: str) -> int:
    match = _LENGTH.match(text)
    if not match:
        raise InputError(option, f"{text!r} is not a frame count (e.g. 2000, 2k, 1.5k)")
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    if value != int(value) or value <= 0:
        raise InputError(option, f"{text!r} is not a positive whole number of frames")
    return int(value)


def parse_lengths(text: str, option: str = "--lengths") -> list[int]:
    """``2k..10k`` (step 2k, the paper's), ``2k..10k:1k``, or a comma list ``300,600,1200``."""
    if ".." in text:
        span, _, step_text = text.partition(":")
        start_text, _, end_text = span.partition("..")
        start, end = _parse_count(start_text, option), _parse_count(end_text, option)
        step = _parse_count(step_text, option) if step_text else 2000
        if end < start:
            raise InputError(option, f"{text!r}: range ends before it starts")
        lengths = list(range(start, end + 1, step))
    else:
        lengths = [_parse_count(part, option) for part in text.split(",")]
    if len(set(lengths)) != len(lengths):
        raise InputError(option, f"{text!r}: a length is repeated")
    return sorted(lengths)


def parse_depths(text: str | None, option: str = "--depths") -> list[float] | None:
    """A comma list of depths in [0, 1] (a fixed grid, as in text NIAH); ``None`` = uniform."""
    if text is None:
        return None
    try:
        depths = [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(option, f"{text!r} is not a comma list of numbers") from None
    if not depths or any(not 0.0 <= d <= 1.0 for d in depths):
        raise InputError(option, f"{text!r}: depths must lie in [0, 1]")
    return depths


@dataclass(frozen=True)
class NeedleCandidate:
    """A question whose video can be a needle, with that video's frame count."""

    qa: QA
    frames: int


LAYOUTS = ("tape", "independent")
DEFAULT_LAYOUT = "tape"  # what ``generator build`` makes unless told otherwise


@dataclass
class Plan:
    cases: list[Case]
    notes: list[str] = field(default_factory=list)
    balance: dict[int, dict[str, int]] = field(default_factory=dict)
    layout: str = "independent"
    tape: list[str] | None = None  # the tape's video order (``tape`` layout only)


@dataclass(frozen=True)
class Tape:
    """The haystack videos in one seeded random order, read as a circle."""

    videos: tuple[tuple[str, int], ...]  # (video, frames) in tape order

    @classmethod
    def shuffled(cls, pool: list[tuple[str, int]], rng: random.Random) -> "Tape":
        order = list(pool)
        rng.shuffle(order)
        return cls(tuple(order))

    def window(self, frames: int, exclude: str, rng: random.Random) -> list[tuple[str, int, int]]:
        """``frames`` consecutive tape frames from a uniformly random start, as (video, first
        frame, frames) runs. The tape is read without ``exclude`` (the needle's own video, where
        needles and haystacks share a duration class); a start is valid only if the window does
        not come round to its own first video again, so no video appears twice."""
        tape = [(v, f) for v, f in self.videos if v != exclude]
        length = sum(f for _, f in tape)
        if frames > length:  # plan_cases refuses such lengths first
            raise ValueError(f"window of {frames} frames on a tape of {length}")
        # offset o in video i is valid iff the window ends before coming back to video i: o <= length - frames
        valid = [min(f, length - frames + 1) for _, f in tape]
        draw = rng.randrange(sum(valid))
        first = 0
        while draw >= valid[first]:
            draw -= valid[first]
            first += 1
        runs: list[tuple[str, int, int]] = []
        need, offset, i = frames, draw, first
        while need:
            video, size = tape[i % len(tape)]
            take = min(size - offset, need)
            runs.append((video, offset, take))
            need -= take
            offset, i = 0, i + 1
        return runs


def plan_cases(needles: list[NeedleCandidate], haystacks: dict[str, int], lengths: list[int], total: int,
               seed: int, depths: list[float] | None = None, fps: float = 1.0,
               layout: str = "independent") -> Plan:
    """Spread ``total`` cases evenly over ``lengths`` and, within a length, over task types.

    ``haystacks`` maps video -> frame count. With ``layout="independent"`` (this function's
    default, so existing callers keep their cases) a case's haystack is a random order of the
    haystack videos other than the needle's own, read from a random offset in the first, each
    used at most once (so no stretch repeats); with ``layout="tape"`` it is a window of the
    seeded tape (:class:`Tape`). The needle is inserted at a random frame (uniform depth, or
    round-robin over the ``depths`` grid). A tape shorter than a haystack it must hold is an
    :class:`InputError`.
    """
    if layout not in LAYOUTS:
        raise InputError("--haystacks", f"{layout!r}: expected one of {', '.join(LAYOUTS)}")
    rng = random.Random(seed)
    needles = sorted(needles, key=lambda n: n.qa.question_id)
    pool = sorted(haystacks.items())
    plan = Plan(cases=[], layout=layout)
    tape = None
    if layout == "tape":
        _check_tape_holds(needles, pool, lengths)
        tape = Tape.shuffled(pool, rng)
        plan.tape = [v for v, _ in tape.videos]
    per_length = [total // len(lengths) + (i < total % len(lengths)) for i in range(len(lengths))]
    for length, count in zip(lengths, per_length):
        eligible = [n for n in needles if n.frames < length
                    and sum(f for v, f in pool if v != n.qa.video) >= length - n.frames]
        by_type: dict[str, list[NeedleCandidate]] = defaultdict(list)
        for n in eligible:
            by_type[n.qa.task_type].append(n)
        if not by_type:
            plan.notes.append(f"length {length}: no needle fits (needles must be shorter than the case and the "
                              f"haystack pool must cover the rest); 0 of {count} cases made")
            continue
        types = sorted(by_type)
        quota = [count // len(types) + (i < count % len(types)) for i in range(len(types))]
        assignments: list[NeedleCandidate] = []
        reused: list[str] = []
        for task, want in zip(types, quota):
            options = by_type[task][:]
            rng.shuffle(options)
            assignments += [options[i % len(options)] for i in range(want)]
            if want > len(options):
                reused.append(f"{task} {want} cases from {len(options)} questions")
        if reused:
            plan.notes.append(f"length {length}: questions reused at other depths/haystacks: {'; '.join(reused)}")
        rng.shuffle(assignments)
        plan.balance[length] = dict(sorted(Counter(n.qa.task_type for n in assignments).items()))
        grid = depths[:] if depths else None
        for index, needle in enumerate(assignments):
            depth = grid[index % len(grid)] if grid else rng.random()
            plan.cases.append(_make_case(f"L{length}-{index:04d}", length, needle, depth, pool, rng, fps, tape))
    return plan


def _check_tape_holds(needles: list[NeedleCandidate], pool: list[tuple[str, int]], lengths: list[int]) -> None:
    """Refuse a tape too short for the longest haystack a fitting needle would need."""
    total = sum(f for _, f in pool)
    for length in lengths:
        for n in needles:
            room = total - sum(f for v, f in pool if v == n.qa.video)
            if n.frames < length and length - n.frames > room:
                raise InputError("--lengths", f"the haystack tape holds {room} frames ({len(pool)} videos), "
                                 f"shorter than the haystack of a {length}-frame case with a {n.frames}-frame "
                                 f"needle ({length - n.frames} frames); use shorter --lengths or more "
                                 "haystack videos")


def _make_case(case_id: str, length: int, needle: NeedleCandidate, depth: float, pool: list[tuple[str, int]],
               rng: random.Random, fps: float, tape: Tape | None = None) -> Case:
    hay_frames = length - needle.frames
    start = round(depth * hay_frames)
    haystack = (tape.window(hay_frames, needle.qa.video, rng) if tape is not None
                else _independent_haystack(hay_frames, needle.qa.video, pool, rng))
    segments = _insert(haystack, start, Segment(needle.qa.video, 0, needle.frames, "needle"))
    qa = needle.qa
    case = Case(case_id=case_id, length=length, fps=fps, depth=round(start / hay_frames, 6),
                needle=Needle(qa.video, qa.question_id, start, needle.frames), segments=segments,
                question=qa.question, options=list(qa.options), answer=qa.answer, task_type=qa.task_type,
                domain=qa.domain, sub_category=qa.sub_category)
    case.validate()
    return case


def _independent_haystack(hay_frames: int, needle_video: str, pool: list[tuple[str, int]],
                          rng: random.Random) -> list[tuple[str, int, int]]:
    """The ``independent`` layout: the other videos shuffled for this case alone, read from a
    random offset in the first (the draws of every benchmark built before the tape, in order)."""
    order = [(v, f) for v, f in pool if v != needle_video]
    rng.shuffle(order)
    available = sum(f for _, f in order)
    offset = rng.randint(0, min(order[0][1] - 1, available - hay_frames))
    haystack: list[tuple[str, int, int]] = []  # (video, first frame, frames)
    need = hay_frames
    for video, frames in order:
        if need == 0:
            break
        first = offset if not haystack else 0
        take = min(frames - first, need)
        haystack.append((video, first, take))
        need -= take
    return haystack


def _insert(haystack: list[tuple[str, int, int]], at: int, needle: Segment) -> list[Segment]:
    """Split the haystack run that contains frame ``at`` and put the needle there."""
    out: list[Segment] = []
    position = 0
    placed = False
    for video, first, frames in haystack:
        if not placed and position <= at < position + frames:
            before = at - position
            if before:
                out.append(Segment(video, first, before, "haystack"))
            out.append(needle)
            placed = True
            if frames - before:
                out.append(Segment(video, first + before, frames - before, "haystack"))
        else:
            out.append(Segment(video, first, frames, "haystack"))
        position += frames
    if not placed:
        out.append(needle)
    return out
