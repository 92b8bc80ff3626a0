"""The page logic, through Streamlit's AppTest (no browser)."""
from __future__ import annotations

import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from leaderboard import data as lb
from leaderboard import synthetic
from niah.results import list_runs, read_run

APP = Path(__file__).resolve().parents[2] / "leaderboard" / "app.py"


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


def test_empty_state(monkeypatch, tmp_path):
    at = run_app(monkeypatch, tmp_path / "results", tmp_path / "data")
    assert "No results yet" in texts(at.info)
    assert "No benchmark opened" in texts(at.warning)
    assert not at.dataframe and not at.tabs
    # uploading without a manifest is refused, with the reason
    at.file_uploader[0].upload("r.jsonl", b'{"case_id": "x"}\n').run()
    assert "no benchmark manifest is open" in texts(at.error)
    assert not (tmp_path / "results").exists()


def test_table_with_partial_and_foreign_runs(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
    board = frame_with(at, "rank").set_index("run")
    ranked = board[board["rank"].notna()]
    assert list(ranked.index) == ["model-b", "model-c", "model-a"] and list(ranked["rank"]) == [1, 2, 3]
    assert board.loc["partial-0", "status"].startswith("⚠ partial (")
    assert board["rank"].isna()["partial-0"] and board["rank"].isna()["foreign-0"]
    assert board.loc["foreign-0", "manifest"] == "⚠ DIFFERS"
    assert list(board.index[-2:]) == ["partial-0", "foreign-0"]
    assert "not ranked" in texts(at.caption)
    assert {"acc@300", "acc@600", "frames", "K", "τ", "scored", "cases"} <= set(board.columns)
    assert "thumbnails are off" in texts(at.warning)
    labels = [b.label for b in at.get("download_button")]
    assert "Download leaderboard.csv" in labels and "Download cases.csv" in labels


def test_heatmap_views_and_breakdowns(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
    assert len(at.get("vega_lite_chart")) >= 4  # heatmap, line, task bars, duration bars
    for view in ["Side by side", "Difference (A − B)", "Single run"]:
        at.radio(key="hm_view").set_value(view).run()
        assert not at.exception, [e.value for e in at.exception]
    at.radio(key="hm_view").set_value("Difference (A − B)").run()
    at.selectbox(key="hm_b").set_value("model-c").run()
    assert not at.exception
    assert "Only cells both runs scored" in texts(at.caption)


def test_case_browser_filters(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
    at.selectbox(key="cb_length").set_value(600).run()
    at.selectbox(key="cb_decile").set_value(9).run()
    table = frame_with(at, "depth_decile")
    assert len(table) >= 1 and set(table["length"]) == {600} and set(table["depth_decile"]) == {9}
    assert "✓ (gold)" in texts(at.markdown)
    assert "frame store" in texts(at.caption)  # no thumbnails without frames


def test_results_without_any_benchmark(monkeypatch, demo, tmp_path):
    at = run_app(monkeypatch, demo["results"], tmp_path / "no-bench")
    board = frame_with(at, "rank")
    assert len(board) == 5 and set(board["manifest"]) == {"no benchmark"}
    assert "No benchmark opened" in texts(at.warning)


def test_upload_refuses_bad_file_and_saves_good_one(monkeypatch, demo):
    at = run_app(monkeypatch, demo["results"], demo["data"])
    before = [p.name for p in list_runs(demo["results"])]
    bad = synthetic.make_results(demo["cases"], "up", 0.5)[0].to_json() + "\n" + '{"case_id": "L300-0001", "x": 1}\n'
    at.file_uploader[0].upload("../../bad.jsonl", bad.encode()).run()
    assert "Upload refused" in texts(at.error) and "line 2:" in texts(at.error)
    assert [p.name for p in list_runs(demo["results"])] == before
    assert not at.get("button")

    good = "".join(r.to_json() + "\n" for r in synthetic.make_results(demo["cases"], "uploaded-model", 0.7))
    at.file_uploader[0].clear().run()
    at.file_uploader[0].upload("good.jsonl", good.encode()).run()
    assert not at.error and "20 valid results" in texts(at.success)
    at.text_input(key="upload_name").set_value("../evil/name").run()
    at.text_input(key="up_frames").set_value("16").run()
    at.button(key="upload_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Saved run `evil-name`" in texts(at.success)
    run_dir = demo["results"] / "evil-name"
    info, results, problems = read_run(run_dir)
    assert info["uploaded"] is True and info["settings"] == {"frames": 16} and len(results) == 20
    board = frame_with(at, "rank").set_index("run")
    assert board.loc["evil-name", "status"] == "complete" and board.loc["evil-name", "uploaded"]


def test_thumbnails_from_a_real_benchmark(monkeypatch, real_demo):
    at = run_app(monkeypatch, real_demo["results"], real_demo["data"])
    assert not at.warning
    board = frame_with(at, "rank").set_index("run")
    assert board.loc["gamma-partial", "status"].startswith("⚠ partial")
    for case in (real_demo["bench"].cases[0], real_demo["bench"].cases[-1]):
        at.selectbox(key="cb_case").set_value(case.case_id).run()
        assert not at.exception, [e.value for e in at.exception]
        groups = lb.thumbnail_indices(case.length, case.needle.start_frame, case.needle.num_frames)
        images = at.get("image")
        assert len(images) == sum(1 for g in groups if g)  # before / needle / after, when non-empty
        assert "**Needle**" in [m.value for m in at.markdown]
