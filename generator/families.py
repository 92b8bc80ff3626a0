"""What each task family asks: the needles of a case and its question, before they are placed.

:func:`specs` draws, for one length, the cases of one family as :class:`Spec` s (which needle
clips, in which order, and the question with its four options); :mod:`generator.plan` then cuts
the haystack and places the needles. Every family has exactly four options and one right
answer, drawn so that a uniform guess is right with probability exactly 1/4:

* ``needle-qa``: one Video-MME needle and its own question (the benchmark before families);
* ``distractors``: 2-4 Video-MME needles from different videos, the question of one of them
  (the *target*); the others sit at other depths. A clip is no distractor if it has a question
  worded like the target's whose answer is one of the target's wrong options (the demo's
  clips share question wordings): the case would have two right answers;
* ``text``: one word card (:mod:`generator.synthetic`); "which word appeared?", the word and
  three other words of the vocabulary;
* ``ordering``: 3-4 different word cards at increasing depths; "in which order?", the true
  order and three other orders of the same words;
* ``counting``: the marker inserted 1-4 times (each count equally often per length);
  "how many times?", options 1, 2, 3, 4.
"""
from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from generator import synthetic
from niah.errors import InputError
from niah.schema import DEFAULT_FAMILY, FAMILIES
from niah.videomme import LETTERS as OPTION_LETTERS
from niah.videomme import QA

TEXT_QUESTION = "Which word appeared on a card in the video?"
ORDERING_QUESTION = "In which order did these words appear on cards in the video?"
COUNTING_QUESTION = "How many times did the yellow cross in a magenta square appear in the video?"
#: task_type of the synthetic families' cases (Video-MME's own for needle-qa and distractors)
TASK_TYPES = {"text": "Text Retrieval", "ordering": "Temporal Ordering", "counting": "Needle Counting"}
LETTERS = "ABCD"


def parse_tasks(text: str, option: str = "--tasks") -> tuple[str, ...]:
    """A comma list of families, returned in :data:`FAMILIES` order (so the spelling order of
    the option never changes the cases)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in FAMILIES]
    if not names or unknown:
        raise InputError(option, f"{text!r}: expected a comma list of {', '.join(FAMILIES)}")
    if len(set(names)) != len(names):
        raise InputError(option, f"{text!r}: a family is repeated")
    return tuple(f for f in FAMILIES if f in names)


@dataclass(frozen=True)
class Clip:
    """One needle clip to place: ``frames`` frames of ``video`` from frame 0."""

    video: str
    question_id: str
    frames: int


@dataclass(frozen=True)
class Spec:
    """A case before placement: its needles in case order and its question."""

    family: str
    clips: tuple[Clip, ...]
    target: int            # index into ``clips`` of the needle the case's ``needle`` field names
    question: str
    options: tuple[str, ...]
    answer: str
    task_type: str
    about: str
    domain: str = ""
    sub_category: str = ""

    @property
    def needle_frames(self) -> int:
        return sum(c.frames for c in self.clips)


@dataclass(frozen=True)
class NeedleCandidate:
    """A Video-MME question whose video can be a needle, with the video's frame count."""

    qa: QA
    frames: int


def balanced_by_type(eligible: list[NeedleCandidate], want: int, rng: random.Random) -> tuple[list[NeedleCandidate], list[str]]:
    """``want`` candidates spread evenly over task types (each type's questions shuffled and
    cycled), then shuffled; and a note per type that had to reuse questions. The draws of the
    one-family planner before families, in the same order."""
    by_type: dict[str, list[NeedleCandidate]] = defaultdict(list)
    for n in eligible:
        by_type[n.qa.task_type].append(n)
    types = sorted(by_type)
    quota = [want // len(types) + (i < want % len(types)) for i in range(len(types))]
    assignments: list[NeedleCandidate] = []
    reused: list[str] = []
    for task, count in zip(types, quota):
        options = by_type[task][:]
        rng.shuffle(options)
        assignments += [options[i % len(options)] for i in range(count)]
        if count > len(options):
            reused.append(f"{task} {count} cases from {len(options)} questions")
    rng.shuffle(assignments)
    return assignments, reused


def _lettered(choices: list[str], correct: str) -> tuple[tuple[str, ...], str]:
    return tuple(f"{l}. {c}" for l, c in zip(LETTERS, choices)), LETTERS[choices.index(correct)]


def _qa_spec(family: str, clips: tuple[Clip, ...], target: int, qa: QA, about: str) -> Spec:
    return Spec(family, clips, target, qa.question, qa.options, qa.answer, qa.task_type, about,
                qa.domain, qa.sub_category)


def _needle_qa(length: int, want: int, eligible: list[NeedleCandidate], rng: random.Random,
               frames: dict[str, int]) -> tuple[list[Spec], list[str]]:
    chosen, reused = balanced_by_type(eligible, want, rng)
    return [_qa_spec(DEFAULT_FAMILY, (Clip(n.qa.video, n.qa.question_id, n.frames),), 0, n.qa,
                     f"the needle's own question {n.qa.question_id}") for n in chosen], _reuse_note("needle-qa", reused)


def _distractors(length: int, want: int, eligible: list[NeedleCandidate], rng: random.Random,
                 frames: dict[str, int]) -> tuple[list[Spec], list[str]]:
    targets, reused = balanced_by_type(eligible, want, rng)
    notes = _reuse_note("distractors", reused)
    by_video: dict[str, list[NeedleCandidate]] = defaultdict(list)
    for n in eligible:
        by_video[n.qa.video].append(n)
    videos = sorted(by_video)
    answers = {(n.qa.video, n.qa.question): _answer_text(n.qa) for n in eligible}
    out, lone = [], 0
    for target in targets:
        k = rng.randint(2, 4)
        wrong = {o.split(". ", 1)[-1] for o in target.qa.options} - {_answer_text(target.qa)}
        others = [v for v in videos if v != target.qa.video and answers.get((v, target.qa.question)) not in wrong]
        picked = [rng.choice(by_video[v]) for v in rng.sample(others, min(k - 1, len(others)))]
        while picked and target.frames + sum(p.frames for p in picked) + len(picked) + 1 > length:
            picked.pop()  # the longest draws first to go would favour short clips: drop the last drawn
        if not picked:
            lone += 1
            continue
        clips = [Clip(n.qa.video, n.qa.question_id, n.frames) for n in [target, *picked]]
        rng.shuffle(clips)
        index = clips.index(Clip(target.qa.video, target.qa.question_id, target.frames))
        out.append(_qa_spec("distractors", tuple(clips), index, target.qa,
                            f"needle {index + 1} of {len(clips)} (question {target.qa.question_id}); "
                            f"the other {len(clips) - 1} are distractors from other videos"))
    if lone:
        notes.append(f"distractors: {lone} of {want} cases not made (no other clip fits beside the target)")
    return out, notes


def _reuse_note(family: str, reused: list[str]) -> list[str]:
    return [f"{family}: questions reused at other depths/haystacks: {'; '.join(reused)}"] if reused else []


def _answer_text(qa: QA) -> str:
    """The text of a question's right option ("A. red" -> "red")."""
    return qa.options[OPTION_LETTERS.index(qa.answer)].split(". ", 1)[-1]


def _text(length: int, want: int, eligible: list[NeedleCandidate], rng: random.Random,
          frames: dict[str, int]) -> tuple[list[Spec], list[str]]:
    out = []
    for _ in range(want):
        word = rng.choice(synthetic.VOCABULARY)
        choices = rng.sample([w for w in synthetic.VOCABULARY if w != word], 3) + [word]
        rng.shuffle(choices)
        options, answer = _lettered(choices, word)
        video = synthetic.word_video(word)
        out.append(Spec("text", (Clip(video, f"word:{word}", frames[video]),), 0, TEXT_QUESTION, options, answer,
                        TASK_TYPES["text"], f"the word on the one card ({word})"))
    return out, []


def _ordering(length: int, want: int, eligible: list[NeedleCandidate], rng: random.Random,
              frames: dict[str, int]) -> tuple[list[Spec], list[str]]:
    out = []
    for _ in range(want):
        words = tuple(rng.sample(synthetic.VOCABULARY, rng.choice((3, 4))))
        others = [p for p in itertools.permutations(sorted(words)) if p != words]
        choices = [", ".join(p) for p in [*rng.sample(others, 3), words]]
        rng.shuffle(choices)
        options, answer = _lettered(choices, ", ".join(words))
        clips = tuple(Clip(synthetic.word_video(w), f"word:{w}", frames[synthetic.word_video(w)]) for w in words)
        out.append(Spec("ordering", clips, 0, ORDERING_QUESTION, options, answer, TASK_TYPES["ordering"],
                        f"the order of the {len(words)} word cards ({', '.join(words)})"))
    return out, []


def _counting(length: int, want: int, eligible: list[NeedleCandidate], rng: random.Random,
              frames: dict[str, int]) -> tuple[list[Spec], list[str]]:
    counts = [1 + i % 4 for i in range(want)]  # every count equally often (within one)
    rng.shuffle(counts)
    clip = Clip(synthetic.MARKER_ID, "marker", frames[synthetic.MARKER_ID])
    options = tuple(f"{l}. {n}" for l, n in zip(LETTERS, (1, 2, 3, 4)))
    return [Spec("counting", (clip,) * n, 0, COUNTING_QUESTION, options, LETTERS[n - 1], TASK_TYPES["counting"],
                 f"how many times the marker appears ({n})") for n in counts], []


Planner = Callable[[int, int, list[NeedleCandidate], random.Random, dict[str, int]], tuple[list[Spec], list[str]]]
PLANNERS: dict[str, Planner] = {"needle-qa": _needle_qa, "ordering": _ordering, "counting": _counting,
                                "text": _text, "distractors": _distractors}
NEEDS_VIDEO_MME = ("needle-qa", "distractors")


def specs(family: str, length: int, want: int, eligible: list[NeedleCandidate], rng: random.Random,
          frames: dict[str, int]) -> tuple[list[Spec], list[str]]:
    """``want`` cases of ``family`` at ``length`` (fewer only when no needle fits) and notes."""
    if family in NEEDS_VIDEO_MME and not eligible:
        return [], [f"{family}: no needle fits; 0 of {want} cases made"]
    return PLANNERS[family](length, want, eligible, rng, frames)

