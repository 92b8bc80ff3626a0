"""The model table of docs/runner.md, computed: what each family sees of a 2K and a 10K-frame case at its
model-card defaults (frames, pixels per frame, visual tokens, from ``video_families``), and an
*estimate* of peak GPU memory from the released checkpoint's shapes (each family's ``shapes``;
no GPU measured it).

``python bench/model_table.py`` prints it; ``tests/runner_models/test_model_table.py`` checks the
page holds exactly what it prints (and the README's short table agrees).

The estimate, in bf16 (2 bytes a value): weights + the LLM's KV cache for the whole input +
the larger of two transients, the vision tower's (every patch of every frame at once, as the HF
models encode a video: residual + attention q/k/v/out + MLP of one layer) and the LLM prefill's
(residual + one layer's MLP, ``(2 x intermediate + 4 x hidden)`` per token; attention by SDPA
keeps no score matrix; generation computes logits for the last position only). Allocator
slack, CUDA context (~0.5 GiB) and fragmentation are not in it.
"""
from __future__ import annotations

from runner.models.video_families import FAMILIES, view

LENGTHS = (2000, 10000)
STORE_SIDE = 384          # the frame store's frames (generator: fps=1, 384 x 384)
TEXT_TOKENS = 200         # prompt + template + answer, roughly
GIB = 1024 ** 3


def peak_gib(name: str, visual_tokens: int) -> float:
    """Estimated peak GPU GiB of family ``name`` (its ``shapes``) for ``visual_tokens``."""
    s = FAMILIES[name].shapes
    seq = visual_tokens + TEXT_TOKENS
    weights = s.params_b * 1e9 * 2
    kv = 2 * s.layers * s.kv_heads * s.head_dim * seq * 2
    patches = visual_tokens * s.patches_per_token
    vision = patches * (6 * s.vit_hidden + 2 * s.vit_intermediate) * 2
    prefill = seq * (2 * s.intermediate + 4 * s.hidden) * 2
    return (weights + kv + max(vision, prefill)) / GIB


def rows() -> list[str]:
    """Markdown rows: model | defaults | per length: frames, pixels per frame, visual tokens | peak GiB."""
    out = []
    for name, fam in FAMILIES.items():
        cells = [f"`{name}`", fam.card]
        peaks = []
        for length in LENGTHS:
            v = view(fam, length, STORE_SIDE, STORE_SIDE)
            cells.append(f"{v.frames} @ {v.height}x{v.width} = {v.height * v.width:,} px, {v.visual_tokens:,} tok")
            peaks.append(f"{peak_gib(name, v.visual_tokens):.0f}")
        cells.append(" / ".join(peaks))
        out.append("| " + " | ".join(cells) + " |")
    return out


HEADER = ("| model | defaults from | 2K frames: sampled @ size = pixels/frame, visual tokens | "
          "10K frames: same | est. peak GPU GiB, 2K / 10K (bf16) |\n|---|---|---|---|---|")


def table() -> str:
    return "\n".join([HEADER, *rows()])
