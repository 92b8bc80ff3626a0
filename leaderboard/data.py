"""Load scored runs and the benchmark manifest, and aggregate them into pandas frames.

Everything the leaderboard page shows comes from :func:`build_tables`, which is plain
pandas (no Streamlit), so it is unit-tested directly and cached once by the page.

Loading is fast because each results file is parsed by pyarrow's JSON reader into
columns with an explicit schema, then checked column-wise against the rules of
:meth:`niah.results.Result.from_dict`. Any file that is not perfectly clean (a torn
line, a wrong type, an extra field, a duplicate case id) is re-read line by line with
:func:`niah.results.read_run`, which names every bad line, so the fast path never
changes what is accepted.

Accuracies in every table are percentages (0-100) over the cases a run has scored.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from niah.errors import InputError
from niah.results import RESULTS_GLOB, RUN_INFO_NAME, list_runs, read_run
from niah.schema import DATASET_NAME, MANIFEST_NAME, Case

#: Columns of the long results frame, one row per (run, case).
RESULT_COLUMNS = ["run_id", "case_id", "model", "prediction", "raw_output", "correct", "length",
                  "depth", "task_type", "seconds", "error"]
#: Needle duration bins in seconds: [0, 10), [10, 30), ...
DURATION_EDGES = [0, 10, 30, 60, 120, 300, math.inf]
#: The settings shown as their own leaderboard columns: (run.json key, column name).
SETTING_COLUMNS = [("frames", "frames"), ("keyframes_k", "K"), ("tau", "τ")]


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
                "needle_seconds", "task_type", "domain", "question", "options", "answer"]


def _cases_frame(cases: list[Case]) -> pd.DataFrame:
    rows = [(c.case_id, c.length, c.fps, c.depth, c.depth_decile, c.needle.start_frame,
             c.needle.num_frames, c.needle.num_frames / c.fps if c.fps else float(c.needle.num_frames),
             c.task_type, c.domain, c.question, tuple(c.options), c.answer) for c in cases]
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


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
_STRING = ("case_id", "model", "raw_output", "task_type")
_OPTIONAL_STRING = ("prediction", "error")


def _fast_read_file(path: Path) -> pd.DataFrame | None:
    """Parse one results file column-wise; ``None`` if anything is not perfectly valid
    (the caller then falls back to the line-by-line reader that reports problems)."""
    import pyarrow as pa
    from pyarrow import json as pa_json

    schema = pa.schema([("case_id", pa.string()), ("model", pa.string()), ("prediction", pa.string()),
                        ("raw_output", pa.string()), ("correct", pa.bool_()), ("length", pa.int64()),
                        ("depth", pa.float64()), ("task_type", pa.string()), ("seconds", pa.float64()),
                        ("error", pa.string())])
    size = path.stat().st_size
    try:
        table = pa_json.read_json(
            path,
            read_options=pa_json.ReadOptions(use_threads=True, block_size=max(1 << 20, min(size + 1, 64 << 20))),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error",
                                               newlines_in_values=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError):
        return None
    if table.num_rows == 0:
        return None if size and path.read_bytes().strip() else _empty_results()
    required = [n for n in schema.names if n not in _OPTIONAL_STRING]
    if any(table.column(n).null_count for n in required):
        return None  # a missing field or an explicit null where a value is required
    # pyarrow converts some JSON types silently (e.g. 1 -> 1.0 is fine, as Result accepts int
    # or float); the ones Result refuses are refused by the explicit schema. Guard against
    # non-finite numbers, which json.loads accepts but the JSON reader would not produce.
    frame = table.to_pandas()
    if not np.isfinite(frame["depth"].to_numpy()).all() or not np.isfinite(frame["seconds"].to_numpy()).all():
        return None
    if frame["case_id"].duplicated().any():
        return None
    return frame


def _empty_results() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                         [("case_id", object), ("model", object), ("prediction", object),
                          ("raw_output", object), ("correct", bool), ("length", "int64"),
                          ("depth", "float64"), ("task_type", object), ("seconds", "float64"),
                          ("error", object)]})


def _slow_read_run(run_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    _, results, problems = read_run(run_dir)
    if not results:
        return _empty_results(), problems
    frame = pd.DataFrame([r.__dict__ for r in results.values()])
    frame["depth"] = frame["depth"].astype("float64")
    frame["seconds"] = frame["seconds"].astype("float64")
    frame["correct"] = frame["correct"].astype(bool)
    frame["length"] = frame["length"].astype("int64")
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
               "cases_total", "uploaded", "settings", "frames", "K", "τ", "info"]


def load_results(results_root: str | Path, fast: bool = True) -> Loaded:
    """Read every run folder under ``results_root`` (missing root: no runs)."""
    rows, frames, problems = [], [], {}
    for run_dir in list_runs(results_root):
        run_id = run_dir.name
        info, info_problem = _read_info(run_dir)
        frame, run_problems = read_run_frame(run_dir, fast=fast)
        if info_problem:
            run_problems = [info_problem, *run_problems]
        if run_problems:
            problems[run_id] = run_problems
        settings = info.get("settings") if isinstance(info.get("settings"), dict) else {}
        model = info.get("model")
        if not isinstance(model, str) or not model:
            model = str(frame["model"].iloc[0]) if len(frame) else run_id
        cases_total = info.get("cases_total")
        rows.append({
            "run_id": run_id, "model": model,
            "model_path": _fmt_setting(info.get("model_path")),
            "revision": _fmt_setting(info.get("revision")),
            "code_version": _fmt_setting(info.get("code_version")),
            "manifest_fingerprint": info.get("manifest_fingerprint")
            if isinstance(info.get("manifest_fingerprint"), str) else None,
            "cases_total": cases_total if isinstance(cases_total, int) and not isinstance(cases_total, bool)
            else None,
            "uploaded": bool(info.get("uploaded", False)),
            "settings": json.dumps(settings, sort_keys=True) if settings else "",
            **{col: _fmt_setting(settings.get(key)) for key, col in SETTING_COLUMNS},
            "info": json.dumps(info, sort_keys=True, default=str),
        })
        frame.insert(0, "run_id", run_id)
        frames.append(frame)
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    if frames:
        results = pd.concat(frames, ignore_index=True)
    else:
        results = _empty_results()
        results.insert(0, "run_id", pd.Series(dtype=object))
    results = results[RESULT_COLUMNS].copy()
    # one representation whichever reader produced a file: str columns as objects, None for missing
    for col in ("run_id", "case_id", "model", "prediction", "raw_output", "task_type", "error"):
        values = results[col].astype(object)
        results[col] = values.where(values.notna(), None)
    return Loaded(runs, results, problems)


# ----- aggregation ------------------------------------------------------------------
@dataclass
class Tables:
    """Everything the page shows, as plain frames (each also downloadable as CSV)."""

    leaderboard: pd.DataFrame     # one row per run, ranked
    by_length: pd.DataFrame       # run_id, model, length, accuracy, n
    heatmap: pd.DataFrame         # run_id, model, length, depth_decile, depth_range, accuracy, n
    by_task: pd.DataFrame         # run_id, model, task_type, accuracy, n
    by_duration: pd.DataFrame     # run_id, model, needle_duration, accuracy, n (needs manifest)
    results: pd.DataFrame         # the long results frame, with depth_decile and in_manifest
    lengths: list[int]
    problems: dict[str, list[str]]

    @property
    def run_ids(self) -> list[str]:
        return list(self.leaderboard["run"])

    def label(self, run_id: str) -> str:
        row = self.leaderboard.loc[self.leaderboard["run"] == run_id]
        if not len(row) or row["model"].iloc[0] == run_id:
            return run_id
        return f"{row['model'].iloc[0]} ({run_id})"


def depth_range(decile: int) -> str:
    return f"{decile * 10}–{decile * 10 + 10}%"


def duration_labels() -> list[str]:
    labels = []
    for lo, hi in zip(DURATION_EDGES[:-1], DURATION_EDGES[1:]):
        labels.append(f"≥{lo:g} s" if math.isinf(hi) else f"{lo:g}–{hi:g} s")
    return labels


def _accuracy(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "accuracy", "n"])
    grouped = frame.groupby(keys, observed=True, sort=True)["correct"].agg(["mean", "size"]).reset_index()
    grouped["accuracy"] = grouped["mean"] * 100.0
    return grouped.rename(columns={"size": "n"}).drop(columns="mean")


def build_tables(loaded: Loaded, manifest: Manifest | None = None) -> Tables:
    """Aggregate once: the leaderboard and every breakdown the page shows."""
    runs, results = loaded.runs, loaded.results.copy()
    results["run_id"] = pd.Categorical(results["run_id"], categories=list(runs["run_id"]))
    have_manifest = manifest is not None and manifest.available
    depth = results["depth"].to_numpy(dtype="float64")
    results["depth_decile"] = np.clip((depth * 10).astype("int64"), 0, 9)
    case_ids = set(manifest.cases["case_id"]) if have_manifest else set()
    results["in_manifest"] = results["case_id"].isin(case_ids) if have_manifest else False
    results["unparsed"] = results["prediction"].isna() & results["error"].isna()
    results["failed"] = results["error"].notna()
    model_of = dict(zip(runs["run_id"], runs["model"]))
    results["model"] = results["run_id"].map(model_of).fillna(results["model"])

    lengths = sorted(int(x) for x in results["length"].unique())
    # per-run totals, one vectorised groupby each
    per_run = results.groupby("run_id", sort=False).agg(
        scored=("case_id", "size"), accuracy=("correct", "mean"), unparsed=("unparsed", "sum"),
        errors=("failed", "sum"), in_manifest=("in_manifest", "sum"), mean_seconds=("seconds", "mean"))
    by_len = _accuracy(results, ["run_id", "length"])
    wide = by_len.pivot(index="run_id", columns="length", values="accuracy") if len(by_len) else pd.DataFrame()

    rows = []
    n_manifest = len(manifest.cases) if have_manifest else None
    for run in runs.itertuples(index=False):
        stats = per_run.loc[run.run_id] if run.run_id in per_run.index else None
        scored = int(stats["scored"]) if stats is not None else 0
        fp = run.manifest_fingerprint
        if not have_manifest:
            fp_status = "no benchmark" if fp else "not recorded"
        elif fp is None:
            fp_status = "not recorded"
        else:
            fp_status = "match" if fp == manifest.fingerprint else "DIFFERS"
        if have_manifest and fp_status != "DIFFERS":
            expected = n_manifest
            covered = int(stats["in_manifest"]) if stats is not None else 0
        else:
            expected = run.cases_total
            covered = scored
        complete = expected is not None and expected > 0 and covered >= expected
        if expected is None:
            status = "unknown total"
        elif complete:
            status = "complete"
        else:
            status = f"partial ({covered}/{expected})"
        rankable = complete and fp_status != "DIFFERS"
        row = {
            "run": run.run_id, "model": run.model, "status": status, "_rankable": rankable,
            "accuracy": float(stats["accuracy"]) * 100.0 if stats is not None and scored else np.nan,
        }
        for length in lengths:
            value = wide.at[run.run_id, length] if run.run_id in wide.index else np.nan
            row[f"acc@{length}"] = float(value) if pd.notna(value) else np.nan
        row.update({
            "frames": run.frames, "K": run.K, "τ": run.τ, "scored": scored, "cases": expected,
            "manifest": fp_status, "unparsed": int(stats["unparsed"]) if stats is not None else 0,
            "errors": int(stats["errors"]) if stats is not None else 0,
            "problems": len(loaded.problems.get(run.run_id, [])),
            "s/case": float(stats["mean_seconds"]) if stats is not None and scored else np.nan,
            "uploaded": run.uploaded, "settings": run.settings, "model_path": run.model_path,
            "revision": run.revision, "code_version": run.code_version,
        })
        rows.append(row)
    columns = ["rank", "run", "model", "status", "accuracy", *[f"acc@{n}" for n in lengths], "frames", "K",
               "τ", "scored", "cases", "manifest", "unparsed", "errors", "problems", "s/case", "uploaded",
               "settings", "model_path", "revision", "code_version"]
    board = pd.DataFrame(rows)
    if board.empty:
        board = pd.DataFrame(columns=columns)
    else:
        ranked = board["_rankable"]
        board["rank"] = pd.array([pd.NA] * len(board), dtype="Int64")
        acc = board.loc[ranked, "accuracy"].fillna(-1)
        board.loc[ranked, "rank"] = acc.rank(method="min", ascending=False).astype("int64").to_numpy()
        # ranked runs first by rank; unranked (partial, other manifest) after, by accuracy
        board = board.assign(_unranked=~ranked).sort_values(
            ["_unranked", "rank", "accuracy", "run"], ascending=[True, True, False, True],
            na_position="last", kind="stable")
        board = board[columns].reset_index(drop=True)
        for col in ("frames", "K", "τ"):
            if board[col].isna().all():
                board[col] = board[col].astype(object)

    names = results[["run_id", "model"]].drop_duplicates("run_id")
    by_length = by_len.merge(names, on="run_id")[["run_id", "model", "length", "accuracy", "n"]]
    heat = _accuracy(results, ["run_id", "length", "depth_decile"]).merge(names, on="run_id")
    heat["depth_range"] = heat["depth_decile"].map(depth_range) if len(heat) else []
    heat = heat[["run_id", "model", "length", "depth_decile", "depth_range", "accuracy", "n"]]
    by_task = _accuracy(results, ["run_id", "task_type"]).merge(names, on="run_id")[
        ["run_id", "model", "task_type", "accuracy", "n"]]
    if have_manifest and len(results):
        seconds = results["case_id"].map(dict(zip(manifest.cases["case_id"], manifest.cases["needle_seconds"])))
        binned = results.assign(needle_duration=pd.cut(seconds, DURATION_EDGES, right=False,
                                                       labels=duration_labels()))
        binned = binned[binned["needle_duration"].notna()]
        by_duration = _accuracy(binned, ["run_id", "needle_duration"]).merge(names, on="run_id")
        by_duration["needle_duration"] = by_duration["needle_duration"].astype(str)
        by_duration = by_duration[["run_id", "model", "needle_duration", "accuracy", "n"]]
    else:
        by_duration = pd.DataFrame(columns=["run_id", "model", "needle_duration", "accuracy", "n"])
    # categorical run ids speed up the groupbys; plain strings are friendlier to show and export
    by_length, heat, by_task, by_duration, results = (
        f.assign(run_id=f["run_id"].astype(object)) for f in (by_length, heat, by_task, by_duration, results))
    return Tables(board, by_length, heat, by_task, by_duration, results, lengths, dict(loaded.problems))


def heatmap_difference(heat: pd.DataFrame, run_a: str, run_b: str) -> pd.DataFrame:
    """Cell-wise ``accuracy(a) - accuracy(b)`` over cells both runs scored."""
    a = heat[heat["run_id"] == run_a][["length", "depth_decile", "depth_range", "accuracy", "n"]]
    b = heat[heat["run_id"] == run_b][["length", "depth_decile", "accuracy", "n"]]
    merged = a.merge(b, on=["length", "depth_decile"], suffixes=("_a", "_b"))
    merged["difference"] = merged["accuracy_a"] - merged["accuracy_b"]
    return merged


def case_table(tables: Tables, manifest: Manifest | None, run_ids: list[str], *,
               length: int | None = None, decile: int | None = None, task_type: str | None = None,
               outcome: str = "all", search: str = "") -> pd.DataFrame:
    """Cases matching the filters, one row each, with the gold answer and each run's answer.

    ``outcome``: "all", "any wrong", "all wrong", "all right", "models disagree".
    Without a manifest, cases come from the results themselves (no question or gold answer).
    """
    res = tables.results
    res = res[res["run_id"].isin(run_ids)] if run_ids else res.iloc[:0]
    if manifest is not None and manifest.available:
        base = manifest.cases[["case_id", "length", "depth", "depth_decile", "needle_frames", "task_type",
                               "question", "answer"]]
    else:
        base = (res.drop_duplicates("case_id")[["case_id", "length", "depth", "depth_decile", "task_type"]]
                .assign(needle_frames=np.nan, question="", answer=""))
    if length is not None:
        base = base[base["length"] == length]
    if decile is not None:
        base = base[base["depth_decile"] == decile]
    if task_type:
        base = base[base["task_type"] == task_type]
    if search:
        needle = search.lower()
        base = base[base["case_id"].str.lower().str.contains(needle, regex=False)
                    | base["question"].str.lower().str.contains(needle, regex=False)]
    sub = res[res["case_id"].isin(base["case_id"])]
    answers = sub.assign(shown=np.where(sub["error"].notna(), "error",
                                        sub["prediction"].fillna("?") + np.where(sub["correct"], " ✓", " ✗")))
    pivot = answers.pivot(index="case_id", columns="run_id", values="shown") if len(answers) else None
    correct = sub.pivot(index="case_id", columns="run_id", values="correct") if len(sub) else None
    out = base.reset_index(drop=True)
    for run_id in run_ids:
        col = tables.label(run_id)
        out[col] = out["case_id"].map(pivot[run_id]) if pivot is not None and run_id in pivot else None
    if correct is not None and outcome != "all":
        c = correct.reindex(columns=run_ids).reindex(out["case_id"])
        scored = c.notna().sum(axis=1).to_numpy()
        right = (c == True).sum(axis=1).to_numpy()  # noqa: E712  (NaN-safe)
        if outcome == "any wrong":
            keep = right < scored
        elif outcome == "all wrong":
            keep = (right == 0) & (scored > 0)
        elif outcome == "all right":
            keep = (right == scored) & (scored > 0)
        elif outcome == "models disagree":
            keep = (right > 0) & (right < scored)
        else:
            raise ValueError(f"unknown outcome filter {outcome!r}")
        out = out[keep]
    elif correct is None and outcome != "all":
        out = out.iloc[:0]
    return out.reset_index(drop=True)


def thumbnail_indices(length: int, needle_start: int, needle_frames: int, *, needle_count: int = 6,
                      context: int = 3, context_span: int = 30) -> tuple[list[int], list[int], list[int]]:
    """Frame indices for the case browser: ``(before, needle, after)``.

    ``needle``: up to ``needle_count`` frames spread evenly over the needle clip;
    ``before``/``after``: up to ``context`` haystack frames spread over the
    ``context_span`` frames on each side of it.
    """
    end = needle_start + needle_frames  # first frame after the needle
    count = min(needle_count, needle_frames)
    needle = sorted({needle_start + int(round(i * (needle_frames - 1) / max(count - 1, 1)))
                     for i in range(count)}) if count else []
    lo = max(0, needle_start - context_span)
    before = sorted({int(x) for x in np.linspace(lo, needle_start - 1, num=min(context, needle_start - lo))}) \
        if needle_start > 0 else []
    hi = min(length - 1, end - 1 + context_span)
    after = sorted({int(x) for x in np.linspace(end, hi, num=min(context, hi - end + 1))}) if end < length else []
    return before, needle, after


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV (what the download buttons serve)."""
    return frame.to_csv(index=False).encode("utf-8")


def folder_signature(results_root: str | Path, data_dir: str | Path) -> tuple:
    """Cheap identity of everything the tables depend on (names, sizes, mtimes), used as the
    cache key so new or grown results files are picked up on the next page run."""
    sig: list[tuple] = []
    root = Path(results_root)
    for run_dir in list_runs(root):
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
