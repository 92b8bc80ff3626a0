"""Edges of leaderboard.copies: run.json stamps, the judging order, chains and seed groups."""
from __future__ import annotations

import json

import pandas as pd

from leaderboard.copies import Match, closest_earlier, created_at, oldest_first


def _frame(answers: dict[str, str]) -> pd.DataFrame:
    """``run -> letters`` (one letter per case c0, c1, ...) as a closest_earlier frame."""
    return pd.DataFrame([(run, f"c{k}", code) for run, letters in answers.items() for k, code in enumerate(letters)],
                        columns=["run_id", "case_id", "code"])


def test_created_at_falls_back_to_uploaded_at():
    """An upload says ``uploaded_at``, not ``created``: that stamp is its time."""
    assert created_at(json.dumps({"uploaded_at": "2024-01-02T03:04:05Z"})) == "2024-01-02T03:04:05+00:00"


def test_created_at_skips_an_unreadable_created_for_uploaded_at():
    """An unparseable ``created`` is no time; ``uploaded_at`` is read next."""
    assert created_at(json.dumps({"created": "not a date", "uploaded_at": "2024-01-02"})) == "2024-01-02T00:00:00+00:00"


def test_created_at_is_utc_text_from_an_offset():
    """A stamp with an offset comes back in UTC, so stamps compare as text."""
    assert created_at(json.dumps({"created": "2024-01-02T05:00:00+02:00"})) == "2024-01-02T03:00:00+00:00"


def test_created_at_of_naive_stamp_is_utc():
    """A stamp without an offset is taken as UTC (and says so)."""
    assert created_at(json.dumps({"created": "2024-01-02T03:00:00"})) == "2024-01-02T03:00:00+00:00"


def test_created_at_ignores_a_numeric_stamp():
    """A number is not a stamp (not read as nanoseconds since 1970)."""
    assert created_at(json.dumps({"created": 1700000000})) is None


def test_created_at_of_empty_text_and_no_stamp():
    """Empty run.json text and a run.json without a stamp have no time."""
    assert created_at("") is None
    assert created_at(json.dumps({"created": "garbage"})) is None


def test_oldest_first_runs_without_created_come_last_then_by_name():
    """Dated runs by date; undated after them, by name; uploads after all project runs."""
    created = {"b": "2024-01-01T00:00:00+00:00", "a": None, "c": "2023-01-01T00:00:00+00:00", "z": None}
    order = oldest_first(["z", "b", "a", "c", "u"], created, [False, False, False, False, True])
    assert order == ["c", "b", "a", "z", "u"]


def test_oldest_first_ties_by_name_not_upload_flag():
    """Two undated project runs tie on time and go by name."""
    assert oldest_first(["y", "x"], {}, [False, False]) == ["x", "y"]
    assert oldest_first(["y", "x"], {"x": None, "y": None}, [False, False]) == ["x", "y"]


def test_chain_points_at_the_root_with_its_own_agreement_and_common():
    """c copies b exactly, b is a near copy of a: c's original is the root a, via b, with
    the b-c agreement and common cases."""
    near = "AB" * 49 + "AA"  # 99 of 100 with a
    out = closest_earlier(_frame({"a": "AB" * 50, "b": near, "c": near}), ["a", "b", "c"])
    assert out["b"] == Match("a", 0.99, 100, "")
    assert out["c"] == Match("a", 1.0, 100, "b")


def test_runs_of_different_seed_groups_can_be_copies():
    """Only the same group shields: runs of two different groups are still copies."""
    frame = _frame({"p": "AB" * 15, "q": "AB" * 15})
    assert closest_earlier(frame, ["p", "q"], {"p": "g1", "q": "g2"}) == {"q": Match("p", 1.0, 30, "")}


def test_a_seed_sibling_is_passed_over_for_a_lesser_near_copy():
    """s2 agrees fully with its sibling s1, 99 % with o: its original is o."""
    near = "AB" * 49 + "AA"
    frame = _frame({"o": "AB" * 50, "s1": near, "s2": near})
    out = closest_earlier(frame, ["o", "s1", "s2"], {"s1": "g", "s2": "g"})
    assert out == {"s1": Match("o", 0.99, 100, ""), "s2": Match("o", 0.99, 100, "")}


def test_seed_siblings_are_never_originals_even_when_all_disagree():
    """A seed sibling agreeing fully is skipped, even if the only other candidate shares
    nothing (share 0): the run is no copy."""
    frame = _frame({"s1": "A" * 30, "s2": "A" * 30})
    assert closest_earlier(frame, ["s1", "s2"], {"s1": "g", "s2": "g"}) == {}
    frame = _frame({"o": "B" * 30, "s1": "A" * 30, "s2": "A" * 30})
    assert closest_earlier(frame, ["o", "s1", "s2"], {"s1": "g", "s2": "g"}) == {}
