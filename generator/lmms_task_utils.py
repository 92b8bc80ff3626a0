"""The ``utils.py`` of an exported lmms-eval task (``python -m generator lmms-eval-task``).

This file is copied verbatim into the task folder; lmms-eval loads it through the YAML's
``!function utils.<name>`` tags. It imports nothing from this project, so the task also runs
from an lmms-eval installed in its own environment: what it needs of the benchmark comes from
``video_niah.json`` beside it (written by the export), and the one thing that needs the
project's code, writing a case as an MP4, runs ``python -m generator export`` with the
interpreter and checkout that exported the task. The MP4 is therefore ``generator export``'s
own bytes, whichever Python runs lmms-eval.

* docs: the benchmark's ``manifest.jsonl`` itself, read by ``datasets``' local ``json`` loader
  (``dataset_path: json`` in the YAML: no hub, no network); ``docs_<length>`` keeps one length.
* ``doc_to_visual``: the case's MP4 path, exported on first use into a cache bounded by
  ``cache_bytes``; least recently used files are evicted past the bound (never the one in use).
* ``doc_to_text``: lmms-eval's own Video-MME prompt (``videomme_doc_to_text``), model-specific
  prompts included, so the text equals what ``--tasks videomme`` gives the same model.
* ``process_results``: the answer read by lmms-eval's Video-MME reader (``extract_mcq_answer``,
  the ``lmms-eval`` reading), one record per case that ``python -m runner import-lmms-eval``
  reads back (case id, manifest SHA-256, lmms-eval version); aggregations give accuracy over
  the task's cases and per depth decile.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

CONFIG_NAME = "video_niah.json"
#: the reading process_results applies; the import keeps the raw output, so every reading applies later
READING = "lmms-eval"
RECORD_METRIC = "acc_lmms_eval"
DECILES = 10


def config() -> dict[str, Any]:
    """The export's settings (``video_niah.json`` beside this file)."""
    return json.loads((Path(__file__).resolve().parent / CONFIG_NAME).read_text(encoding="utf-8"))


# ----- docs -----------------------------------------------------------------------------
def docs_of_length(dataset: Any, length: int) -> Any:
    """The manifest's cases of one length (a per-length task's ``process_docs``)."""
    return dataset.filter(lambda doc: doc["length"] == length)


def __getattr__(name: str) -> Any:
    """The YAML's per-length and per-decile functions without writing each into this file:
    ``docs_<length>`` (a per-length task's ``process_docs``) and ``accuracy_d<decile>`` (a depth
    decile's aggregation); lmms-eval resolves ``!function utils.docs_2000`` with ``getattr``."""
    for prefix, function, key in (("docs_", docs_of_length, "length"), ("accuracy_d", accuracy_in_decile, "decile")):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return partial(function, **{key: int(name[len(prefix):])})
    raise AttributeError(name)


# ----- the video ------------------------------------------------------------------------
def _cache_dir(cfg: dict[str, Any]) -> Path:
    return Path(os.environ.get("VIDEO_NIAH_MP4_CACHE") or cfg["cache_dir"])


def _evict(folder: Path, limit: int, keep: Path) -> None:
    """Delete least recently used MP4s (oldest mtime first) until the folder holds ``limit``
    bytes or less; ``keep`` (the file being handed to the model) is never deleted."""
    files = []
    for path in folder.glob("*.mp4"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # evicted by another process meanwhile
            continue
        files.append((stat.st_mtime, path.name, stat.st_size, path))
    total = sum(size for _, _, size, _ in files)
    for _, _, size, path in sorted(files):
        if total <= limit:
            break
        if path == keep:
            continue
        path.unlink(missing_ok=True)
        total -= size


def export_case(case_id: str, cfg: dict[str, Any], out: Path) -> None:
    """``python -m generator export`` of one case, with the exporting checkout's interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (cfg["project_root"], env.get("PYTHONPATH")) if p)
    proc = subprocess.run([cfg["python"], "-m", "generator", "export", "--data", cfg["data"], "--case", case_id,
                           "-o", str(out)], cwd=cfg["project_root"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"generator export of {case_id} failed: {proc.stderr.strip()[-500:]}")


def doc_to_visual(doc: dict[str, Any]) -> list[str]:
    """The case as an MP4 (``generator export``'s bytes), exported on first use."""
    cfg = config()
    folder = _cache_dir(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc['case_id']}.mp4"
    if path.exists():
        os.utime(path)  # used now: last to be evicted
    else:
        export_case(doc["case_id"], cfg, path)
    _evict(folder, int(cfg["cache_bytes"]), path)
    return [str(path)]


# ----- the prompt -----------------------------------------------------------------------
def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None) -> str:
    """lmms-eval's Video-MME prompt for this model (the YAML carries Video-MME's kwargs)."""
    from lmms_eval.tasks.videomme.utils import videomme_doc_to_text
    return videomme_doc_to_text(doc, lmms_eval_specific_kwargs or {})


# ----- scoring ----------------------------------------------------------------------------
def depth_decile(depth: float) -> int:
    """0..9, depth 1.0 in the last decile (the project's rule, ``Case.depth_decile``)."""
    return min(int(depth * DECILES), DECILES - 1)


def _lmms_eval_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("lmms_eval")
    except PackageNotFoundError:
        return "unknown"


def process_results(doc: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """One record per case under every metric name (lmms-eval aggregates per metric)."""
    from lmms_eval.tasks._task_utils.mcq_extract import extract_mcq_answer
    raw = results[0] if results else ""
    letters = [chr(ord("A") + i) for i in range(len(doc["options"]))]
    prediction = extract_mcq_answer(raw, choices=letters) if isinstance(raw, str) else ""
    record = {"case_id": doc["case_id"], "manifest_sha256": config()["manifest_sha256"], "length": doc["length"],
              "depth": doc["depth"], "depth_decile": depth_decile(doc["depth"]), "answer": doc["answer"],
              "prediction": prediction or None, "correct": bool(prediction) and prediction == doc["answer"],
              "reading": READING, "lmms_eval_version": _lmms_eval_version()}
    small = {"depth_decile": record["depth_decile"], "correct": record["correct"]}
    return {RECORD_METRIC: record, **{f"{RECORD_METRIC}_depth_d{d}": small for d in range(DECILES)}}


def accuracy(results: list[dict[str, Any]]) -> float:
    """Share of the task's cases answered correctly under the ``lmms-eval`` reading."""
    return sum(bool(r["correct"]) for r in results) / len(results) if results else math.nan


def accuracy_in_decile(results: list[dict[str, Any]], decile: int) -> float:
    """Accuracy over the cases of one depth decile (NaN when it has none)."""
    return accuracy([r for r in results if r["depth_decile"] == decile])
