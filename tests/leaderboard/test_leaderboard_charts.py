"""The chart specs: the NIAH conventions and the chance-centred scale, read from the spec."""
from __future__ import annotations

import numpy as np
import pandas as pd

from leaderboard import charts
from leaderboard import data as lb
from leaderboard import loading as ld
import synthetic_runs as synthetic


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
                          "accuracy": [0.0, 25.0, 40.0, 100.0], "ci_low": [0.0, 12.0, 24.0, 88.0],
                          "ci_high": [11.0, 43.0, 58.0, 100.0], "n": [30, 30, 30, 0]})
    drawn = charts.heat_cells(cells, chance=25.0, fps=1.0, min_cases=10)
    assert list(drawn["ink"]) == ["black", "black", "black", "white"]  # 0 % is 25 points off chance: pale
    assert list(drawn["text"][:3]) == ["0\nn=30", "25\nn=30", "40\nn=30"]
    # cells whose interval contains chance are muted (noise); unscored cells are not "scored"
    assert list(drawn["muted"]) == [False, True, True, False] and list(drawn["scored"]) == [True, True, True, False]


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
    assert _layers(spec)[0]["mark"]["color"] == charts.WHISKER
    assert whiskers["x"]["field"] == _layers(spec)[1]["encoding"]["x"]["field"] == "x"  # one position for both
    legend = _layers(spec)[1]["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0  # whole run names
    bars = charts.grouped_bars(tables.by_task.assign(run_label=tables.by_task["run_id"]), "task_type", [],
                               tables.chance).to_dict()
    assert _layers(bars)[1]["encoding"]["y"]["field"] == "ci_low"
    assert _layers(bars)[1]["mark"]["color"] == charts.WHISKER


def test_difference_marks_significant_cells(demo):
    tables = _tables(demo)
    diff = lb.paired_difference(tables, "model-a", "partial-0").cells
    diff.loc[diff.index[0], ["verdict", "covered", "difference"]] = ["beyond noise (Holm)", True, 50.0]
    spec = charts.difference(diff, "d", lengths=tables.lengths).to_dict()
    rows = next(iter(spec["datasets"].values()))
    texts = [r["text"] for r in rows]
    assert texts[0] == "+50**" and "–" in texts  # uncovered cells shown empty
    assert np.isclose(_layers(spec)[0]["encoding"]["color"]["condition"]["scale"]["domain"][1], 0)


def test_whiskers_are_drawn_at_the_centre_of_their_bars(demo):
    """Rendered (vl-convert, as the SVG export does): each whisker's x is its bar's centre."""
    import re

    import vl_convert
    tables = _tables(demo)
    frame = tables.by_task.assign(run_label=tables.by_task["run_id"])
    frame = frame[frame["run_id"].isin(["model-a", "model-b"])]
    svg = vl_convert.vegalite_to_svg(charts.grouped_bars(frame, "task_type", [], tables.chance).to_dict())
    drawn = [(float(x), float(w)) for x, w in
             re.findall(r'aria-roledescription="bar"[^>]*d="M([\d.]+),[\d.]+h([\d.]+)', svg)]
    widest = max(w for _, w in drawn)
    bars = sorted(round(x + w / 2, 2) for x, w in drawn if w == widest)
    whiskers = sorted(round(x + w / 2, 2) for x, w in drawn if w < widest)
    assert len(bars) == len(whiskers) == len(frame) and bars == whiskers


def _hue(colour: str) -> float:
    import colorsys
    return round(colorsys.rgb_to_hls(*(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0], 2)


def test_entries_get_distinct_hues_by_rank_and_seeds_share_theirs(tmp_path):
    from leaderboard.page import run_colours
    synthetic.write_demo(tmp_path / "r", tmp_path / "d", partial=0, foreign=0, seeds=3)
    tables = lb.build_tables(ld.load_results(tmp_path / "r"), ld.load_manifest(tmp_path / "d"))
    colours = run_colours(tables)
    board = tables.leaderboard
    singles = [colours[label] for label, model in zip(board["label"], board["model"]) if model != "random"]
    seeds = [colours[label] for label, model in zip(board["label"], board["model"]) if model == "random"]
    assert len({_hue(c) for c in singles}) == len(singles) == 3  # no two entries share a hue
    assert len({_hue(c) for c in seeds}) == 1 and len(set(seeds)) == 3  # one hue, three shades
    assert _hue(seeds[0]) not in {_hue(c) for c in singles}
    hues = sorted(_hue(charts.entry_colour(i)) for i in range(20))
    assert min(b - a for a, b in zip(hues, hues[1:])) >= 0.02  # 20 entries, 20 hues at least 7 degrees apart


def test_error_bars_sit_on_their_points(demo):
    """Rendered (vl-convert, as the SVG export does): every interval's x is a point's x."""
    import re

    import vl_convert
    tables = _tables(demo)
    frame = tables.by_length.assign(run_label=tables.by_length["run_id"])
    svg = vl_convert.vegalite_to_svg(charts.by_length(frame, tables.lengths, tables.chance).to_dict())
    points = {round(float(x), 2) for x in re.findall(r'aria-roledescription="point" transform="translate\(([\d.]+),', svg)}
    rules = [round(float(x), 2) for x in
             re.findall(r'aria-roledescription="rule mark" transform="translate\(([\d.]+),[\d.]+\)" x2="0"', svg)]
    assert len(rules) == len(frame) == len(points) and set(rules) == points


def test_the_colour_scale_is_symmetric_about_chance():
    scale = charts.accuracy_scale(25.0).to_dict()
    assert scale["domain"] == [0, 25.0, 100] and scale["range"][1] == charts.AT
    assert scale["range"][2] == charts.ABOVE  # 75 points above chance: the full blue
    assert scale["range"][0] == charts._mix(charts.AT, charts.BELOW, 25 / 75)  # 25 below: a third of the orange


def test_unscored_cells_are_drawn_grey(demo):
    """Rendered: a cell with no case is painted grey (Vega-Lite drops a mark whose colour
    value is missing, which showed it white, the colour of chance)."""
    import re

    import vl_convert
    tables = _tables(demo)
    cells = tables.heatmap[tables.heatmap["run_id"] == "partial-0"]
    svg = vl_convert.vegalite_to_svg(charts.heatmap(cells, "t", chance=tables.chance, lengths=tables.lengths).to_dict())
    rects = re.findall(r'aria-roledescription="rect"[^>]*fill="([^"]+)"', svg) or \
        re.findall(r'<path[^>]*fill="([^"]+)"[^>]*aria-roledescription="rect"', svg)
    grey = svg.count(f'fill="{charts.EMPTY}"')
    assert grey == int((cells["n"] == 0).sum()) > 0, (grey, rects[:3])
