"""Step 2 of ViLAMP on its own: a case's SigLIP features, streamed in time order, become its visual
token sequence (keyframes pooled, one merged token per other frame, then ``image_newline``).

Kept apart from the model's loading and data access so that the same code runs on real tensors
and on the ``meta`` device, where ``bench/bench_ledger.py`` counts its FLOPs and bytes at real
shapes without weights or a GPU: what the ledger accounts is what a run executes.

* :func:`stream_features` takes the features of each chunk of frames from
  :class:`runner.vilamp.frame_features.FrameFeatures` (copied to the device) or, for frames not
  kept, from ``encode`` (SigLIP), and yields them chunk by chunk in time order.
* :class:`VisualTokens` turns those chunks into the token sequence: the projector, then the
  keyframes' pooling and the :class:`runner.vilamp.merging.Merger` for the other frames.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

import torch
import torch.nn as nn

from runner.vilamp.frame_features import FrameFeatures, Key
from runner.vilamp.merging import Merger, pool_keyframe, reference_frames


def stream_features(memory: FrameFeatures, keys: list[Key], chunk: int, device: str,
                    encode: Callable[[list[Key]], torch.Tensor]) -> Iterator[tuple[list[int], torch.Tensor]]:
    """(positions, SigLIP features (c, P, Dv) on ``device``) for ``keys`` (one per case frame),
    ``chunk`` frames at a time. Frames not in ``memory`` go through ``encode`` once per chunk
    and are offered to ``memory``; ``memory.begin`` was called for the case."""
    for start in range(0, len(keys), chunk):
        positions = list(range(start, min(start + chunk, len(keys))))
        chunk_keys = [keys[p] for p in positions]
        found = memory.fetch(chunk_keys, device)  # kept features, copied to the device; None if not kept
        moved = [f for f in found if f is not None]
        missing = list(dict.fromkeys(k for k, f in zip(chunk_keys, found) if f is None))
        fresh: dict[Key, torch.Tensor] = {}
        if missing:
            computed = encode(missing)
            memory.encoded += len(missing)
            fresh = dict(zip(missing, computed))
            for key, value in fresh.items():
                memory.put(key, value)
        moved.reverse()
        yield positions, torch.stack([fresh[k] if f is None else moved.pop() for k, f in zip(chunk_keys, found)])


class VisualTokens:
    """The projector, keyframe pooling and merger of one model, applied chunk by chunk.

    ``reference``: the profile's merge reference (:func:`runner.vilamp.merging.reference_frames`);
    ``pool``/``stride``: the keyframes' pooling (:func:`runner.vilamp.merging.pool_keyframe`)."""

    def __init__(self, projector: nn.Module, merger: Merger, newline: torch.Tensor, pool: str, stride: int,
                 reference: str, dtype: torch.dtype) -> None:
        self.projector, self.merger, self.newline = projector, merger, newline
        self.pool, self.stride, self.reference, self.dtype = pool, stride, reference, dtype

    @classmethod
    def for_model(cls, vlm: nn.Module, merger: Merger, pool: str, stride: int, reference: str,
                  dtype: torch.dtype, merge: str = "exact") -> "VisualTokens":
        """The step 2 of an HF LLaVA-OneVision ``vlm`` (its projector and ``image_newline``)."""
        return cls(vlm.model.multi_modal_projector, merger, vlm.model.image_newline, pool, stride, reference, dtype)

    @torch.no_grad()
    def build(self, keys: list[int], frames: int, query: torch.Tensor,
              chunks: Iterable[tuple[list[int], torch.Tensor]]) -> tuple[torch.Tensor, int]:
        """The token sequence (T, D) of a case of ``frames`` frames with keyframe positions
        ``keys`` (time order) and the merger's ``query``, and how many frames were merged.
        ``chunks``: (positions, SigLIP features) in time order, as :func:`stream_features` yields."""
        key_set = set(keys)
        refs = reference_frames(keys, frames, self.reference)
        # reference frames other than the frame itself: at most K, their keys computed once
        needed = {r for p, r in enumerate(refs) if r != p and p not in key_set}
        ref_keys: dict[int, torch.Tensor] = {}
        tokens: list[torch.Tensor] = []
        merged = 0
        for positions, raw in chunks:
            feats = self.projector(raw.to(self.dtype))
            for j, p in enumerate(positions):
                if p in needed:
                    ref_keys[p] = self.merger.key(feats[j])
            plain = [j for j, p in enumerate(positions) if p not in key_set]
            if plain:
                own = [j for j in plain if refs[positions[j]] == positions[j]]  # before the first keyframe
                own_keys = dict(zip(own, self.merger.key(feats[own]))) if own else {}
                stacked = torch.stack([own_keys[j] if j in own_keys else ref_keys[refs[positions[j]]]
                                       for j in plain])
                merged_rows = iter(self.merger(feats[plain], query, ref_keys=stacked))
                merged += len(plain)
            for j, p in enumerate(positions):
                if p in key_set:
                    tokens.append(pool_keyframe(feats[j:j + 1], self.pool, self.stride)[0])
                else:
                    tokens.append(next(merged_rows)[None])
        tokens.append(self.newline[None].to(self.dtype))
        return torch.cat(tokens), merged
