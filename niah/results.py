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
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from functools import reduce
from operator import or_
from pathlib import Path
from typing import Any, Iterator

RESULTS_SCHEMA_VERSION = 2
RUN_INFO_NAME = "run.json"
RESULTS_GLOB = "results*.jsonl"
_NONE = type(None)


@dataclass(frozen=True)
class Field:
    """One field of a results line: the single declaration every reader and writer derives from.

    ``types`` are the JSON values accepted (``NoneType`` where null is; a boolean only where
    ``bool`` is listed, since ``True`` is also an ``int``); ``optional`` fields may be missing
    from a line (a version-1 line lacks them) and then read as their default, ``None``;
    ``arrow`` is the type pyarrow's JSON reader gives the field (the leaderboard's fast path);
    ``column`` says whether the results frame keeps it (the diagnostics are read from the
    lines by :mod:`niah.diagnostics`, so the frame only checks and drops them).
    """

    name: str
    types: tuple[type, ...]
    arrow: str
    optional: bool = False
    column: bool = True

    @property
    def nullable(self) -> bool:
        return _NONE in self.types


#: The results schema, in the order of the dataclass (required fields first).
FIELDS: tuple[Field, ...] = (
    Field("case_id", (str,), "string"),
    Field("model", (str,), "string"),
    Field("prediction", (str, _NONE), "string"),
    Field("raw_output", (str,), "string"),
    Field("correct", (bool,), "bool"),
    Field("length", (int,), "int64"),
    Field("depth", (int, float), "float64"),
    Field("task_type", (str,), "string"),
    Field("seconds", (int, float), "float64"),
    Field("error", (str, _NONE), "string", optional=True),
    Field("answer_rule", (str, _NONE), "string", optional=True),
    Field("prediction_strict", (str, _NONE), "string", optional=True),
    Field("view", (dict, _NONE), "struct", optional=True, column=False),
    Field("rotations", (list, _NONE), "list", optional=True, column=False),
    Field("input_cut", (int, _NONE), "int64", optional=True, column=False),
)


#: fields a line may lack (a version-1 line does); a reader fills them with ``None``
OPTIONAL_FIELDS = tuple(f.name for f in FIELDS if f.optional)


def _to_json(self: Any) -> str:
    return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _from_dict(cls: Any, raw: Any) -> Any:
    """Validate one parsed line against the class's field table; raises ``ValueError``
    saying which field is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    declared = {f.name: f for f in cls.schema}
    for f in declared.values():
        if f.name not in raw:
            if f.optional:
                continue
            raise ValueError(f"missing field {f.name!r}")
        value = raw[f.name]
        if isinstance(value, bool) and bool not in f.types:
            raise ValueError(f"field {f.name!r} has type bool")
        if not isinstance(value, f.types):
            raise ValueError(f"field {f.name!r} has type {type(value).__name__}")
    extra = set(raw) - set(declared)
    if extra:
        raise ValueError(f"unknown field(s) {sorted(extra)}")
    return cls(**raw)


_RESULT_DOC = """The outcome of one model on one case (fields: :data:`FIELDS`).

    ``prediction`` is the option letter under ``answer_rule`` (a reading of
    :data:`niah.answers.READINGS`; ``official`` in older lines), or ``None`` when the output gives none (counted as
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


def result_class(table: tuple[Field, ...]) -> type:
    """The frozen dataclass of a field table, so that a field is declared in one place;
    ``to_json`` writes a line, ``from_dict`` validates one, ``schema`` is the table."""
    spec = [(f.name, reduce(or_, f.types), field(default=None) if f.optional else field())
            for f in table]
    cls = make_dataclass("Result", spec, frozen=True,
                         namespace={"__doc__": _RESULT_DOC, "schema": table, "to_json": _to_json,
                                    "from_dict": classmethod(_from_dict)})
    cls.__module__ = __name__  # pickled by name (Ray sends results between processes)
    return cls


Result = result_class(FIELDS)


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
