"""Load scored runs and the benchmark manifest into pandas frames (no Streamlit).

Loading is fast because each results file is parsed by pyarrow's JSON reader into
columns with an explicit schema, then checked column-wise against the rules of
:meth:`niah.results.Result.from_dict`. Any file that is not perfectly clean (a torn
line, a wrong type, an extra field, a duplicate case id) is re-read line by line with
:func:`niah.results.read_run`, which names every bad line, so the fast path never
changes what is accepted.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leaderboard.columns import SETTING_COLUMNS
from niah import accuracy, run_reading
from niah.errors import InputError
from niah import results as niah_results
from niah.results import RESULTS_GLOB, RUN_INFO_NAME, list_runs, read_run
from niah.schema import DATASET_NAME, MANIFEST_NAME, Case


# ----- manifest ---------------------------------------------------------------------
@dataclass
class Manifest:
    """The opened benchmark, as far as it could be opened.

    ``cases`` is empty and ``fingerprint`` ``None`` when there is no manifest;
    ``frames_ok`` says whether thumbnails can be read (the frame store opened too);
    ``message`` explains what is missing, for the page to show.
    """

    root: Path
    cases: pd.DataFrame
    fingerprint: str | None
    frames_ok: bool
    message: str | None = None

    @property
    def available(self) -> bool:
        return self.fingerprint is not None


CASE_COLUMNS = ["case_id", "length", "fps", "depth", "depth_decile", "needle_start", "needle_frames",
                "needle_seconds", "task_type", "domain", "question", "options", "answer", "chance", "segments",
                "needle_question", "needle_video", "family", "needles"]


def _cases_frame(cases: list[Case]) -> pd.DataFrame:
    rows = [(c.case_id, c.length, c.fps, c.depth, c.depth_decile, c.needle.start_frame,
             c.needle.num_frames, c.needle.num_frames / c.fps if c.fps else float(c.needle.num_frames),
             c.task_type, c.domain, c.question, tuple(c.options), c.answer, np.nan,
             tuple((s.video_id, s.num_frames, s.role) for s in c.segments), c.needle.question_id,
             c.needle.video_id, c.family,
             # every needle: (video, start frame, frames, whether the question is about it)
             tuple((n.video_id, n.start_frame, n.num_frames, n in c.asked_needles) for n in c.all_needles))
            for c in cases]
    frame = pd.DataFrame(rows, columns=CASE_COLUMNS)
    frame["chance"] = accuracy.chance_of(frame["options"]) if len(frame) else []
    return frame


def _store_info_path(root: Path) -> Path | None:
    """Where the frame store's ``store.json`` should be, or ``None`` if that is unclear."""
    from niah.cases import FRAMES_DIR
    from niah.framestore import STORE_INFO_NAME

    try:
        dataset = json.loads((root / DATASET_NAME).read_text(encoding="utf-8"))
        return root / str(dataset.get("frame_store", FRAMES_DIR)) / STORE_INFO_NAME
    except (OSError, ValueError, AttributeError):
        return None


def load_manifest(data_dir: str | Path) -> Manifest:
    """Open the benchmark at ``data_dir``; never raises for a missing or broken one.

    The full :meth:`niah.cases.Benchmark.open` is tried first (it also checks the frame
    store). If that fails but ``manifest.jsonl`` parses, the cases are still used (so
    results can be matched and questions shown) and only thumbnails are off.
    """
    from niah.cases import Benchmark  # imports av; keep module import light

    root = Path(data_dir)
    empty = pd.DataFrame(columns=CASE_COLUMNS)
    store_info = _store_info_path(root)
    if store_info is not None and not store_info.is_file():
        # no frame store: skip Benchmark.open, which would parse the whole manifest first
        full_error = f"{store_info.parent}: no frame store here (missing {store_info.name})"
    else:
        try:
            bench = Benchmark.open(root)
            return Manifest(root, _cases_frame(bench.cases), bench.fingerprint, True)
        except InputError as exc:
            full_error = str(exc)
        except Exception as exc:  # a corrupt frame store must not take the page down
            full_error = f"{root}: {exc}"
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        return Manifest(root, empty, None, False, f"No benchmark opened ({full_error}). "
                        "Results are shown without manifest totals, questions or thumbnails.")
    data = manifest.read_bytes()
    cases = []
    try:
        for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
            if line.strip():
                try:
                    cases.append(Case.from_dict(json.loads(line)))
                except (json.JSONDecodeError, ValueError) as exc:
                    raise InputError(f"{manifest}:{number}", str(exc)) from None
    except (InputError, UnicodeDecodeError) as exc:
        return Manifest(root, empty, None, False, f"Benchmark manifest unreadable ({exc}).")
    return Manifest(root, _cases_frame(cases), hashlib.sha256(data).hexdigest(), False,
                    f"Manifest read, but frames are unavailable ({full_error}); thumbnails are off.")


# ----- results ----------------------------------------------------------------------
#: pyarrow type and pandas dtype of each kind of column (:attr:`niah.results.Field.arrow`)
_ARROW_TYPES = {"string": "string", "bool": "bool_", "int64": "int64", "float64": "float64"}
_PANDAS_DTYPES = {"string": object, "bool": bool, "int64": "int64", "float64": "float64"}
#: the derived column of a circular line's rotations (:func:`niah.run_reading.rotation_records`)
ROTATIONS = "rotations"


def _columns() -> list[niah_results.Field]:
    """The fields of :data:`niah.results.FIELDS` the results frame keeps, in their order."""
    return [f for f in niah_results.FIELDS if f.column]


def result_columns() -> list[str]:
    """Columns of the long results frame, one row per (run, case): the kept fields, then
    ``rotations`` as :func:`niah.run_reading.rotation_records` (a circular line's correctness
    needs every rotation's letters)."""
    return ["run_id", *(f.name for f in _columns()), ROTATIONS]


def _fast_read_file(path: Path) -> pd.DataFrame | None:
    """Parse one results file column-wise; ``None`` if anything is not perfectly valid
    (the caller then falls back to the line-by-line reader that reports problems)."""
    import pyarrow as pa
    from pyarrow import json as pa_json

    arrow_schema = pa.schema([(f.name, getattr(pa, _ARROW_TYPES[f.arrow])()) for f in _columns()])
    size = path.stat().st_size
    try:
        table = pa_json.read_json(
            path,
            read_options=pa_json.ReadOptions(use_threads=True, block_size=max(1 << 20, min(size + 1, 64 << 20))),
            parse_options=pa_json.ParseOptions(explicit_schema=arrow_schema, unexpected_field_behavior="infer",
                                               newlines_in_values=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError):
        return None
    # fields the frame does not keep (the diagnostics) are allowed with their declared arrow
    # type; any other field, or one of these with another type, goes to the line-by-line reader
    dropped = {f.name: f.arrow for f in niah_results.FIELDS if not f.column}
    records = [None] * table.num_rows
    for name in set(table.column_names) - set(arrow_schema.names):
        kind = dropped.get(name)
        if kind is None or not any(str(table.schema.field(name).type).startswith(k) for k in (kind, "null")):
            return None
        if name == ROTATIONS:
            records = [run_reading.rotation_records(v) for v in table.column(name).to_pylist()]
        table = table.drop_columns([name])
    if table.num_rows == 0:
        return None if size and path.read_bytes().strip() else _empty_results()
    required = [f.name for f in _columns() if not f.nullable]
    if any(table.column(n).null_count for n in required):
        return None  # a missing field or an explicit null where a value is required
    # pyarrow converts some JSON types silently (e.g. 1 -> 1.0 is fine, as Result accepts int
    # or float); the ones Result refuses are refused by the explicit schema. Guard against
    # non-finite numbers, which json.loads accepts but the JSON reader would not produce.
    frame = table.to_pandas()
    if any(not np.isfinite(frame[f.name].to_numpy()).all() for f in _columns() if f.arrow == "float64"):
        return None
    if frame["case_id"].duplicated().any():
        return None
    frame[ROTATIONS] = pd.Series(records, index=frame.index, dtype=object)
    return frame


def _empty_results() -> pd.DataFrame:
    return pd.DataFrame({**{f.name: pd.Series(dtype=_PANDAS_DTYPES[f.arrow]) for f in _columns()},
                         ROTATIONS: pd.Series(dtype=object)})


def _slow_read_run(run_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    _, results, problems = read_run(run_dir)
    if not results:
        return _empty_results(), problems
    columns = _columns()
    frame = pd.DataFrame([[getattr(r, f.name) for f in columns] + [run_reading.rotation_records(r.rotations)]
                          for r in results.values()], columns=[f.name for f in columns] + [ROTATIONS])
    for f in columns:
        if _PANDAS_DTYPES[f.arrow] is not object:
            frame[f.name] = frame[f.name].astype(_PANDAS_DTYPES[f.arrow])
    return frame, problems


def read_run_frame(run_dir: str | Path, fast: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """One run's results as a frame (columns of :class:`niah.results.Result`) and its problems."""
    run_dir = Path(run_dir)
    if fast:
        parts = []
        for path in sorted(run_dir.glob(RESULTS_GLOB)):
            part = _fast_read_file(path)
            if part is None:
                break
            parts.append(part)
        else:
            frame = pd.concat(parts, ignore_index=True) if parts else _empty_results()
            if not frame["case_id"].duplicated().any():  # duplicates across shard files
                return frame, []
    return _slow_read_run(run_dir)


def _read_info(run_dir: Path) -> tuple[dict[str, Any], str | None]:
    try:
        info = json.loads((run_dir / RUN_INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"{run_dir / RUN_INFO_NAME}: unreadable ({exc})"
    if not isinstance(info, dict):
        return {}, f"{run_dir / RUN_INFO_NAME}: not a JSON object"
    return info, None


def _fmt_setting(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return json.dumps(value, sort_keys=True)


@dataclass
class Loaded:
    """All runs under a results root: ``runs`` (one row per run), ``results`` (one row per
    (run, case)) and ``problems`` (run id -> messages naming file and line)."""

    runs: pd.DataFrame
    results: pd.DataFrame
    problems: dict[str, list[str]] = field(default_factory=dict)


RUN_COLUMNS = ["run_id", "model", "model_path", "revision", "code_version", "manifest_fingerprint",
               "cases_total", "uploaded", "settings", "frames", "K", "τ", "seed", "seed_group", "info"]
#: The uploads folder inside a results folder unless ``--uploads`` names another.
UPLOADS_DIR = "uploads"


def _seed_group(info: dict[str, Any], settings: dict[str, Any]) -> tuple[Any, str | None]:
    """``(seed, group key)``: runs whose run.json agree on everything but the seed share the
    key, so the page can show them as one model with a spread; ``(None, None)`` without a seed."""
    options = info.get("options") if isinstance(info.get("options"), dict) else {}
    seed = settings.get("seed", options.get("seed"))
    if seed is None:
        return None, None
    same = {k: info.get(k) for k in ("model", "model_path", "revision", "manifest_fingerprint", "uploaded")}
    same["settings"] = {k: v for k, v in settings.items() if k != "seed"}
    same["options"] = {k: v for k, v in options.items() if k != "seed"}
    return _fmt_setting(seed), json.dumps(same, sort_keys=True, default=str)


def _run_dirs(results_root: Path, uploads_root: Path | None) -> list[tuple[Path, str, bool]]:
    """``(folder, run id, from the uploads folder)`` of every run: the project's runs, then
    the uploads (an upload whose name a project run already uses is ``uploads/<name>``)."""
    own = [(d, d.name, False) for d in list_runs(results_root)]
    taken = {name for _, name, _ in own}
    uploads = [(d, f"uploads/{d.name}" if d.name in taken else d.name, True)
               for d in (list_runs(uploads_root) if uploads_root is not None else [])]
    return own + uploads


def load_results(results_root: str | Path, fast: bool = True, uploads_root: str | Path | None = None) -> Loaded:
    """Read every run folder under ``results_root`` and ``uploads_root`` (missing roots: no
    runs). A run in the uploads folder is an upload whatever its ``run.json`` says."""
    rows, frames, problems = [], [], {}
    uploads = Path(uploads_root) if uploads_root is not None else None
    for run_dir, run_id, from_uploads in _run_dirs(Path(results_root), uploads):
        info, info_problem = _read_info(run_dir)
        frame, run_problems = read_run_frame(run_dir, fast=fast)
        if info_problem:
            run_problems = [info_problem, *run_problems]
        if run_problems:  # named relative to the results folder: no server paths on the page
            problems[run_id] = [m.replace(f"{Path(results_root)}{os.sep}", "") for m in run_problems]
            if uploads is not None:
                problems[run_id] = [m.replace(f"{uploads}{os.sep}", "uploads/") for m in problems[run_id]]
        settings = info.get("settings") if isinstance(info.get("settings"), dict) else {}
        model = info.get("model")
        if not isinstance(model, str) or not model:
            model = str(frame["model"].iloc[0]) if len(frame) else run_id
        seed, seed_group = _seed_group(info, settings)
        rows.append({
            "run_id": run_id, "model": model,
            "model_path": _fmt_setting(info.get("model_path")),
            "revision": _fmt_setting(info.get("revision")),
            "code_version": _fmt_setting(info.get("code_version")),
            "manifest_fingerprint": info.get("manifest_fingerprint")
            if isinstance(info.get("manifest_fingerprint"), str) else None,
            "cases_total": run_reading.total_of(info),
            "uploaded": from_uploads or info.get("uploaded", False) is True,
            "settings": json.dumps(settings, sort_keys=True) if settings else "",
            **{col: _fmt_setting(settings.get(key)) for key, col in SETTING_COLUMNS},
            "seed": seed, "seed_group": seed_group,
            "info": json.dumps(info, sort_keys=True, default=str),
        })
        frame.insert(0, "run_id", run_id)
        frames.append(frame)
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for col in ("seed", "manifest_fingerprint", "cases_total"):  # ints stay ints and None stays None (not NaN,
        runs[col] = pd.Series([r[col] for r in rows], dtype=object)  # which read as "other manifest", "partial 1/nan")
    if frames:
        results = pd.concat(frames, ignore_index=True)
    else:
        results = _empty_results()
        results.insert(0, "run_id", pd.Series(dtype=object))
    results = results[result_columns()].copy()
    # one representation whichever reader produced a file: str columns as objects, None for missing
    for col in ("run_id", *(f.name for f in _columns() if f.arrow == "string")):
        values = results[col].astype(object)
        results[col] = values.where(values.notna(), None)
    return Loaded(runs, results, problems)


def folder_signature(results_root: str | Path, data_dir: str | Path, uploads_root: str | Path | None = None) -> tuple:
    """Cheap identity of everything the tables depend on (names, sizes, mtimes), used as the
    cache key so new or grown results files are picked up on the next page run."""
    sig: list[tuple] = []
    for run_dir, _, _ in _run_dirs(Path(results_root), Path(uploads_root) if uploads_root is not None else None):
        for path in [run_dir / RUN_INFO_NAME, *sorted(run_dir.glob(RESULTS_GLOB))]:
            try:
                st = path.stat()
            except OSError:
                continue
            sig.append((str(path), st.st_size, st.st_mtime_ns))
    manifest = Path(data_dir) / MANIFEST_NAME
    try:
        st = manifest.stat()
        sig.append((str(manifest), st.st_size, st.st_mtime_ns))
    except OSError:
        sig.append((str(manifest), None))
    return tuple(sig)
