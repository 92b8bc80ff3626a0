"""Aggregate loaded runs into the frames the leaderboard page shows (no Streamlit).

Everything the page shows comes from :func:`build_tables`, which is plain pandas, so it
is unit-tested directly and cached once by the page. Accuracies in every table are
percentages (0-100) over the cases a run has scored, each with its Wilson 95 % interval
(``ci_low``, ``ci_high``) and chance level, computed by :mod:`niah.accuracy`, the
aggregation ``runner report`` uses too.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leaderboard.loading import Loaded, Manifest
from niah import accuracy

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


def overall_difference(tables: Tables, run_a: str, run_b: str) -> tuple[float, float]:
    """``(accuracy(a) - accuracy(b) in points, two-sided p)`` over all the cases each run
    scored, by the same two-proportion test as the cells."""
    per_run = tables.results.groupby("run_id")["correct"].agg(["sum", "size"])
    (ka, na), (kb, nb) = (per_run.loc[r].to_numpy() if r in per_run.index else (0, 0) for r in (run_a, run_b))
    _, p = accuracy.two_proportion_test(ka, na, kb, nb)
    diff = 100.0 * (ka / na - kb / nb) if na and nb else float("nan")
    return diff, float(p)


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
