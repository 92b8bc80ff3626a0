"""The numbers behind "why a model misses, and whether it guessed", on hand-written results:
needle in view at the span's edges, the circular rotations and their mapping back, and every
column of the diagnostics tables (counts, intervals, chance, letters, the oracle ceiling).
Pure and fast: no benchmark folder, no model (mutation testing runs these per mutant)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from niah import diagnostics as dg
from niah.circular import all_rotations, circular_chance, rotated_options, shown_letter, to_original
from niah.results import Result
from niah.schema import Case, Needle, Segment
from niah.view import count_in_span, needle_in_view

OPTIONS = ["A. red", "B. blue", "C. green", "D. a man is cooking."]


def case(case_id: str = "c0", start: int = 20, frames: int = 10, length: int = 100, answer: str = "B",
         options: list[str] | None = None) -> Case:
    segments = [Segment("hay", 0, start, "haystack"), Segment("needle", 0, frames, "needle"),
                Segment("hay", start, length - start - frames, "haystack")]
    return Case(case_id=case_id, length=length, fps=1.0, depth=start / (length - frames),
                needle=Needle("needle", "q", start, frames), segments=segments, question="What colour?",
                options=list(options or OPTIONS), answer=answer, task_type="Counting Problem")


def result(case_id: str, correct: bool, *, view=None, rotations=None, error=None, prediction="A",
           length: int = 100, depth: float = 0.25, model: str = "m") -> Result:
    return Result(case_id=case_id, model=model, prediction=prediction, raw_output="x", correct=correct,
                  length=length, depth=depth, task_type="Counting Problem", seconds=0.1, error=error,
                  view=view, rotations=rotations)


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


# --- needle in view -------------------------------------------------------------------------

def test_count_in_span_edges_and_duplicates():
    # span [20, 30): 20 and 29 are inside, 19 and 30 are not; a repeated frame counts once
    assert count_in_span([19, 20, 29, 30], 20, 10) == 2
    assert count_in_span([20, 20, 20], 20, 10) == 1
    assert count_in_span(["25", 25.0], 20, 10) == 1
    assert count_in_span([], 20, 10) == 0
    assert count_in_span([20], 20, 0) == 0


def test_needle_in_view_none_when_not_recorded():
    c = case(start=20, frames=10)
    assert needle_in_view({"full_frames": [20, 29, 30, 5]}, c) == 2
    assert needle_in_view({"full_frames": []}, c) == 0
    for view in (None, [], {"frames": [20]}, {"full_frames": (20,)}, {"full_frames": "20"}):
        assert needle_in_view(view, c) is None


# --- circular evaluation --------------------------------------------------------------------

def test_rotations_wrap_around_and_keep_rotation_zero_untouched():
    odd = ["A. red ", "B.  blue", "C. green", "D. x"]  # spacing kept exactly in rotation 0
    assert rotated_options(odd, 0) == odd and rotated_options(odd, 0) is not odd
    assert rotated_options(odd, 4) == odd and rotated_options(odd, 8) == odd
    assert rotated_options(OPTIONS, 5) == rotated_options(OPTIONS, 1)
    assert rotated_options(OPTIONS, 3) == ["A. a man is cooking.", "B. red", "C. blue", "D. green"]
    assert rotated_options(OPTIONS, -1) == rotated_options(OPTIONS, 3)
    assert all_rotations(OPTIONS)[0] == OPTIONS and all_rotations(OPTIONS)[2][0] == "A. green"
    assert all_rotations([]) == [[]] and all_rotations(["A. only"]) == [["A. only"]]
    three = ["A. one", "B. two", "C. three"]
    assert [r[0] for r in all_rotations(three)] == ["A. one", "A. two", "A. three"]


def test_letters_map_back_and_out_of_range_letters_are_none():
    assert to_original("C", OPTIONS, 1) == "D" and to_original("D", OPTIONS, 1) == "A"
    assert to_original("A", OPTIONS, 3) == "D" and to_original("B", OPTIONS, 4) == "B"
    assert to_original("E", OPTIONS, 0) == "E"  # rotation 0 is the plain question: read as given
    assert to_original("E", OPTIONS, 1) is None and to_original("@", OPTIONS, 1) is None
    assert to_original(None, OPTIONS, 0) is None
    assert to_original("E", OPTIONS, 4) == "E"  # a full turn is the plain question again
    assert to_original("B", ["A. only"], 1) == "B" and rotated_options(["A.  only "], 1) == ["A.  only "]
    assert shown_letter("A", OPTIONS, 1) == "D" and shown_letter("D", OPTIONS, 1) == "C"
    assert shown_letter("B", OPTIONS, 4) == "B" and shown_letter("B", OPTIONS, 0) == "B"
    assert shown_letter("E", OPTIONS, 1) is None and shown_letter("E", OPTIONS, 0) is None
    for r in range(-2, 9):
        for gold in "ABCD":
            assert to_original(shown_letter(gold, OPTIONS, r), OPTIONS, r) == gold


def test_circular_chance():
    assert circular_chance(4) == 0.25 ** 4 and circular_chance(3) == pytest.approx(1 / 27)
    assert circular_chance(1) == 1.0
    assert math.isnan(circular_chance(0)) and math.isnan(circular_chance(-1))


# --- the diagnostics tables -----------------------------------------------------------------

def test_facts_and_proportion():
    facts = dg.facts_of([case("a", 20, 10, answer="C"), case("b", 0, 7, answer="A", options=OPTIONS[:3])])
    assert list(facts.columns) == dg.FACT_COLUMNS
    assert facts.values.tolist() == [["a", 20, 10, "C", 4, ((20, 10),), ((20, 10),)],
                                     ["b", 0, 7, "A", 3, ((0, 7),), ((0, 7),)]]
    value, low, high = dg.proportion(3, 10)
    assert value == 0.3 and (low, high) == pytest.approx(wilson(3, 10))
    assert dg.proportion(10, 10)[2] == pytest.approx(1.0) and dg.proportion(0, 4)[1] == pytest.approx(0.0)
    assert all(math.isnan(x) for x in dg.proportion(0, 0))


def runs_with_views():
    """Six cases of one run: views inside, at the edges and outside the needle [20, 30)."""
    cases = [case(f"c{i}", 20, 10) for i in range(6)]
    views = [[20], [29, 21, 50], [30], [19], None, {"frames": [20]}]
    correct = [True, False, True, False, True, True]
    results = {}
    for i, (c, v, ok) in enumerate(zip(cases, views, correct)):
        view = {"full_frames": v} if isinstance(v, list) else v
        results[c.case_id] = result(c.case_id, ok, view=view, depth=[0.0, 0.55, 1.0, 0.1, 0.99, 0.3][i],
                                    length=[100, 100, 100, 200, 200, 200][i])
    return cases, results


def test_case_frame_columns_in_view_and_not_recorded():
    cases, results = runs_with_views()
    frame = dg.case_frame([("run1", "m", results)], dg.facts_of(cases))
    assert list(frame.columns) == dg.CASE_COLUMNS
    assert frame["in_view"].tolist()[:4] == [1, 2, 0, 0]
    assert frame["in_view"].iloc[4:].isna().all() and frame["view_recorded"].tolist() == [True] * 4 + [False] * 2
    assert frame["frames_seen"].tolist()[:4] == [1, 3, 1, 1] and frame["frames_seen"].iloc[4:].isna().all()
    assert frame["depth_decile"].tolist() == [0, 5, 9, 1, 9, 3]
    assert frame["n_options"].tolist() == [4] * 6 and frame["circular"].sum() == 0
    assert frame["plain_correct"].tolist() == frame["correct"].tolist() == [True, False, True, False, True, True]
    assert frame["failed"].sum() == 0 and set(frame["run"]) == {"run1"} and set(frame["model"]) == {"m"}
    # without the manifest's facts the needle's span is unknown: recorded, but not counted
    bare = dg.case_frame([("run1", "m", results)], None)
    assert bare["in_view"].isna().all() and bare["view_recorded"].sum() == 4 and bare["n_options"].isna().all()
    assert dg.decomposition(bare, ["run"]).iloc[0]["recorded"] == 0  # a view without the needle's span
    odd = dg.case_frame([("r", "m", {"c0": result("c0", True, view=["not", "a", "dict"])})], dg.facts_of(cases))
    assert not odd["view_recorded"].iloc[0] and np.isnan(odd["in_view"].iloc[0])


def test_case_frame_circular_and_failed_cases():
    rotations = [{"correct": True, "gold_shown": "B", "shown": "B"}, {"correct": False, "gold_shown": "A", "shown": "C"},
                 {"correct": True, "gold_shown": "D", "shown": "D"}]
    results = {"x": result("x", False, rotations=rotations),
               "y": result("y", False, rotations=[{"correct": True}], error="CUDA out of memory"),
               "z": result("z", False, rotations=[])}
    frame = dg.case_frame([("r", "m", results)], dg.facts_of([case("x"), case("y"), case("z")]))
    x, y, z = (frame[frame["case_id"] == k].iloc[0] for k in "xyz")
    assert x["circular"] and x["plain_correct"] and not x["correct"] and x["n_options"] == 3
    assert y["failed"] and not y["plain_correct"] and y["n_options"] == 1
    assert not z["circular"] and not z["plain_correct"] and z["n_options"] == 4


def test_decomposition_counts_and_intervals():
    cases, results = runs_with_views()
    frame = dg.case_frame([("run1", "m", results)], dg.facts_of(cases))
    row = dg.decomposition(frame, ["run"]).iloc[0]
    # recorded: c0..c3; in view: c0 (correct), c1 (wrong); not in view: c2 (correct), c3 (wrong)
    assert (row["run"], row["n"], row["recorded"], row["in_view"]) == ("run1", 6, 4, 2)
    assert row["accuracy"] == pytest.approx(4 / 6)
    assert (row["p_in_view"], row["p_in_view_n"]) == (0.5, 4)
    assert (row["p_in_view_low"], row["p_in_view_high"]) == pytest.approx(wilson(2, 4))
    assert (row["acc_in_view"], row["acc_in_view_n"], row["acc_not_in_view"], row["acc_not_in_view_n"]) == (0.5, 2, 0.5, 2)
    assert (row["acc_in_view_low"], row["acc_in_view_high"]) == pytest.approx(wilson(1, 2))
    assert (row["acc_not_in_view_low"], row["acc_not_in_view_high"]) == pytest.approx(wilson(1, 2))
    assert row["mean_frames_in_view"] == pytest.approx(3 / 4)
    by_length = dg.decomposition(frame, ["run", "length"])
    assert by_length["length"].tolist() == [100, 200]
    short, long_ = by_length.iloc[0], by_length.iloc[1]
    assert (short["n"], short["recorded"], short["in_view"], short["acc_not_in_view"]) == (3, 3, 2, 1.0)
    assert (long_["n"], long_["recorded"], long_["in_view"], long_["acc_not_in_view"]) == (3, 1, 0, 0.0)
    assert math.isnan(long_["acc_in_view"]) and long_["acc_in_view_n"] == 0 and long_["p_in_view"] == 0.0
    # groups come out sorted, whatever order the runs and cases came in
    both = dg.case_frame([("zeta", "m", results), ("alpha", "m", results)], dg.facts_of(cases))
    assert dg.decomposition(both.iloc[::-1], ["run", "length"])[["run", "length"]].values.tolist() == \
        [["alpha", 100], ["alpha", 200], ["zeta", 100], ["zeta", 200]]
    assert dg.circular_summary(both)["run"].tolist() == ["alpha", "zeta"]


def test_decomposition_without_views_is_not_recorded_not_zero():
    results = {f"c{i}": result(f"c{i}", i == 0) for i in range(3)}
    frame = dg.case_frame([("old", "m", results)], dg.facts_of([case(f"c{i}") for i in range(3)]))
    row = dg.decomposition(frame, ["run"]).iloc[0]
    assert row["recorded"] == 0 and row["accuracy"] == pytest.approx(1 / 3)
    for name in ("p_in_view", "acc_in_view", "acc_not_in_view", "mean_frames_in_view", "p_in_view_low"):
        assert math.isnan(row[name]), name
    empty = dg.decomposition(dg.case_frame([], None), ["run", "length"])
    assert empty.empty and list(empty.columns[:5]) == ["run", "length", "n", "recorded", "in_view"]


def test_circular_summary_chance_levels():
    four = [{"correct": True, "gold_shown": g, "shown": g} for g in "ABCD"]
    circular = {"a": result("a", True, rotations=four),
                "b": result("b", False, rotations=[{**four[0], "correct": True}, {**four[1], "correct": False}])}
    plain = {"a": result("a", True), "b": result("b", False), "c": result("c", False)}
    facts = dg.facts_of([case("a"), case("b"), case("c", options=OPTIONS[:3])])
    frame = dg.case_frame([("circ", "m", circular), ("plain", "m2", plain)], facts)
    table = dg.circular_summary(frame).set_index("run")
    circ, pl = table.loc["circ"], table.loc["plain"]
    assert bool(circ["circular"]) and circ["n"] == 2 and circ["model"] == "m"
    assert (circ["plain"], circ["circ"]) == (1.0, 0.5)  # both pass rotation 0, one passes all
    assert (circ["circ_low"], circ["circ_high"]) == pytest.approx(wilson(1, 2))
    assert (circ["plain_low"], circ["plain_high"]) == pytest.approx(wilson(2, 2))
    assert circ["plain_chance"] == pytest.approx((1 / 4 + 1 / 2) / 2)
    assert circ["circ_chance"] == pytest.approx((0.25 ** 4 + 0.5 ** 2) / 2)
    assert not pl["circular"] and pl["n"] == 3 and pl["plain"] == pytest.approx(1 / 3)
    assert math.isnan(pl["circ"]) and math.isnan(pl["circ_chance"]) and math.isnan(pl["circ_low"])
    assert pl["plain_chance"] == pytest.approx((0.25 + 0.25 + 1 / 3) / 3)
    empty = dg.circular_summary(dg.case_frame([], None))
    assert empty.empty and list(empty.columns) == ["run", "model", "circular", "n", "plain", "plain_low", "plain_high",
                                                   "plain_chance", "circ", "circ_low", "circ_high", "circ_chance"]


def test_letters_and_their_table():
    rotations = [{"gold_shown": "B", "shown": "B"}, {"gold_shown": "A", "shown": None}, {"shown": "C"}]
    runs = [("circ", "m", {"f": result("f", False, rotations=rotations, error="boom"),
                           "a": result("a", False, rotations=rotations),
                           "g": result("g", False, rotations=[{"gold_shown": "D", "shown": "D"}])}),
            ("plain", "m", {"e": result("e", False, prediction="A", error="decode"),
                            "a": result("a", True, prediction="C"), "b": result("b", False, prediction=None),
                            "q": result("q", False, prediction="A"), "r": result("r", False, prediction="B", rotations=[])})]
    facts = dg.facts_of([case("a", answer="C"), case("b", answer="D"), case("e", answer="A"), case("r", answer="A")])
    letters = dg.letter_frame(runs, facts)
    assert letters.values.tolist() == [["circ", "B", "B"], ["circ", "A", "none"], ["circ", "D", "D"],
                                       ["plain", "C", "C"], ["plain", "D", "none"], ["plain", "A", "B"]]
    assert dg.letter_frame(runs, None)["run"].tolist() == ["circ", "circ", "circ"]
    more = pd.concat([letters, pd.DataFrame([["plain", "C", "A"], ["plain", "C", "C"]], columns=letters.columns)])
    table = dg.letter_table(more, "plain")
    assert table.index.name == "gold" and table.columns.name is None
    assert list(table.columns) == ["A", "B", "C", "none", "all"]
    assert table.loc["C"].tolist() == [1, 0, 2, 0, 3] and table.loc["D"].tolist() == [0, 0, 0, 1, 1]
    assert table.loc["A"].tolist() == [0, 1, 0, 0, 1] and table.loc["all"].tolist() == [1, 1, 2, 1, 5]
    assert list(dg.letter_table(letters[letters["predicted"] != "none"], "plain").columns) == ["B", "C", "all"]
    assert dg.letter_table(letters, "missing").empty


def test_oracle_ceiling_is_the_largest_oracle_run_on_the_same_manifest():
    facts = dg.facts_of([case(f"c{i}") for i in range(5)])
    big = {f"c{i}": result(f"c{i}", i < 4) for i in range(5)}
    small = {f"c{i}": result(f"c{i}", True) for i in range(2)}
    model = {f"c{i}": result(f"c{i}", False) for i in range(5)}
    frame = dg.case_frame([("big", "needle-oracle", big), ("small", "needle-oracle", small), ("r", "m", model)], facts)
    info = {"manifest_fingerprint": "M"}
    oracle = {**info, "model": "any-name", "settings": {"sampling": "needle-only"}}   # found by what it declares
    infos = {"small": oracle, "big": oracle, "r": {**info, "model": "needle-oracle", "settings": {"sampling": "uniform"}},
             "other": {"manifest_fingerprint": "N", "model": "m"}}
    ceilings = dg.oracle_ceilings(frame, infos)
    assert set(ceilings) == {"small", "big", "r"}
    run, value, low, high = ceilings["r"]
    assert (run, value) == ("big", 0.8) and (low, high) == pytest.approx(wilson(4, 5))
    assert ceilings["small"][0] == "big"
    # an oracle without scored cases is no ceiling
    assert dg.oracle_ceilings(frame, {"ghost": oracle, "r": {**info, "model": "m"}}) == {}
    assert np.isnan(dg.proportion(0, 0)[0])


def test_figures_as_table_cells_the_same_for_the_report_and_the_leaderboard():
    assert dg.format_share(0.234, 0.2196, 0.2488, 3000) == "23.4% [22–25] (3000)"
    assert dg.format_share(1.0, 0.5, 1.0) == "100.0% [50–100]"
    assert dg.format_share(float("nan"), 0, 0) == "–" and dg.format_share(float("nan"), 0, 0, 3, "-") == "-"
    cases, results = runs_with_views()
    row = dg.decomposition(dg.case_frame([("run1", "m", results)], dg.facts_of(cases)), ["run"]).iloc[0]
    low, high = wilson(2, 4)
    assert dg.format_measure(row, "p_in_view") == f"50.0% [{100 * low:.0f}–{100 * high:.0f}] (4)"
    assert dg.in_view_cells(row, True, "needs --data") == [dg.format_measure(row, m) for m in dg.IN_VIEW_MEASURES]
    assert dg.in_view_cells(row, False, "needs --data") == ["needs --data"] * 3
    old = dg.decomposition(dg.case_frame([("old", "m", {"c0": result("c0", True)})], dg.facts_of(cases)), ["run"])
    assert dg.in_view_cells(old.iloc[0], True, "x") == [dg.NOT_RECORDED] * 3
    never = {"c0": result("c0", True, view={"full_frames": [0]})}  # recorded, needle never in view
    row = dg.decomposition(dg.case_frame([("r", "m", never)], dg.facts_of(cases)), ["run"]).iloc[0]
    assert dg.in_view_cells(row, True, "x", missing="-")[1] == "-"  # accuracy given in view: no cases
    assert dg.in_view_cells(row, True, "x")[1] == "–" and dg.format_measure(row, "acc_in_view") == "–"
    assert dg.format_share(0.95, 0.9, 0.99, 10) == "95.0% [90–99] (10)"


def test_needles_seen_over_every_needle_and_in_view_over_the_asked_ones():
    from dataclasses import replace
    # two needles of 10 frames at 20 and 50 of a 70-frame case; the question is about the second
    first, second = Needle("n1", "q1", 20, 10), Needle("n2", "q2", 50, 10)
    segments = [Segment("hay", 0, 20, "haystack"), Segment("n1", 0, 10, "needle"), Segment("hay", 20, 20, "haystack"),
                Segment("n2", 0, 10, "needle"), Segment("hay", 40, 10, "haystack")]
    two = replace(case("two", 20, 10), length=70, needle=second, needles=[first, second], segments=segments,
                  family="distractors", about="needle 2 of 2")
    two.validate()
    facts = dg.facts_of([two])
    views = {"a": [21], "b": [55], "c": [21, 55, 56], "d": []}
    results = {k: result("two", True, view={"full_frames": v}) for k, v in views.items()}
    frame = pd.concat([dg.case_frame([(k, "m", {"two": r})], facts) for k, r in results.items()])
    assert frame["in_view"].tolist() == [0, 1, 2, 0]       # frames of the asked needle only
    assert frame["needles_seen"].tolist() == [1, 1, 2, 0]  # needles with a frame seen, distractor too
    assert set(frame["needles"]) == {2}
    row = dg.decomposition(frame, ["model"]).iloc[0]
    assert dg.needles_seen_cell(row, True, "-") == "1.00 of 2.00"
    assert dg.needles_seen_cell(row, False, "needs --data") == "needs --data"
    assert dg.spans_of([("n1", 20, 10, False), ("n2", 50, 10, True)]) == (((50, 10),), ((20, 10), (50, 10)))
