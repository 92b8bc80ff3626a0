"""Validate an uploaded results JSONL file and save it as a run in the results folder.

The uploaded bytes are only ever decoded as UTF-8 text and parsed with ``json.loads``
(no pickle, no eval, nothing executed); each line must pass
:meth:`niah.results.Result.from_dict` and agree with the opened benchmark's manifest.
A file with any problem is refused as a whole, with one line per kind of problem (how many
lines have it and the first). What is saved is re-serialised from the validated
:class:`Result` objects, never the uploaded bytes, into the uploads folder (by default
``<results>/uploads/<sanitized run name>/``, never among the project's runs), within a
cap on how many uploads and how many bytes it holds; ``run.json`` (written last, so a
half-saved upload is never listed) records that the run was uploaded.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from niah import atomic, run_reading
from niah.results import RUN_INFO_NAME, Result

#: The upload limit in the upload widget's megabytes: its browser side counts 1 MB as 10**6
#: bytes (2**20 only in a Windows browser), so a 19.3 MiB file is over 20 of them. The page
#: text, the widget's ``max_upload_size``, ``server.maxUploadSize`` and the check here all use
#: it, and the check's bytes are the smaller reading: whatever the browser passes, the page
#: accepts, and the page says the cap as the widget counts it.
MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 10**6
#: File name extensions accepted (checked by name, not by the browser's MIME type guess).
EXTENSIONS = (".jsonl", ".json", ".txt")
#: At most this many problems are kept line by line (the summary counts them all).
MAX_PROBLEMS = 50
#: Caps on the uploads folder: how many uploaded runs, and their total size.
MAX_UPLOADS = 50
MAX_UPLOADS_TOTAL_MB = 500
RESULTS_FILE = "results.jsonl"
_LETTER = re.compile(r"^[A-Z]$")


@dataclass
class UploadCheck:
    """The outcome of :func:`validate_upload`: ``ok`` only when ``problems`` is empty."""

    results: list[Result] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    truncated: int = 0  # problems not listed beyond MAX_PROBLEMS
    kinds: dict[str, list] = field(default_factory=dict)  # kind -> [count, first line, first message]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.results)

    @property
    def model(self) -> str | None:
        return self.results[0].model if self.results else None

    def add(self, message: str, line: int | None = None, kind: str | None = None) -> None:
        """One problem; ``kind`` groups it with the same problem on other lines (default:
        the message itself)."""
        if len(message) > 300:  # problems quote uploaded values; keep each one readable
            message = message[:300] + "…"
        kind = kind or message
        entry = self.kinds.setdefault(kind, [0, line, message])
        entry[0] += 1
        full = f"line {line}: {message}" if line is not None else message
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(full)
        else:
            self.truncated += 1

    def summary(self) -> str:
        """One line per kind of problem: how many lines have it, and the first."""
        out = []
        for kind, (count, line, message) in self.kinds.items():
            if line is None:
                out.append(message)
            elif count == 1:
                out.append(f"line {line}: {message}")
            else:
                first = "" if message == kind else f": {message}"
                out.append(f"{kind}: {count} lines (first: line {line}{first})")
        return "\n".join(out)


def check_extension(filename: str) -> str | None:
    """``None`` if the name ends in one of :data:`EXTENSIONS`, else why not (naming the
    extension: browsers guess MIME types differently, so a MIME type would confuse)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix in EXTENSIONS:
        return None
    shown = f"extension {suffix!r}" if suffix else "no extension"
    return f"the file has {shown}; accepted: {', '.join(EXTENSIONS)}"


def results_frame(check: UploadCheck) -> pd.DataFrame:
    """The validated results as a frame (the columns of :class:`niah.results.Result`), so an
    upload's answers can be compared with the runs already listed."""
    return pd.DataFrame([r.__dict__ for r in check.results])


def _size(n: int) -> str:
    """Bytes as the upload widget counts them (1 MB = 10**6 bytes)."""
    return f"{n / 10**6:g} MB" if n >= 10**6 else f"{n:,} bytes"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def validate_upload(data: bytes, manifest_cases: pd.DataFrame | None, *,
                    max_bytes: int = MAX_UPLOAD_BYTES) -> UploadCheck:
    """Check an uploaded JSONL file line by line.

    ``manifest_cases`` is the benchmark's case frame (``case_id``, ``length``, ``depth``,
    ``task_type``, ``answer``, ``options``); ``None`` refuses the upload, because results
    cannot be checked against nothing.
    """
    check = UploadCheck()
    if len(data) > max_bytes:
        check.add(f"file is {len(data):,} bytes, over the {_size(max_bytes)} limit ({max_bytes:,} bytes); "
                  "nothing was read")
        return check
    if manifest_cases is None:
        check.add("no benchmark manifest is open, so the results cannot be validated; "
                  "start the leaderboard with --data pointing at the benchmark")
        return check
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        check.add(f"line {line}: not UTF-8 text (byte {exc.start}: {exc.reason})")
        return check
    if text.startswith("\ufeff"):
        text = text[1:]
    if text.lstrip().startswith("["):
        check.add("the file is a JSON array; expected JSON Lines: one JSON object per line, no enclosing "
                  "brackets (see the example line above)")
        return check
    manifest = {row["case_id"]: row for row in manifest_cases.to_dict("records")}
    seen: dict[str, int] = {}
    models: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            check.add(f"not valid JSON ({exc.msg} at column {exc.colno})", number, "not valid JSON")
            continue
        except ValueError as exc:
            check.add(str(exc), number)
            continue
        try:
            result = Result.from_dict(raw)
        except (ValueError, TypeError) as exc:
            check.add(str(exc), number)
            continue
        problem = _check_against_manifest(result, manifest)
        if problem:
            kind, detail = problem
            check.add(f"case {result.case_id!r}: {detail}", number, kind)
            continue
        if result.case_id in seen:
            check.add(f"duplicate case_id {result.case_id!r} (first on line {seen[result.case_id]})", number,
                      "duplicate case_id")
            continue
        seen[result.case_id] = number
        models.setdefault(result.model, number)
        check.results.append(result)
    if len(models) > 1:
        names = ", ".join(f"{m!r} (line {n})" for m, n in models.items())
        check.add(f"one upload is one run of one model, but the file names several models: {names}")
    if not check.results and not check.problems:
        check.add("the file holds no results (it is empty)")
    return check


def _check_against_manifest(result: Result, manifest: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """``(kind, detail)`` of the first disagreement with the manifest, or ``None``."""
    case = manifest.get(result.case_id)
    if case is None:
        return "unknown case id", "unknown case id (not in the benchmark manifest)"
    if result.length != int(case["length"]):
        return "length differs from the manifest", f"length {result.length}, but the manifest says {int(case['length'])}"
    if abs(float(result.depth) - float(case["depth"])) > 1e-6:
        return "depth differs from the manifest", f"depth {result.depth}, but the manifest says {float(case['depth'])}"
    if result.task_type != case["task_type"]:
        return ("task_type differs from the manifest",
                f"task_type {result.task_type!r}, but the manifest says {case['task_type']!r}")
    if not 0 <= result.seconds < 1e7:
        return "seconds out of range", f"seconds {result.seconds} out of range"
    if result.prediction is not None:
        letters = {str(o).split(".", 1)[0].strip() for o in case["options"]} if len(case["options"]) else set()
        if not _LETTER.match(result.prediction) or (letters and result.prediction not in letters):
            return "prediction is not an option letter", f"prediction {result.prediction!r} is not an option letter"
    rotations_ok = run_reading.rotations_right([run_reading.rotation_records(result.rotations)],
                                               [tuple(case["options"])], [result.answer_rule],
                                               run_reading.stored_rule(result.answer_rule), [case["answer"]])
    expected = run_reading.is_correct(result.error, result.prediction, case["answer"], bool(rotations_ok[0]))
    if result.correct != expected:
        return ("correct disagrees with prediction and gold",
                f"correct is {result.correct}, but prediction {result.prediction!r} against gold "
                f"{case['answer']!r} scores {expected}" + ("" if rotations_ok[0] else " (not every rotation is right)"))
    return None


def example_line(manifest_cases: pd.DataFrame | None) -> str:
    """One valid results line for the first case of the manifest (the Upload tab shows it)."""
    case = manifest_cases.iloc[0] if manifest_cases is not None and len(manifest_cases) else None
    result = Result(case_id=str(case["case_id"]) if case is not None else "L2000-0000", model="my-model",
                    prediction="A", raw_output="The answer is A.",
                    correct=case is not None and case["answer"] == "A",
                    length=int(case["length"]) if case is not None else 2000,
                    depth=float(case["depth"]) if case is not None else 0.5,
                    task_type=str(case["task_type"]) if case is not None else "Action Recognition", seconds=1.5)
    return result.to_json()


class UploadsFull(Exception):
    """The uploads folder is at its cap; the message is the one line the page shows."""


def uploads_usage(uploads_root: str | Path) -> tuple[int, int]:
    """``(uploaded runs, bytes)`` in the uploads folder."""
    root = Path(uploads_root)
    if not root.is_dir():
        return 0, 0
    runs = [p for p in root.iterdir() if p.is_dir()]
    return len(runs), sum(f.stat().st_size for run in runs for f in run.rglob("*") if f.is_file())


def sanitize_run_name(name: str, max_len: int = 64) -> str:
    """A safe folder name: ASCII letters, digits, ``.``, ``_``, ``-`` only; no leading dot
    or dash; never empty, ``.`` or ``..``. Anything else (slashes, ``..``, spaces,
    control characters, non-ASCII) becomes ``-``."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"[-.]*-[-.]*", "-", text).strip(".-_")[:max_len].strip(".-_")
    return text or "upload"


def default_run_name(filename: str, model: str | None) -> str:
    stem = Path(filename or "").name
    for suffix in (".jsonl", ".json", ".txt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return sanitize_run_name(f"upload-{model or stem}")


def save_upload(check: UploadCheck, uploads_root: str | Path, run_name: str, *, filename: str,
                manifest_fingerprint: str | None, cases_total: int | None,
                settings: dict[str, Any] | None = None, max_uploads: int = MAX_UPLOADS,
                max_total_bytes: int = MAX_UPLOADS_TOTAL_MB * 2**20) -> Path:
    """Write a validated upload as a new run folder in the uploads folder and return it.

    The folder name is :func:`sanitize_run_name` of ``run_name``, suffixed ``-2``, ``-3``…
    if taken; the resolved folder is checked to sit directly inside ``uploads_root``.
    Raises :class:`UploadsFull` (nothing written) when the folder holds ``max_uploads``
    runs or this upload would take it past ``max_total_bytes``.
    """
    if not check.ok:
        raise ValueError("refusing to save an upload that did not validate")
    body = "".join(r.to_json() + "\n" for r in check.results)
    count, used = uploads_usage(uploads_root)
    if count >= max_uploads or used + len(body.encode("utf-8")) > max_total_bytes:
        raise UploadsFull(f"the uploads folder is full ({count} of {max_uploads} uploads, "
                          f"{used / 2**20:.1f} of {max_total_bytes / 2**20:g} MB); nothing was saved")
    root = Path(uploads_root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    base = sanitize_run_name(run_name)
    name, n = base, 1
    while (root / name).exists():
        n += 1
        name = f"{base}-{n}"
    run_dir = (root / name).resolve()
    if run_dir.parent != root:  # cannot happen after sanitizing; belt and braces
        raise ValueError(f"run name {run_name!r} escapes the results folder")
    run_dir.mkdir()
    atomic.write_text(run_dir / RESULTS_FILE, body)
    info = {
        "run_id": name, "model": check.model, "uploaded": True,
        "uploaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "uploaded_filename": sanitize_run_name(Path(filename or "").name, 128),
        "settings": {k: v for k, v in (settings or {}).items() if v not in (None, "")},
        "manifest_fingerprint": manifest_fingerprint, "cases_total": cases_total,
    }
    atomic.write_json(run_dir / RUN_INFO_NAME, info)
    return run_dir
