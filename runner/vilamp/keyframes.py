"""Differential keyframe selection (ViLAMP, Algorithm 1), as a pure function on tensors.

Given one CLIP image embedding per frame and the CLIP text embedding of the question:

1. relevance ``r_n = cos(frame_n, question)``;
2. walk the frames in descending ``r``; a frame joins the keyframe set ``S`` while ``|S| < K``
   and its largest cosine similarity to the frames already in ``S`` is below ``tau``
   (so two identical frames are never both selected, and the most relevant frame always is);
3. if fewer than ``K`` frames qualify, the remaining slots are spread evenly over the gaps
   between the selected frames (proportionally to gap length, evenly inside each gap);
4. keyframes are returned in time order.

``min_relevance`` reproduces the public checkpoint's extra stop rule (``f2t_thrd`` in its
``config.json``; the walk stops at the first frame whose relevance is below it). The paper's
Algorithm 1 has no such rule, so the default is ``None``.

Cost: O(N log N) for the sort plus O(N * K * D) worst case for the redundancy test; nothing
N x N is ever built, so 10K frames cost ~20 MB (10K x 512 fp32 embeddings) at most.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: The paper's defaults.
DEFAULT_K = 32
DEFAULT_TAU = 0.85


@dataclass(frozen=True)
class KeyframeSelection:
    """``indices``: the keyframes in time order; ``selected``: those chosen by the differential
    walk, in the order they were chosen; ``filled``: those added by the even fill-in."""

    indices: list[int]
    selected: list[int]
    filled: list[int]


def relevance(frame_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of each frame (N, D) to the question (D,) or (1, D) -> (N,) float32."""
    frames = F.normalize(frame_emb.float(), dim=-1)
    text = F.normalize(text_emb.float().reshape(-1), dim=0)
    return frames @ text


def differential_select(frame_emb: torch.Tensor, text_emb: torch.Tensor, k: int = DEFAULT_K,
                        tau: float = DEFAULT_TAU, min_relevance: float | None = None) -> list[int]:
    """Steps 1-2: the frames chosen by the walk, in the order chosen (most relevant first).

    Ties in relevance are broken by the earlier frame (stable sort), so results are deterministic.
    """
    if frame_emb.ndim != 2:
        raise ValueError(f"frame embeddings must be (N, D), got {tuple(frame_emb.shape)}")
    if k <= 0 or frame_emb.shape[0] == 0:
        return []
    frames = F.normalize(frame_emb.float(), dim=-1)
    scores = relevance(frame_emb, text_emb)
    order = torch.sort(scores, descending=True, stable=True).indices.tolist()
    chosen: list[int] = []
    chosen_emb = frames.new_empty((0, frames.shape[1]))
    for n in order:
        if len(chosen) >= k:
            break
        if min_relevance is not None and scores[n].item() < min_relevance:
            break
        if chosen and (chosen_emb @ frames[n]).max().item() >= tau:
            continue
        chosen.append(n)
        chosen_emb = torch.cat([chosen_emb, frames[n:n + 1]])
    return chosen


def fill_evenly(selected: list[int], num_frames: int, k: int) -> list[int]:
    """Step 3: the extra frames that bring ``selected`` up to ``min(k, num_frames)``.

    The free slots go to the gaps (maximal runs of unselected frames, including the runs
    before the first and after the last selected frame) in proportion to gap length, by
    largest remainder (ties: longer gap, then earlier gap); inside a gap of length ``L``
    that gets ``m`` frames they sit at ``start + floor(j * L / (m + 1))``, ``j = 1..m``.
    With nothing selected this is one gap: ``m`` frames spread over the whole video.
    """
    target = min(k, num_frames)
    chosen = sorted(set(selected))
    need = target - len(chosen)
    if need <= 0:
        return []
    gaps: list[tuple[int, int]] = []  # (start, length)
    prev = -1
    for s in chosen + [num_frames]:
        if s - prev > 1:
            gaps.append((prev + 1, s - prev - 1))
        prev = s
    free = sum(length for _, length in gaps)
    shares = [need * length / free for _, length in gaps]
    counts = [math.floor(s) for s in shares]
    left = need - sum(counts)
    by_remainder = sorted(range(len(gaps)), key=lambda g: (-(shares[g] - counts[g]), -gaps[g][1], g))
    for g in by_remainder[:left]:
        counts[g] += 1
    extra: list[int] = []
    for (start, length), m in zip(gaps, counts):
        extra.extend(start + (j * length) // (m + 1) for j in range(1, m + 1))
    return sorted(extra)


def select_keyframes(frame_emb: torch.Tensor, text_emb: torch.Tensor, k: int = DEFAULT_K,
                     tau: float = DEFAULT_TAU, min_relevance: float | None = None) -> KeyframeSelection:
    """Algorithm 1 plus the fill-in: at most ``k`` keyframes (exactly ``min(k, N)``), time order."""
    chosen = differential_select(frame_emb, text_emb, k, tau, min_relevance)
    filled = fill_evenly(chosen, int(frame_emb.shape[0]), k)
    return KeyframeSelection(sorted(chosen + filled), chosen, filled)
