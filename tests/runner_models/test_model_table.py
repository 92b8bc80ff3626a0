"""The README's model table is what ``bench/model_table.py`` prints (computed, never typed)."""
from pathlib import Path

from runner.models.model_table import peak_gib, rows, table
from runner.models.video_families import FAMILIES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_holds_the_computed_table():
    assert table() in README.read_text()


def test_table_covers_every_family_and_estimates_grow_with_tokens():
    assert len(rows()) == len(FAMILIES)
    for name in FAMILIES:
        assert peak_gib(name, 60000) > peak_gib(name, 1000) > 14   # 7-9B weights in bf16 alone are 14.8-16.3 GiB
