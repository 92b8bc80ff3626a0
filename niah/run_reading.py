"""The one reading of a run folder's numbers, shared by ``runner report``, the leaderboard
page, its upload checks and its export, so a CSV cited from the report and the public board
cannot disagree about a run.

Each rule is written here once:

* **total** (:func:`total_of`): ``cases_total`` counts only as a non-negative integer; missing,
  a boolean (``true`` is not "1 case") or anything else is an unknown total.
* **manifest** (:func:`manifest_check`): a run is read against the open benchmark unless it
  records another manifest's fingerprint (one that records none is read against it); a result
  for a case that benchmark does not hold is left out of every figure, and the run says how
  many (:func:`outside_note`).
* **status** (:func:`run_status`): ``complete`` when the total is known, above zero and every
  case is scored; ``partial k/n`` when it is known and not reached; ``unknown total`` otherwise.
* **version 1** (:func:`stored_rule`): a line without ``answer_rule`` was written by the
  strict parser, so its ``prediction`` is the strict reading.
* **letter under a rule** (:func:`letters_under`): what a line stores under the asked rule is
  taken as it is; the rest is read again from ``raw_output`` with the case's options, and a
  line whose options are unknown (no manifest) keeps the letter it stores.
* **correct** (:func:`correct`): the case did not fail and the letter is the manifest's gold
  letter, and for a circular line (``rotations`` recorded) every rotation's letter, read under
  the same rule, is the gold too (:func:`rotations_right`); a stored ``correct`` is used only
  where there is no gold letter to check it against.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from niah import answers
from niah.circular import all_rotations, shown_letter, to_original

COMPLETE = "complete"
UNKNOWN_TOTAL = "unknown total"
MATCH, DIFFERS, NOT_RECORDED, NO_BENCHMARK = "match", "DIFFERS", "not recorded", "no benchmark"
#: the columns of a results frame :func:`letters_under` reads (named as in :class:`niah.results.Result`)
LETTER_INPUTS = ("prediction", "raw_output", "answer_rule", "prediction_strict")


def total_of(info: Mapping[str, Any]) -> int | None:
    """The run's ``cases_total`` from its ``run.json``, or ``None`` (unknown) if it is not a
    non-negative integer; a boolean is refused (``True`` would otherwise read as 1)."""
    total = info.get("cases_total")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return None
    return total


def manifest_check(recorded: Any, current: str | None) -> str:
    """How a run's recorded ``manifest_fingerprint`` compares with the open benchmark's
    (``current``, ``None`` without one): only :data:`DIFFERS` keeps a run off that benchmark."""
    recorded = recorded if isinstance(recorded, str) else None
    if current is None:
        return NO_BENCHMARK if recorded else NOT_RECORDED
    if recorded is None:
        return NOT_RECORDED
    return MATCH if recorded == current else DIFFERS


def outside_note(left_out: int) -> str:
    """What a run read against the open benchmark says of its results for cases the manifest
    does not hold (a hand-edited file, a case dropped from a later build): they are not one of
    the benchmark's cases, so no figure counts them, in the report or on the page."""
    return f"{left_out} result(s) outside the manifest left out"


def is_complete(covered: int, total: int | None) -> bool:
    """Every case of a known, non-empty total is scored."""
    return total is not None and total > 0 and covered >= total


def run_status(covered: int, total: int | None) -> str:
    """``complete``, ``partial k/n`` or ``unknown total`` for ``covered`` scored cases of ``total``."""
    if total is None:
        return UNKNOWN_TOTAL
    return COMPLETE if is_complete(covered, total) else f"partial {covered}/{total}"


def stored_rule(answer_rule: str | None) -> str:
    """The rule a line's ``prediction`` is under: its ``answer_rule``, or for a version-1 line
    (none recorded: ``None``, or NaN in a frame) the strict parser's."""
    if pd.isna(answer_rule):
        return answers.LEGACY_RULE
    # as written: an older name (``official``) was another extractor than the reading that now
    # carries it (``videomme``, the script exactly), so such a line is read again from its output
    return str(answer_rule)


def correct(failed: Any, letters: Any, gold: Any, rotations_ok: Any = True) -> np.ndarray:
    """Elementwise: not failed, a gold letter is known, the letter is it and (circular lines)
    every rotation is right (:func:`rotations_right`); scalars give a 0-d array (``bool()``
    it). A case without a gold letter is never correct here."""
    failed, rotations_ok = np.asarray(failed, dtype=bool), np.asarray(rotations_ok, dtype=bool)
    letters, gold = np.asarray(letters), np.asarray(gold)   # str or None: compared as Python objects
    return ~failed & np.not_equal(gold, None) & np.equal(letters, gold) & rotations_ok


def is_correct(error: str | None, letter: str | None, gold: str | None, rotations_ok: bool = True) -> bool:
    """:func:`correct` of one result: ``error`` is the line's (``None`` when the case ran)."""
    return bool(correct(error is not None, letter, gold, rotations_ok))


#: what a rotation record (:class:`niah.results.Result` ``rotations``) holds that the reading uses
Rotation = tuple[str | None, str | None, str]


def rotation_records(rotations: Any) -> tuple[Rotation, ...] | None:
    """A circular line's rotations as ``(prediction, prediction_strict, raw_output)``, rotation
    0 first, or ``None`` for a plain line; a value of the wrong type reads as not given."""
    if not isinstance(rotations, (list, tuple)) or not rotations:
        return None
    out = []
    for rot in rotations:
        rot = rot if isinstance(rot, dict) else {}
        letter, strict, raw = rot.get("prediction"), rot.get("prediction_strict"), rot.get("raw_output")
        out.append((letter if isinstance(letter, str) else None, strict if isinstance(strict, str) else None,
                    raw if isinstance(raw, str) else ""))
    return tuple(out)


def rotations_right(records: Sequence[tuple[Rotation, ...] | None], options: Sequence[Any],
                    answer_rules: Sequence[str | None], rule: str, gold: Sequence[str | None]) -> np.ndarray:
    """Per line: ``True`` for a plain line (``records`` ``None``) or unknown ``options``; for a
    circular line, whether it has one record per rotation and each, read under ``rule`` as
    :func:`letters_under` reads a line (with the options as that rotation showed them), maps
    back to ``gold``. The rotations' letters are stored under the line's ``answer_rules``."""
    ok = np.ones(len(records), dtype=bool)
    rows, shown, where = [], [], []
    for i, (recs, opts, stored) in enumerate(zip(records, options, answer_rules)):
        if recs is None or not isinstance(opts, (list, tuple)):
            continue
        views = all_rotations(opts)
        if len(recs) != len(views):
            ok[i] = False
            continue
        for r, (letter, strict, raw) in enumerate(recs):
            as_shown = [shown_letter(x, opts, r) for x in (letter, strict)]   # None stays None
            rows.append((as_shown[0], raw, stored, as_shown[1]))
            shown.append(views[r])
            where.append((i, r))
    if rows:
        letters = letters_under(pd.DataFrame(rows, columns=list(LETTER_INPUTS), dtype=object), shown, rule)
        for (i, r), letter in zip(where, letters):
            if to_original(letter, options[i], r) != gold[i]:
                ok[i] = False
    return ok


def letters_under(results: pd.DataFrame, options: Sequence[Any], rule: str) -> pd.Series:
    """Per row of ``results`` (columns :data:`LETTER_INPUTS`), the letter under ``rule``;
    ``options``: per row, the case's options (a list or tuple), anything else (``None``, NaN)
    where the case is unknown."""
    known = [tuple(o) if isinstance(o, (list, tuple)) else None for o in options]
    codes, values = pd.factorize(pd.Series(known, dtype=object))
    return letters_coded(results, codes, list(values), rule)


def letters_coded(results: pd.DataFrame, option_codes: np.ndarray, option_values: list[tuple],
                  rule: str) -> pd.Series:
    """:func:`letters_under` with the options given as a code per row into ``option_values``
    (-1: unknown). Stored letters are taken vectorised; only the rest is extracted again, once
    per distinct (output, options) pair, because outputs repeat a lot."""
    rule = answers.canonical(rule)  # a name or an alias; unknown: ValueError naming the known
    stored = results["answer_rule"].map(stored_rule)
    out = pd.Series(index=results.index, dtype=object)   # every row is set below
    same = (stored == rule).to_numpy()
    out[same] = results.loc[same, "prediction"]
    strict = (~same) & (rule == answers.SECOND_RULE) & results["prediction_strict"].notna().to_numpy()
    out[strict] = results.loc[strict, "prediction_strict"]
    rest = ~(same | strict)
    # options unknown: the line's own letter is all there is (else every old line reads "unparsed")
    blind = rest & (np.asarray(option_codes) < 0)
    out[blind] = results.loc[blind, "prediction"]
    rest &= ~blind
    if rest.any():
        raw_codes, raws = pd.factorize(results.loc[rest, "raw_output"])
        width = len(option_values) + 1   # one integer per (output, options) pair: 1-D np.unique is 15x axis=0's speed
        pair = raw_codes.astype("int64") * width + (np.asarray(option_codes)[rest] + 1)
        unique_pairs, inverse = np.unique(pair, return_inverse=True)
        choices = [(), *option_values]
        letters = np.array([_extract(rule, raws[p // width], list(choices[p % width])) for p in unique_pairs],
                           dtype=object)
        out[rest] = letters[inverse]
    return out.where(out.notna(), None)


def _extract(rule: str, raw_output: str, options: list[str]) -> str | None:
    """The one place a rule's extractor is called (:data:`niah.answers.READINGS`)."""
    return answers.READINGS[rule].extract(raw_output, options)
