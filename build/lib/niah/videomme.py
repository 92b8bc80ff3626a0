"""Read a Video-MME release as downloaded, or anything laid out like it (the demo source).

Written for the current layout of the ``lmms-lab/Video-MME`` card on the Hugging Face hub
(:data:`RELEASE_LAYOUT`; described from the card's file list, as no commit of it could be
fetched from here to pin): ``<root>/videomme/test-00000-of-00001.parquet`` (2,700
rows, one per question; ``options`` a list of strings already prefixed ``"A. "``), and the
videos in ``videos_chunked_01.zip`` ... ``videos_chunked_20.zip``, which unpack to
``data/<videoID>.mp4``. ``root`` may hold the zips **unextracted** (their members are read in
place, :mod:`niah.zipmember`), extracted (``data/`` or anywhere below ``root``, as users
unzip chunks into other folders), or a mix. Like lmms-eval, a video may also be spelled
``.MP4`` or ``.mkv``. An older revision of the card (columns ``language``, ``Subtitle``; 2,541
rows) is refused with one line. Only the parquet is validated here; whether each video
decodes is decided when it is ingested into the frame store.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from niah.errors import InputError
from niah.zipmember import ZipMember, video_members

RELEASE_LAYOUT = ("the current lmms-lab/Video-MME card: videomme/test-00000-of-00001.parquet "
                  "(2,700 rows) and videos_chunked_NN.zip of data/<videoID>.mp4")
#: Columns only older revisions of the card have.
OLD_LAYOUT_COLUMNS = ("language", "Subtitle")
#: Video file spellings, in lmms-eval's order of preference.
VIDEO_SUFFIXES = (".mp4", ".MP4", ".mkv")
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
    """A parsed release: its questions, where each video is (a file, or a member of an
    unextracted zip), and fingerprints."""

    root: Path
    questions: list[QA]
    video_paths: dict[str, Path | ZipMember]
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
    old = [c for c in OLD_LAYOUT_COLUMNS if c in table.column_names]
    if old:
        raise InputError(path, f"an older revision of the Video-MME card (column(s) {', '.join(old)}); "
                               f"this reader follows {RELEASE_LAYOUT}: download the current parquet")
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
    unprefixed = [o for letter, o in zip(LETTERS, options) if not o.startswith(f"{letter}.")]
    if unprefixed:
        raise InputError(path, f"row {number}: options must be prefixed with their letter as published "
                               f"(\"A. ...\", \"B. ...\"), got {unprefixed[0]!r}")
    answer = text("answer").strip()
    if answer not in LETTERS[: len(options)]:
        raise InputError(path, f"row {number}: answer {answer!r} is not one of the option letters")
    return QA(video=text("videoID"), video_id=str(row["video_id"]), duration=text("duration"),
              domain=text("domain"), sub_category=text("sub_category"), question_id=text("question_id"),
              task_type=text("task_type"), question=text("question"), options=tuple(options), answer=answer)


def _find_videos(root: Path) -> dict[str, Path | ZipMember]:
    """Map each video stem to its file: extracted files before zip members, ``data/`` before
    other folders, then ``.mp4`` before ``.MP4`` before ``.mkv`` (lmms-eval's order)."""
    files: list[Path] = []
    archives: list[Path] = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if name.endswith(VIDEO_SUFFIXES):
                files.append(path)
            elif name.endswith(".zip"):
                archives.append(path)
    found: dict[str, tuple[tuple[int, int, int, str], Path | ZipMember]] = {}

    def offer(stem: str, rank: tuple[int, int, int, str], where: Path | ZipMember) -> None:
        if stem not in found or rank < found[stem][0]:
            found[stem] = (rank, where)

    for path in files:
        offer(path.stem, (0, path.parent != root / "data", VIDEO_SUFFIXES.index(path.suffix), str(path)), path)
    for archive in sorted(archives):
        try:
            members = video_members(archive.resolve(), VIDEO_SUFFIXES)
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(archive, f"not a readable zip archive ({exc})") from None
        for member in members:
            suffix = Path(member.name).suffix
            offer(member.stem, (1, not member.name.startswith("data/"), VIDEO_SUFFIXES.index(suffix),
                                str(member)), member)
    return {stem: where for stem, (_rank, where) in sorted(found.items())}
