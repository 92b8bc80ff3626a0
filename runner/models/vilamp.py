"""ViLAMP (Cheng et al., ICML 2025): LLaVA-OneVision + differential keyframe selection +
differential feature merging, so one 80 GB GPU takes 10K frames.

Pipeline for one case (frames at 1 FPS, read from the frame store, never a whole video in memory):

1. CLIP ViT-B-32 image embedding of every frame (question-independent: cached on disk per
   unique source frame, see :mod:`runner.vilamp.feature_cache`) and CLIP text embedding of the
   question; :func:`runner.vilamp.keyframes.select_keyframes` picks K (32) keyframes.
2. Frames stream through SigLIP (last layer dropped: ``vision_feature_layer`` of the
   checkpoint) and the 2-layer GELU projector in chunks of ``chunk`` (64) frames, in time order.
   A keyframe keeps its patch tokens, pooled as the checkpoint says (``bilinear``: 729 -> 196);
   every other frame becomes one token by :class:`runner.vilamp.merging.Merger` against the
   nearest preceding keyframe's patches (the frame itself before the first keyframe).
3. ``inputs_embeds`` = ChatML prompt tokens with the visual tokens (time order, then the
   checkpoint's ``image_newline``) where the video placeholder is; greedy decoding.

Checkpoint layouts:

* **the released checkpoint** (``orange-sk/ViLAMP-llava-qwen``, original LLaVA-NeXT
  ``LlavaQwenForCausalLM`` format): detected and mapped to HF LLaVA-OneVision in memory by
  :mod:`runner.models.llava_checkpoint` (config keys, key renames, SigLIP resolution there). Its
  ``config.json`` carries the ViLAMP keys; the learned merger is ``model.composer_projector.*``
  and the keyframe CLIP is ``model.frame_selector.model.*``, both taken from the weights. When
  the weights lack the vision tower, a local SigLIP folder comes from ``vision_tower=`` or
  ``NIAH_VISION_TOWER``.
* an HF ``LlavaOnevisionForConditionalGeneration`` folder, plus::

    vilamp_config.json            optional; the released config's keys: max_frame_num (K), f2f_thrd (tau),
                                  f2t_thrd (relevance stop), composer_type, composer_proj_dim,
                                  mm_spatial_pool_mode / mm_spatial_pool_stride, clip_model_path
    vilamp_merger.safetensors     optional; the learned merger ("sig_pooling": linear_q/iq/k/ik + tau)
    clip/                         HF CLIPModel folder (or pass clip_path=..., see runner.vilamp.clip)

Explicit options beat ``vilamp_config.json``, which beats the paper's defaults
(K=32, tau=0.85, alpha=0.01, bilinear keyframe pooling).

Paper vs public code/checkpoint (recorded in ``settings()``):

* the released config adds a relevance stop ``f2t_thrd`` (0.2 by default in its config class)
  that Algorithm 1 lacks: used when the checkpoint sets it (``min_relevance``), else off;
* the public merger (``sig_pooling``) learns four linear maps and the temperature (init 0.01),
  where the paper writes plain cosines with alpha; with those weights present they are used;
* the public code's reference for a non-keyframe is ``img_embs[idx]`` with ``idx`` the keyframe's
  *ordinal*, i.e. frame 0..K-1 of the video, not the preceding keyframe. We follow the paper
  (nearest preceding keyframe) and note it here;
* the public evaluation prompt is ``"{question}. Please choose the right answer from the
  following options: {options}."``; we use the benchmark's common prompt
  (:mod:`runner.models.prompt`) for every model, so models are compared on equal text.

Peak GPU memory, real size (SigLIP-so400m, 26 layers kept + Qwen2-7B, bf16 = 2 B/value), 10K frames.
Back-of-envelope (not measured: no GPU here), D = 3584 (Qwen2-7B width), 729 patches/frame:

* weights, fixed: Qwen2-7B 7.6e9 x 2 B = 15.2 GB; SigLIP 0.40e9 x 2 B = 0.8 GB; CLIP ViT-B-32
  0.15e9 x 2 B = 0.3 GB; projector (1152 x D + D x D = 17e6) and learned merger
  (3 x D^2 + 512 x D = 40e6) = 0.1 GB  ->  ~16.4 GB.
* per frame *in flight* (only ``chunk`` frames at a time, freed before the next chunk):
  - SigLIP phase: pixels 3 x 384^2 x (2 B + 4 B fp32 staging) = 2.7 MB; with
    ``output_hidden_states`` all 27 hidden states (embeddings + 26 layers) are alive until the
    tower returns: 27 x 729 x 1152 x 2 B = 45 MB; in-layer transients (MLP 729 x 4304 x 2 B =
    6.3 MB; attention scores 16 x 729^2 x 2 B = 17 MB if eager, ~0 with SDPA)  ->  ~55-70 MB;
  - projector + merge phase: projected patches 729 x D x 2 B = 5.2 MB, GELU intermediate 5.2 MB,
    learned merger ``linear_iq``/``linear_ik`` 2 x 5.2 MB, fp32 cosine temporaries ~3 x 729 x D x
    4 B = 31 MB  ->  ~50 MB.
  The phases do not overlap, so the chunk costs ~70 MB x ``chunk``: 4.5 GB at chunk=64
  (1.1 GB at 16), whatever the video length. Without chunking the same terms scale with the
  video: 10K x 5.2 MB = 52 GB of projected patches alone, 10K x 45 MB = 450 GB of SigLIP
  hidden states -- it would not fit; chunking is what bounds it.
* per frame *kept* for the whole case (grows with length; 10K frames + K = 32 keyframes x 196
  pooled tokens = 16.3K visual tokens):
  - visual tokens: D x 2 B = 7 KB per token -> 117 MB; the reference keyframe 5.2 MB; CLIP
    embeddings 10K x 512 x 4 B = 20 MB (CPU);
  - LLM prefill over ~16.4K tokens (SDPA/flash attention; eager would need 28 x 16.4K^2 x 2 B =
    15 GB of scores per layer): KV cache 28 layers x 2 x 4 KV heads x 128 x 2 B = 57 KB/token
    -> 0.94 GB; per-layer transients hidden 16.4K x D x 2 B = 117 MB and MLP gate + up
    2 x 16.4K x 18944 x 2 B = 1.2 GB  ->  ~2.3 GB, i.e. ~140 KB per frame (57 KB KV + 76 KB
    MLP transient + 7 KB token).
* peak at 10K frames = weights 16.4 GB + max(chunk phase 4.5 GB, prefill 2.3 GB) + kept
  tokens 0.15 GB  ~=  21 GB at chunk=64 (~18 GB at chunk=16): well inside an 80 GB GPU; the
  marginal cost of one more frame is ~0.14 MB at prefill, while ``chunk`` caps the vision side.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from niah.cases import Benchmark
from niah.errors import InputError
from niah.schema import Case
from runner.models import hub, llava_checkpoint
from runner.models.base import Model
from runner.models.hf_video import DEFAULT_MAX_NEW_TOKENS, load_hf_vlm, uniform_indices
from runner.models.prompt import PROMPT_VERSION, case_prompt
from runner.vilamp.feature_cache import FeatureCache
from runner.vilamp.keyframes import DEFAULT_K, DEFAULT_TAU, select_keyframes
from runner.vilamp.merging import DEFAULT_ALPHA, Merger, pool_keyframe

CONFIG_NAME = "vilamp_config.json"
MERGER_NAME = "vilamp_merger.safetensors"
DEFAULT_CHUNK = 64


def default_cache_dir() -> Path:
    return Path(os.environ.get("NIAH_FEATURE_CACHE", Path.home() / ".cache" / "niah" / "features"))


class ViLAMP(Model):
    name = "vilamp"

    def __init__(self, model_path: str | None, device: str = "cpu", dtype: str = "auto",
                 frames: int | None = None, keyframes: int | None = None, tau: float | None = None,
                 alpha: float | None = None, min_relevance: float | None = None,
                 keyframe_pool: str | None = None, pool_stride: int | None = None,
                 clip_path: str | None = None, cache_dir: str | Path | None = None,
                 cache_patches: bool = False, chunk: int = DEFAULT_CHUNK,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, vision_tower: str | None = None,
                 **options: Any) -> None:
        if options:
            raise InputError("--model-option", f"unknown option(s) for vilamp: {', '.join(sorted(options))}")
        self.model_path = model_path
        self.device = hub.check_device(device)
        folder, _ = hub.resolve(model_path, "ViLAMP")
        self.released = None
        if llava_checkpoint.is_released_layout(folder):
            # the released checkpoint (orange-sk/ViLAMP-llava-qwen): original LLaVA layout, mapped in memory
            rel = llava_checkpoint.load_released(model_path, "ViLAMP", device, dtype, vision_tower=vision_tower)
            self.released = rel
            self.processor, self.vlm, self.folder, self.revision, self.dtype = (
                rel.processor, rel.model, rel.folder, rel.revision, rel.dtype)
            cfg = dict(rel.vilamp_config)
        else:
            if vision_tower is not None:
                raise InputError("--model-option", "vision_tower= only applies to released-format (LLaVA) checkpoints")
            self.processor, self.vlm, self.folder, self.revision, self.dtype = load_hf_vlm(model_path, "ViLAMP", device, dtype)
            cfg = json.loads((folder / CONFIG_NAME).read_text()) if (folder / CONFIG_NAME).exists() else {}
        self.checkpoint_config = cfg

        def pick(value, key, default):
            return value if value is not None else cfg.get(key, default) if cfg.get(key) is not None else default

        self.max_frames = frames
        self.k = int(pick(keyframes, "max_frame_num", DEFAULT_K))
        self.tau = float(pick(tau, "f2f_thrd", DEFAULT_TAU))
        rel_thrd = pick(min_relevance, "f2t_thrd", None)
        self.min_relevance = None if rel_thrd is None or float(rel_thrd) <= -1 else float(rel_thrd)
        self.keyframe_pool = str(pick(keyframe_pool, "mm_spatial_pool_mode", "bilinear"))
        self.pool_stride = int(pick(pool_stride, "mm_spatial_pool_stride", 2))
        self.chunk = int(chunk)
        self.max_new_tokens = int(max_new_tokens)
        if self.k <= 0 or not 0 < self.tau <= 1 or self.chunk <= 0:
            raise InputError("--keyframes/--tau", f"need K > 0 and 0 < tau <= 1 (got K={self.k}, tau={self.tau})")
        pool_keyframe(torch.zeros(1, 4, 1), self.keyframe_pool, self.pool_stride)  # validates the mode

        # CLIP for keyframe selection
        from runner.vilamp.clip import ClipEncoder
        clip_dtype = torch.float32 if self.dtype == torch.float32 else self.dtype
        if clip_path is None and self.released is not None and self.released.clip_state:
            # the released checkpoint carries its CLIP ViT-B-32 as model.frame_selector.model.*
            self.clip = llava_checkpoint.clip_from_checkpoint(self.released, self.device, clip_dtype)
        else:
            spec = clip_path or cfg.get("clip_model_path") or "clip"
            if not spec.startswith("open_clip:") and not Path(spec).is_absolute() and (folder / spec).exists():
                spec = str(folder / spec)
            elif spec == "clip" or (self.released is not None and clip_path is None
                                    and not Path(spec).expanduser().exists()):
                raise InputError(model_path, "ViLAMP needs CLIP ViT-B-32 for keyframe selection: the checkpoint "
                                             "has no frame_selector weights; put a CLIPModel folder at <model>/clip "
                                             "or pass clip_path=")
            self.clip = ClipEncoder(spec, self.device, clip_dtype)

        # merger: learned (checkpoint) or the paper's parameter-free formula
        hidden = self.vlm.config.text_config.hidden_size
        composer = cfg.get("composer_type")
        if self.released is not None:
            state = self.released.merger_state
            if composer not in (None, "sig_pooling"):
                raise InputError(model_path, f"composer_type {composer!r} is not supported (sig_pooling or none)")
            merger_where = f"{self.folder}#model.composer_projector"
        else:
            state = None
            if (folder / MERGER_NAME).exists():
                from safetensors.torch import load_file
                state = load_file(str(folder / MERGER_NAME))
            merger_where = folder / MERGER_NAME
        learned = state is not None
        if composer == "sig_pooling" and not learned:
            raise InputError(model_path, f"the config says composer_type sig_pooling but the merger weights "
                                         f"({merger_where}) are missing")
        self.merger = Merger(hidden, query_dim=int(cfg.get("composer_proj_dim", self.clip.dim)), learned=learned,
                             alpha=DEFAULT_ALPHA if alpha is None else float(alpha))
        if learned:
            try:
                self.merger.load_state_dict(state)
            except RuntimeError as exc:
                raise InputError(merger_where, f"does not fit this model ({str(exc).splitlines()[0]})") from None
            if alpha is not None:
                self.merger.tau.data.fill_(float(alpha))
        self.merger.to(self.device, self.dtype).eval()

        # vision preprocessing, from the checkpoint's video processor
        vp = getattr(self.processor, "video_processor", None) or self.processor.image_processor
        self.vision_size = int(self.vlm.config.vision_config.image_size)
        self.vision_mean = tuple(float(x) for x in vp.image_mean)
        self.vision_std = tuple(float(x) for x in vp.image_std)
        self.feature_layer = self.vlm.config.vision_feature_layer
        self.select_strategy = self.vlm.config.vision_feature_select_strategy
        self.video_token = getattr(self.processor, "video_token", "<video>")

        # caches
        root = cache_dir if cache_dir is not None else default_cache_dir()
        self.cache_root = None if str(root).lower() in ("none", "off", "") else Path(root)
        self._clip_caches: dict[str, FeatureCache] = {}
        self._patch_caches: dict[str, FeatureCache] = {}
        self.cache_patches = bool(cache_patches)
        self.vision_fingerprint = hub.weights_fingerprint(self.folder, {
            **({"vision_tower": self.released.vision_source} if self.released is not None else {}),
            "layer": self.feature_layer, "strategy": self.select_strategy, "size": self.vision_size,
            "mean": self.vision_mean, "std": self.vision_std, "dtype": hub.dtype_name(self.dtype)})
        self.last: dict[str, Any] = {}

    # ----- Model interface ---------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {
            "model": self.name, "model_path": str(self.model_path), "revision": self.revision,
            "architecture": type(self.vlm).__name__, "dtype": hub.dtype_name(self.dtype),
            "max_frames": self.max_frames, "fps": 1.0, "keyframes": self.k, "tau": self.tau,
            "min_relevance": self.min_relevance,
            "merger": "learned" if self.merger.learned else "cosine",
            "alpha": round(self.merger.temperature, 8), "keyframe_pool": self.keyframe_pool,
            "pool_stride": self.pool_stride if self.keyframe_pool in ("average", "max") else None,
            "query": "clip-text" if self.merger.learned else "llm-token-mean",
            "merge_reference": "preceding-keyframe", "before_first_keyframe": "self",
            "clip": self.clip.spec, "clip_revision": self.clip.revision, "clip_fingerprint": self.clip.fingerprint,
            "vision_feature_layer": self.feature_layer, "max_new_tokens": self.max_new_tokens,
            "decoding": "greedy", "prompt": PROMPT_VERSION,
            # only for released-format checkpoints, so HF-layout run ids stay as they were
            **({"checkpoint_layout": llava_checkpoint.LAYOUT, "vision_tower": self.released.vision_source}
               if self.released is not None else {}),
        }

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for label, caches in (("clip_cache", self._clip_caches), ("patch_cache", self._patch_caches)):
            hits = sum(c.hits for c in caches.values())
            misses = sum(c.misses for c in caches.values())
            out[label] = {"hits": hits, "misses": misses,
                          "reuse_ratio": hits / (hits + misses) if hits + misses else 0.0}
        out["last_case"] = dict(self.last)
        return out

    def answer(self, case: Case, bench: Benchmark) -> str:
        embeds = self.visual_tokens(case, bench)
        return self.generate(embeds, case_prompt(case))

    # ----- caches -----------------------------------------------------------------------
    def _cache(self, table: dict, kind: str, bench: Benchmark, fingerprint: str, chunk: int) -> FeatureCache:
        store_fp = bench.store.fingerprint
        if store_fp not in table:
            table[store_fp] = FeatureCache(self.cache_root, kind, store_fp, fingerprint, chunk=chunk)
        return table[store_fp]

    # ----- step 1: keyframes ------------------------------------------------------------
    def case_frames(self, case: Case) -> list[int]:
        """Case frame indices used (all, or ``max_frames`` uniformly when set and exceeded)."""
        if self.max_frames and case.length > self.max_frames:
            return uniform_indices(case.length, self.max_frames)
        return list(range(case.length))

    def clip_embeddings(self, case: Case, bench: Benchmark, indices: list[int]) -> np.ndarray:
        cache = self._cache(self._clip_caches, "clip", bench, self.clip.fingerprint, 256)
        all_refs = bench.frame_refs(case)
        refs = [(all_refs[i].video_id, all_refs[i].frame) for i in indices]

        def compute(positions: list[int]) -> np.ndarray:
            out = np.zeros((len(positions), self.clip.dim), np.float32)
            by_video: dict[str, list[int]] = {}
            for row, p in enumerate(positions):
                by_video.setdefault(refs[p][0], []).append(row)
            for video_id, rows in by_video.items():
                rows.sort(key=lambda r: refs[positions[r]][1])
                frames = bench.store.read_indices(video_id, [refs[positions[r]][1] for r in rows])
                for batch_rows, batch in _batched(zip(rows, frames), self.chunk):
                    out[batch_rows] = self.clip.encode_images(np.stack(batch))
            return out

        return cache.get_or_compute(refs, compute).astype(np.float32)

    def keyframes(self, case: Case, bench: Benchmark, indices: list[int]) -> list[int]:
        """Positions (into ``indices``) of the keyframes, time order."""
        image = torch.from_numpy(self.clip_embeddings(case, bench, indices))
        text = torch.from_numpy(self.clip.encode_text(case.question, normalize=False))
        self._clip_text = text  # raw, as the learned merger's linear_q was trained on it
        return select_keyframes(image, text, self.k, self.tau, self.min_relevance).indices

    # ----- step 2: streamed visual tokens ---------------------------------------------
    def _pixels(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        if x.shape[-2:] != (self.vision_size, self.vision_size):
            x = F.interpolate(x, size=(self.vision_size, self.vision_size), mode="bicubic",
                              antialias=True, align_corners=False)
        mean = torch.tensor(self.vision_mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.vision_std, device=self.device).view(1, 3, 1, 1)
        return ((x - mean) / std).to(self.dtype)

    @torch.no_grad()
    def vision_features(self, frames: np.ndarray) -> torch.Tensor:
        """(c, H, W, 3) uint8 -> SigLIP patch features (c, P, Dv) of the checkpoint's feature layer."""
        out = self.vlm.model.vision_tower(pixel_values=self._pixels(frames), output_hidden_states=True)
        layer = self.feature_layer
        if isinstance(layer, int):
            feats = out.hidden_states[layer]
        else:
            feats = torch.cat([out.hidden_states[i] for i in layer], dim=-1)
        return feats[:, 1:] if self.select_strategy == "default" else feats

    def iter_frames(self, case: Case, bench: Benchmark) -> Iterator[np.ndarray]:
        """Every frame of the case in order, (H, W, 3) uint8 (the frame store reader)."""
        return bench.frames(case)

    def _frame_chunks(self, case: Case, bench: Benchmark, indices: list[int]) -> Iterator[tuple[list[int], torch.Tensor]]:
        """(positions, projected patch features (c, P, D)) in time order, ``chunk`` frames at a time."""
        wanted = set(indices) if len(indices) != case.length else None
        stream = (f for i, f in enumerate(self.iter_frames(case, bench)) if wanted is None or i in wanted)
        refs = bench.frame_refs(case)
        cache = (self._cache(self._patch_caches, "siglip", bench, self.vision_fingerprint, 8)
                 if self.cache_patches else None)
        pos = 0
        for _, batch in _batched(((p, f) for p, f in enumerate(stream)), self.chunk):
            positions = list(range(pos, pos + len(batch)))
            pos += len(batch)
            frames = np.stack(batch)
            if cache is None:
                feats = self.vision_features(frames)
            else:
                keys = [(refs[indices[p]].video_id, refs[indices[p]].frame) for p in positions]
                arr = cache.get_or_compute(keys, lambda miss: self.vision_features(frames[miss]).float().cpu().numpy())
                feats = torch.from_numpy(arr).to(self.device, self.dtype)
            with torch.no_grad():
                yield positions, self.vlm.model.multi_modal_projector(feats.to(self.dtype))

    @torch.no_grad()
    def visual_tokens(self, case: Case, bench: Benchmark) -> torch.Tensor:
        """The case's visual token sequence (T, D): time order, keyframes pooled, one token per
        other frame, then ``image_newline``."""
        indices = self.case_frames(case)
        key_positions = set(self.keyframes(case, bench, indices))
        query = self._merge_query(case)
        tokens: list[torch.Tensor] = []
        ref: torch.Tensor | None = None
        merged = 0
        for positions, feats in self._frame_chunks(case, bench, indices):
            run: list[int] = []  # consecutive non-keyframes in this chunk sharing ``ref``

            def flush() -> None:
                nonlocal merged
                if not run:
                    return
                patches = feats[run[0]:run[-1] + 1]
                refs = patches if ref is None else ref[None]
                tokens.append(self.merger(patches, query, refs))
                merged += len(run)
                run.clear()

            for j, p in enumerate(positions):
                if p in key_positions:
                    flush()
                    tokens.append(pool_keyframe(feats[j:j + 1], self.keyframe_pool, self.pool_stride)[0])
                    ref = feats[j].clone()
                else:
                    run.append(j)
            flush()
        tokens.append(self.vlm.model.image_newline[None].to(self.dtype))
        out = torch.cat(tokens)
        self.last = {"case_id": case.case_id, "frames": len(indices), "keyframes": len(key_positions),
                     "merged_frames": merged, "visual_tokens": int(out.shape[0])}
        return out

    def _merge_query(self, case: Case) -> torch.Tensor:
        if self.merger.learned:
            text = self._clip_text.to(self.device, self.dtype)
            return self.merger.project_query(text)
        ids = self.processor.tokenizer(case.question, add_special_tokens=False, return_tensors="pt")["input_ids"]
        emb = self.vlm.get_input_embeddings()(ids.to(self.device))[0]
        return emb.float().mean(0).to(self.dtype)

    # ----- step 3: generation -------------------------------------------------------------
    def prompt_pieces(self, prompt: str) -> tuple[str, str]:
        conversation = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]
        text = self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        if text.count(self.video_token) != 1:
            raise InputError(self.model_path, f"chat template must place exactly one {self.video_token} for a video")
        before, after = text.split(self.video_token)
        return before, after

    @torch.no_grad()
    def generate(self, visual: torch.Tensor, prompt: str) -> str:
        before, after = self.prompt_pieces(prompt)
        tok = self.processor.tokenizer
        embed = self.vlm.get_input_embeddings()
        pieces = []
        for text in (before, after):
            ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
            pieces.append(embed(ids)[0])
        inputs = torch.cat([pieces[0], visual.to(pieces[0].dtype), pieces[1]])[None]
        mask = torch.ones(inputs.shape[:2], dtype=torch.long, device=self.device)
        out = self.vlm.generate(inputs_embeds=inputs, attention_mask=mask, do_sample=False,
                                max_new_tokens=self.max_new_tokens)
        # with inputs_embeds and no input_ids, generate returns only the new tokens
        return tok.batch_decode(out, skip_special_tokens=True)[0].strip()


def _batched(items, size: int):
    """Yield (first elements, second elements) of ``size`` pairs at a time."""
    a: list = []
    b: list = []
    for x, y in items:
        a.append(x)
        b.append(y)
        if len(a) == size:
            yield a, b
            a, b = [], []
    if a:
        yield a, b
