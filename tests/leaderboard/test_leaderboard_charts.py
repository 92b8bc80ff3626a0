"""The chart specs: the NIAH conventions and the chance-centred scale, read from the spec."""
from __future__ import annotations

import numpy as np
import pandas as pd

from leaderboard import charts
from leaderboard import data as lb
from leaderboard import loading as ld


def _tables(demo):
    return lb.build_tables(ld.load_results(demo["results"]), ld.load_manifest(demo["data"]))


def _layers(spec: dict) -> list[dict]:
    return spec["layer"]


def test_heatmap_axes_scale_and_cell_text(demo):
    tables = _tables(demo)
    cells = tables.heatmap[tables.heatmap["run_id"] == "partial-0"]
    spec = charts.heatmap(cells, "t", chance=tables.chance, lengths=tables.lengths).to_dict()
    rect = _layers(spec)[0]["encoding"]
    assert rect["x"]["field"] == "length_label" and rect["x"]["sort"] == ["300 · 0:05", "600 · 0:10"]
    assert rect["y"]["field"] == "depth_range" and rect["y"]["sort"][0] == "0–10%"  # 0% at the top
    scale = rect["color"]["condition"]["scale"]
    assert scale["domain"] == [0, 25.0, 100] and scale["range"][1] == charts.AT  # white at chance
    assert spec["usermeta"]["embedOptions"]["renderer"] == "svg"
    drawn = charts.heat_cells(cells, tables.chance, 1.0, lb.MIN_CASES)
    assert len(drawn) == 20 and set(drawn.loc[drawn["n"] == 0, "text"]) == {"–"}  # unscored, shown empty
    scored = drawn[drawn["n"] > 0]
    assert all(t.endswith("n=1*") for t in scored["text"])  # 1 case per cell: counted and starred


def test_text_is_white_only_on_the_dark_ends_of_the_scale():
    cells = pd.DataFrame({"length": [300] * 4, "depth_decile": range(4), "depth_range": ["a", "b", "c", "d"],
                          "accuracy": [0.0, 25.0, 40.0, 100.0], "n": [30, 30, 30, 0]})
    drawn = charts.heat_cells(cells, chance=25.0, fps=1.0, min_cases=10)
    assert list(drawn["ink"]) == ["white", "black", "black", "white"]
    assert list(drawn["text"][:3]) == ["0\nn=30", "25\nn=30", "40\nn=30"]


def test_line_and_bars_carry_intervals_and_chance(demo):
    tables = _tables(demo)
    frame = tables.by_length.assign(run_label=tables.by_length["run_id"])
    spec = charts.by_length(frame, tables.lengths, tables.chance).to_dict()
    marks = [layer.get("mark", {}).get("type") if isinstance(layer.get("mark"), dict) else layer.get("mark")
             for layer in _layers(spec)]
    whiskers = _layers(spec)[0]["encoding"]
    assert marks[0] == "rule" and whiskers["y"]["field"] == "ci_low" and whiskers["y2"]["field"] == "ci_high"
    chance = _layers(spec)[2]["layer"]
    assert chance[1]["encoding"]["text"]["field"] == "label"
    datasets = spec["datasets"].values()
    assert any(row.get("label") == "chance 25%" for rows in datasets for row in rows)
    legend = _layers(spec)[0]["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0  # whole run names
    bars = charts.grouped_bars(tables.by_task.assign(run_label=tables.by_task["run_id"]), "task_type", [],
                               tables.chance).to_dict()
    assert _layers(bars)[1]["encoding"]["y"]["field"] == "ci_low"


def test_difference_marks_significant_cells(demo):
    tables = _tables(demo)
    diff = lb.heatmap_difference(tables.heatmap, "model-a", "partial-0")
    diff.loc[diff.index[0], ["verdict", "covered", "difference"]] = ["beyond noise (Holm)", True, 50.0]
    spec = charts.difference(diff, "d", lengths=tables.lengths).to_dict()
    rows = next(iter(spec["datasets"].values()))
    texts = [r["text"] for r in rows]
    assert texts[0] == "+50**" and "–" in texts  # uncovered cells shown empty
    assert np.isclose(_layers(spec)[0]["encoding"]["color"]["condition"]["scale"]["domain"][1], 0)
