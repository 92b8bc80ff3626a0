"""Load scored runs and the benchmark manifest, and aggregate them into pandas frames.

Everything the leaderboard page shows comes from :func:`build_tables`, which is plain
pandas (no Streamlit), so it is unit-tested directly and cached once by the page.

Loading is fast because each results file is parsed by pyarrow's JSON reader into
columns with an explicit schema, then checked column-wise against the rules of
:meth:`niah.results.Result.from_dict`. Any file that is not perfectly clean (a torn
line, a wrong type, an extra field, a duplicate case id) is re-read line by line with
:func:`niah.results.read_run`, which names every bad line, so the fast path never
changes what is accepted.

Accuracies in every table are percentages (0-100) over the cases a run has scored, each
with its Wilson 95 % interval (``ci_low``, ``ci_high``) and chance level, computed by
:mod:`niah.accuracy`, the aggregation ``runner report`` uses too.
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

from niah import accuracy
from niah.errors import InputError
from niah.results import RESULTS_GLOB, RUN_INFO_NAME, list_runs, read_run
from niah.schema import DATASET_NAME, MANIFEST_NAME, Case

#: Columns of the long results frame, one row per (run, case).
RESULT_COLUMNS = ["run_id", "case_id", "model", "prediction", "raw_output", "correct", "length",
                  "depth", "task_type", "seconds", "error"]
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
                "needle_seconds", "task_type", "domain", "question", "options", "answer", "chance", "segments"]


def _cases_frame(cases: list[Case]) -> pd.DataFrame:
    rows = [(c.case_id, c.length, c.fps, c.depth, c.depth_decile, c.needle.start_frame,
             c.needle.num_frames, c.needle.num_frames / c.fps if c.fps else float(c.needle.num_frames),
             c.task_type, c.domain, c.question, tuple(c.options), c.answer, np.nan,
             tuple((s.video_id, s.num_frames, s.role) for s in c.segments)) for c in cases]
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
               "cases_total", "uploaded", "settings", "frames", "K", "τ", "seed", "seed_group", "info"]


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


def load_results(results_root: str | Path, fast: bool = True) -> Loaded:
    """Read every run folder under ``results_root`` (missing root: no runs)."""
    rows, frames, problems = [], [], {}
    for run_dir in list_runs(results_root):
        run_id = run_dir.name
        info, info_problem = _read_info(run_dir)
        frame, run_problems = read_run_frame(run_dir, fast=fast)
        if info_problem:
            run_problems = [info_problem, *run_problems]
        if run_problems:  # named relative to the results folder: no server paths on the page
            problems[run_id] = [m.replace(f"{Path(results_root)}{os.sep}", "") for m in run_problems]
        settings = info.get("settings") if isinstance(info.get("settings"), dict) else {}
        model = info.get("model")
        if not isinstance(model, str) or not model:
            model = str(frame["model"].iloc[0]) if len(frame) else run_id
        cases_total = info.get("cases_total")
        seed, seed_group = _seed_group(info, settings)
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
            "seed": seed, "seed_group": seed_group,
            "info": json.dumps(info, sort_keys=True, default=str),
        })
        frame.insert(0, "run_id", run_id)
        frames.append(frame)
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    runs["seed"] = pd.Series([r["seed"] for r in rows], dtype=object)  # ints stay ints beside runs without one
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
#: Options per question assumed for chance when no manifest is open (Video-MME has four).
ASSUMED_OPTIONS = 4
#: Cells and groups with fewer cases than this are marked as too few to read much into.
MIN_CASES = 10
#: Significance level of the difference view's per-cell tests.
ALPHA = 0.05
_PCT = ["accuracy", "ci_low", "ci_high", "chance"]


@dataclass
class Tables:
    """Everything the page shows, as plain frames (each also downloadable as CSV).

    Accuracies, interval bounds and chance are percentages. ``chance`` is the benchmark's
    (mean of 1/options over its cases), the centre of every colour scale; without a
    manifest it is ``100 / ASSUMED_OPTIONS`` and ``chance_assumed`` is set.
    """

    leaderboard: pd.DataFrame     # one row per run, ranked
    by_length: pd.DataFrame       # run_id, length, accuracy, ci_low, ci_high, chance, n, ...
    heatmap: pd.DataFrame         # run_id, length, depth_decile, ...: every cell of the grid, n = 0 if unscored
    by_task: pd.DataFrame         # run_id, task_type, ...
    by_duration: pd.DataFrame     # run_id, needle_duration, ... (needs manifest)
    results: pd.DataFrame         # the long results frame, with depth_decile, in_manifest, chance
    lengths: list[int]            # every length of the manifest and of any run
    problems: dict[str, list[str]]
    chance: float
    chance_assumed: bool

    @property
    def run_ids(self) -> list[str]:
        return list(self.leaderboard["run"])

    def label(self, run_id: str) -> str:
        """The run as every picker, legend and title names it, with its marks."""
        row = self.leaderboard.loc[self.leaderboard["run"] == run_id]
        return str(row["label"].iloc[0]) if len(row) else run_id


def run_label(run_id: str, model: str, status: str, uploaded: bool, manifest: str) -> str:
    """``run_id`` (prefixed by the model unless the id already names it), then marks for a
    partial run, a run on another manifest and an uploaded run, so that every place a run
    appears says so; the full id is kept, so runs differing only by seed stay distinguishable."""
    name = run_id if model in run_id else f"{model} · {run_id}"
    marks = [status] if status.startswith("partial") else []
    if manifest == "DIFFERS":
        marks.append("other manifest")
    if uploaded:
        marks.append("uploaded")
    return name + "".join(f" [{m}]" for m in marks)


def _percent(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in _PCT:
        if col in out:
            out[col] = out[col].astype("float64") * 100.0
    return out


_DIGEST_COLUMNS = ["case_id", "prediction", "raw_output", "correct", "error"]


def answers_digests(results: pd.DataFrame) -> dict[str, str]:
    """Per run, a hash of its answers (case, prediction, raw output, correct, error; not the
    model name or timings): equal for two copies of the same results, so a re-upload of a
    run already listed is caught whatever it is called. Rows are hashed once, vectorised."""
    ordered = results.sort_values(["run_id", "case_id"], kind="stable")
    cols = ordered[_DIGEST_COLUMNS].astype({"correct": bool})
    for col in ("case_id", "prediction", "raw_output", "error"):
        values = cols[col].astype(object)
        cols[col] = values.where(values.notna(), None)
    hashed = pd.util.hash_pandas_object(cols, index=False).to_numpy()
    runs = ordered["run_id"].astype(object).to_numpy()
    starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]]) if len(runs) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(runs)]
    return {runs[a]: hashlib.sha256(hashed[a:b].tobytes()).hexdigest() for a, b in zip(starts, ends)}


def answers_digest(frame: pd.DataFrame) -> str:
    """:func:`answers_digests` of one run's results (e.g. an upload's)."""
    return answers_digests(frame.assign(run_id="run"))["run"]


def _status(run, stats, have_manifest: bool, manifest: Manifest | None) -> tuple[str, str, bool, int]:
    """``(status, manifest check, rankable, scored)`` of one run."""
    scored = int(stats["n"]) if stats is not None else 0
    fp = run.manifest_fingerprint
    if not have_manifest:
        fp_status = "no benchmark" if fp else "not recorded"
    elif fp is None:
        fp_status = "not recorded"
    else:
        fp_status = "match" if fp == manifest.fingerprint else "DIFFERS"
    if have_manifest and fp_status != "DIFFERS":
        expected, covered = len(manifest.cases), int(stats["in_manifest"]) if stats is not None else 0
    else:
        expected, covered = run.cases_total, scored
    complete = expected is not None and expected > 0 and covered >= expected
    if expected is None:
        status = "unknown total"
    elif complete:
        status = "complete"
    else:
        status = f"partial {covered}/{expected}"
    return status, fp_status, complete and fp_status != "DIFFERS", expected


def _rank(board: pd.DataFrame) -> pd.Series:
    """Rank of each rankable run; a seed group is one entry (its mean accuracy) and all
    its seeds share its rank, so re-running a model with more seeds cannot crowd the top."""
    entry = board["seed_group"].where(board["seed_group"].notna(), board["run"])
    entries = board[board["_rankable"]].groupby(entry[board["_rankable"]])["accuracy"].mean()
    # a seed group with an unrankable member (a partial seed) is not ranked as a whole
    unrankable = set(entry[~board["_rankable"]])
    entries = entries[[e not in unrankable for e in entries.index]]
    ranks = entries.fillna(-1).rank(method="min", ascending=False).astype("int64")
    return pd.array([ranks.get(e, pd.NA) if r else pd.NA for e, r in zip(entry, board["_rankable"])],
                    dtype="Int64")


BOARD_COLUMNS = ["rank", "run", "label", "model", "status", "accuracy", "ci_low", "ci_high", "chance"]
TAIL_COLUMNS = ["scored", "cases", "unparsed", "unparsed %", "errors", "problems", "s/case", "manifest",
                "uploaded", "duplicate_of", "seed", "seed_group", "frames", "K", "τ", "settings", "model_path",
                "revision", "code_version", "digest"]


def build_tables(loaded: Loaded, manifest: Manifest | None = None) -> Tables:
    """Aggregate once: the leaderboard and every breakdown the page shows."""
    runs, results = loaded.runs, loaded.results.copy()
    results["run_id"] = pd.Categorical(results["run_id"], categories=list(runs["run_id"]))
    have_manifest = manifest is not None and manifest.available
    results["depth_decile"] = accuracy.depth_decile(results["depth"])
    if have_manifest:
        results["in_manifest"] = results["case_id"].isin(set(manifest.cases["case_id"]))
        chance_of = dict(zip(manifest.cases["case_id"], manifest.cases["chance"]))
        results["chance"] = results["case_id"].map(chance_of).astype("float64").fillna(1 / ASSUMED_OPTIONS)
        chance = float(manifest.cases["chance"].mean()) if len(manifest.cases) else 1 / ASSUMED_OPTIONS
    else:
        results["in_manifest"] = False
        results["chance"] = 1 / ASSUMED_OPTIONS
        chance = 1 / ASSUMED_OPTIONS
    results["unparsed"] = results["prediction"].isna() & results["error"].isna()
    results["failed"] = results["error"].notna()
    model_of = dict(zip(runs["run_id"], runs["model"]))
    results["model"] = results["run_id"].map(model_of).fillna(results["model"])
    lengths = sorted({int(x) for x in results["length"].unique()}
                     | ({int(x) for x in manifest.cases["length"]} if have_manifest else set()))

    per_run = _percent(accuracy.summarise(results, ["run_id"])).set_index("run_id")
    extra = results.groupby("run_id", observed=True).agg(in_manifest=("in_manifest", "sum"),
                                                         mean_seconds=("seconds", "mean"))
    by_len = _percent(accuracy.summarise(results, ["run_id", "length"]))
    digests = answers_digests(results)
    per_length = {(r, n, col): v for col in ("accuracy", "ci_low", "ci_high", "n")
                  for r, n, v in zip(by_len["run_id"], by_len["length"], by_len[col])}
    first_with = {}
    rows = []
    for run in runs.itertuples(index=False):
        stats = per_run.loc[run.run_id].to_dict() if run.run_id in per_run.index else None
        if stats is not None:
            stats.update(extra.loc[run.run_id].to_dict())
        status, fp_status, rankable, expected = _status(run, stats, have_manifest, manifest)
        scored = int(stats["n"]) if stats else 0
        digest = digests.get(run.run_id) if scored else None
        duplicate_of = first_with.setdefault(digest, run.run_id) if digest else run.run_id
        row = {"run": run.run_id, "model": run.model, "status": status, "_rankable": rankable and
               duplicate_of == run.run_id,
               "label": run_label(run.run_id, run.model, status, run.uploaded, fp_status),
               **{k: stats[k] if stats else np.nan for k in _PCT}}
        for length in lengths:
            for col, prefix in (("accuracy", "acc"), ("ci_low", "lo"), ("ci_high", "hi"), ("n", "n")):
                row[f"{prefix}@{length}"] = per_length.get((run.run_id, length, col), np.nan)
        unparsed = int(stats["unparsed"]) if stats else 0
        row.update({
            "frames": run.frames, "K": run.K, "τ": run.τ, "scored": scored, "cases": expected,
            "manifest": fp_status, "unparsed": unparsed, "unparsed %": 100.0 * unparsed / scored if scored else np.nan,
            "errors": int(stats["failed"]) if stats else 0,
            "problems": len(loaded.problems.get(run.run_id, [])),
            "s/case": float(stats["mean_seconds"]) if stats else np.nan,
            "uploaded": run.uploaded, "duplicate_of": duplicate_of if duplicate_of != run.run_id else "",
            "seed": run.seed, "seed_group": run.seed_group, "settings": run.settings,
            "model_path": run.model_path, "revision": run.revision, "code_version": run.code_version,
            "digest": digest or "",
        })
        rows.append(row)
    length_columns = [f"{prefix}@{n}" for n in lengths for prefix in ("acc", "lo", "hi", "n")]
    columns = [*BOARD_COLUMNS, *length_columns, *TAIL_COLUMNS]
    board = pd.DataFrame(rows)
    if board.empty:
        board = pd.DataFrame(columns=columns)
    else:
        board["seed"] = pd.Series([r["seed"] for r in rows], dtype=object)  # not 1.0 for seed 1
        board["rank"] = _rank(board)
        # ranked runs first by rank; unranked (partial, other manifest, duplicate) after, by accuracy
        board = board.assign(_unranked=board["rank"].isna()).sort_values(
            ["_unranked", "rank", "accuracy", "run"], ascending=[True, True, False, True],
            na_position="last", kind="stable")
        board = board[columns].reset_index(drop=True)
        for col in ("frames", "K", "τ", "seed"):
            if board[col].isna().all():
                board[col] = board[col].astype(object)

    heat = _full_grid(results, runs["run_id"].tolist(), lengths)
    by_task = _percent(accuracy.summarise(results, ["run_id", "task_type"]))
    if have_manifest and len(results):
        seconds = results["case_id"].map(dict(zip(manifest.cases["case_id"], manifest.cases["needle_seconds"])))
        binned = results.assign(needle_duration=accuracy.needle_duration_bin(seconds))
        by_duration = _percent(accuracy.summarise(binned[binned["needle_duration"].notna()],
                                                  ["run_id", "needle_duration"]))
        by_duration["needle_duration"] = by_duration["needle_duration"].astype(str)
    else:
        by_duration = pd.DataFrame(columns=["run_id", "needle_duration", *accuracy.SUMMARY_COLUMNS, "chance"])
    # categorical run ids speed up the groupbys; plain strings are friendlier to show and export
    by_len, heat, by_task, by_duration, results = (
        f.assign(run_id=f["run_id"].astype(object)) for f in (by_len, heat, by_task, by_duration, results))
    return Tables(board, by_len, heat, by_task, by_duration, results, lengths, dict(loaded.problems),
                  100.0 * chance, not have_manifest)


def _full_grid(results: pd.DataFrame, run_ids: list[str], lengths: list[int]) -> pd.DataFrame:
    """Every (run, length, depth decile) cell, scored or not (``n`` = 0, accuracy NaN), so a
    partial run's missing lengths show as empty cells instead of disappearing."""
    cells = _percent(accuracy.summarise(results, ["run_id", "length", "depth_decile"]))
    grid = pd.MultiIndex.from_product([run_ids, lengths, range(10)], names=["run_id", "length", "depth_decile"])
    cells = cells.assign(run_id=cells["run_id"].astype(object)).set_index(["run_id", "length", "depth_decile"])
    full = cells.reindex(grid).reset_index()
    for col in ("n", "correct", "unparsed", "failed"):
        full[col] = full[col].fillna(0).astype("int64")
    full["depth_range"] = full["depth_decile"].map(accuracy.depth_label)
    return full


def heatmap_difference(heat: pd.DataFrame, run_a: str, run_b: str) -> pd.DataFrame:
    """Cell-wise ``accuracy(a) - accuracy(b)`` on the full grid, with a two-proportion
    z-test per cell (``p``), Holm-adjusted over the cells both runs scored (``p_holm``),
    and ``verdict``: whether the cell differs beyond noise. Cells either run did not score
    stay in the frame with NaNs, so a caller can say how many cells the difference covers."""
    keys = ["length", "depth_decile", "depth_range"]
    a = heat[heat["run_id"] == run_a][[*keys, "accuracy", "correct", "n"]]
    b = heat[heat["run_id"] == run_b][[*keys, "accuracy", "correct", "n"]]
    merged = a.merge(b, on=keys, suffixes=("_a", "_b"), how="outer").fillna({"n_a": 0, "n_b": 0})
    merged["difference"] = merged["accuracy_a"] - merged["accuracy_b"]
    merged["z"], merged["p"] = accuracy.two_proportion_test(merged["correct_a"], merged["n_a"], merged["correct_b"],
                                                            merged["n_b"])
    merged["p_holm"] = accuracy.holm(merged["p"])
    merged["covered"] = (merged["n_a"] > 0) & (merged["n_b"] > 0)
    verdict = np.where(merged["p_holm"] < ALPHA, "beyond noise (Holm)",
                       np.where(merged["p"] < ALPHA, f"p < {ALPHA:g} (uncorrected)", "within noise"))
    merged["verdict"] = np.where(merged["covered"], verdict, "not in both runs")
    return merged.sort_values(["length", "depth_decile"]).reset_index(drop=True)


def public_text(text: str, folders: dict[str | Path, str]) -> str:
    """``text`` with each folder's server path replaced by its public name, so messages
    that name files do not show where the server keeps them."""
    for folder, name in folders.items():
        for form in {str(Path(folder)), str(Path(folder).resolve())}:
            text = text.replace(form, name)
    return text


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
