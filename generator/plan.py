"""Plan the benchmark: which needle question, haystack and depth each case gets.

Planning is pure and deterministic: it sees only sorted inputs (question ids and frame
counts) and one ``random.Random(seed)`` stream, so the same seed and sources always give
the same cases, byte for byte. It never touches video; the frame store already knows
every source's exact 1-FPS frame count.
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


@dataclass
class Plan:
    cases: list[Case]
    notes: list[str] = field(default_factory=list)
    balance: dict[int, dict[str, int]] = field(default_factory=dict)


def plan_cases(needles: list[NeedleCandidate], haystacks: dict[str, int], lengths: list[int], total: int,
               seed: int, depths: list[float] | None = None, fps: float = 1.0) -> Plan:
    """Spread ``total`` cases evenly over ``lengths`` and, within a length, over task types.

    ``haystacks`` maps video -> frame count. A case's haystack is a random order of the
    haystack videos other than the needle's own, read from a random offset in the first,
    each used at most once (so no stretch repeats); the needle is inserted at a random
    frame (uniform depth, or round-robin over the ``depths`` grid).
    """
    rng = random.Random(seed)
    needles = sorted(needles, key=lambda n: n.qa.question_id)
    pool = sorted(haystacks.items())
    plan = Plan(cases=[])
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
            plan.cases.append(_make_case(f"L{length}-{index:04d}", length, needle, depth, pool, rng, fps))
    return plan


def _make_case(case_id: str, length: int, needle: NeedleCandidate, depth: float, pool: list[tuple[str, int]],
               rng: random.Random, fps: float) -> Case:
    hay_frames = length - needle.frames
    start = round(depth * hay_frames)
    order = [(v, f) for v, f in pool if v != needle.qa.video]
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
    segments = _insert(haystack, start, Segment(needle.qa.video, 0, needle.frames, "needle"))
    qa = needle.qa
    case = Case(case_id=case_id, length=length, fps=fps, depth=round(start / hay_frames, 6),
                needle=Needle(qa.video, qa.question_id, start, needle.frames), segments=segments,
                question=qa.question, options=list(qa.options), answer=qa.answer, task_type=qa.task_type,
                domain=qa.domain, sub_category=qa.sub_category)
    case.validate()
    return case


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
