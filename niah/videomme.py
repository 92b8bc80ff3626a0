"""Read a Video-MME release as published, or anything laid out like it (the demo source).

Layout: ``<root>/videomme/test-*.parquet`` with one row per question, and videos as
``<root>/data/<videoID>.mp4`` (also found anywhere below ``root``, as users often unzip
the release's chunks into other folders). Only the parquet is validated here; whether
each video decodes is decided when it is ingested into the frame store.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from niah.errors import InputError

COLUMNS = ("video_id", "duration", "domain", "sub_category", "url", "videoID",
           "question_id", "task_type", "question", "options", "answer")
PARQUET_GLOB = "videomme/test-*.parquet"
LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class QA:
    """One Video-MME question about one video (``video`` is the file stem, ``videoID``)."""

    video: str
    video_id: str
    duration: str
    domain: str
    sub_category: str
    question_id: str
    task_type: str
    question: str
    options: tuple[str, ...]
    answer: str


@dataclass
class Source:
    """A parsed release: its questions, where each video file is, and fingerprints."""

    root: Path
    questions: list[QA]
    video_paths: dict[str, Path]
    parquet_sha256: dict[str, str] = field(default_factory=dict)

    def durations(self) -> dict[str, str]:
        """Video-MME's duration class ("short", "medium", "long") of every video."""
        return {qa.video: qa.duration for qa in self.questions}


def read_source(root: str | Path) -> Source:
    """Parse the parquet files under ``root`` and locate the videos.

    Raises :class:`InputError` naming the file for a missing, empty or malformed parquet
    (missing columns, duplicated question ids, an answer that is not an option letter).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "source folder does not exist")
    parquets = sorted(root.glob(PARQUET_GLOB))
    if not parquets:
        raise InputError(root, f"no {PARQUET_GLOB} found (is this a Video-MME release?)")
    questions: list[QA] = []
    seen: set[str] = set()
    digests: dict[str, str] = {}
    for path in parquets:
        table = _read_table(path)
        digests[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        for row_number, row in enumerate(table.to_pylist(), 1):
            qa = _parse_row(path, row_number, row)
            if qa.question_id in seen:
                raise InputError(path, f"row {row_number}: duplicated question_id {qa.question_id!r}")
            seen.add(qa.question_id)
            questions.append(qa)
    return Source(root, questions, _find_videos(root), digests)


def _read_table(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(path, f"not a readable parquet file ({str(exc).splitlines()[0]})") from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    if table.num_rows == 0:
        raise InputError(path, "parquet has no rows")
    return table


def _parse_row(path: Path, number: int, row: dict) -> QA:
    def text(name: str) -> str:
        value = row[name]
        if not isinstance(value, str) or (not value and name in ("videoID", "question_id", "question")):
            raise InputError(path, f"row {number}: {name} must be a non-empty string, got {value!r}")
        return value

    options = row["options"]
    if not isinstance(options, (list, tuple)) or len(options) < 2 or not all(isinstance(o, str) for o in options):
        raise InputError(path, f"row {number}: options must be a list of at least two strings")
    answer = text("answer").strip()
    if answer not in LETTERS[: len(options)]:
        raise InputError(path, f"row {number}: answer {answer!r} is not one of the option letters")
    return QA(video=text("videoID"), video_id=str(row["video_id"]), duration=text("duration"),
              domain=text("domain"), sub_category=text("sub_category"), question_id=text("question_id"),
              task_type=text("task_type"), question=text("question"), options=tuple(options), answer=answer)


def _find_videos(root: Path) -> dict[str, Path]:
    """Map each video stem to its file, preferring ``data/`` over copies elsewhere."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.mp4")):
        if path.stem not in found or path.parent == root / "data":
            found[path.stem] = path
    return found
