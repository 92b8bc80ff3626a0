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

import numpy as np

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


# ----- per family x protocol (docs/protocols.md) -------------------------------------------------
NEEDLE_SECONDS = (30, 60, 120)


def needle_in_view_share(indices: list[int], length: int, needle: int) -> float:
    """Share of needle positions (every start 0 .. length - needle, equally likely) at which at
    least one of ``indices`` falls inside a needle of ``needle`` frames."""
    starts = length - needle + 1
    if starts <= 0 or not indices:
        return 0.0
    seen = np.zeros(starts, dtype=bool)
    for i in indices:   # a frame i is inside the needle for starts i - needle + 1 .. i
        seen[max(0, i - needle + 1):min(starts, i + 1)] = True
    return float(seen.mean())


def protocol_rows() -> list[str]:
    """Markdown rows: family | protocol | per length: frames @ size, visual tokens, needle-in-view share."""
    out = []
    for name, fam in FAMILIES.items():
        for proto in fam.protocols.values():
            cells = [f"`{name}`", f"`{proto.name}`"]
            for length in LENGTHS:
                if not proto.visual:
                    cells += ["no video, 0 tokens", "0 (blind)"]
                    continue
                v = view(fam.under(proto), length, STORE_SIDE, STORE_SIDE)
                cells.append(f"{v.frames} @ {v.height}x{v.width}, {v.visual_tokens:,} tok")
                cells.append(" / ".join(f"{100 * needle_in_view_share(v.indices, length, s):.0f}%"
                                        for s in NEEDLE_SECONDS))
            out.append("| " + " | ".join(cells) + " |")
    return out


PROTOCOL_HEADER = ("| family | protocol | 2K frames: sampled @ size, visual tokens | needle in view, 30 / 60 / 120 s | "
                   "10K frames: same | needle in view, 30 / 60 / 120 s |\n|---|---|---|---|---|---|")


def protocol_table() -> str:
    return "\n".join([PROTOCOL_HEADER, *protocol_rows()])
