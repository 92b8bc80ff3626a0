"""The static export and the LaTeX table, without a browser (the browser test opens the page)."""
from __future__ import annotations

import re

from leaderboard import data as lb
from leaderboard import export
from leaderboard import loading as ld


def test_export_writes_a_self_contained_page_and_its_files(demo, tmp_path, capsys):
    out = tmp_path / "site"
    assert export.main(["--results", str(demo["results"]), "--data", str(demo["data"]), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "leaderboard-official.tex", "heatmap--model-a.svg"} <= names
    assert any(n.startswith("leaderboard-official--model-b--") and n.endswith(".csv") for n in names)
    page = (out / "index.html").read_text()
    assert "<script" not in page and "default-src 'none'" in page
    # no address a browser would fetch: only SVG namespaces
    assert set(re.findall(r'(?:src|href)="([^"]+)"', page)) <= {"http://www.w3.org/2000/svg"}
    assert "[partial 9/20] partial-0" in page and "[other manifest] foreign-0" in page
    assert "wrote " in capsys.readouterr().out


def test_export_refuses_a_missing_results_folder_in_one_line(tmp_path, capsys):
    code = export.main(["--results", str(tmp_path / "none"), "--out", str(tmp_path / "site")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --results: ") and err.count("\n") == 1
    assert not (tmp_path / "site").exists()


def test_latex_table_is_booktabs_with_escaped_names(demo):
    tables = lb.build_tables(ld.load_results(demo["results"]), ld.load_manifest(demo["data"]))
    tex = export.latex_table(tables)
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    rows = [line for line in tex.splitlines() if line.endswith("\\\\") and line[0].isdigit()]
    assert [r.split(" & ")[1] for r in rows] == ["model-b", "model-c", "model-a"]  # ranked runs only
    assert export.latex_escape("a_b & 50%") == "a\\_b \\& 50\\%"


def test_export_charts_draw_the_ranked_runs_unless_asked_for_all(demo, tmp_path):
    out = tmp_path / "site"
    assert export.main(["--results", str(demo["results"]), "--data", str(demo["data"]), "--out", str(out)]) == 0
    figure = next(out.glob("accuracy-by-length--*.svg")).read_text(encoding="utf-8")
    assert "model-b" in figure and "partial-0" not in figure and "foreign-0" not in figure
    assert not (out / "heatmap--partial-0.svg").exists() and (out / "heatmap--model-b.svg").exists()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "[partial 9/20] partial-0" in page  # still in the table, with its mark
    assert 'id="heatmaps"' in page and "Every pair" in page and "@inproceedings{vilamp2025" in page
    every = tmp_path / "every"
    assert export.main(["--results", str(demo["results"]), "--data", str(demo["data"]), "--out", str(every),
                        "--all-runs"]) == 0
    assert "partial-0" in next(every.glob("accuracy-by-length--*.svg")).read_text(encoding="utf-8")
