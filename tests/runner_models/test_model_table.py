"""The model tables are what ``bench/model_table.py`` computes (never typed): the full table in
docs/runner.md, and the README's short one (frames, frame side, visual tokens per family)."""
import re
from pathlib import Path

import pytest

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


@pytest.mark.models  # tiny checkpoints and the loader check need torch
def test_every_family_has_its_shapes_and_a_tiny_builder(tmp_path):
    """A family is one entry of FAMILIES: its released checkpoint's shapes are a field of it, and
    the tests can build a tiny checkpoint the family's own loader check accepts."""
    from tiny_models import FAMILY_BUILDERS

    from runner.models.hf_video import check_checkpoint
    from runner.models.shapes import Shapes
    assert set(FAMILY_BUILDERS) == set(FAMILIES)
    for name, fam in FAMILIES.items():
        assert isinstance(fam.shapes, Shapes) and fam.shapes.params_b > 0 and fam.shapes.layers > 0
        folder = FAMILY_BUILDERS[name](tmp_path / name)
        assert check_checkpoint(folder, name, fam)["model_type"] in fam.model_types


def test_family_traits_are_fields_not_names():
    """The pixel budget rule follows the family's field, whatever the family is called."""
    from dataclasses import replace
    qwen3 = FAMILIES["qwen3-vl"]
    opts = qwen3.resolve(None, {})
    kwargs = lambda fam: fam.processor_kwargs(list(range(8)), 8, 1.0, 384, 384, opts)["size"]   # noqa: E731
    assert kwargs(replace(qwen3, name="my-qwen3")) == kwargs(qwen3)
    assert kwargs(qwen3)["longest_edge"] == 8 * kwargs(replace(qwen3, budget_per_video=False))["longest_edge"]
    assert [f.name for f in FAMILIES.values() if f.shared_prefix] == ["llava-onevision", "llava-video"]


def test_default_device_is_a_trait_of_the_registry_entry():
    """Without --device a model loads where its entry says (``random``: CPU), whatever its name."""
    from runner import models
    from runner.loading import check_device
    models.register("chance-x", "runner.models.random_choice:load", default_device="cpu")
    try:
        assert check_device(None, "chance-x") == "cpu" == check_device(None, "random")
        assert models.default_device("qwen2.5-vl") is None    # CUDA where available
    finally:
        models._REGISTRY.pop("chance-x")
        models.MODEL_NAMES = tuple(models._REGISTRY)


def test_protocols_page_holds_the_computed_table():
    from runner.models.model_table import protocol_table
    assert protocol_table() in (Path(__file__).resolve().parents[2] / "docs" / "protocols.md").read_text()


def test_needle_in_view_share_counts_needle_positions():
    from runner.models.model_table import needle_in_view_share
    assert needle_in_view_share([0, 10], 20, 5) == 6 / 16       # starts 0 and 6..10 hold a sampled frame
    assert needle_in_view_share(list(range(20)), 20, 5) == 1.0 and needle_in_view_share([], 20, 5) == 0.0
