"""The page logic, through Streamlit's AppTest (no browser)."""
from __future__ import annotations

import sys
from pathlib import Path

import synthetic_runs as synthetic
from streamlit.testing.v1 import AppTest

from leaderboard import cases as cs
from leaderboard import upload as up
from niah.results import list_runs, read_run

APP = Path(__file__).resolve().parents[2] / "leaderboard" / "app.py"
MARKDOWN_TRAP = "evil`model ![x](http://example.invalid/x.png) **bold**"


def run_app(monkeypatch, results, data, *extra: str, tab: str | None = None, **params: str) -> AppTest:
    """The page as a fresh visit to ``?tab=...&<params>`` (a permalink)."""
    monkeypatch.setattr(sys, "argv", ["app.py", "--results", str(results), "--data", str(data), *extra])
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in ({"tab": tab} if tab else {}).items() | params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def show(at: AppTest, **params: str) -> AppTest:
    """Open a tab / view through the URL, as a permalink does (only the open tab runs)."""
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame_with(at: AppTest, column: str):
    """The first st.dataframe whose table has ``column`` (plain dataframes carry no key)."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no dataframe with column {column!r}")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def markdown_sources(at: AppTest) -> str:
    """Everything the page passed through Markdown (markdown, captions, alerts)."""
    return "\n".join(texts(group) for group in (at.markdown, at.caption, at.success, at.error, at.warning, at.info))


def test_empty_state(monkeypatch, tmp_path):
    at = run_app(monkeypatch, tmp_path / "results", tmp_path / "data")
    assert "No results yet" in texts(at.info)
    assert "No benchmark opened" in texts(at.warning)
    assert str(tmp_path) not in markdown_sources(at)  # no server paths on the page
    assert not at.dataframe and not at.tabs
    # the limit the page states is the widget's (and the validator's)
    assert at.file_uploader[0].proto.max_upload_size_mb == up.MAX_UPLOAD_MB == up.MAX_UPLOAD_BYTES // 10**6
    assert f"at most {up.MAX_UPLOAD_MB} MB as the upload box counts them, 20,000,000 bytes" in texts(at.markdown)
    # uploading without a manifest is refused, with the reason
    at.file_uploader[0].upload("r.jsonl", b'{"case_id": "x"}\n').run()
    assert "Upload refused" in texts(at.error) and "no benchmark manifest is open" in texts(at.code)
    assert not (tmp_path / "results").exists()
    # read-only: no upload form at all
    ro = run_app(monkeypatch, tmp_path / "results", tmp_path / "data", "--read-only")
    assert not ro.file_uploader and "upload" not in texts(ro.info).lower()


def test_compact_table_marks_partial_foreign_and_uploaded_runs(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
    board = frame_with(at, "95% CI").set_index("run")
    assert list(board.columns) == ["rank", "accuracy %", "95% CI", "vs above", "vs #1", "rank 95% range",
                                   "holds up to", "why not ranked", "@300", "@600", "cases", "unparsed"]
    assert not board.isna().any().any() and not board.isin(["None", "nan", "<NA>"]).any().any()
    ranked = board[board["rank"] != "—"]
    assert list(ranked.index) == ["model-b", "model-c", "model-a"]
    assert [int(r.split()[0]) for r in ranked["rank"]] == [1, 2, 3]
    partial = next(r for r in board.index if r.endswith("partial-0"))
    assert partial.startswith("[partial ") and board.loc[partial, "rank"] == "—"  # the mark in the name cell
    assert board.loc[partial, "why not ranked"].startswith("partial ")
    assert board.loc["[other manifest] foreign-0", "why not ranked"] == "scored on another manifest"
    assert list(board.index[-2:]) == [partial, "[other manifest] foreign-0"]
    # every run's name already says its model: no model column
    low, high = (float(x) for x in board.loc["model-b", "95% CI"].split("–"))
    assert low < float(board.loc["model-b", "accuracy %"]) < high
    assert "(p=" in board.loc["model-c", "vs #1"] and "20 cases" in board.loc["model-c", "vs #1"]
    assert "Chance is 25.0%" in texts(at.caption) and "'lmms-eval' rule" in texts(at.caption)
    assert "exact McNemar" in texts(at.caption) and "Holm" in texts(at.caption)
    details = frame_with(at, "model_path").set_index("run")
    assert details.loc["model-a", "model_path"] == "…/models/model-a"  # not the absolute path
    assert "thumbnails are off" in texts(at.warning)
    labels = [b.label for b in at.get("download_button")]
    assert "Download leaderboard-lmms-eval--model-b--model-c--model-a--partial-0--1-more.csv" in labels
    assert "Download leaderboard-lmms-eval.tex (booktabs)" in labels
    card = frame_with(at, "field").set_index("field")["value"]
    assert card["checkpoint"] == "…/models/model-b" and card["code version"] == "test"
    assert card["device"] == "not recorded"
    # the strict rule, from the URL (the page control is bound to it)
    strict = run_app(monkeypatch, demo["results"], demo["data"], rule="strict")
    assert "'strict' rule" in texts(strict.caption)


def test_seeds_combine_into_one_row_and_expand(monkeypatch, tmp_path):
    results, data = tmp_path / "results", tmp_path / "data"
    synthetic.write_demo(results, data, partial=0, foreign=0, seeds=3)
    at = run_app(monkeypatch, results, data)
    board = frame_with(at, "95% CI")
    combined = board[board["run"].str.contains("3 seeds")]
    assert len(combined) == 1 and combined["run"].iloc[0] == "random · 3 seeds (0, 1, 2)"
    assert combined["95% CI"].iloc[0].startswith("seeds ") and ", SD " in combined["95% CI"].iloc[0]
    assert not board["run"].str.startswith("random-seed").any()
    seeds = [df.value for df in at.dataframe if "random-seed0" in set(df.value.get("run", []))]
    assert seeds and sorted(seeds[0]["run"]) == ["random-seed0", "random-seed1", "random-seed2"]
    at.checkbox(key="combine_seeds").uncheck().run()
    assert {"random-seed0", "random-seed1", "random-seed2"} <= set(frame_with(at, "95% CI")["run"])


def test_heatmap_views_and_difference_coverage(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"], tab="Heatmaps")
    for view in ["Side by side", "Task type × length", "Needle duration × length", "Difference (A − B)",
                 "Single run"]:
        show(at, view=view)
        assert at.get("vega_lite_chart"), view
    show(at, tab="Breakdowns")
    assert len(at.get("vega_lite_chart")) >= 3  # line, task bars, duration bars
    assert "Showing 5 series from 5 of 5 runs" in texts(at.caption)
    show(at, tab="Heatmaps", view="Difference (A − B)", a="model-b", b="model-c")
    assert "the difference covers 20 of 20 cells" in texts(at.caption)
    assert "on the 20 cases both answered (exact McNemar test" in texts(at.success)
    assert "Holm" in texts(at.caption)
    assert frame_with(at, "length")["n"].sum() == 20 and frame_with(at, "depth_range")["n"].sum() == 20
    labels = [b.label for b in at.get("download_button")]
    assert "Download difference-cells--model-b--model-c.csv" in labels
    at.selectbox(key="b").set_value("partial-0").run()
    assert "partial-0 [partial " in at.selectbox(key="b").format_func("partial-0")
    warning = texts(at.warning)
    assert "Partial comparison" in warning and "(partial run: partial-0 [partial" in warning


def test_case_browser_filters_and_plain_question(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"], tab="Case browser")
    at.selectbox(key="cb_length").set_value(600).run()
    at.selectbox(key="cb_decile").set_value(9).run()
    table = frame_with(at, "depth_decile")
    assert len(table) >= 1 and set(table["length"]) == {600} and set(table["depth_decile"]) == {9}
    assert "✓ gold" in texts(at.text) and "Q: What happens in clip" in texts(at.text)
    assert "frame store" in texts(at.caption)  # no thumbnails without frames


def test_results_without_any_benchmark(monkeypatch, demo, tmp_path):
    at = run_app(monkeypatch, demo["results"], tmp_path / "no-bench")
    board = frame_with(at, "95% CI")
    assert len(board) == 5
    assert "assumed: 4 options; no benchmark open" in texts(at.caption)
    assert "No benchmark opened" in texts(at.warning)


def _upload(at: AppTest, name: str, body: bytes) -> None:
    at.file_uploader[0].clear().run()
    at.file_uploader[0].upload(name, body).run()


def test_upload_refuses_bad_file_and_saves_good_one(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"], tab="Upload")
    assert '"case_id":"L300-0000"' in texts(at.code)  # the example line
    before = [p.name for p in list_runs(demo["results"])]
    bad = synthetic.make_results(demo["cases"], "up", 0.5)[0].to_json() + "\n" + '{"case_id": "L300-0001", "x": 1}\n'
    _upload(at, "../../bad.jsonl", bad.encode())
    assert "Upload refused" in texts(at.error) and "line 2:" in texts(at.code)
    assert [p.name for p in list_runs(demo["results"])] == before
    assert not at.get("button")
    _upload(at, "results.pdf", b"%PDF-1.4")
    assert "Upload refused" in texts(at.error) and "extension '.pdf'; accepted: .jsonl, .json, .txt" in texts(at.text)

    good = "".join(r.to_json() + "\n" for r in synthetic.make_results(demo["cases"], MARKDOWN_TRAP, 0.7))
    _upload(at, "good.jsonl", good.encode())
    assert not at.error and "20 valid results" in texts(at.success)
    assert MARKDOWN_TRAP in texts(at.text) and MARKDOWN_TRAP not in markdown_sources(at)
    at.text_input(key="upload_name").set_value("../evil/name").run()
    at.text_input(key="up_frames").set_value("16").run()
    at.button(key="upload_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "evil-name (20 results)" in texts(at.text)
    run_dir = demo["results"] / "uploads" / "evil-name"  # its own folder, not among the project's runs
    info, results, problems = read_run(run_dir)
    assert info["uploaded"] is True and info["settings"] == {"frames": 16} and len(results) == 20
    assert [p.name for p in list_runs(demo["results"])] == before
    fresh = run_app(monkeypatch, demo["results"], demo["data"])
    uploaded = [df.value for df in fresh.dataframe if "rank" in df.value.columns][1].set_index("run")
    assert list(uploaded.index) == ["[uploaded] evil-name"] and uploaded["rank"].iloc[0].strip() == "1"
    assert "Uploaded runs" in texts(fresh.subheader)
    assert MARKDOWN_TRAP not in markdown_sources(fresh)

    # the same answers again, under another file name: refused by its answers
    show(at, tab="Upload")
    _upload(at, "again.jsonl", good.encode())
    assert "same answers as run evil-name on all 20 cases" in texts(at.code)
    assert "Upload refused: a copy of a run already listed" in texts(at.error)
    assert "not a valid results file" not in texts(at.error)  # the file is valid: it is a copy


def test_thumbnails_timeline_and_stride_from_a_real_benchmark(monkeypatch, real_demo):
    at = run_app(monkeypatch, real_demo["results"], real_demo["data"])
    assert not at.warning
    board = frame_with(at, "95% CI").set_index("run")
    assert board.index[-1].startswith("[partial ") and board.index[-1].endswith("gamma-partial")
    show(at, tab="Case browser")
    for case in (real_demo["bench"].cases[0], real_demo["bench"].cases[-1]):
        at.selectbox(key="cb_case").set_value(case.case_id).run()
        for stride in (1, 30):
            at.select_slider(key="cb_stride").set_value(stride).run()
            assert not at.exception, [e.value for e in at.exception]
            groups = cs.thumbnail_indices(case.length, case.needle.start_frame, case.needle.num_frames, stride)
            shown = [len(element.proto.imgs) for element in at.get("image")]
            assert shown == [len(g) for g in groups if g]  # before / needle / after, when non-empty
        assert "**Needle**" in [m.value for m in at.markdown]
        assert f"needle {cs.hms(case.needle.start_frame)}" in texts(at.caption)


def test_unparsed_runs_are_warned_about(monkeypatch, demo):
    import json
    path = demo["results"] / "model-c" / "results.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({**r, "prediction": None, "correct": False, "error": None,
                                       "raw_output": "I cannot tell."}) + "\n"
                            for r in rows))
    at = run_app(monkeypatch, demo["results"], demo["data"])
    board = frame_with(at, "95% CI").set_index("run")
    assert board.loc["model-c", "unparsed"] == "20 (100%)" and board.loc["model-c", "accuracy %"].strip() == "0.0"
    assert "more than 10% unparsed answers" in texts(at.warning) and "model-c" in texts(at.text)
    show(at, tab="Heatmaps")
    at.selectbox(key="a").set_value("model-c").run()
    assert "This run: 100% of the answers could not be parsed" in texts(at.warning)


def test_significance_tab_small_multiples_and_the_column_chooser(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"], tab="Significance")
    pairs = frame_with(at, "p_holm")
    assert len(pairs) == 3 and set(pairs["a"]) | set(pairs["b"]) == {"#1 model-b", "#2 model-c", "#3 model-a"}
    assert "Holm over all the section's pairs" in texts(at.caption)
    show(at, tab="Heatmaps", view="Ranked runs")
    assert "The 3 ranked run(s) in rank order, one shared colour scale." in texts(at.caption)
    at = run_app(monkeypatch, demo["results"], demo["data"])
    at.multiselect(key="board_columns").set_value(["parameters", "date"]).run()
    assert {"parameters", "date"} <= set(frame_with(at, "95% CI").columns)
    at.text_input(key="board_search").set_value("MODEL-C").run()
    assert list(frame_with(at, "95% CI")["run"]) == ["model-c"]
    assert "@inproceedings{vilamp2025" in texts(at.code)


def test_a_registered_reading_is_offered_by_the_rule_control(monkeypatch, demo):
    """The page's answer-rule control and its help come from the registry: a reading added
    with one entry is offered, described and applied."""
    from niah import answers
    reading = answers.Reading("first-letter", lambda text, options: (text or "")[:1] or None,
                              "the output's first character (a test reading)")
    monkeypatch.setitem(answers.READINGS, reading.name, reading)
    at = run_app(monkeypatch, demo["results"], demo["data"], rule="first-letter")
    control = at.segmented_control(key="rule")
    assert control.options == answers.rule_names() and "first-letter" in control.options
    assert control.value == "first-letter" and reading.description in control.help
    assert "'first-letter' rule" in texts(at.caption)
