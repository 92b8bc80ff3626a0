"""Aggregate loaded runs into the frames the leaderboard page shows (no Streamlit).

Everything the page (and the static export) shows comes from :func:`build_tables`, plain
pandas, unit-tested directly and cached once per folder state and answer rule. Accuracies
in every table are percentages (0-100) over the cases a run has scored, each with its
Wilson 95 % interval (``ci_low``, ``ci_high``) and chance level, computed by
:mod:`niah.accuracy`, the aggregation ``runner report`` uses too.

Correctness is read under an answer rule (:data:`niah.answers.READINGS`, default
:data:`niah.answers.DEFAULT_RULE`) as :mod:`niah.run_reading` says, the reading ``runner
report`` uses too: correct when the case did not fail and the letter is the manifest's gold
answer; without a manifest there is no gold answer and the results files' ``correct`` is used.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leaderboard import copies, ranking
from leaderboard.columns import C
from leaderboard import columns as cols
from leaderboard.loading import Loaded, Manifest
from niah import accuracy, answers, comparisons, run_reading

#: Options per question assumed for chance when no manifest is open (Video-MME has four).
ASSUMED_OPTIONS = 4
#: Cells and groups with fewer cases than this are marked as too few to read much into.
MIN_CASES = 10
#: Significance level of every test the page shows.
ALPHA = ranking.ALPHA
#: A run with more unparsed answers than this (%) is warned about: its accuracy measures its answer format too.
HIGH_UNPARSED_PCT = 10.0
#: A run whose answer readings give different letters on more than this share (%) of its cases is warned about.
READINGS_DIFFER_PCT = 5.0
#: What makes cases one cluster for intervals and tests (a manifest column): the needle question,
#: asked at several lengths and depths; ``"needle_video"`` is the coarser choice (lmms-eval's).
CLUSTER_BY = "needle_question"
#: Results columns ``differs:<reading>``: the case's letter under that reading differs from the shown one.
READING_PREFIX = "differs:"
_PCT = ["accuracy", "ci_low", "ci_high", "chance"]
#: The board's columns taken from a run's :func:`niah.accuracy.summarise` row.
_SUMMARY = [(C.accuracy, "accuracy"), (C.ci_low, "ci_low"), (C.ci_high, "ci_high"), (C.chance, "chance")]


@dataclass(kw_only=True)
class Tables:
    """Everything the page shows, as plain frames (each also downloadable as CSV); built by
    keyword only, so no two frames of the same type can be swapped by position.

    Accuracies, interval bounds and chance are percentages. ``chance`` is the benchmark's
    (mean of 1/options over its cases), the centre of every colour scale; without a
    manifest it is ``100 / ASSUMED_OPTIONS`` and ``chance_assumed`` is set.
    """

    leaderboard: pd.DataFrame     # one row per run, sections then ranks (see ranking.rank)
    by_length: pd.DataFrame       # run_id, length, accuracy, ci_low, ci_high, chance, n, ...
    heatmap: pd.DataFrame         # run_id, length, depth_decile, ...: every cell of the grid, n = 0 if unscored
    by_task: pd.DataFrame         # run_id, task_type, ...
    by_duration: pd.DataFrame     # run_id, needle_duration, ... (needs manifest)
    by_task_length: pd.DataFrame  # run_id, task_type, length, ...: every cell, n = 0 if unscored
    by_duration_length: pd.DataFrame  # run_id, needle_duration, length, ... (needs manifest)
    results: pd.DataFrame         # the long results frame, with letter, correct under the rule, depth_decile, chance
    lengths: list[int]            # every length of the manifest and of any run
    problems: dict[str, list[str]]
    chance: float
    chance_assumed: bool
    rule: str = answers.DEFAULT_RULE
    runs_info: dict[str, str] = field(default_factory=dict)  # run id -> run.json as JSON text
    pairwise: pd.DataFrame = field(default_factory=pd.DataFrame)  # every pair of ranked entries (ranking.pairwise)

    @property
    def run_ids(self) -> list[str]:
        return list(self.leaderboard[C.run.name])

    def label(self, run_id: str) -> str:
        """The run as every picker, legend and title names it, with its marks."""
        row = self.leaderboard.loc[self.leaderboard[C.run.name] == run_id]
        return str(row[C.label.name].iloc[0]) if len(row) else run_id


def run_label(run_id: str, model: str, marks: list[str]) -> str:
    """``run_id`` (prefixed by the model unless the id already names it), then its marks,
    so every place a run appears says so; the full id is kept, so seeds stay distinguishable."""
    name = run_id if model in run_id else f"{model} · {run_id}"
    return name + "".join(f" [{m}]" for m in marks)


def _percent(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in _PCT:
        if col in out:
            out[col] = out[col].astype("float64") * 100.0
    return out


def _status(run, scored: int, covered: int, have_manifest: bool, manifest: Manifest | None) -> tuple[str, str, bool, int]:
    """``(status, manifest check, complete on this benchmark, cases expected)`` of one run."""
    fp_status = run_reading.manifest_check(run.manifest_fingerprint, manifest.fingerprint if have_manifest else None)
    if have_manifest and fp_status != run_reading.DIFFERS:
        expected = len(manifest.cases)
    else:
        expected, covered = run.cases_total, scored
    complete = run_reading.is_complete(covered, expected)
    return run_reading.run_status(covered, expected), fp_status, complete and fp_status != run_reading.DIFFERS, expected


def _take(values: np.ndarray, row: np.ndarray, fill: Any) -> np.ndarray:
    """``values[row]``, ``fill`` where ``row`` is -1 (a case not in the manifest; also when
    the manifest has no cases at all): the fill is appended, so -1 picks it."""
    return np.append(values, fill)[row]


def prepare_results(loaded: Loaded, manifest: Manifest | None,
                    rule: str) -> tuple[pd.DataFrame, float, bool, dict[str, int]]:
    """The long results frame with, per row: ``letter`` under ``rule``, ``correct`` under it,
    ``code`` (what was answered, for copy detection), ``depth_decile``, ``in_manifest``,
    ``chance``, ``unparsed``, ``failed``; the benchmark's chance (fraction); whether a manifest
    was open; and per run read against it, how many of its results were for cases outside it
    and are left out (:func:`niah.run_reading.outside_note`; a run scored on another manifest
    keeps its rows, shown but never ranked)."""
    runs, results = loaded.runs, loaded.results.copy()
    have_manifest = manifest is not None and manifest.available
    left_out: dict[str, int] = {}
    if have_manifest:
        row = pd.Index(manifest.cases["case_id"]).get_indexer(results["case_id"])  # -1: not in the manifest
        other = {run for run, fp in zip(runs["run_id"], runs["manifest_fingerprint"])
                 if run_reading.manifest_check(fp, manifest.fingerprint) == run_reading.DIFFERS}
        outside = (row < 0) & ~results["run_id"].isin(other).to_numpy()
        left_out = results.loc[outside, "run_id"].value_counts().to_dict()
        results, row = results[~outside].reset_index(drop=True), row[~outside]
    results["run_id"] = pd.Categorical(results["run_id"], categories=list(runs["run_id"]))
    results["depth_decile"] = accuracy.depth_decile(results["depth"])
    results["failed"] = results["error"].notna()
    if have_manifest:
        cases = manifest.cases
        known = row >= 0
        results["in_manifest"] = known
        case_options, option_values = pd.factorize(cases["options"].map(tuple))
        option_codes = _take(case_options, row, -1)
        chance = float(cases["chance"].mean()) if len(cases) else 1 / ASSUMED_OPTIONS
        results["chance"] = _take(cases["chance"].to_numpy(), row, 1 / ASSUMED_OPTIONS)
        gold = _take(cases["answer"].to_numpy(), row, None)
        option_values = list(option_values)
    else:
        results["in_manifest"] = False
        option_codes, option_values = np.full(len(results), -1), []
        chance = 1 / ASSUMED_OPTIONS
        results["chance"] = chance
        gold = None
    default = run_reading.letters_coded(results, option_codes, option_values, answers.DEFAULT_RULE)
    letter = default if rule == answers.DEFAULT_RULE else run_reading.letters_coded(results, option_codes,
                                                                                     option_values, rule)
    results["letter"] = letter
    shown = letter.to_numpy(dtype=object)
    for name in answers.rule_names():  # every other reading of the registry: does it give another letter?
        if name != answers.canonical(rule):
            other = default if name == answers.DEFAULT_RULE else run_reading.letters_coded(results, option_codes,
                                                                                            option_values, name)
            results[READING_PREFIX + name] = other.to_numpy(dtype=object) != shown  # None == None: the same
    results["code"] = copies.answer_codes(default, results["failed"])
    if gold is not None:
        # a case outside the manifest (kept only for a run scored on another one) has no gold letter: never correct
        rotations_ok = True
        if results["rotations"].notna().any():
            options = [option_values[c] if c >= 0 else None for c in option_codes]
            rotations_ok = run_reading.rotations_right(results["rotations"].tolist(), options,
                                                       results["answer_rule"].tolist(), rule, list(gold))
        results["correct"] = run_reading.correct(results["failed"], letter, gold, rotations_ok)
    results["correct"] = results["correct"].astype(bool)
    results["unparsed"] = results["letter"].isna() & ~results["failed"]
    results["cluster"] = _cluster_codes(results, manifest if have_manifest else None, row if have_manifest else None)
    model_of = np.asarray(runs["model"], dtype=object)  # run.json's model names every row of its run
    results["model"] = model_of[results["run_id"].cat.codes.to_numpy()] if len(model_of) else results["model"]
    return results, chance, have_manifest, left_out


def _cluster_codes(results: pd.DataFrame, manifest: Manifest | None, row: np.ndarray | None) -> np.ndarray:
    """Each row's cluster (:mod:`niah.clusters`) as a code: its case's needle question in the
    manifest (:data:`CLUSTER_BY`; ``row``: each result's manifest row, -1 outside it); a case
    outside the manifest, or every case without one, is its own cluster (the same across runs)."""
    own = pd.factorize(results["case_id"])[0]
    if manifest is None or row is None:
        return own
    of_case, names = pd.factorize(manifest.cases[CLUSTER_BY])
    codes = _take(of_case, row, -1)
    return np.where(codes >= 0, codes, len(names) + own)


def build_tables(loaded: Loaded, manifest: Manifest | None = None, rule: str = answers.DEFAULT_RULE) -> Tables:
    """Aggregate once: the leaderboard and every breakdown the page shows (``rule``: a reading's
    name or older alias, recorded under its name)."""
    rule = answers.canonical(rule)
    runs = loaded.runs
    results, chance, have_manifest, left_out = prepare_results(loaded, manifest, rule)
    lengths = sorted({int(x) for x in results["length"].unique()}
                     | ({int(x) for x in manifest.cases["length"]} if have_manifest else set()))

    per_run = _percent(accuracy.summarise(results, ["run_id"])).set_index("run_id")
    extra = results.groupby("run_id", observed=True).agg(in_manifest=("in_manifest", "sum"),
                                                         mean_seconds=("seconds", "mean"))
    by_len = accuracy.summarise(results, ["run_id", "length"])
    by_len_pct = _percent(by_len)
    per_length = {(r, n, col): v for col in ("accuracy", "ci_low", "ci_high", "n")
                  for r, n, v in zip(by_len_pct["run_id"], by_len_pct["length"], by_len_pct[col])}
    held = {run: _holds_up_to(g) for run, g in by_len.groupby("run_id", observed=True)}
    created = {run: copies.created_at(info) for run, info in zip(runs["run_id"], runs["info"])}
    near = copies.closest_earlier(results[["run_id", "case_id", "code"]].assign(
        run_id=results["run_id"].astype(object)), copies.oldest_first(runs["run_id"], created, runs["uploaded"]),
        dict(zip(runs["run_id"], runs[C.seed_group.name])))
    differs = _readings_differ(results)
    rows = []
    for run in runs.itertuples():
        stats = per_run.loc[run.run_id].to_dict() if run.run_id in per_run.index else None
        scored = int(stats["n"]) if stats else 0
        covered = int(extra.loc[run.run_id, "in_manifest"]) if stats else 0
        status, fp_status, complete, expected = _status(run, scored, covered, have_manifest, manifest)
        match = near.get(run.run_id)
        other_reading, gap = differs.get(run.run_id, ("", 0.0))
        marks, reason = _marks_and_reason(status, fp_status, run.uploaded, match, scored)
        if gap > READINGS_DIFFER_PCT:
            marks.append("readings differ")
        if left_out.get(run.run_id):
            marks.append(run_reading.outside_note(left_out[run.run_id]))
        row = {C.run.name: run.run_id, C.model.name: run.model, C.status.name: status,
               C.marks.name: " · ".join(marks), C.reason.name: reason,
               C.rankable.name: complete and match is None,
               C.section.name: "uploaded" if run.uploaded else "project",
               C.label.name: run_label(run.run_id, run.model, marks),
               C.holds_up_to.name: held.get(run.run_id) if complete else None,
               C.readings.name: (f"{answers.canonical(rule)}; {other_reading} differs on {gap:.0f}%" if gap > READINGS_DIFFER_PCT
                                 else ""),
               C.readings_gap.name: gap, C.created.name: created[run.run_id] or "",
               C.date.name: (created[run.run_id] or "")[:10],
               **_metadata(run.info),
               **{c.name: stats[stat] if stats else np.nan for c, stat in _SUMMARY}}
        for length in lengths:
            for column, stat in ((C.acc, "accuracy"), (C.lo, "ci_low"), (C.hi, "ci_high"), (C.n, "n")):
                row[column.at(length)] = per_length.get((run.run_id, length, stat), np.nan)
        unparsed = int(stats["unparsed"]) if stats else 0
        row.update({
            **{name: getattr(run, name) for _, name in cols.SETTING_COLUMNS},
            C.scored.name: scored, C.cases.name: expected, C.manifest.name: fp_status, C.unparsed.name: unparsed,
            C.unparsed_pct.name: 100.0 * unparsed / scored if scored else np.nan,
            C.errors.name: int(stats["failed"]) if stats else 0,
            C.problems.name: len(loaded.problems.get(run.run_id, [])),
            C.seconds_per_case.name: float(extra.loc[run.run_id, "mean_seconds"]) if stats else np.nan,
            C.uploaded.name: run.uploaded, C.near_copy_of.name: match.original if match else "",
            C.agreement.name: 100.0 * match.agreement if match else np.nan,
            **{c.name: getattr(run, c.name) for c in (C.seed, C.seed_group, C.settings, C.model_path, C.revision,
                                                      C.code_version)},
        })
        rows.append(row)
    columns = cols.names(lengths)
    if not rows:
        board, pairs = pd.DataFrame(columns=columns), pd.DataFrame(columns=ranking.PAIRWISE_COLUMNS)
    else:
        board = pd.DataFrame(rows)
        board[C.seed.name] = pd.Series([r[C.seed.name] for r in rows], dtype=object)  # not 1.0 for seed 1
        case_correct = _case_matrix(results, board)
        case_cluster = results.drop_duplicates("case_id").set_index("case_id")["cluster"]
        board = ranking.rank(board, case_correct, case_cluster)
        pairs = ranking.pairwise(board, case_correct, case_cluster)
        board = cols.select(_partial_seeds(board), lengths)
        for col in (C.frames, C.keyframes, C.tau, C.seed, C.holds_up_to):  # all missing: blank, not NaN
            if board[col.name].isna().all():
                board[col.name] = board[col.name].astype(object)

    heat = _full_grid(results, ["length", "depth_decile"], {"length": lengths, "depth_decile": list(range(10))},
                      runs["run_id"].tolist())
    heat["depth_range"] = heat["depth_decile"].map(accuracy.depth_label)
    by_task = _percent(accuracy.summarise(results, ["run_id", "task_type"]))
    task_types = sorted(results["task_type"].dropna().unique())
    by_task_length = _full_grid(results, ["task_type", "length"], {"task_type": task_types, "length": lengths},
                                runs["run_id"].tolist())
    if have_manifest and len(results):
        seconds = results["case_id"].map(dict(zip(manifest.cases["case_id"], manifest.cases["needle_seconds"])))
        binned = results.assign(needle_duration=accuracy.needle_duration_bin(seconds).astype(object))
        binned = binned[binned["needle_duration"].notna()]
        by_duration = _percent(accuracy.summarise(binned, ["run_id", "needle_duration"]))
        by_duration_length = _full_grid(binned, ["needle_duration", "length"],
                                        {"needle_duration": list(accuracy.NEEDLE_SECONDS_LABELS), "length": lengths},
                                        runs["run_id"].tolist())
    else:
        by_duration = pd.DataFrame(columns=["run_id", "needle_duration", *accuracy.SUMMARY_COLUMNS, "chance"])
        by_duration_length = pd.DataFrame(columns=["run_id", "needle_duration", "length",
                                                   *accuracy.SUMMARY_COLUMNS, "chance"])
    # categorical run ids speed up the groupbys; plain strings are friendlier to show and export
    by_len_pct, by_task, by_duration, results = (
        f.assign(run_id=f["run_id"].astype(object)) for f in (by_len_pct, by_task, by_duration, results))
    return Tables(leaderboard=board, by_length=by_len_pct, heatmap=heat, by_task=by_task, by_duration=by_duration,
                  by_task_length=by_task_length, by_duration_length=by_duration_length, results=results,
                  lengths=lengths, problems=dict(loaded.problems), chance=100.0 * chance,
                  chance_assumed=not have_manifest, rule=rule, runs_info=dict(zip(runs["run_id"], runs["info"])),
                  pairwise=pairs)


def _holds_up_to(by_length: pd.DataFrame) -> int | None:
    """:func:`niah.accuracy.holds_up_to` of one run's per-length counts; ``None`` where its
    shortest length is not above chance (nothing to hold up)."""
    first = by_length.sort_values("length").iloc[0]
    if not first["ci_low"] > first["chance"]:
        return None
    return accuracy.holds_up_to(by_length["length"].tolist(), by_length["correct"].tolist(),
                                by_length["n"].tolist(), ALPHA)


#: Model metadata columns and the run.json "metadata" key each is read from.
_METADATA = [(C.parameters, "parameters"), (C.organisation, "organisation"), (C.protocol, "protocol"),
             (C.link, "link")]


def _metadata(info_json: str) -> dict[str, str]:
    """The optional model metadata of a run.json (``{"metadata": {"parameters": "7B", ...}}``),
    as plain text ("" where absent); the protocol is the settings' unless the metadata names one."""
    try:
        info = json.loads(info_json or "{}")
    except ValueError:
        info = {}
    meta = info.get("metadata") if isinstance(info, dict) and isinstance(info.get("metadata"), dict) else {}
    settings = info.get("settings") if isinstance(info, dict) and isinstance(info.get("settings"), dict) else {}
    # the protocol a run was scored under is part of its settings (and run id); metadata may name it too
    meta = {"protocol": settings.get("protocol"), **{k: v for k, v in meta.items() if v is not None}}
    return {column.name: "" if meta.get(key) is None else str(meta.get(key)) for column, key in _METADATA}


def _readings_differ(results: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """Per run: the other answer reading that differs most from the shown one, and on what
    share (%) of the run's cases."""
    columns = [c for c in results.columns if c.startswith(READING_PREFIX)]
    shares = results.groupby("run_id", observed=True)[columns].mean() * 100.0
    worst = shares.idxmax(axis=1)
    return {run: (str(col)[len(READING_PREFIX):], float(shares.at[run, col])) for run, col in worst.items()}


def _marks_and_reason(status: str, fp_status: str, uploaded: bool, match: copies.Match | None,
                      scored: int) -> tuple[list[str], str]:
    """The marks a run carries wherever it is named, and why it is not ranked ('' if it is)."""
    marks, reasons = [], []
    if status != "complete":
        marks.append(status)
        reasons.append(f"{status}: only complete runs are ranked" if scored else "no results")
    if fp_status == "DIFFERS":
        marks.append("other manifest")
        reasons.append("scored on another manifest")
    if match is not None:
        kind = "copy" if match.exact else "near copy"
        marks.append(f"{kind} of {match.original}")
        via = f" (a {kind} of {match.via}, itself a copy of {match.original})" if match.via else ""
        reasons.append(f"{100 * match.agreement:.1f}% the same answers as an earlier run on {match.common} "
                       f"common cases{via}; the original, {match.original}, is the earliest created")
    if uploaded:
        marks.append("uploaded")
    return marks, "; ".join(reasons)


def _partial_seeds(board: pd.DataFrame) -> pd.DataFrame:
    """A partial member of a seed group says that the group's mean leaves it out."""
    rankable, group_of = board[C.rankable.name], board[C.seed_group.name]
    counts = group_of[rankable & group_of.notna()].value_counts()
    apart = (~rankable) & group_of.isin(counts.index)
    for index, group in group_of[apart].items():
        board.at[index, C.reason.name] += f"; not in its seed group's mean (over its {counts[group]} complete seed(s))"
    return board


def _case_matrix(results: pd.DataFrame, board: pd.DataFrame) -> pd.DataFrame:
    """Ranked runs x cases: 1.0 correct, 0.0 wrong, NaN not answered (the paired tests' input)."""
    ranked = results[results["run_id"].isin(set(board.loc[board[C.rankable.name], C.run.name]))]
    if ranked.empty:
        return pd.DataFrame()
    return ranked.assign(run_id=ranked["run_id"].astype(object)).pivot(
        index="run_id", columns="case_id", values="correct").astype("float64")


def _full_grid(results: pd.DataFrame, keys: list[str], levels: dict[str, list], run_ids: list[str]) -> pd.DataFrame:
    """Every (run, *keys) cell, scored or not (``n`` = 0, accuracy NaN), so a partial run's
    missing lengths show as empty cells instead of disappearing; ``beyond_chance``: the cell
    differs from chance after Holm over its run's grid (:func:`niah.accuracy.beyond_chance`)."""
    grid = accuracy.summarise_grid(results, {"run_id": run_ids, **{k: levels[k] for k in keys}})
    grid["beyond_chance"] = accuracy.beyond_chance(grid["correct"], grid["n"], grid["chance"], grid["run_id"], ALPHA)
    return _percent(grid)


# ----- two runs --------------------------------------------------------------------------------
def _paired_rows(both: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys`` of the common cases: accuracies, A − B and the p of
    :func:`niah.comparisons.paired` (exact McNemar; cluster-adjusted where the group's
    cases share a needle question)."""
    rows = []
    for key, group in (both.groupby(keys) if keys else [((), both)]):
        a, b = group["correct_a"].to_numpy(), group["correct_b"].to_numpy()
        test = comparisons.paired(a, b, group["cluster"].to_numpy(), np.array([True]))
        acc_a, acc_b = (100.0 * a.mean(), 100.0 * b.mean()) if len(a) else (np.nan, np.nan)
        rows.append({**dict(zip(keys, key)), "n": len(group), "accuracy_a": acc_a, "accuracy_b": acc_b,
                     "difference": acc_a - acc_b, "a_only": int((a > b).sum()), "b_only": int((a < b).sum()),
                     "p": float(test.p[0]), "test": str(test.test[0])})
    out = pd.DataFrame(rows, columns=[*keys, "n", "accuracy_a", "accuracy_b", "difference", "a_only", "b_only", "p",
                                      "test"])
    out["p_holm"] = accuracy.holm(out["p"])
    out["verdict"] = np.where(out["p_holm"] < ALPHA, "beyond noise (Holm)",
                              np.where(out["p"] < ALPHA, f"p < {ALPHA:g} (uncorrected)", "within noise"))
    return out


@dataclass
class PairedDifference:
    """Two runs compared on the cases both answered, by the exact McNemar test: overall
    (``overall``: one row), per length, per depth decile and per cell (Holm within each)."""

    run_a: str
    run_b: str
    common: int
    only_a: int
    only_b: int
    overall: pd.DataFrame
    by_length: pd.DataFrame
    by_decile: pd.DataFrame
    cells: pd.DataFrame


def paired_difference(tables: Tables, run_a: str, run_b: str) -> PairedDifference:
    res = tables.results
    a = res.loc[res["run_id"] == run_a, ["case_id", "length", "depth_decile", "cluster", "correct"]]
    b = res.loc[res["run_id"] == run_b, ["case_id", "correct"]]
    both = a.merge(b, on="case_id", suffixes=("_a", "_b"))
    grid = tables.heatmap.loc[tables.heatmap["run_id"] == run_a, ["length", "depth_decile", "depth_range"]]
    cells = grid.merge(_paired_rows(both, ["length", "depth_decile"]), how="left")
    cells["n"] = cells["n"].fillna(0).astype("int64")
    cells["covered"] = cells["n"] > 0
    cells["verdict"] = cells["verdict"].where(cells["covered"], "not in both runs")
    by_decile = _paired_rows(both, ["depth_decile"])
    by_decile["depth_range"] = by_decile["depth_decile"].map(accuracy.depth_label)
    return PairedDifference(run_a, run_b, len(both), len(a) - len(both), len(b) - len(both),
                            _paired_rows(both, []), _paired_rows(both, ["length"]), by_decile,
                            cells.sort_values(["length", "depth_decile"]).reset_index(drop=True))


def public_text(text: str, folders: dict[str | Path, str]) -> str:
    """``text`` with each folder's server path replaced by its public name, so messages
    that name files do not show where the server keeps them."""
    for folder, name in folders.items():
        for form in {str(Path(folder)), str(Path(folder).resolve())}:
            text = text.replace(form, name)
    return text


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV (what the download buttons serve)."""
    return frame.to_csv(index=False).encode()
