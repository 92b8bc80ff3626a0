"""The manifest schema: the contract between the generator, the runner and the leaderboard.

A benchmark folder holds ``manifest.jsonl`` (one :class:`Case` per line) and
``dataset.json`` (build config, seed, source fingerprints, counts, schema version).
A case is never stored as a video: it is a list of :class:`Segment` s, each a run of
consecutive 1-FPS frames of one source video in the frame store, played in order.
Bump :data:`SCHEMA_VERSION` on any change a reader of an older manifest would misread.

Task families (:data:`FAMILIES`): a ``needle-qa`` case (one Video-MME needle, the only family
before families existed) is written exactly as before, so benchmarks built then keep their
bytes; a case of another family adds ``family``, ``needles`` (every needle in case order) and
``about`` (what the question asks of them). A reader from before families refuses such a line
(unknown keys), it never misreads it, so the schema version stays 1.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from typing import Any, Literal

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.jsonl"
DATASET_NAME = "dataset.json"

Role = Literal["haystack", "needle"]
#: The task families, in the order ``generator build --tasks`` lists them.
FAMILIES = ("needle-qa", "ordering", "counting", "text", "distractors")
DEFAULT_FAMILY = "needle-qa"
#: Keys a ``needle-qa`` case leaves out of its manifest line (their defaults), so its bytes are
#: those of a manifest written before families.
_FAMILY_KEYS = ("family", "needles", "about")


@dataclass(frozen=True)
class Segment:
    """``num_frames`` consecutive frames of ``video_id``, from ``src_start_frame`` on."""

    video_id: str
    src_start_frame: int
    num_frames: int
    role: Role


@dataclass(frozen=True)
class Needle:
    """Where the needle clip sits in the case: frames ``start_frame .. start_frame+num_frames-1``."""

    video_id: str
    question_id: str
    start_frame: int
    num_frames: int


@dataclass(frozen=True)
class Case:
    """One benchmark item: a haystack video with needle clips and a question about them.

    ``needle`` is the needle the question is about (a ``distractors`` case's target; the first
    needle of a multi-needle family); ``needles`` lists every needle in case order (empty for
    ``needle-qa``: the one ``needle``). ``depth`` = ``needle``'s position in the haystack, in
    [0, 1] (its start frame less the frames of needles before it, over the haystack frames).
    ``answer`` is the option letter ("A".."D"); ``options`` are Video-MME's strings ("A. ...").
    """

    case_id: str
    length: int
    fps: float
    depth: float
    needle: Needle
    segments: list[Segment]
    question: str
    options: list[str]
    answer: str
    task_type: str
    domain: str = ""
    sub_category: str = ""
    schema_version: int = field(default=SCHEMA_VERSION)
    family: str = DEFAULT_FAMILY
    needles: list[Needle] = field(default_factory=list)
    about: str = ""

    def to_json(self) -> str:
        """One canonical manifest line (sorted keys, no spaces) so equal cases give equal bytes;
        a ``needle-qa`` case without extra needles is the line of a manifest from before families."""
        raw = asdict(self)
        if self.family == DEFAULT_FAMILY and not self.needles and not self.about:
            for key in _FAMILY_KEYS:
                del raw[key]
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def all_needles(self) -> list[Needle]:
        """Every needle of the case in case order (``[needle]`` for a one-needle case)."""
        return list(self.needles) or [self.needle]

    @property
    def asked_needles(self) -> list[Needle]:
        """The needles the question is about: a ``distractors`` case's target only, every needle
        of the other families (ordering and counting ask about all of them)."""
        return [self.needle] if self.family in (DEFAULT_FAMILY, "distractors") else self.all_needles

    @property
    def depth_decile(self) -> int:
        """0..9; depth 1.0 falls in the last decile."""
        return min(int(self.depth * 10), 9)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Case":
        """Build a case from a parsed manifest line; raises ``ValueError`` saying what is wrong."""
        version = raw.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r}, this code reads {SCHEMA_VERSION}")
        try:
            needle = Needle(**raw["needle"])
            segments = [Segment(**s) for s in raw["segments"]]
            needles = [Needle(**n) for n in raw.get("needles", [])]
            body = {k: v for k, v in raw.items() if k not in ("needle", "segments", "needles")}
            case = cls(needle=needle, segments=segments, needles=needles, **body)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a manifest case ({exc})") from None
        case.validate()
        return case

    def validate(self) -> None:
        """Check the invariants every reader relies on; raises ``ValueError``.

        Types first: a hand-edited ``"num_frames": "10"`` must be one ``ValueError`` naming the
        case (readers turn it into one line), not a ``TypeError`` from the arithmetic below."""
        counts = [self.length, *(n for d in [self.needle, *self.needles] for n in (d.start_frame, d.num_frames)),
                  *(n for s in self.segments for n in (s.src_start_frame, s.num_frames))]
        if not all(isinstance(n, Integral) and not isinstance(n, bool) for n in counts):
            raise ValueError(f"case {self.case_id}: lengths, frame counts and starts must be whole numbers")
        if not all(isinstance(x, Real) and not isinstance(x, bool) for x in (self.depth, self.fps)) or not self.fps > 0:
            raise ValueError(f"case {self.case_id}: depth must be a number and fps a positive number")
        if self.family not in FAMILIES:
            raise ValueError(f"case {self.case_id}: family {self.family!r}, expected one of {', '.join(FAMILIES)}")
        roles = [s.role for s in self.segments]
        needles = self.all_needles
        if set(roles) <= {"haystack"}:
            raise ValueError(f"case {self.case_id}: no needle segment")
        if set(roles) - {"haystack", "needle"} or roles.count("needle") != len(needles):
            raise ValueError(f"case {self.case_id}: segment roles must be 'haystack' and one 'needle' per needle "
                             f"({len(needles)}), got {roles}")
        total = sum(s.num_frames for s in self.segments)
        if total != self.length:
            raise ValueError(f"case {self.case_id}: segments hold {total} frames, length is {self.length}")
        if any(s.num_frames <= 0 or s.src_start_frame < 0 for s in self.segments):
            raise ValueError(f"case {self.case_id}: a segment has a negative start or no frames")
        placed, start = [], 0
        for seg in self.segments:
            if seg.role == "needle":
                placed.append((seg.video_id, start, seg.num_frames))
            start += seg.num_frames
        if placed != [(n.video_id, n.start_frame, n.num_frames) for n in needles]:
            raise ValueError(f"case {self.case_id}: a needle segment disagrees with its needle")
        if self.needle not in needles:
            raise ValueError(f"case {self.case_id}: the question's needle is not one of the needles")
        if not 0.0 <= self.depth <= 1.0:
            raise ValueError(f"case {self.case_id}: depth {self.depth} outside [0, 1]")
