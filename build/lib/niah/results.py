"""Scored results: the contract between the runner (writes) and the leaderboard (reads).

A results folder (``--out``, default ``results/``) holds one sub-folder per run::

    results/<run_id>/run.json                  model, path, revision, settings, code version,
                                               manifest fingerprint: what makes results comparable
    results/<run_id>/results[-shardIofN].jsonl one :class:`Result` per line, appended and flushed per case

``run_id`` is chosen by the runner from the model name and a hash of its settings, so runs
with different settings never share a folder. Shards write separate files (no two
processes append to one file); readers merge them by ``case_id``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterator

RESULTS_SCHEMA_VERSION = 2
#: fields a version-1 line lacks; a reader fills them with ``None`` ("not recorded")
OPTIONAL_FIELDS = ("error", "answer_rule", "prediction_strict", "view", "rotations", "input_cut")
RUN_INFO_NAME = "run.json"
RESULTS_GLOB = "results*.jsonl"


@dataclass(frozen=True)
class Result:
    """The outcome of one model on one case.

    ``prediction`` is the option letter under ``answer_rule`` (``"official"``: Video-MME's
    extraction, :mod:`niah.answers`), or ``None`` when the output gives none (counted as
    wrong, and separately as unparsed); ``prediction_strict`` is the project's stricter
    parser's reading of the same output. A version-1 line has no ``answer_rule``: its
    ``prediction`` is the strict parser's. ``error`` is set when the case failed to run at
    all (decode error, out of memory), which also counts as wrong.

    Diagnostics (``None`` = not recorded): ``view`` is what the model looked at
    (``{"full_frames": [case-frame indices given full tokens], ...}``, model-specific keys
    beside it); ``rotations`` the per-rotation outputs of a circular run
    (``[{"raw_output", "prediction", "prediction_strict"}]``, rotation 0 first);
    ``input_cut`` the number of LLM input tokens cut at the model's maximum length.
    """

    case_id: str
    model: str
    prediction: str | None
    raw_output: str
    correct: bool
    length: int
    depth: float
    task_type: str
    seconds: float
    error: str | None = None
    answer_rule: str | None = None
    prediction_strict: str | None = None
    view: dict[str, Any] | None = None
    rotations: list[dict[str, Any]] | None = None
    input_cut: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: Any) -> "Result":
        """Validate one parsed line; raises ``ValueError`` saying which field is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        types: dict[str, tuple[type, ...]] = {
            "case_id": (str,), "model": (str,), "prediction": (str, type(None)),
            "raw_output": (str,), "correct": (bool,), "length": (int,),
            "depth": (int, float), "task_type": (str,), "seconds": (int, float),
            "error": (str, type(None)), "answer_rule": (str, type(None)),
            "prediction_strict": (str, type(None)), "view": (dict, type(None)),
            "rotations": (list, type(None)), "input_cut": (int, type(None)),
        }
        for f in fields(cls):
            if f.name not in raw:
                if f.name in OPTIONAL_FIELDS:
                    continue
                raise ValueError(f"missing field {f.name!r}")
            value = raw[f.name]
            if isinstance(value, bool) and f.name != "correct":
                raise ValueError(f"field {f.name!r} has type bool")
            if not isinstance(value, types[f.name]):
                raise ValueError(f"field {f.name!r} has type {type(value).__name__}")
        extra = set(raw) - {f.name for f in fields(cls)}
        if extra:
            raise ValueError(f"unknown field(s) {sorted(extra)}")
        return cls(**raw)


def iter_result_lines(path: Path) -> Iterator[tuple[int, Result | None, str | None]]:
    """Yield ``(line_number, result, problem)`` for each non-empty line of one JSONL file.

    A torn last line (a run killed mid-write) or any malformed line comes back as a
    problem instead of raising, so one bad line never hides the good ones.
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, Result.from_dict(json.loads(line)), None
            except (json.JSONDecodeError, ValueError, TypeError) as exc:
                yield number, None, str(exc)


def read_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Result], list[str]]:
    """Read one run folder: ``(run_info, results by case_id, problems)``.

    Shard files are merged by ``case_id``; a case id seen twice keeps the first line and
    the duplicate is reported as a problem.
    """
    run_dir = Path(run_dir)
    info_path = run_dir / RUN_INFO_NAME
    info: dict[str, Any] = json.loads(info_path.read_text()) if info_path.exists() else {}
    results: dict[str, Result] = {}
    problems: list[str] = []
    for path in sorted(run_dir.glob(RESULTS_GLOB)):
        for number, result, problem in iter_result_lines(path):
            if result is None:
                problems.append(f"{path}:{number}: {problem}")
            elif result.case_id in results:
                problems.append(f"{path}:{number}: duplicate case_id {result.case_id}")
            else:
                results[result.case_id] = result
    return info, results, problems


def list_runs(results_root: str | Path) -> list[Path]:
    """Run folders under a results root (those with a ``run.json``), sorted by name."""
    root = Path(results_root)
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.glob(f"*/{RUN_INFO_NAME}"))
