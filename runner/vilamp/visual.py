"""Step 2 of ViLAMP on its own: a case's SigLIP features, streamed in time order, become its visual
token sequence (keyframes pooled, one merged token per other frame, then ``image_newline``).

Kept apart from the model's loading and data access so that the same code runs on real tensors
and on the ``meta`` device, where ``bench/bench_ledger.py`` counts its FLOPs and bytes at real
shapes without weights or a GPU: what the ledger accounts is what a run executes.

* :func:`stream_features` takes the features of each chunk of frames from
  :class:`runner.vilamp.frame_features.FrameFeatures` (copied to the device) or, for frames not
  kept, from ``encode`` (SigLIP), and yields them chunk by chunk in time order. On CUDA the
  copies of the next chunk run on a side stream into the other of two buffers while the
  current chunk computes (:data:`COPIES_OVERLAP_COMPUTE`).
* :class:`VisualTokens` turns those chunks into the token sequence: the projector, then the
  keyframes' pooling and the merger for the other frames, on slices of the chunk (frames of one
  run share one reference frame, whose key is broadcast, never stacked), written in place into
  the preallocated sequence. Two readings of the merger (``merge=``):

  - ``exact``: :class:`runner.vilamp.merging.Merger` as the authors' ``SigPooling`` computes it
    (under ``released`` every step in fp16, bit for bit the former list-indexed loop);
  - ``fast``: :class:`FastMerge`, the same formula reordered: fewer FLOPs and bytes, not bit-exact.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

import torch
import torch.nn as nn

from runner.vilamp.frame_features import FrameFeatures, Key
from runner.vilamp.merging import Merger, pool_keyframe, reference_frames

#: on CUDA, :func:`stream_features` copies chunk i+1's kept features on a side stream while chunk
#: i computes (the ledger takes the copies off the critical path when this is true)
COPIES_OVERLAP_COMPUTE = True


def stream_features(memory: FrameFeatures, keys: list[Key], chunk: int, device: str,
                    encode: Callable[[list[Key]], torch.Tensor]) -> Iterator[tuple[range, torch.Tensor]]:
    """(positions, SigLIP features (c, P, Dv) on ``device``) for ``keys`` (one per case frame),
    ``chunk`` frames at a time. Frames not in ``memory`` go through ``encode`` once per chunk
    and are offered to ``memory``; ``memory.begin`` was called for the case.

    Kept frames are copied straight into one of two chunk buffers (no stack). When a chunk needed
    no encode, the next chunk's copies are issued before it is handed out: on CUDA they run on a
    side stream, so they overlap this chunk's compute; on a CPU they run there and then. The
    memory's bookkeeping (next uses, tiers) sees the same calls in the same order either way: a
    chunk that encodes is offered to the memory before the next chunk is fetched. A chunk's tensor
    is one of the two buffers: it holds that chunk until the generator is advanced."""
    starts = range(0, len(keys), chunk)
    cuda = torch.device(device).type == "cuda"
    side = torch.cuda.Stream(device=device) if cuda else None
    buffers: list[torch.Tensor | None] = [None, None]

    def fetch(n: int) -> tuple[list[Key], list[torch.Tensor | None], torch.cuda.Event | None]:
        part = keys[starts[n]:starts[n] + chunk]
        if buffers[n % 2] is None and memory.frame_shape is not None:
            shape, dtype = memory.frame_shape
            buffers[n % 2] = torch.empty((chunk, *shape), dtype=dtype, device=device)
        out = None if buffers[n % 2] is None else buffers[n % 2][:len(part)]
        if side is None:
            return part, memory.fetch(part, device, out=out), None
        side.wait_stream(torch.cuda.current_stream(device))  # the buffer's last chunk has been read
        with torch.cuda.stream(side):
            found = memory.fetch(part, device, out=out)
            ready = torch.cuda.Event()
            ready.record(side)
        return part, found, ready

    pending = fetch(0) if len(starts) else None
    for n, start in enumerate(starts):
        part, found, ready = pending
        if ready is not None:
            torch.cuda.current_stream(device).wait_event(ready)
        missing = list(dict.fromkeys(k for k, f in zip(part, found) if f is None))
        if missing:
            feats = _fill(memory, part, found, missing, encode, buffers, n % 2, chunk, device)
        else:
            feats = buffers[n % 2][:len(part)]
        pending = fetch(n + 1) if not missing and n + 1 < len(starts) else None
        yield range(start, start + len(part)), feats
        if pending is None and n + 1 < len(starts):
            pending = fetch(n + 1)


def _fill(memory: FrameFeatures, part: list[Key], found: list, missing: list[Key],
          encode: Callable[[list[Key]], torch.Tensor], buffers: list, slot: int, chunk: int,
          device: str) -> torch.Tensor:
    """Encode the chunk's missing frames, offer them to ``memory`` and write them into the chunk's
    buffer (allocated here when no frame was ever kept) beside the copied ones."""
    computed = encode(missing)
    memory.encoded += len(missing)
    for key, value in zip(missing, computed):
        memory.put(key, value)
    if buffers[slot] is None:
        buffers[slot] = torch.empty((chunk, *computed.shape[1:]), dtype=computed.dtype, device=device)
    buf = buffers[slot][:len(part)]
    row_of = {k: i for i, k in enumerate(missing)}
    rows = [i for i, f in enumerate(found) if f is None]
    src = torch.tensor([row_of[part[i]] for i in rows], device=device)
    buf.index_copy_(0, torch.tensor(rows, device=device), computed.index_select(0, src))
    return buf


class FastMerge(nn.Module):
    """``merge=fast``: the learned merger with the projector's second layer moved after the merge.

    With ``h`` the projector's hidden layer (``x = W2 h + b2``), every map the merger applies to
    ``x`` is folded into one applied to ``h`` (``W_iq W2``, ``W_ik W2``, ``W_k W2``, computed once
    in float32), and since the softmax weights sum to one, ``sum_p w_p x_p = W2 (sum_p w_p h_p) +
    b2``: the second layer runs once per merged frame instead of once per patch. The scores avoid
    full-size intermediates: ``cos(q, iq_p) = (iq_p . q^) / |iq_p|`` (a product with the unit
    query and a norm), ``cos(k_p, ik_p) = (ik_p . k^_p) / |ik_p|`` with each reference frame's
    unit keys computed once and broadcast; softmax in float32; the weighted sum is one einsum.
    Not bit-exact with ``exact``: the products are summed in another order and ``x`` is never
    rounded to the model dtype (``bench/vilamp_fast_deviation.py`` measures the difference)."""

    def __init__(self, projector: nn.Module, merger: Merger) -> None:
        super().__init__()
        if not merger.learned:
            raise ValueError("merge=fast needs the learned merger")
        self.linear_1, self.act, self.linear_2 = projector.linear_1, projector.act, projector.linear_2
        self.merger = merger
        w2, b2 = projector.linear_2.weight, projector.linear_2.bias
        dtype, device = w2.dtype, w2.device
        self.iq, self.ik, self.k = (self._folded(getattr(merger, name), w2, b2).to(device, dtype)
                                    for name in ("linear_iq", "linear_ik", "linear_k"))

    @staticmethod
    def _folded(outer: nn.Linear, w2: torch.Tensor, b2: torch.Tensor | None) -> nn.Linear:
        """``outer(W2 h + b2)`` as one linear map of ``h``."""
        with torch.device(w2.device):
            folded = nn.Linear(w2.shape[1], outer.weight.shape[0])
        with torch.no_grad():
            folded.weight.copy_(outer.weight.float() @ w2.float())
            bias = outer.bias.float() if outer.bias is not None else torch.zeros_like(folded.bias)
            if b2 is not None:
                bias = bias + outer.weight.float() @ b2.float()
            folded.bias.copy_(bias)
        return folded

    def hidden(self, raw: torch.Tensor) -> torch.Tensor:
        """The projector's hidden layer ``h`` (F, P, D)."""
        return self.act(self.linear_1(raw))

    def unit_key(self, hidden: torch.Tensor) -> torch.Tensor:
        """Reference patches' unit keys ``k^`` (..., P, D), computed once per reference frame."""
        k = self.k(hidden)
        return k / _norm(k, keepdim=True).to(k.dtype)

    def forward(self, hidden: torch.Tensor, unit_query: torch.Tensor, unit_keys: torch.Tensor) -> torch.Tensor:
        """One token per frame (F, D) from hidden patches (F, P, D), the unit query (D,) and the
        unit keys (P, D) of the frames' one reference (or (F, P, D), a key per frame)."""
        acc = _accumulation(hidden.dtype)
        iq = self.iq(hidden)
        to_query = (iq @ unit_query).to(acc) / _norm(iq)
        del iq
        ik = self.ik(hidden)
        if unit_keys.dim() == 2:   # one reference for the run: (P, F, D) x (P, D, 1) batched over patches
            dots = torch.bmm(ik.transpose(0, 1), unit_keys.unsqueeze(-1)).squeeze(-1).transpose(0, 1)
        else:
            dots = (ik * unit_keys).sum(-1)
        to_ref = dots.to(acc) / _norm(ik)
        del ik
        w = torch.softmax((to_query - to_ref) / self.merger.tau.to(acc), dim=-1)
        return self.linear_2(torch.einsum("fp,fpd->fd", w.to(hidden.dtype), hidden))


def _accumulation(dtype: torch.dtype) -> torch.dtype:
    """float32 for the half types (and float32), float64 for float64."""
    return torch.promote_types(dtype, torch.float32)


def _norm(x: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
    """L2 norms over the last dim, accumulated and returned in :func:`_accumulation`'s dtype (one
    pass over ``x``, no squared copy)."""
    return torch.linalg.vector_norm(x, dim=-1, keepdim=keepdim, dtype=_accumulation(x.dtype))


class VisualTokens:
    """The projector, keyframe pooling and merger of one model, applied chunk by chunk.

    ``reference``: the profile's merge reference (:func:`runner.vilamp.merging.reference_frames`);
    ``pool``/``stride``: the keyframes' pooling (:func:`runner.vilamp.merging.pool_keyframe`);
    ``merge``: ``exact`` or ``fast`` (:class:`FastMerge`)."""

    def __init__(self, projector: nn.Module, merger: Merger, newline: torch.Tensor, pool: str, stride: int,
                 reference: str, dtype: torch.dtype, merge: str = "exact") -> None:
        self.projector, self.merger, self.newline = projector, merger, newline
        self.pool, self.stride, self.reference, self.dtype = pool, stride, reference, dtype
        self.fast = FastMerge(projector, merger) if merge == "fast" else None

    @classmethod
    def for_model(cls, vlm: nn.Module, merger: Merger, pool: str, stride: int, reference: str,
                  dtype: torch.dtype, merge: str = "exact") -> "VisualTokens":
        """The step 2 of an HF LLaVA-OneVision ``vlm`` (its projector and ``image_newline``)."""
        return cls(vlm.model.multi_modal_projector, merger, vlm.model.image_newline, pool, stride, reference,
                   dtype, merge)

    @torch.no_grad()
    def build(self, keys: list[int], frames: int, query: torch.Tensor,
              chunks: Iterable[tuple[range, torch.Tensor]]) -> tuple[torch.Tensor, int]:
        """The token sequence (T, D) of a case of ``frames`` frames with keyframe positions
        ``keys`` (time order) and the merger's ``query``, and how many frames were merged.
        ``chunks``: (positions, SigLIP features) in time order, as :func:`stream_features` yields."""
        key_set = set(keys)
        refs = reference_frames(keys, frames, self.reference)
        # reference frames other than the frame itself: at most K, their keys computed once
        needed = {r for p, r in enumerate(refs) if r != p and p not in key_set}
        ref_keys: dict[int, torch.Tensor] = {}
        fast = self.fast
        if fast is not None:
            query = (query / _norm(query)).to(self.dtype)
        out, offsets, merged = None, [], 0
        for positions, raw in chunks:
            start = positions.start
            feats = fast.hidden(raw.to(self.dtype)) if fast is not None else self.projector(raw.to(self.dtype))
            if out is None:
                out, offsets = self._allocate(key_set, frames, feats)
            for p in sorted(needed.intersection(positions)):
                ref_keys[p] = self._key(feats[p - start])
            for a, b in _runs(positions, key_set, refs):
                part = feats[a - start:b - start]
                if refs[a] == a:    # before the first keyframe each frame is its own reference
                    ref = self._key(part)
                else:               # one reference for the run: its key broadcast, never stacked
                    ref = ref_keys[refs[a]] if fast is not None else ref_keys[refs[a]][None]
                rows = fast(part, query, ref) if fast is not None else self.merger(part, query, ref_keys=ref)
                out[offsets[a]:offsets[a] + (b - a)] = rows
                merged += b - a
            for p in sorted(key_set.intersection(positions)):
                frame = feats[p - start:p - start + 1]
                pooled = pool_keyframe(fast.linear_2(frame) if fast is not None else frame, self.pool, self.stride)[0]
                out[offsets[p]:offsets[p] + pooled.shape[0]] = pooled
        newline = self.newline[None].to(self.dtype)
        if out is None:
            return newline, merged
        out[-1:] = newline
        return out, merged

    def _key(self, patches: torch.Tensor) -> torch.Tensor:
        return self.fast.unit_key(patches) if self.fast is not None else self.merger.key(patches)

    def _allocate(self, key_set: set[int], frames: int, feats: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        """The whole sequence, preallocated from the first chunk's shape: each frame's first row
        (a keyframe takes as many as its pooling gives), then the newline row."""
        per_key = pool_keyframe(torch.empty((1, feats.shape[1], 1), device="meta"), self.pool, self.stride).shape[1]
        offsets, total = [], 0
        for p in range(frames):
            offsets.append(total)
            total += per_key if p in key_set else 1
        return torch.empty((total + 1, feats.shape[-1]), dtype=self.dtype, device=feats.device), offsets


def _runs(positions: range, key_set: set[int], refs: list[int]) -> Iterator[tuple[int, int]]:
    """Maximal [a, b) runs of non-keyframe positions sharing one reference (frames that are their
    own reference form one run: their keys are a per-frame tensor)."""
    a = None
    for p in positions:
        if p in key_set:
            if a is not None:
                yield a, p
            a = None
            continue
        if a is not None and (refs[p] != refs[a] and not (refs[a] == a and refs[p] == p)):
            yield a, p
            a = None
        if a is None:
            a = p
    if a is not None:
        yield a, positions.stop
