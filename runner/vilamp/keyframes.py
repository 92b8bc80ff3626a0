"""Differential keyframe selection (ViLAMP, Algorithm 1), as a pure function on tensors.

Given one CLIP image embedding per frame and the CLIP text embedding of the question:

1. relevance ``r_n = cos(frame_n, question)``;
2. walk the frames in descending ``r`` (ties: the earlier frame first); stop at the first frame
   whose relevance is below ``min_relevance`` (when set) or once ``K`` frames are chosen; a
   frame is chosen unless it is too similar to a frame already chosen;
3. if fewer than ``K`` frames were chosen, more are added until there are ``min(K, N)``;
4. keyframes are returned in time order.

The two profiles (:mod:`runner.vilamp.profiles`) differ in steps 2 and 3:

* ``released`` follows the authors' public code: a chosen frame marks as visited every frame
  whose similarity to it is **strictly greater** than ``tau``; the fill is their
  ``distribute_frames`` (:func:`fill_distribute`: the smallest even spacing that fits, then the
  rest from the end of the last gap backwards);
* ``paper`` follows Algorithm 1 as written: a frame is skipped when its similarity to a chosen
  frame is ``>= tau``; the fill spreads the free slots over the gaps in proportion to their
  length (:func:`fill_proportional`).

Numerics: every cosine is computed in the embeddings' dtype (:func:`cos_sim`); the ``released``
profile passes the CLIP embeddings as CLIP computed them (fp16 on CUDA, as the authors' code),
the ``paper`` profile passes them as float32.

Cost: O(N log N) for the sort plus O(N * K * D) worst case for the redundancy test; nothing
N x N is ever built, so 10K frames cost ~40 MB (10K x 512 float64 normalised embeddings) at most.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from runner.vilamp.profiles import profile_named

#: The paper's defaults.
DEFAULT_K = 32
DEFAULT_TAU = 0.85


@dataclass(frozen=True)
class KeyframeSelection:
    """``indices``: the keyframes in time order; ``selected``: those chosen by the differential
    walk, in the order they were chosen; ``filled``: those added to reach ``min(K, N)``;
    ``relevance``: each frame's cosine to the question, as the walk ranked them (what the
    model's view reports: computed once, with the frames normalised once)."""

    indices: list[int]
    selected: list[int]
    filled: list[int]
    relevance: torch.Tensor


def _round(value: float, dtype: torch.dtype) -> float:
    """``value`` as the nearest number of ``dtype`` (what torch does to a Python threshold compared
    with a tensor of that dtype: ``fp16_scores > 0.85`` compares against 0.85009765625)."""
    return float(torch.tensor(value, dtype=torch.float64).to(dtype))


def normalise(x: torch.Tensor) -> torch.Tensor:
    """Rows L2-normalised in ``x``'s own dtype, as ``F.normalize`` does: the norm rounded to the
    dtype (floored at ``1e-12`` in that dtype), then each element divided by it and rounded."""
    x64 = x.double()
    eps = _round(1e-12, x.dtype)
    norm = x64.pow(2).sum(-1, keepdim=True).sqrt().to(x.dtype).double().clamp_min(eps)
    return (x64 / norm).to(x.dtype)


def cos_sim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, D) x (M, D) -> (N, M) cosines in the inputs' dtype, as sentence-transformers'
    ``util.cos_sim`` computes them there (normalise both sides in the dtype, then multiply).

    Each dot product is summed in float64 and rounded once to the dtype. For fp16 that sum is
    exact: normalised fp16 components are multiples of 2^-24 of magnitude <= 1, so every partial
    sum is a multiple of 2^-48 below 2, which float64 holds whatever the summation order; the
    result is the same on every device and equals a plain-Python statement of the arithmetic bit
    for bit. A GEMM in fp16 (theirs) accumulates in fp32 in its own order and lands one fp16 step
    away in about 2 scores in 1,000 (0.18 % measured on a CPU; the README's fidelity table gives
    the effect on keyframes)."""
    return (normalise(a).double() @ normalise(b).double().T).to(a.dtype)


def relevance(frame_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    """Cosine of each frame (N, D) to the question (D,) or (1, D) -> (N,), in the frames' dtype."""
    return cos_sim(frame_emb, text_emb.reshape(1, -1).to(frame_emb.dtype))[:, 0]


def differential_select(frame_emb: torch.Tensor, text_emb: torch.Tensor, k: int = DEFAULT_K,
                        tau: float = DEFAULT_TAU, min_relevance: float | None = None,
                        strict: bool = True) -> list[int]:
    """:func:`walk`'s chosen frames alone."""
    return walk(frame_emb, text_emb, k, tau, min_relevance, strict)[0]


def walk(frame_emb: torch.Tensor, text_emb: torch.Tensor, k: int = DEFAULT_K, tau: float = DEFAULT_TAU,
         min_relevance: float | None = None, strict: bool = True) -> tuple[list[int], torch.Tensor]:
    """Step 2: the frames chosen by the walk, in the order chosen (most relevant first).

    Scores are :func:`cos_sim` in ``frame_emb``'s dtype and the thresholds are compared as that
    dtype's numbers (fp16 embeddings: fp16 scores against fp16 ``tau`` and floor, as the authors'
    ``f2f_scores > f2f_thrd`` does). ``strict``: a frame is suppressed when its similarity to a
    chosen frame is ``> tau`` (the authors' code) rather than ``>= tau`` (the paper). Ties in
    relevance go to the earlier frame (stable sort), so results are deterministic.
    """
    if frame_emb.ndim != 2:
        raise ValueError(f"frame embeddings must be (N, D), got {tuple(frame_emb.shape)}")
    dtype = frame_emb.dtype
    frames = normalise(frame_emb).double()   # once: the relevance below and the redundancy test share it
    # = relevance(frame_emb, text_emb), from the frames normalised above
    scores = (frames @ normalise(text_emb.reshape(1, -1).to(dtype)).double().T).to(dtype)[:, 0]
    if k <= 0 or frame_emb.shape[0] == 0:
        return [], scores
    order = torch.sort(scores, descending=True, stable=True).indices.tolist()
    values = scores.double().tolist()
    tau = _round(tau, dtype)
    floor = None if min_relevance is None else _round(min_relevance, dtype)
    chosen: list[int] = []
    chosen_emb = frames.new_empty((0, frames.shape[1]))
    for n in order:
        if len(chosen) >= k:
            break
        if floor is not None and values[n] < floor:
            break
        if chosen:
            closest = float((chosen_emb @ frames[n]).to(dtype).max())
            if closest > tau or (not strict and closest == tau):
                continue
        chosen.append(n)
        chosen_emb = torch.cat([chosen_emb, frames[n:n + 1]])
    return chosen, scores


def _gaps(chosen: list[int], num_frames: int) -> list[tuple[int, int]]:
    """Maximal runs of unchosen frames as (start, length), in time order."""
    gaps: list[tuple[int, int]] = []
    prev = -1
    for s in sorted(set(chosen)) + [num_frames]:
        if s - prev > 1:
            gaps.append((prev + 1, s - prev - 1))
        prev = s
    return gaps


def fill_proportional(selected: list[int], num_frames: int, k: int) -> list[int]:
    """The paper profile's fill: the extra frames that bring ``selected`` up to ``min(k, N)``.

    The free slots go to the gaps (including the runs before the first and after the last
    selected frame) in proportion to gap length, by largest remainder (ties: longer gap, then
    earlier gap); inside a gap of length ``L`` that gets ``m`` frames they sit at
    ``start + floor(j * L / (m + 1))``, ``j = 1..m``.
    """
    need = min(k, num_frames) - len(set(selected))
    if need <= 0:
        return []
    gaps = _gaps(selected, num_frames)
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


def _spaced_count(gaps: list[tuple[int, int]], spacing: int) -> int:
    return sum(math.ceil(length / spacing) - 1 for _, length in gaps)


def fill_distribute(selected: list[int], num_frames: int, k: int) -> list[int]:
    """The released profile's fill (the authors' ``distribute_frames``), stated as an algorithm.

    With ``m = k - len(selected)`` free slots: find the smallest spacing ``D`` in ``[1, N]``
    such that cutting every gap into pieces of at most ``D`` frames needs at most ``m`` cuts
    (``sum(ceil(L / D) - 1) <= m``); a gap of length ``L`` needing ``c = ceil(L / D) - 1 > 0``
    cuts gets frames at ``min(start + step * i, end)``, ``i = 1..c``, ``step = ceil(L / (c + 1))``.
    The slots still free are then taken from the last gap to the first, each from its end
    backwards, skipping frames already taken. (Up to ``k`` frames in all, never more than N.)
    """
    chosen = set(selected)
    free_slots = k - len(chosen)
    if free_slots <= 0 or num_frames <= 0:
        return []
    gaps = _gaps(selected, num_frames)
    low, high = 1, num_frames
    while low < high:  # smallest D with _spaced_count(D) <= free_slots (monotone in D)
        mid = (low + high) // 2
        if _spaced_count(gaps, mid) <= free_slots:
            high = mid
        else:
            low = mid + 1
    spacing = low
    taken = set(chosen)
    extra: list[int] = []
    for start, length in gaps:
        cuts = math.ceil(length / spacing) - 1
        if cuts <= 0:
            continue
        step = math.ceil(length / (cuts + 1))
        end = start + length - 1
        for i in range(1, cuts + 1):
            pos = min(start + step * i, end)
            if pos not in taken:
                taken.add(pos)
                extra.append(pos)
    remaining = free_slots - _spaced_count(gaps, spacing)
    for start, length in reversed(gaps):
        pos = start + length - 1
        while remaining > 0 and pos >= start:
            if pos not in taken:
                taken.add(pos)
                extra.append(pos)
                remaining -= 1
            pos -= 1
        if remaining <= 0:
            break
    return sorted(extra)


def select_keyframes(frame_emb: torch.Tensor, text_emb: torch.Tensor, k: int = DEFAULT_K,
                     tau: float = DEFAULT_TAU, min_relevance: float | None = None,
                     profile: str = "released") -> KeyframeSelection:
    """Walk plus fill: ``min(k, N)`` keyframes in time order, under the named profile
    (``released``: scores in the embeddings' own dtype; ``paper``: in float32)."""
    spec = profile_named(profile)
    if spec.walk_dtype == "float32":
        frame_emb, text_emb = frame_emb.float(), text_emb.float()
    chosen, scores = walk(frame_emb, text_emb, k, tau, min_relevance, strict=spec.strict_suppression)
    fill = fill_distribute if spec.fill == "distribute" else fill_proportional
    filled = fill(chosen, int(frame_emb.shape[0]), k)
    return KeyframeSelection(sorted(chosen + filled), chosen, filled, scores)
