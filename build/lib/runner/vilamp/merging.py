"""Differential feature merging (ViLAMP): each non-keyframe becomes ONE token.

For a non-keyframe with patch features ``x_1..x_P`` (P = 729 for SigLIP-so400m at 384 px, in
the LLM's embedding space, i.e. after the LLaVA projector) and the same-position patches
``k_1..k_P`` of its reference keyframe::

    s_p = cos(q, x_p) - cos(x_p, k_p)          (relevant to the question, new w.r.t. the keyframe)
    w   = softmax(s / alpha)                    over the P patches, alpha = 0.01 by default
    token = sum_p w_p * x_p

Decisions (see also the report in ``runner/vilamp/model.py``):

* **Query.** With the public checkpoint's learned merger (``composer_type = "sig_pooling"``:
  ``linear_q, linear_iq, linear_k, linear_ik`` and a learned temperature ``tau``) the scores are
  ``cos(linear_q(t), linear_iq(x_p)) - cos(linear_k(k_p), linear_ik(x_p))`` where ``t`` is the
  **CLIP ViT-B-32 text embedding of the question** (the same one keyframe selection uses, 512-d),
  and the learned ``tau`` replaces ``alpha``. Without those weights (a plain LLaVA-OneVision
  checkpoint) the projections are identities and ``q`` is the **mean LLM input embedding of the
  question's tokens**: the projector maps patches into that space, while CLIP's text space is
  unrelated to it, so this is the only parameter-free choice where ``cos(q, x_p)`` means something.
* **Reference.** :func:`reference_frames` says, per frame, whose patches ``k_p`` are: the
  ``paper`` profile uses the nearest preceding keyframe; the ``released`` profile uses what the
  authors' code does (``img_embs[idx]`` for frames after the ``idx``-th keyframe): video
  frame ``idx``, the keyframe's *ordinal*. The released merger weights were trained that way.
* **Before the first keyframe** there is no preceding keyframe; such a frame is its own
  reference (``k_p = x_p``) in both profiles, as in the public code. With identity projections
  the redundancy term is then constant (1) and the weights follow question relevance alone.
* Weighted sums use the *unprojected* patch features ``x_p`` (the public code does the same).

Everything here works on chunks of frames, so callers can stream 10K frames through it.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_ALPHA = 0.01


class Merger(nn.Module):
    """Scores patches and pools each frame to one token.

    ``query_dim``: size of the query vector (512 for CLIP text, or the LLM width).
    With ``learned=False`` every projection is the identity and ``alpha`` is the temperature.
    With ``learned=True`` it holds the checkpoint's four linear maps and its temperature
    (parameter ``tau``), under the same names as the public ``SigPooling`` module, so its
    state dict loads directly (keys ``linear_iq.weight``, ..., ``tau``).
    ``native_dtype``: compute in the model dtype (fp16 on CUDA) as ``SigPooling`` does, rather
    than in float32 (see :meth:`forward`).
    """

    def __init__(self, hidden: int, query_dim: int | None = None, learned: bool = False,
                 alpha: float = DEFAULT_ALPHA, native_dtype: bool = False) -> None:
        super().__init__()
        self.learned = learned
        self.native_dtype = native_dtype
        if learned:
            self.linear_iq = nn.Linear(hidden, hidden)
            self.linear_ik = nn.Linear(hidden, hidden)
            self.linear_q = nn.Linear(query_dim or hidden, hidden)
            self.linear_k = nn.Linear(hidden, hidden)
            self.tau = nn.Parameter(torch.tensor(float(alpha)))
        else:
            self.register_buffer("tau", torch.tensor(float(alpha)), persistent=False)

    @property
    def temperature(self) -> float:
        return float(self.tau.detach().float())

    def project_query(self, query: torch.Tensor) -> torch.Tensor:
        """(Dq,) -> (D,): the query in the patch space (once per case)."""
        return self.linear_q(query) if self.learned else query

    def key(self, refs: torch.Tensor) -> torch.Tensor:
        """Reference patches as the redundancy term sees them (``linear_k`` or identity). A case
        has at most K reference frames: computing this once per reference, not once per merged
        frame, saves a D x D product per patch of every frame at real size."""
        return self.linear_k(refs) if self.learned else refs

    def weights(self, patches: torch.Tensor, query: torch.Tensor, refs: torch.Tensor | None = None,
                ref_keys: torch.Tensor | None = None) -> torch.Tensor:
        """Softmax weights (F, P) for ``patches`` (F, P, D), projected ``query`` (D,) and either
        ``refs`` (F or 1, P, D) or their :meth:`key` ``ref_keys``."""
        k = self.key(refs) if ref_keys is None else ref_keys
        iq, ik = (self.linear_iq(patches), self.linear_ik(patches)) if self.learned else (patches, patches)
        dtype = patches.dtype if self.native_dtype else torch.float32
        to_query = F.cosine_similarity(query.to(dtype).view(1, 1, -1), iq.to(dtype), dim=-1)
        to_ref = F.cosine_similarity(k.to(dtype), ik.to(dtype), dim=-1)
        return torch.softmax((to_query - to_ref) / self.tau.to(dtype), dim=-1)

    def forward(self, patches: torch.Tensor, query: torch.Tensor, refs: torch.Tensor | None = None,
                ref_keys: torch.Tensor | None = None) -> torch.Tensor:
        """One token per frame: (F, P, D) -> (F, D), in ``patches``' dtype.

        ``native_dtype`` (the ``released`` profile): every step in ``patches``' dtype as the
        authors' ``SigPooling`` runs it, weights times patches rounded, then summed over P;
        otherwise the cosines and softmax run in float32 and the weighted sum is one product."""
        w = self.weights(patches, query, refs, ref_keys)
        if self.native_dtype:
            return (w.unsqueeze(-1) * patches).sum(1)
        return torch.einsum("fp,fpd->fd", w.to(patches.dtype), patches)


def reference_frames(keyframes: list[int], num_frames: int, mode: str) -> list[int]:
    """For every frame position, the position whose patches are its merge reference.

    ``keyframes``: sorted positions. Frames before the first keyframe refer to themselves.
    After the ``j``-th keyframe (0-based), ``mode="preceding-keyframe"`` gives that keyframe's
    position; ``mode="keyframe-ordinal"`` gives position ``j`` (the public code's reading).
    Keyframes get an entry too (their merged token is not used).
    """
    if mode not in ("preceding-keyframe", "keyframe-ordinal"):
        raise ValueError(f"unknown merge reference {mode!r}")
    refs = list(range(num_frames))
    for j, (start, end) in enumerate(zip(keyframes, keyframes[1:] + [num_frames])):
        ref = start if mode == "preceding-keyframe" else j
        refs[start:end] = [ref] * (end - start)
    return refs


def merge_video(patches: torch.Tensor, query: torch.Tensor, keyframes: list[int], merger: "Merger",
                mode: str) -> torch.Tensor:
    """One token per frame (N, D) for a whole video held in memory, (N, P, D) patches.

    The streamed model (:mod:`runner.vilamp.model`) computes the same thing chunk by chunk;
    this whole-video form exists for checking it. Rows of keyframes are computed but unused.
    """
    refs = reference_frames(keyframes, patches.shape[0], mode)
    return merger(patches, query, patches[refs])


def merge_frame(patches: torch.Tensor, query: torch.Tensor, ref: torch.Tensor,
                alpha: float = DEFAULT_ALPHA) -> torch.Tensor:
    """The formula on one frame with identity projections: (P, D), (D,), (P, D) -> (D,)."""
    merger = Merger(patches.shape[-1], alpha=alpha)
    return merger(patches[None], query, ref[None])[0]


def pool_keyframe(features: torch.Tensor, mode: str = "bilinear", stride: int = 2) -> torch.Tensor:
    """Keyframe tokens (F, P, D) -> (F, P', D) on the square patch grid.

    ``bilinear`` (stride ignored: ceil(h/2) x ceil(w/2), 27x27 -> 14x14 = 196 tokens) is what
    LLaVA-OneVision does to video frames and the checkpoint default (``mm_spatial_pool_mode``);
    ``average`` / ``max`` pool with ``stride``; ``none`` keeps all P tokens (729).
    """
    if mode == "none":
        return features
    frames, num, dim = features.shape
    side = int(round(num ** 0.5))
    if side * side != num:
        raise ValueError(f"{num} patches do not form a square grid")
    grid = features.view(frames, side, side, dim).permute(0, 3, 1, 2)
    if mode == "bilinear":
        out = -(-side // 2)
        grid = F.interpolate(grid, size=[out, out], mode="bilinear")
    elif mode == "average":
        grid = F.avg_pool2d(grid, stride)
    elif mode == "max":
        grid = F.max_pool2d(grid, stride)
    else:
        raise ValueError(f"unknown keyframe pooling {mode!r} (bilinear, average, max, none)")
    return grid.permute(0, 2, 3, 1).reshape(frames, -1, dim)
