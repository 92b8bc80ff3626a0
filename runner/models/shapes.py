"""The sizes of a family's released checkpoint that set its GPU memory (read from its config.json).

A field of every :class:`~runner.models.video_families.Family`, so a new family cannot be
added without them; ``runner.models.model_table`` turns them into the README's memory estimate.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shapes:
    """Of the released checkpoint (the family's ``card``): parameters, LLM and vision tower sizes."""

    params_b: float            # billions, all weights
    layers: int
    hidden: int
    intermediate: int
    kv_heads: int
    head_dim: int
    vit_hidden: int
    vit_intermediate: int
    patches_per_token: float   # vision-tower patches behind one visual token
