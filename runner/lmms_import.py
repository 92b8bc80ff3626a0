"""Turn lmms-eval's logged samples of the exported task into a run of this project
(``python -m runner import-lmms-eval``).

    import_run("lmms_out/", Benchmark.open("data/niah"), "results/")

lmms-eval (``--log_samples``) writes, per invocation, ``<stamp>_results.json`` (its model,
model args, version and each task's config) and ``<stamp>_samples_<task>.jsonl`` (one line per
case: the model's text and what the task's ``process_results`` returned). The exported task's
``process_results`` (:mod:`generator.lmms_task_utils`) records each case's id and the SHA-256 of
the manifest it was exported from, so the import

* refuses samples of another benchmark (another manifest) or of another task, in one line;
* keeps the model's raw text (``resps``: before lmms-eval strips reasoning tags; else
  ``filtered_resps``), so every answer reading of this project applies to it, as to a run of
  its own; the prediction stored is the default reading's, like ``runner score``'s;
* records lmms-eval's model, model args, backend, version and task configs in ``run.json``
  (``settings``, so two lmms-eval runs of other settings get other run ids), with protocol
  ``lmms-eval`` and the files it came from (``imported_from``, with their SHA-256).

lmms-eval logs no time per case: ``seconds`` is its evaluation time spread evenly over the cases.
Importing the same files again writes the same run (same id, same bytes).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from niah import atomic
from niah.answers import DEFAULT_RULE, SECOND_RULE, extract
from niah.cases import Benchmark
from niah.errors import InputError
from niah.results import Result
from runner.score import _schema_versions, make_run_id, open_run_dir

HARNESS = "lmms-eval"
PROTOCOL = "lmms-eval"
#: the exported task's per-case record (``generator.lmms_task_utils.RECORD_METRIC``)
RECORD_METRIC = "acc_lmms_eval"
TASK_PREFIX = "video_niah"
_SAMPLES = re.compile(r"^(?P<stamp>.+)_samples_(?P<task>" + TASK_PREFIX + r"(?:_[A-Za-z0-9]+)?)\.jsonl$")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def find_files(path: str | Path) -> tuple[list[Path], Path | None]:
    """``(samples files, results.json or None)`` of one lmms-eval invocation.

    ``path`` is an ``--output_path`` folder (searched below; it must hold one invocation's
    Video NIAH samples), a ``*_results.json`` or one ``*_samples_video_niah_*.jsonl``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_file():
        if path.name.endswith("_results.json"):
            stamp, folder = path.name[: -len("_results.json")], path.parent
            samples = sorted(p for p in folder.glob(f"{stamp}_samples_*.jsonl") if _SAMPLES.match(p.name))
            if not samples:
                raise InputError(path, f"no {stamp}_samples_{TASK_PREFIX}_*.jsonl beside it (run lmms-eval with "
                                       "--log_samples)")
            return samples, path
        match = _SAMPLES.match(path.name)
        if not match:
            raise InputError(path, f"not lmms-eval samples of the Video NIAH task (<stamp>_samples_{TASK_PREFIX}"
                                   "_<length>.jsonl) nor a <stamp>_results.json")
        results = path.with_name(f"{match['stamp']}_results.json")
        return [path], results if results.is_file() else None
    samples = sorted(p for p in path.rglob("*.jsonl") if _SAMPLES.match(p.name))
    if not samples:
        raise InputError(path, f"no lmms-eval samples of the Video NIAH task below it (*_samples_{TASK_PREFIX}"
                               "_*.jsonl: run lmms-eval with --log_samples)")
    runs = sorted({(p.parent, _SAMPLES.match(p.name)["stamp"]) for p in samples})
    if len(runs) > 1:
        raise InputError(path, f"holds {len(runs)} lmms-eval runs ({', '.join(f'{d.name}/{s}' for d, s in runs[:3])}"
                               f"{' ...' if len(runs) > 3 else ''}); name one run's *_results.json")
    folder, stamp = runs[0]
    results = folder / f"{stamp}_results.json"
    return samples, results if results.is_file() else None


def _clean(value: Any) -> Any:
    """A task config as the run id may hash it: lmms-eval writes functions as their repr, with
    a memory address that changes every run."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return _ADDRESS.sub("", value)
    return value


def _model_path(model_args: str) -> str | None:
    """``pretrained=...`` of lmms-eval's comma-separated ``--model_args``."""
    for part in model_args.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "pretrained":
            return value.strip()
    return None


def _raw_text(sample: dict[str, Any]) -> str:
    """The model's own text: ``resps`` (kept by lmms-eval only when it differs from what it
    scored: reasoning tags stripped) else ``filtered_resps``; one response per case."""
    value = sample.get("resps", sample.get("filtered_resps"))
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise ValueError(f"response is {type(value).__name__}, not one text")
    return value


def _records(files: list[Path], bench: Benchmark) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{case_id: (raw text, record)}`` from the samples files, every line checked."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    sample = json.loads(line)
                    record = sample[RECORD_METRIC]
                    case_id, manifest = record["case_id"], record["manifest_sha256"]
                    raw = _raw_text(sample)
                except (ValueError, KeyError, TypeError) as exc:
                    raise InputError(where, f"not a Video NIAH sample ({type(exc).__name__}: {exc}); samples of the "
                                            "task written by `python -m generator lmms-eval-task` are read") from None
                if manifest != bench.fingerprint:
                    raise InputError(where, f"samples of another benchmark: manifest sha256 {str(manifest)[:12]}..., "
                                            f"--data {bench.root} has {bench.fingerprint[:12]}...")
                bench.case(case_id)  # a case id the manifest lacks -> InputError
                if case_id in out:
                    raise InputError(where, f"case {case_id} appears twice (two runs' samples mixed?)")
                out[case_id] = (raw, record)
    return out


def _run_settings(info: dict[str, Any], records: dict[str, tuple[str, dict[str, Any]]],
                  tasks: list[str]) -> dict[str, Any]:
    config = info.get("config") or {}
    versions = sorted({str(r.get("lmms_eval_version")) for _, r in records.values()})
    return _clean({
        "harness": HARNESS, "protocol": PROTOCOL,
        "lmms_eval_version": versions[0] if len(versions) == 1 else versions,
        "lmms_eval_model": config.get("model"), "model_args": config.get("model_args"),
        "model_backend": config.get("model_backend"), "gen_kwargs": config.get("gen_kwargs"),
        "limit": config.get("limit"), "batch_size": config.get("batch_size"),
        "system_instruction": info.get("system_instruction"), "chat_template": info.get("chat_template"),
        "tasks": {name: (info.get("configs") or {}).get(name) for name in tasks},
        "reading_in_lmms_eval": sorted({str(r.get("reading")) for _, r in records.values()}),
    })


def import_run(path: str | Path, bench: Benchmark, out_root: str | Path, run_name: str | None = None) -> tuple[Path, int]:
    """Write the run; returns ``(run folder, cases imported)``."""
    files, results_json = find_files(path)
    info: dict[str, Any] = {}
    if results_json is not None:
        try:
            info = json.loads(results_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(results_json, f"unreadable ({exc})") from None
        if not isinstance(info, dict):
            raise InputError(results_json, "not a JSON object")
    records = _records(files, bench)
    if not records:
        raise InputError(files[0], "no samples in it")
    tasks = sorted(_SAMPLES.match(p.name)["task"] for p in files)
    settings = _run_settings(info, records, tasks)
    model = f"{HARNESS}:{settings['lmms_eval_model'] or 'unknown'}"
    identity = {"model": model, "model_path": _model_path(settings.get("model_args") or ""), "revision": None,
                "settings": settings, "options": {}, "manifest_fingerprint": bench.fingerprint,
                "schema_versions": _schema_versions()}
    identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
    run_id = run_name or make_run_id(identity)
    sources = {str(p.resolve()): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in [*files, *([results_json] if results_json else [])]}
    extra = {"imported_from": sources, "harness": f"{HARNESS} {settings['lmms_eval_version']}",
             "lmms_eval_date": info.get("date"),
             "seconds_note": "lmms-eval logs no per-case time: its evaluation time over the cases"}
    run_dir = open_run_dir(out_root, run_id, identity, len(bench.cases), extra)
    seconds = round(float(info.get("total_evaluation_time_seconds") or 0.0) / len(records), 3)
    lines = []
    for case in bench.cases:  # manifest order: the same files give the same bytes
        if case.case_id not in records:
            continue
        raw, _ = records[case.case_id]
        prediction = extract(DEFAULT_RULE, raw, case.options)
        result = Result(case_id=case.case_id, model=model, prediction=prediction, raw_output=raw,
                        correct=prediction == case.answer, length=case.length, depth=case.depth,
                        task_type=case.task_type, seconds=seconds, answer_rule=DEFAULT_RULE,
                        prediction_strict=extract(SECOND_RULE, raw, case.options))
        lines.append(result.to_json() + "\n")
    atomic.write_text(run_dir / "results.jsonl", "".join(lines))
    return run_dir, len(lines)
