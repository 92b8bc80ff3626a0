"""Copies are found by their extracted answers: whitespace, line order and names do not
hide them; a near copy (>= 98 % the same answers) is shown but not ranked."""
from __future__ import annotations

import json
import random

import pandas as pd
import synthetic_runs as synthetic

from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard import upload as up
from leaderboard.page import Page
from leaderboard.tab_upload import copy_problem


def _disguised(path, model: str, flip: int = 0) -> bytes:
    """The run's lines with a space added to every output, shuffled, renamed; ``flip``
    answers changed to another letter."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row["raw_output"] = " " + row["raw_output"].replace(" ", "  ") + " "
        row["model"] = model
    for row in rows[:flip]:
        if row["prediction"]:
            row["prediction"] = "A" if row["prediction"] != "A" else "B"
            row["raw_output"] = f"The answer is {row['prediction']}."
            row["correct"] = False
    random.Random(0).shuffle(rows)
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _page(demo, tables, manifest) -> Page:
    return Page(tables, manifest, str(demo["results"]), str(demo["data"]), str(demo["results"] / "uploads"),
                False, up.MAX_UPLOADS, up.MAX_UPLOADS_TOTAL_MB << 20)


def test_a_disguised_copy_is_refused(demo):
    manifest = ld.load_manifest(demo["data"])
    tables = lb.build_tables(ld.load_results(demo["results"]), manifest)
    body = _disguised(demo["results"] / "model-c" / "results.jsonl", "totally-new-model")
    check = up.validate_upload(body, manifest.cases)
    assert check.ok, check.problems
    problem = copy_problem(_page(demo, tables, manifest), check)
    assert problem and "same answers as run model-c on all 20 cases" in problem
    # a genuinely different model is not a copy
    other = "".join(r.to_json() + "\n" for r in synthetic.make_results(demo["cases"], "fresh", 0.6, seed=5))
    assert copy_problem(_page(demo, tables, manifest), up.validate_upload(other.encode(), manifest.cases)) is None


def test_a_near_copy_is_marked_and_not_ranked(tmp_path):
    cases = synthetic.make_cases((300, 600), 50)
    fp = synthetic.write_manifest(tmp_path / "d", cases)
    synthetic.write_run(tmp_path / "r", "orig", synthetic.make_results(cases, "orig", 0.7),
                        synthetic.run_info("orig", fp, len(cases)))
    near = tmp_path / "r" / "uploads" / "near"
    near.mkdir(parents=True)
    (near / "results.jsonl").write_bytes(_disguised(tmp_path / "r" / "orig" / "results.jsonl", "near", flip=1))
    (near / "run.json").write_text(json.dumps({"model": "near", "manifest_fingerprint": fp, "cases_total": 100}))
    tables = lb.build_tables(ld.load_results(tmp_path / "r", uploads_root=tmp_path / "r" / "uploads"),
                             ld.load_manifest(tmp_path / "d"))
    board = tables.leaderboard.set_index("run")
    assert board.loc["near", "section"] == "uploaded" and bool(board.loc["near", "uploaded"])  # from the folder
    assert board.loc["near", "near_copy_of"] == "orig" and board.loc["near", "agreement"] == 99.0
    assert board.loc["near", "marks"] == "near copy of orig · uploaded" and pd.isna(board.loc["near", "rank"])
    assert board.loc["orig", "rank"] == 1 and board.loc["orig", "near_copy_of"] == ""


def _answers(run: str, letters: str, start: int = 0) -> pd.DataFrame:
    """One row per case: ``run`` answered ``letters[i]`` on case ``start + i`` (``-`` none, ``!`` failed)."""
    return pd.DataFrame({"run_id": run, "case_id": [f"c{start + i:03d}" for i in range(len(letters))],
                         "code": list(letters)})


def test_copies_are_judged_on_the_cases_both_answered():
    from leaderboard.copies import closest_earlier
    base = "ABCD" * 8  # 32 cases
    # b answers a's 32 cases the same and 10 more a never saw: still an exact copy of a
    frame = pd.concat([_answers("a", base), _answers("b", base + "ABCDABCDAB")])
    match = closest_earlier(frame, ["a", "b"])["b"]
    assert (match.original, match.agreement, match.common, match.exact) == ("a", 1.0, 32, True)
    # a run answering other cases only shares nothing: it is no original, even when listed first
    frame = pd.concat([_answers("x", "AAAAA", start=100), _answers("a", base), _answers("b", base)])
    assert closest_earlier(frame, ["x", "a", "b"])["b"].original == "a"
    # a run not in the order is left out, wherever its rows come
    frame = pd.concat([_answers("a", base), _answers("b", base), _answers("ghost", "D" * 32)])
    assert closest_earlier(frame, ["a", "b"])["b"].exact


def test_a_failed_case_is_an_answer_of_its_own():
    from leaderboard.copies import answer_codes, closest_earlier
    letters = pd.Series(["A", None, "C", "B"])
    assert answer_codes(letters, pd.Series([False, False, False, True])).tolist() == ["A", "-", "C", "!"]
    base = "ABCD" * 6  # 24 cases; b failed where a answered on 4 of them: 20 of 24 the same
    frame = pd.concat([_answers("a", base), _answers("b", "!!!!" + base[4:])])
    assert closest_earlier(frame, ["a", "b"]) == {}
    unanswered = pd.concat([_answers("a", base), _answers("b", "----" + base[4:])])
    assert closest_earlier(unanswered, ["a", "b"]) == {}  # no letter is an answer too: 20 of 24
