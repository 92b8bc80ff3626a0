"""The model tables are what ``bench/model_table.py`` computes (never typed): the full table in
docs/runner.md, and the README's short one (frames, frame side, visual tokens per family)."""
import re
from pathlib import Path

from runner.models.model_table import STORE_SIDE, peak_gib, rows, table, view
from runner.models.video_families import FAMILIES

ROOT = Path(__file__).resolve().parents[2]


def test_runner_docs_hold_the_computed_table():
    assert table() in (ROOT / "docs" / "runner.md").read_text()


def test_readme_short_table_agrees_with_the_computed_view():
    readme = (ROOT / "README.md").read_text()
    for name, fam in FAMILIES.items():
        [row] = re.findall(rf"^\| `{re.escape(name)}` \|.*$", readme, re.M)
        frames, side, tokens = row.split(" | ")[1:4]
        v = view(fam, 10_000, STORE_SIDE, STORE_SIDE)
        assert re.match(rf"{v.frames}\b", frames) or f"{v.frames} segments" in frames, (name, frames)
        assert side == f"{v.height}²" and v.height == v.width, (name, side)
        assert tokens.startswith(f"{v.visual_tokens:,}"), (name, tokens)


def test_table_covers_every_family_and_estimates_grow_with_tokens():
    assert len(rows()) == len(FAMILIES)
    for name in FAMILIES:
        assert peak_gib(name, 60000) > peak_gib(name, 1000) > 14   # 7-9B weights in bf16 alone are 14.8-16.3 GiB
