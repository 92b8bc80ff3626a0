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

Task families (``tasks=``, ``generator build --tasks``; :mod:`generator.families`): with the
default ``("needle-qa",)`` the planner draws exactly what it drew before families existed;
with several, each length's cases are split evenly over the families (and within a Video-MME
family over task types, as before), shuffled together, and each case's needles are placed at
distinct depths with at least one haystack frame between two needles.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Collection

from generator.families import NeedleCandidate, Spec, balanced_by_type, specs
from niah.errors import InputError
from niah.schema import DEFAULT_FAMILY, FAMILIES, Case, Needle, Segment

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
    """A comma list of lengths and ranges: ``2k..10k`` (step 2k, the paper's), ``2k..10k:1k``,
    ``300,600,1200`` or both, e.g. ``2k..10k,20k,30k`` (haystacks past 10K frames)."""
    lengths: list[int] = []
    for part in text.split(","):
        if ".." in part:
            span, _, step_text = part.partition(":")
            start_text, _, end_text = span.partition("..")
            start, end = _parse_count(start_text, option), _parse_count(end_text, option)
            step = _parse_count(step_text, option) if step_text else 2000
            if end < start:
                raise InputError(option, f"{part.strip()!r}: range ends before it starts")
            lengths += range(start, end + 1, step)
        else:
            lengths.append(_parse_count(part, option))
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


LAYOUTS = ("tape", "independent")
DEFAULT_LAYOUT = "tape"  # what ``generator build`` makes unless told otherwise


@dataclass
class Plan:
    cases: list[Case]
    notes: list[str] = field(default_factory=list)
    balance: dict[int, dict[str, int]] = field(default_factory=dict)
    family_balance: dict[int, dict[str, int]] = field(default_factory=dict)  # several families only
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

    def window(self, frames: int, exclude: str | Collection[str], rng: random.Random) -> list[tuple[str, int, int]]:
        """``frames`` consecutive tape frames from a uniformly random start, as (video, first
        frame, frames) runs. The tape is read without ``exclude`` (the needle's own video, where
        needles and haystacks share a duration class); a start is valid only if the window does
        not come round to its own first video again, so no video appears twice. ``exclude`` may
        also be several videos (the needles of a multi-needle case)."""
        skip = _as_set(exclude)
        tape = [(v, f) for v, f in self.videos if v not in skip]
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


def _as_set(videos: str | Collection[str]) -> set[str]:
    return {videos} if isinstance(videos, str) else set(videos)


def plan_cases(needles: list[NeedleCandidate], haystacks: dict[str, int], lengths: list[int], total: int,
               seed: int, depths: list[float] | None = None, fps: float = 1.0,
               layout: str = "independent", tasks: tuple[str, ...] = (DEFAULT_FAMILY,),
               synthetic_frames: dict[str, int] | None = None) -> Plan:
    """Spread ``total`` cases evenly over ``lengths`` and, within a length, over task types.

    ``haystacks`` maps video -> frame count. With ``layout="independent"`` (this function's
    default, so existing callers keep their cases) a case's haystack is a random order of the
    haystack videos other than the needle's own, read from a random offset in the first, each
    used at most once (so no stretch repeats); with ``layout="tape"`` it is a window of the
    seeded tape (:class:`Tape`). The needle is inserted at a random frame (uniform depth, or
    round-robin over the ``depths`` grid). A tape shorter than a haystack it must hold is an
    :class:`InputError`. ``tasks`` other than ``("needle-qa",)`` plan with :func:`_plan_families`
    (``synthetic_frames``: frames of each synthetic needle video in the store).
    """
    if layout not in LAYOUTS:
        raise InputError("--haystacks", f"{layout!r}: expected one of {', '.join(LAYOUTS)}")
    rng = random.Random(seed)
    needles = sorted(needles, key=lambda n: n.qa.question_id)
    pool = sorted(haystacks.items())
    plan = Plan(cases=[], layout=layout)
    tape = None
    if layout == "tape":
        _check_tape_holds(needles, pool, lengths, tasks, synthetic_frames or {})
        tape = Tape.shuffled(pool, rng)
        plan.tape = [v for v, _ in tape.videos]
    if tuple(tasks) != (DEFAULT_FAMILY,):
        return _plan_families(plan, needles, pool, lengths, total, rng, depths, fps, tape, tuple(tasks),
                              synthetic_frames or {})
    per_length = [total // len(lengths) + (i < total % len(lengths)) for i in range(len(lengths))]
    for length, count in zip(lengths, per_length):
        eligible = [n for n in needles if n.frames < length
                    and sum(f for v, f in pool if v != n.qa.video) >= length - n.frames]
        if not eligible:
            plan.notes.append(f"length {length}: no needle fits (needles must be shorter than the case and the "
                              f"haystack pool must cover the rest); 0 of {count} cases made")
            continue
        assignments, reused = balanced_by_type(eligible, count, rng)
        if reused:
            plan.notes.append(f"length {length}: questions reused at other depths/haystacks: {'; '.join(reused)}")
        plan.balance[length] = dict(sorted(Counter(n.qa.task_type for n in assignments).items()))
        grid = depths[:] if depths else None
        for index, needle in enumerate(assignments):
            depth = grid[index % len(grid)] if grid else rng.random()
            plan.cases.append(_make_case(f"L{length}-{index:04d}", length, needle, depth, pool, rng, fps, tape))
    return plan


def _plan_families(plan: Plan, needles: list[NeedleCandidate], pool: list[tuple[str, int]], lengths: list[int],
                   total: int, rng: random.Random, depths: list[float] | None, fps: float, tape: Tape | None,
                   tasks: tuple[str, ...], synthetic_frames: dict[str, int]) -> Plan:
    """The planner of several families: per length, the cases split evenly over ``tasks``, each
    family's drawn by :func:`generator.families.specs`, then shuffled together and placed. The
    ``depths`` grid places the needle of a one-needle case (needle-qa, text); multi-needle cases
    draw distinct uniform positions."""
    per_length = [total // len(lengths) + (i < total % len(lengths)) for i in range(len(lengths))]
    for length, count in zip(lengths, per_length):
        eligible = [n for n in needles if n.frames < length
                    and sum(f for v, f in pool if v != n.qa.video) >= length - n.frames]
        quota = [count // len(tasks) + (i < count % len(tasks)) for i in range(len(tasks))]
        drawn: list[Spec] = []
        for family, want in zip(tasks, quota):
            made, notes = specs(family, length, want, eligible, rng, synthetic_frames)
            drawn += made
            plan.notes += [f"length {length}: {note}" for note in notes]
        rng.shuffle(drawn)
        plan.balance[length] = dict(sorted(Counter(s.task_type for s in drawn).items()))
        plan.family_balance[length] = {f: n for f in FAMILIES if (n := sum(s.family == f for s in drawn))}
        grid = depths[:] if depths else None
        singles = 0
        for index, spec in enumerate(drawn):
            depth = None
            if len(spec.clips) == 1:
                depth = grid[singles % len(grid)] if grid else rng.random()
                singles += 1
            plan.cases.append(_make_family_case(f"L{length}-{index:04d}", length, spec, depth, pool, rng, fps, tape))
    return plan


def _check_tape_holds(needles: list[NeedleCandidate], pool: list[tuple[str, int]], lengths: list[int],
                      tasks: tuple[str, ...] = (DEFAULT_FAMILY,), synthetic_frames: dict[str, int] | None = None) -> None:
    """Refuse a tape too short for the longest haystack a fitting needle would need (for a
    synthetic family: a case holding its fewest needle frames, one synthetic clip)."""
    total = sum(f for _, f in pool)
    fewest = min(synthetic_frames.values()) if synthetic_frames and set(tasks) - {"needle-qa", "distractors"} else None
    for length in lengths:
        for n in needles if set(tasks) & {"needle-qa", "distractors"} else []:
            room = total - sum(f for v, f in pool if v == n.qa.video)
            if n.frames < length and length - n.frames > room:
                raise InputError("--lengths", f"the haystack tape holds {room} frames ({len(pool)} videos), "
                                 f"shorter than the haystack of a {length}-frame case with a {n.frames}-frame "
                                 f"needle ({length - n.frames} frames); use shorter --lengths or more "
                                 "haystack videos")
        if fewest is not None and length - fewest > total:
            raise InputError("--lengths", f"the haystack tape holds {total} frames ({len(pool)} videos), shorter "
                             f"than the haystack of a {length}-frame case with a {fewest}-frame synthetic needle "
                             f"({length - fewest} frames); use shorter --lengths or more haystack videos")


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


def _make_family_case(case_id: str, length: int, spec: Spec, depth: float | None, pool: list[tuple[str, int]],
                      rng: random.Random, fps: float, tape: Tape | None) -> Case:
    """Place ``spec``'s clips in a haystack of the rest of the length: one clip at ``depth``,
    several at distinct random insertion points (in the spec's order)."""
    hay_frames = length - spec.needle_frames
    if depth is not None:
        points = [round(depth * hay_frames)]
    else:
        points = sorted(rng.sample(range(hay_frames + 1), len(spec.clips)))
    videos = {c.video for c in spec.clips}
    haystack = (tape.window(hay_frames, videos, rng) if tape is not None
                else _independent_haystack(hay_frames, videos, pool, rng))
    placed = [Segment(c.video, 0, c.frames, "needle") for c in spec.clips]
    segments = _insert_all(haystack, list(zip(points, placed)))
    needles, before = [], 0
    for point, clip in zip(points, spec.clips):
        needles.append(Needle(clip.video, clip.question_id, point + before, clip.frames))
        before += clip.frames
    target = needles[spec.target]
    case = Case(case_id=case_id, length=length, fps=fps, depth=round(points[spec.target] / hay_frames, 6),
                needle=target, segments=segments, question=spec.question, options=list(spec.options),
                answer=spec.answer, task_type=spec.task_type, domain=spec.domain, sub_category=spec.sub_category,
                family=spec.family, needles=needles if spec.family != DEFAULT_FAMILY else [],
                about=spec.about if spec.family != DEFAULT_FAMILY else "")
    case.validate()
    return case


def _independent_haystack(hay_frames: int, needle_video: str | Collection[str], pool: list[tuple[str, int]],
                          rng: random.Random) -> list[tuple[str, int, int]]:
    """The ``independent`` layout: the other videos shuffled for this case alone, read from a
    random offset in the first (the draws of every benchmark built before the tape, in order)."""
    skip = _as_set(needle_video)
    order = [(v, f) for v, f in pool if v not in skip]
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
    return _insert_all(haystack, [(at, needle)])


def _insert_all(haystack: list[tuple[str, int, int]], needles: list[tuple[int, Segment]]) -> list[Segment]:
    """The haystack runs as segments with each needle put before haystack frame ``at`` (splitting
    the run that holds it); ``needles`` sorted by ``at``, each ``at`` distinct (or one needle)."""
    out: list[Segment] = []
    pending = list(needles)
    position = 0
    for video, first, frames in haystack:
        done = 0
        while pending and position <= pending[0][0] < position + frames:
            at, needle = pending.pop(0)
            if at - position > done:
                out.append(Segment(video, first + done, at - position - done, "haystack"))
            out.append(needle)
            done = at - position
        if frames - done:
            out.append(Segment(video, first + done, frames - done, "haystack"))
        position += frames
    out += [needle for _, needle in pending]
    return out
