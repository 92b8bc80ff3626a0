"""The leaderboard on benchmarks of several task families and haystacks past 10K frames: any
lengths in the tables, heatmaps and "holds up to"; the task filter; every needle of a case."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from leaderboard import cases as cs
from leaderboard import data as lb
from leaderboard import loading as ld
from leaderboard import task_filter
import synthetic_runs as synthetic

LONG = (2000, 20000, 30000)


def family_cases():
    """The synthetic cases at 2K, 20K and 30K frames, every other one a ``text`` case."""
    cases = synthetic.make_cases(LONG, per_length=12)
    return [replace(c, family="text", needles=[c.needle], about="the word on the card") if i % 2 else c
            for i, c in enumerate(cases)]


def write(tmp_path, cases):
    fp = synthetic.write_manifest(tmp_path / "data", cases)
    for name, skill in (("strong", 0.95), ("weak", 0.5)):
        synthetic.write_run(tmp_path / "results", name, synthetic.make_results(cases, name, skill),
                            synthetic.run_info(name, fp, len(cases)))
    return ld.load_results(tmp_path / "results"), ld.load_manifest(tmp_path / "data")


def test_tables_heatmaps_and_holds_up_to_take_lengths_past_10k(tmp_path):
    loaded, manifest = write(tmp_path, family_cases())
    tables = lb.build_tables(loaded, manifest)
    assert tables.lengths == list(LONG)
    board = tables.leaderboard.set_index("run")
    assert {f"acc@{n}" for n in LONG} <= set(board.columns)
    assert board.loc["strong", "n@30000"] == 12 and not np.isnan(board.loc["strong", "acc@30000"])
    assert set(tables.heatmap["length"]) == set(LONG)
    assert board.loc["strong", "holds_up_to"] in LONG


def test_task_filter_is_the_board_of_those_cases_alone(tmp_path):
    cases = family_cases()
    loaded, manifest = write(tmp_path / "all", cases)
    assert task_filter.families(manifest) == ["needle-qa", "text"]
    part_loaded, part_manifest = task_filter.restrict(loaded, manifest, ("text",))
    filtered = lb.build_tables(part_loaded, part_manifest).leaderboard.set_index("run")
    texts = {c.case_id for c in cases if c.family == "text"}
    assert set(part_loaded.results["case_id"]) == texts and len(part_manifest.cases) == len(texts)
    results = loaded.results[loaded.results["case_id"].isin(texts)]
    for run in ("strong", "weak"):
        mine = results[results["run_id"] == run]
        assert filtered.loc[run, "scored"] == len(mine) == filtered.loc[run, "cases"]
        assert filtered.loc[run, "status"] == "complete"  # complete on the part, as on the whole
        assert filtered.loc[run, "accuracy"] == 100.0 * mine["correct"].sum() / len(mine)


def test_case_detail_names_every_needle():
    needles = (("synthetic-word-APPLE", 10, 4, True), ("synthetic-word-RIVER", 3600, 4, True),
               ("synthetic-word-STONE", 29000, 4, False))
    assert cs.needle_spans(needles, 1.0) == ["needle 1* 0:00:10–0:00:14 (frames 10–13)",
                                             "needle 2* 1:00:00–1:00:04 (frames 3600–3603)",
                                             "needle 3 8:03:20–8:03:24 (frames 29000–29003)"]
    assert cs.needle_spans((("clip", 60, 30, True),), 1.0) == ["needle 0:01:00–0:01:30 (frames 60–89)"]


def test_page_filters_the_board_by_task_family(monkeypatch, tmp_path):
    from test_leaderboard_app import frame_with, run_app
    cases = family_cases()
    write(tmp_path, cases)
    at = run_app(monkeypatch, tmp_path / "results", tmp_path / "data")
    [selector] = [m for m in at.multiselect if m.key == "tasks"]
    assert selector.options == ["needle-qa", "text"] and selector.value == ["needle-qa", "text"]
    assert {str(n).split("/")[-1] for n in frame_with(at, "95% CI")["cases"]} == {str(len(cases))}
    selector.set_value(["text"]).run()
    assert not at.exception, [e.value for e in at.exception]
    board = frame_with(at, "95% CI")
    assert {str(n).split("/")[-1] for n in board["cases"]} == {str(sum(c.family == "text" for c in cases))}
    assert list(board.columns[board.columns.str.startswith("@")]) == [f"@{n}" for n in LONG]
