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


def run_app(monkeypatch, results, data) -> AppTest:
    monkeypatch.setattr(sys, "argv", ["app.py", "--results", str(results), "--data", str(data)])
    at = AppTest.from_file(str(APP), default_timeout=60)
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
    assert at.file_uploader[0].proto.max_upload_size_mb == up.MAX_UPLOAD_MB == up.MAX_UPLOAD_BYTES >> 20
    assert f"at most {up.MAX_UPLOAD_MB} MB" in texts(at.markdown)
    # uploading without a manifest is refused, with the reason
    at.file_uploader[0].upload("r.jsonl", b'{"case_id": "x"}\n').run()
    assert "Upload refused" in texts(at.error) and "no benchmark manifest is open" in texts(at.code)
    assert not (tmp_path / "results").exists()


def test_compact_table_marks_partial_foreign_and_uploaded_runs(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
    board = frame_with(at, "95% CI").set_index("run")
    assert list(board.columns) == ["rank", "model", "accuracy %", "95% CI", "@300", "@600", "cases", "unparsed",
                                   "status"]
    assert not board.isna().any().any() and not board.isin(["None", "nan", "<NA>"]).any().any()
    ranked = board[board["rank"] != ""]
    assert list(ranked.index) == ["model-b", "model-c", "model-a"] and [int(r) for r in ranked["rank"]] == [1, 2, 3]
    assert board.loc["partial-0", "status"].startswith("partial ") and board.loc["partial-0", "rank"] == ""
    assert board.loc["foreign-0", "status"] == "complete · other manifest, not ranked"
    assert list(board.index[-2:]) == ["partial-0", "foreign-0"]
    low, high = (float(x) for x in board.loc["model-b", "95% CI"].split("–"))
    assert low < float(board.loc["model-b", "accuracy %"]) < high
    assert "Chance is 25.0%" in texts(at.caption) and "not ranked" in texts(at.caption)
    details = frame_with(at, "model_path").set_index("run")
    assert details.loc["model-a", "model_path"] == "…/models/model-a"  # not the absolute path
    assert "thumbnails are off" in texts(at.warning)
    labels = [b.label for b in at.get("download_button")]
    assert "Download leaderboard.csv" in labels and "Download cases.csv" in labels


def test_seeds_combine_into_one_row_and_expand(monkeypatch, tmp_path):
    results, data = tmp_path / "results", tmp_path / "data"
    synthetic.write_demo(results, data, partial=0, foreign=0, seeds=3)
    at = run_app(monkeypatch, results, data)
    board = frame_with(at, "95% CI")
    combined = board[board["run"].str.contains("3 seeds")]
    assert len(combined) == 1 and combined["run"].iloc[0] == "random · 3 seeds (0, 1, 2)"
    assert combined["status"].iloc[0].startswith("mean of 3 seeds, SD ")
    assert not board["run"].str.startswith("random-seed").any()
    seeds = [df.value for df in at.dataframe if "random-seed0" in set(df.value.get("run", []))]
    assert seeds and sorted(seeds[0]["run"]) == ["random-seed0", "random-seed1", "random-seed2"]
    at.checkbox(key="combine_seeds").uncheck().run()
    assert {"random-seed0", "random-seed1", "random-seed2"} <= set(frame_with(at, "95% CI")["run"])


def test_heatmap_views_and_difference_coverage(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
    assert len(at.get("vega_lite_chart")) >= 4  # heatmap, line, task bars, duration bars
    for view in ["Side by side", "Difference (A − B)", "Single run"]:
        at.radio(key="hm_view").set_value(view).run()
        assert not at.exception, [e.value for e in at.exception]
    at.radio(key="hm_view").set_value("Difference (A − B)").run()
    at.selectbox(key="hm_b").set_value("model-c").run()
    assert "The difference covers 20 of 20 cells" in texts(at.caption)
    assert "Overall: A − B = " in texts(at.caption)
    assert "Holm-corrected" in texts(at.caption)
    at.selectbox(key="hm_b").set_value("partial-0").run()
    assert "partial-0 [partial " in at.selectbox(key="hm_b").format_func("partial-0")
    warning = texts(at.warning)
    assert "The difference covers " in warning and "The difference covers 20 of 20" not in warning


def test_case_browser_filters_and_plain_question(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
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
    at = run_app(monkeypatch, demo["results"], demo["data"])
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
    run_dir = demo["results"] / "evil-name"
    info, results, problems = read_run(run_dir)
    assert info["uploaded"] is True and info["settings"] == {"frames": 16} and len(results) == 20
    board = frame_with(at, "95% CI").set_index("run")
    assert board.loc["evil-name", "status"] == "complete · uploaded"
    assert MARKDOWN_TRAP not in markdown_sources(at)

    # the same answers again, under another file name: refused by content hash
    _upload(at, "again.jsonl", good.encode())
    assert "Upload refused" in texts(at.error) and "exactly the answers of run evil-name" in texts(at.code)
    assert sorted(p.name for p in list_runs(demo["results"])) == sorted([*before, "evil-name"])


def test_thumbnails_timeline_and_stride_from_a_real_benchmark(monkeypatch, real_demo):
    at = run_app(monkeypatch, real_demo["results"], real_demo["data"])
    assert not at.warning
    board = frame_with(at, "95% CI").set_index("run")
    assert board.loc["gamma-partial", "status"].startswith("partial ")
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
    path.write_text("".join(json.dumps({**r, "prediction": None, "correct": False, "error": None}) + "\n"
                            for r in rows))
    at = run_app(monkeypatch, demo["results"], demo["data"])
    board = frame_with(at, "95% CI").set_index("run")
    assert board.loc["model-c", "unparsed"] == "20 (100%)" and board.loc["model-c", "accuracy %"].strip() == "0.0"
    assert "more than 10% unparsed answers" in texts(at.warning) and "model-c" in texts(at.text)
    at.selectbox(key="hm_a").set_value("model-c").run()
    assert "This run: 100% of the answers could not be parsed" in texts(at.warning)
