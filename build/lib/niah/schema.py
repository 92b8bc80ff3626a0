"""The manifest schema: the contract between the generator, the runner and the leaderboard.

A benchmark folder holds ``manifest.jsonl`` (one :class:`Case` per line) and
``dataset.json`` (build config, seed, source fingerprints, counts, schema version).
A case is never stored as a video: it is a list of :class:`Segment` s, each a run of
consecutive 1-FPS frames of one source video in the frame store, played in order.
Bump :data:`SCHEMA_VERSION` on any change a reader of an older manifest would misread.
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
    """One benchmark item: a haystack video with a needle clip and the needle's question.

    ``depth`` = needle start frame / (length - needle frames), in [0, 1].
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

    def to_json(self) -> str:
        """One canonical manifest line (sorted keys, no spaces) so equal cases give equal bytes."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

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
            body = {k: v for k, v in raw.items() if k not in ("needle", "segments")}
            case = cls(needle=needle, segments=segments, **body)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a manifest case ({exc})") from None
        case.validate()
        return case

    def validate(self) -> None:
        """Check the invariants every reader relies on; raises ``ValueError``.

        Types first: a hand-edited ``"num_frames": "10"`` must be one ``ValueError`` naming the
        case (readers turn it into one line), not a ``TypeError`` from the arithmetic below."""
        counts = [self.length, self.needle.start_frame, self.needle.num_frames,
                  *(n for s in self.segments for n in (s.src_start_frame, s.num_frames))]
        if not all(isinstance(n, Integral) and not isinstance(n, bool) for n in counts):
            raise ValueError(f"case {self.case_id}: lengths, frame counts and starts must be whole numbers")
        if not all(isinstance(x, Real) and not isinstance(x, bool) for x in (self.depth, self.fps)) or not self.fps > 0:
            raise ValueError(f"case {self.case_id}: depth must be a number and fps a positive number")
        roles = [s.role for s in self.segments]
        if set(roles) - {"haystack", "needle"} or roles.count("needle") > 1:
            raise ValueError(f"case {self.case_id}: segment roles must be 'haystack' and one 'needle', got {roles}")
        total = sum(s.num_frames for s in self.segments)
        if total != self.length:
            raise ValueError(f"case {self.case_id}: segments hold {total} frames, length is {self.length}")
        if any(s.num_frames <= 0 or s.src_start_frame < 0 for s in self.segments):
            raise ValueError(f"case {self.case_id}: a segment has a negative start or no frames")
        start = 0
        for seg in self.segments:
            if seg.role == "needle":
                if (seg.video_id, start, seg.num_frames) != (
                    self.needle.video_id, self.needle.start_frame, self.needle.num_frames
                ):
                    raise ValueError(f"case {self.case_id}: needle segment disagrees with needle")
                break
            start += seg.num_frames
        else:
            raise ValueError(f"case {self.case_id}: no needle segment")
        if not 0.0 <= self.depth <= 1.0:
            raise ValueError(f"case {self.case_id}: depth {self.depth} outside [0, 1]")
