"""Leaderboard columns declared once (leaderboard.columns): the per-run frame, the compact
table, the export and the ranking derive their columns from the declaration, and a column
computed but not declared is an error instead of a silent drop."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from leaderboard import board as bd
from leaderboard import columns as cols
from leaderboard import data as lb
from leaderboard import export, ranking
from leaderboard import loading as ld
from leaderboard.columns import C

ROOT = Path(__file__).resolve().parents[2]


def _tables(demo) -> lb.Tables:
    return lb.build_tables(ld.load_results(demo["results"]), ld.load_manifest(demo["data"]))


def test_the_board_has_exactly_the_declared_columns_in_order(demo):
    tables = _tables(demo)
    assert list(tables.leaderboard.columns) == cols.names(tables.lengths)
    assert cols.names([300])[cols.names([300]).index(C.acc.at(300)):][:4] == ["acc@300", "lo@300", "hi@300", "n@300"]
    assert ranking.RANK_COLUMNS == [c.name for c in cols.COLUMNS if c.made_by == "ranking"]
    assert ld.SETTING_COLUMNS == [("frames", "frames"), ("keyframes_k", "K"), ("tau", "τ")]
    shown = [c.header for c in cols.shown(tables.lengths)]
    table = bd.compact(tables, section="project")
    assert list(table.columns) == [h for h in shown if h in table.columns]
    assert set(shown) - set(table.columns) <= {C.model.header, C.readings.header}  # dropped only when blank


def test_a_computed_column_that_is_not_declared_is_an_error(demo, monkeypatch):
    real_rank = ranking.rank

    def rank_with_an_extra_column(*args):
        return real_rank(*args).assign(undeclared_stat=1.0)

    monkeypatch.setattr(lb.ranking, "rank", rank_with_an_extra_column)
    with pytest.raises(AssertionError, match="computed but not declared \\['undeclared_stat'\\]"):
        _tables(demo)


def test_a_declared_column_nobody_computes_is_an_error(demo, monkeypatch):
    ghost = cols.Column("ghost", "int", "row")
    monkeypatch.setattr(cols, "COLUMNS", [*cols.COLUMNS, ghost])
    with pytest.raises(AssertionError, match="declared but not computed \\['ghost'\\]"):
        _tables(demo)


def test_a_shown_column_needs_a_header_and_a_format():
    with pytest.raises(ValueError, match="needs a header and a format"):
        cols.Column("x", "int", "row", hidden=False)
    with pytest.raises(ValueError, match="made_by"):
        cols.Column("x", "int", "page")


def test_tables_are_built_by_keyword_only(demo):
    tables = _tables(demo)
    values = [getattr(tables, f.name) for f in dataclasses.fields(tables)]
    with pytest.raises(TypeError):
        lb.Tables(*values)
    assert lb.Tables(**{f.name: v for f, v in zip(dataclasses.fields(tables), values)}).lengths == tables.lengths


def test_renaming_a_header_in_the_declaration_renames_it_in_the_page_and_the_export(demo, monkeypatch, tmp_path):
    renamed = dataclasses.replace(C.holds_up_to, header="stays flat to")
    monkeypatch.setattr(C, "holds_up_to", renamed)
    monkeypatch.setattr(cols, "COLUMNS", [renamed if c.name == renamed.name else c for c in cols.COLUMNS])
    tables = _tables(demo)
    table = bd.compact(tables, section="project")
    assert "stays flat to" in table.columns and "holds up to" not in table.columns
    latex = export.latex_table(tables)  # reads its cells by the declared headers
    assert latex.count(r"\\") >= 4
    page = export.build_site(tables, ld.load_manifest(demo["data"]), tmp_path / "site").read_text(encoding="utf-8")
    assert "<th>stays flat to</th>" in page and "<b>stays flat to</b>" in page


def test_the_seed_group_row_fills_every_shown_column(tmp_path):
    import synthetic_runs as synthetic

    synthetic.write_demo(tmp_path / "r", tmp_path / "d", partial=0, foreign=0, seeds=3)
    tables = lb.build_tables(ld.load_results(tmp_path / "r"), ld.load_manifest(tmp_path / "d"))
    table = bd.compact(tables, combine_seeds=True, section="project")
    group = table[table[C.run.header].str.contains("3 seeds")].iloc[0]
    assert group[C.ci_low.header].startswith("seeds ") and group[C.scored.header].endswith("over 3 seeds")
    assert all(group[C.acc.header_at(n)].strip() for n in tables.lengths)


#: Column names and headers only the board has: written anywhere but the declaration (and the
#: reading of run folders, which names its own frame), they are a second copy that can drift.
_DISTINCTIVE = {c.name for c in (C.seed_group, C.holds_up_to, C.rankable, C.near_copy_of, C.unparsed_pct,
                                 C.entry_accuracy, C.p_first_holm, C.p_above_holm, C.tied_first)} | {
    c.header for c in (C.ci_low, C.d_above, C.d_first, C.holds_up_to, C.reason)}


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "leaderboard").glob("*.py")
                                          if p.name not in {"columns.py", "loading.py"}))
def test_no_module_spells_a_board_column_as_a_string(module):
    tree = ast.parse((ROOT / "leaderboard" / module).read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    spelled = sorted({node.value for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                      and node.value in _DISTINCTIVE})
    assert not spelled, f"leaderboard/{module} spells {spelled}: use leaderboard.columns.C"


def test_the_csv_header_is_the_declaration(demo):
    tables = _tables(demo)
    header = lb.to_csv_bytes(tables.leaderboard).decode("utf-8").splitlines()[0].split(",")
    assert header == cols.names(tables.lengths)
    assert pd.read_csv(pd.io.common.BytesIO(lb.to_csv_bytes(tables.leaderboard)))[C.seed_group.name].isna().all()
