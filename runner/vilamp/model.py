"""ViLAMP (Cheng et al., ICML 2025): LLaVA-OneVision + differential keyframe selection +
differential feature merging, so one 80 GB GPU takes 10K frames.

Pipeline for one case (frames at 1 FPS, read from the frame store, never a whole video in memory):

1. CLIP ViT-B-32 image embedding of every frame (question-independent: cached per unique
   source frame, see :mod:`runner.vilamp.feature_cache`) and CLIP text embedding of the
   question; :func:`runner.vilamp.keyframes.select_keyframes` picks K (32) keyframes.
2. Frames stream through SigLIP (last layer dropped: ``vision_feature_layer`` of the
   checkpoint) and the 2-layer GELU projector in chunks of ``chunk`` (64) frames, in time order.
   A keyframe keeps its patch tokens, pooled as the checkpoint says (``bilinear``: 729 -> 196);
   every other frame becomes one token by :class:`runner.vilamp.merging.Merger` against its
   reference frame (:func:`runner.vilamp.merging.reference_frames`).
3. ``inputs_embeds`` = ChatML prompt tokens with the visual tokens (time order, then the
   checkpoint's ``image_newline``) where the video placeholder is; greedy decoding.

Two profiles (``profile=released``, the default, or ``profile=paper``;
:mod:`runner.vilamp.profiles`) choose between the authors' public inference code and the
paper's text wherever they differ: CLIP input, walk tie, fill, merge reference, the dtype of
the walk's cosines and of the merger, config checks, prompt, new tokens, dtype. The profile is
part of ``settings()`` and so of the run id. :meth:`ViLAMP.answer` returns the text with the
keyframes (case-frame indices) as the frames seen at full resolution and the input cut.

Checkpoint layouts:

* **the released checkpoint** (``orange-sk/ViLAMP-llava-qwen_sig``, where the authors' install
  instructions point, or ``orange-sk/ViLAMP-llava-qwen``, their badge's id; original LLaVA-NeXT
  ``LlavaQwenForCausalLM`` format): detected and mapped to HF LLaVA-OneVision in memory by
  :mod:`runner.models.llava_checkpoint` (shared with ``llava-onevision``, which reads the same
  format). Its ``config.json`` carries the ViLAMP keys; the learned merger is
  ``model.composer_projector.*`` and the keyframe CLIP is ``model.frame_selector.model.*``,
  both taken from the weights. When the weights lack the vision tower, a local SigLIP folder
  comes from ``vision_tower=`` or ``NIAH_VISION_TOWER``. The CLIP tokenizer is the HF one of
  the CLIP folder (``clip_tokenizer=``, ``NIAH_CLIP_TOKENIZER``, the config's
  ``clip_model_path`` or ``<checkpoint>/clip-ViT-B-32/0_CLIPModel``; see
  :func:`runner.models.llava_checkpoint.clip_tokenizer_folder`).
* an HF ``LlavaOnevisionForConditionalGeneration`` folder, plus::

    vilamp_config.json            optional; the released config's keys: max_frame_num (K), f2f_thrd (tau),
                                  f2t_thrd (relevance stop), composer_type, composer_proj_dim,
                                  mm_spatial_pool_mode / mm_spatial_pool_stride, clip_model_path
    vilamp_merger.safetensors     optional; the learned merger ("sig_pooling": linear_q/iq/k/ik + tau)
    clip/                         HF CLIPModel folder (or pass clip_path=..., see runner.vilamp.clip)

Under ``released`` the config must say ``composer_type: sig_pooling`` with the differential
walk (:mod:`runner.vilamp.checkpoint_config`, checked before any weight loads) and its
``tokenizer_model_max_length`` cuts the LLM input as the authors' code does.
Explicit options beat ``vilamp_config.json``, which beats the profile's defaults
(K=32, tau=0.85, alpha=0.01, bilinear keyframe pooling; relevance floor 0.2 for ``released``,
the default of the authors' config class, none for ``paper``).

Memory: frames stream in chunks of ``chunk``, so the 10K x 729 patch tensor (52 GB in bf16)
never exists; what the case keeps is its visual tokens (~16K x D), the CLIP embeddings
(10K x 512 fp32 on the CPU) and at most K reference frames' patches.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from niah.cases import Benchmark, FrameRef
from niah.errors import InputError
from niah.schema import Case
from runner.models import hub, llava_checkpoint, prefix_cache
from runner.models.base import Answer, Model, rotated_case
from runner.models.hf_video import load_hf_vlm, uniform_indices
from runner.models.prompt import PROMPT_VERSION, case_prompt
from runner.vilamp import checkpoint_config
from runner.vilamp import prompt as authors_prompt
from runner.vilamp.feature_cache import FeatureCache
from runner.vilamp.frame_features import FrameFeatures, default_device_budget, parse_bytes
from runner.vilamp.keyframes import relevance, select_keyframes
from runner.vilamp.merging import DEFAULT_ALPHA, Merger, pool_keyframe, reference_frames
from runner.vilamp.options import check_names, resolve_options
from runner.vilamp.profiles import Profile, profile_named

MERGER_NAME = "vilamp_merger.safetensors"


@dataclass(frozen=True)
class Selection:
    """What step 1 decided for one case, handed to the later steps as a value (nothing of a
    case stays on the model, so no step can read another case's text or keyframes).

    ``indices``: the case frames used; ``keys``: keyframe positions into ``indices`` (time
    order); ``clip_text``: the question's raw CLIP text embedding (what the learned merger's
    ``linear_q`` was trained on); ``relevance``: each used frame's cosine to the question."""

    indices: list[int]
    keys: list[int]
    clip_text: torch.Tensor
    relevance: torch.Tensor

    @property
    def keyframe_frames(self) -> list[int]:
        """The keyframes as case-frame indices."""
        return [self.indices[k] for k in self.keys]


def default_feature_memory() -> int:
    """Host memory for SigLIP features reused across cases (``feature_memory=``) when not given:
    32 GB (19K real-size frames of 1.7 MB in fp16: the whole demo haystack pool), or half the
    machine's RAM if that is less."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 2 * 32 * 10 ** 9
    return min(32 * 10 ** 9, ram // 2)


def default_cache_dir() -> Path:
    return Path(os.environ.get("NIAH_FEATURE_CACHE", Path.home() / ".cache" / "niah" / "features"))


class ViLAMP(Model):
    name = "vilamp"

    def __init__(self, model_path: str | None, device: str = "cpu", dtype: str = "auto",
                 frames: int | None = None, profile: str = "released", clip_path: str | None = None,
                 cache_dir: str | Path | None = None, vision_tower: str | None = None,
                 feature_memory: str | int | None = None, clip_tokenizer: str | None = None,
                 device_feature_memory: str | int | None = None, **options: Any) -> None:
        """Load in named steps, each refusing bad input in one line before the next loads anything:
        the checkpoint's ViLAMP keys and the options (no weights), the VLM, CLIP, the merger,
        the vision preprocessing and the feature stores. ``options`` are those of
        :func:`runner.vilamp.options.resolve_options` (keyframes, tau, alpha, min_relevance,
        keyframe_pool, pool_stride, chunk, max_new_tokens)."""
        check_names(options)
        self.profile: Profile = profile_named(str(profile))
        self.model_path = model_path
        self.device = hub.check_device(device)
        self.max_frames = frames
        folder, _ = hub.resolve(model_path, "ViLAMP")
        keys = checkpoint_config.read_keys(folder, model_path or str(folder), self.profile)
        self.checkpoint_config, self.config_sha256, self.max_input = keys.config, keys.sha256, keys.max_input
        self.options = resolve_options(options, keys.config, self.profile)
        self._check_part_options(keys, clip_path, clip_tokenizer, vision_tower)
        self._load_vlm(keys, self._auto_dtype(dtype), vision_tower)
        self.clip = self._load_clip(keys, clip_path, clip_tokenizer)
        self.merger = self._load_merger(keys)
        self._read_vision_preprocessing()
        self._open_feature_stores(cache_dir, feature_memory, device_feature_memory)
        self.last: dict[str, Any] = {}  # the last case's counts, for stats.json only (no step reads it)
        self.llm_prefill_tokens = 0  # LLM positions prefilled (stats.json): circular runs share the visual prefix

    # ----- loading, step by step ---------------------------------------------------------
    def _auto_dtype(self, dtype: str) -> str:
        """``auto``: the profile's dtype on a GPU (fp16 for the authors' code), fp32 on a CPU."""
        if dtype != "auto":
            return dtype
        return self.profile.cuda_dtype if self.device.startswith("cuda") else "float32"

    def _check_part_options(self, keys: checkpoint_config.CheckpointKeys, clip_path: str | None,
                            clip_tokenizer: str | None, vision_tower: str | None) -> None:
        """Options that only fit one checkpoint layout, and the released checkpoint's CLIP
        tokenizer (missing: one line, before the LLM loads)."""
        if keys.released_layout and clip_path is None:
            llava_checkpoint.clip_tokenizer_folder(keys.folder, keys.config, clip_tokenizer)
        elif clip_tokenizer is not None:
            raise InputError("--model-option", "clip_tokenizer= only applies to the released checkpoint's own CLIP "
                                               "(clip_path= folders bring their tokenizer)")
        if vision_tower is not None and not keys.released_layout:
            raise InputError("--model-option", "vision_tower= only applies to released-format (LLaVA) checkpoints")

    def _load_vlm(self, keys: checkpoint_config.CheckpointKeys, dtype: str, vision_tower: str | None) -> None:
        """The LLaVA-OneVision model and processor: the released checkpoint (original LLaVA layout,
        mapped in memory; it also carries the merger and CLIP) or an HF folder."""
        self.released = None
        if keys.released_layout:
            rel = llava_checkpoint.load_released(self.model_path, "ViLAMP", self.device, dtype,
                                                 vision_tower=vision_tower)
            self.released = rel
            self.processor, self.vlm, self.folder, self.revision, self.dtype = (
                rel.processor, rel.model, rel.folder, rel.revision, rel.dtype)
        else:
            self.processor, self.vlm, self.folder, self.revision, self.dtype = load_hf_vlm(
                self.model_path, "ViLAMP", self.device, dtype)

    def _load_clip(self, keys: checkpoint_config.CheckpointKeys, clip_path: str | None,
                   clip_tokenizer: str | None) -> Any:
        """CLIP ViT-B-32 for keyframe selection: the released checkpoint's own
        (``model.frame_selector.model.*``) unless ``clip_path`` names another, else a folder."""
        from runner.vilamp.clip import ClipEncoder
        crop = self.profile.clip_input == "centre-crop"
        if clip_path is None and self.released is not None and self.released.clip_state:
            return llava_checkpoint.clip_from_checkpoint(self.released, self.device, self.dtype, crop=crop,
                                                         tokenizer=clip_tokenizer)
        spec = clip_path or keys.config.get("clip_model_path") or "clip"
        if not spec.startswith("open_clip:") and not Path(spec).is_absolute() and (keys.folder / spec).exists():
            spec = str(keys.folder / spec)
        elif spec == "clip" or (self.released is not None and clip_path is None
                                and not Path(spec).expanduser().exists()):
            raise InputError(self.model_path, "ViLAMP needs CLIP ViT-B-32 for keyframe selection: the checkpoint "
                                              "has no frame_selector weights; put a CLIPModel folder at <model>/clip "
                                              "or pass clip_path=")
        return ClipEncoder(spec, self.device, self.dtype, crop=crop)

    def _load_merger(self, keys: checkpoint_config.CheckpointKeys) -> Merger:
        """The learned merger (the checkpoint's ``composer_projector`` or ``vilamp_merger.safetensors``)
        or, without weights, the paper's parameter-free formula."""
        if self.released is not None:
            state = self.released.merger_state
            where: Any = f"{self.folder}#model.composer_projector"
        else:
            state = None
            where = keys.folder / MERGER_NAME
            if where.exists():
                from safetensors.torch import load_file
                state = load_file(str(where))
        learned = state is not None
        if keys.config.get("composer_type") == "sig_pooling" and not learned:
            raise InputError(self.model_path, f"the config says composer_type sig_pooling but the merger weights "
                                              f"({where}) are missing")
        alpha = self.options.alpha
        merger = Merger(self.vlm.config.text_config.hidden_size, query_dim=self.options.query_dim or self.clip.dim,
                        learned=learned, alpha=DEFAULT_ALPHA if alpha is None else alpha,
                        native_dtype=self.profile.merge_dtype == "model")
        if learned:
            try:
                merger.load_state_dict(state)
            except RuntimeError as exc:
                raise InputError(where, f"does not fit this model ({str(exc).splitlines()[0]})") from None
            if alpha is not None:
                merger.tau.data.fill_(alpha)
        return merger.to(self.device, self.dtype).eval()

    def _read_vision_preprocessing(self) -> None:
        """SigLIP's input size, normalisation and feature layer, from the checkpoint's processor/config."""
        vp = getattr(self.processor, "video_processor", None) or self.processor.image_processor
        self.vision_size = int(self.vlm.config.vision_config.image_size)
        self.vision_mean = tuple(float(x) for x in vp.image_mean)
        self.vision_std = tuple(float(x) for x in vp.image_std)
        self.feature_layer = self.vlm.config.vision_feature_layer
        self.select_strategy = self.vlm.config.vision_feature_select_strategy
        self.video_token = getattr(self.processor, "video_token", "<video>")

    def _open_feature_stores(self, cache_dir: str | Path | None, feature_memory: str | int | None,
                             device_feature_memory: str | int | None) -> None:
        """The CLIP embedding cache (on disk unless ``cache_dir=none``; in memory either way) and the
        SigLIP features reused across cases (not part of settings: reuse does not change answers)."""
        root = cache_dir if cache_dir is not None else default_cache_dir()
        self.cache_root = None if str(root).lower() in ("none", "off", "") else Path(root)
        self._clip_caches: dict[str, FeatureCache] = {}
        budget = default_feature_memory() if feature_memory is None else parse_bytes(feature_memory)
        device_budget = (default_device_budget(self.device, budget) if device_feature_memory is None
                         else parse_bytes(device_feature_memory, "--device-feature-memory"))
        self.frame_features = FrameFeatures(budget, pin=self.device.startswith("cuda"), device=self.device,
                                            device_budget_bytes=device_budget)

    @property
    def keyframe_pool(self) -> str:
        return self.options.keyframe_pool

    # ----- Model interface ---------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        p = self.profile
        return {
            "model": self.name, "profile": p.name, "model_path": str(self.model_path), "revision": self.revision,
            "architecture": type(self.vlm).__name__, "dtype": hub.dtype_name(self.dtype),
            "max_frames": self.max_frames, "fps": 1.0, "keyframes": self.options.keyframes, "tau": self.options.tau,
            "suppression": "similarity > tau" if p.strict_suppression else "similarity >= tau",
            "fill": p.fill, "min_relevance": self.options.min_relevance,
            "merger": "learned" if self.merger.learned else "cosine",
            "alpha": round(self.merger.temperature, 8), "keyframe_pool": self.options.keyframe_pool,
            "pool_stride": self.options.pool_stride if self.options.keyframe_pool in ("average", "max") else None,
            "query": "clip-text" if self.merger.learned else "llm-token-mean",
            "merge_reference": p.merge_reference, "before_first_keyframe": "self",
            "clip": self.clip.spec, "clip_revision": self.clip.revision, "clip_fingerprint": self.clip.fingerprint,
            "clip_input": self.clip.preprocessing, "clip_tokenizer": self.clip.tokenizer_source,
            "walk_dtype": hub.dtype_name(self._walk_dtype), "merge_dtype": p.merge_dtype,
            "checkpoint_config_sha256": self.config_sha256, "composer_type": self.checkpoint_config.get("composer_type"),
            "max_input_tokens": self.max_input,
            "vision_feature_layer": self.feature_layer, "max_new_tokens": self.options.max_new_tokens,
            "decoding": "greedy",
            "prompt": authors_prompt.PROMPT_VERSION if p.prompt == "vilamp-authors" else PROMPT_VERSION,
            # only for released-format checkpoints
            **({"checkpoint_layout": llava_checkpoint.LAYOUT, "vision_tower": self.released.vision_source}
               if self.released is not None else {}),
        }

    def stats(self) -> dict[str, Any]:
        hits = sum(c.hits for c in self._clip_caches.values())
        misses = sum(c.misses for c in self._clip_caches.values())
        return {"clip_cache": {"hits": hits, "misses": misses,
                               "reuse_ratio": hits / (hits + misses) if hits + misses else 0.0},
                "vision_frames_encoded": self.frame_features.encoded,
                "case_frames": self.frame_features.case_frames,
                "llm_prefill_tokens": self.llm_prefill_tokens,
                "feature_bytes_to_device": self.frame_features.bytes_to_device,
                "last_case": dict(self.last)}

    def answer(self, case: Case, bench: Benchmark) -> Answer:
        """The generated text, the keyframes (case-frame indices) as the frames seen at full
        resolution with relevance diagnostics, and how many LLM input positions the checkpoint's
        length limit cut."""
        selection = self.select(case, bench)
        generated = self.generate(self.visual_tokens(case, bench, selection), case)
        answer = self._with_view(case, generated.text, selection)
        answer.input_cut = generated.input_cut
        return answer

    # ----- step 1: keyframes ------------------------------------------------------------
    def case_frames(self, case: Case) -> list[int]:
        """Case frame indices used: all of them (both profiles; the authors' Video-MME script caps
        a video at 600 frames, the NIAH experiment does not), or ``max_frames`` uniformly when set."""
        if self.max_frames and case.length > self.max_frames:
            return uniform_indices(case.length, self.max_frames)
        return list(range(case.length))

    def _clip_cache(self, bench: Benchmark) -> FeatureCache:
        store_fp = bench.store.fingerprint
        if store_fp not in self._clip_caches:
            self._clip_caches[store_fp] = FeatureCache(self.cache_root, "clip", store_fp, self.clip.fingerprint)
        return self._clip_caches[store_fp]

    def clip_embeddings(self, case: Case, bench: Benchmark, indices: list[int]) -> np.ndarray:
        """(len(indices), 512) float32 CLIP image embeddings, the same values whether computed now
        or read from the cache (the cache's one representation, float32)."""
        cache = self._clip_cache(bench)
        all_refs = bench.frame_refs(case)
        refs = [(all_refs[i].video_id, all_refs[i].frame) for i in indices]
        crop = self.clip.crop

        def compute(positions: list[int]) -> np.ndarray:
            out = np.zeros((len(positions), self.clip.dim), np.float32)
            by_video: dict[str, list[int]] = {}
            for row, p in enumerate(positions):
                by_video.setdefault(refs[p][0], []).append(row)
            for video_id, rows in by_video.items():
                aspect = bench.store.aspect(video_id) if crop else None
                rows.sort(key=lambda r: refs[positions[r]][1])
                frames = bench.store.read_indices(video_id, [refs[positions[r]][1] for r in rows])
                for batch_rows, batch in _batched(zip(rows, frames), self.options.chunk):
                    out[batch_rows] = self.clip.encode_images(np.stack(batch), aspect)
            return out

        return cache.get_or_compute(refs, compute)

    @property
    def _walk_dtype(self) -> torch.dtype:
        """The dtype the walk's cosines use: CLIP's own (released) or float32 (paper)."""
        return self.clip.dtype if self.profile.walk_dtype == "embedding" else torch.float32

    def select(self, case: Case, bench: Benchmark, indices: list[int] | None = None) -> Selection:
        """Step 1 for one case: the frames used (``indices``, default :meth:`case_frames`), the
        keyframes and what later steps need of the question. The embeddings go back to CLIP's
        dtype first: the cache's float32 holds those values exactly, so this is lossless."""
        indices = self.case_frames(case) if indices is None else indices
        image = torch.from_numpy(self.clip_embeddings(case, bench, indices)).to(self._walk_dtype)
        text = torch.from_numpy(self.clip.encode_text(case.question))
        walk_text = text.to(self._walk_dtype)
        opts = self.options
        keys = select_keyframes(image, walk_text, opts.keyframes, opts.tau, opts.min_relevance,
                                profile=self.profile.name).indices
        return Selection(list(indices), keys, text, relevance(image, walk_text))

    def keyframes(self, case: Case, bench: Benchmark, indices: list[int]) -> list[int]:
        """Positions (into ``indices``) of the keyframes, time order."""
        return self.select(case, bench, indices).keys

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

    def _frame_chunks(self, case: Case, bench: Benchmark, indices: list[int]) -> Iterator[tuple[list[int], torch.Tensor]]:
        """(positions, projected patch features (c, P, D)) in time order, ``chunk`` frames at a time.

        SigLIP runs only on frames not in :attr:`frame_features` (once per frame per chunk);
        the others are taken from there."""
        refs = bench.frame_refs(case)
        store_fp = bench.store.fingerprint
        memory = self.frame_features
        memory.begin(case, bench)  # when each frame is needed next: eviction by next use
        for start in range(0, len(indices), self.options.chunk):
            positions = list(range(start, min(start + self.options.chunk, len(indices))))
            keys = [(store_fp, refs[indices[p]].video_id, refs[indices[p]].frame) for p in positions]
            found = memory.fetch(keys, self.device)  # kept features, copied to the device; None if not kept
            moved = [f for f in found if f is not None]
            missing = list(dict.fromkeys(k for k, f in zip(keys, found) if f is None))
            fresh: dict[tuple[str, str, int], torch.Tensor] = {}
            if missing:
                computed = self.vision_features(bench.frames_of([FrameRef(v, f) for _, v, f in missing]))
                memory.encoded += len(missing)
                fresh = dict(zip(missing, computed))
                for key, value in fresh.items():
                    memory.put(key, value)
            moved.reverse()
            feats = torch.stack([fresh[k] if f is None else moved.pop() for k, f in zip(keys, found)])
            with torch.no_grad():
                yield positions, self.vlm.model.multi_modal_projector(feats.to(self.dtype))

    @torch.no_grad()
    def visual_tokens(self, case: Case, bench: Benchmark, selection: Selection | None = None) -> torch.Tensor:
        """The case's visual token sequence (T, D): time order, keyframes pooled, one merged token
        per other frame, then ``image_newline``. ``selection``: step 1's result for this case
        (computed here when not given)."""
        selection = self.select(case, bench) if selection is None else selection
        indices, keys = selection.indices, selection.keys
        key_set = set(keys)
        refs = reference_frames(keys, len(indices), self.profile.merge_reference)
        # reference frames other than the frame itself: at most K, their keys computed once
        needed = {r for p, r in enumerate(refs) if r != p and p not in key_set}
        ref_keys: dict[int, torch.Tensor] = {}
        query = self._merge_query(case, selection.clip_text)
        tokens: list[torch.Tensor] = []
        merged = 0
        for positions, feats in self._frame_chunks(case, bench, indices):
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
                    tokens.append(pool_keyframe(feats[j:j + 1], self.options.keyframe_pool, self.options.pool_stride)[0])
                else:
                    tokens.append(next(merged_rows)[None])
        tokens.append(self.vlm.model.image_newline[None].to(self.dtype))
        out = torch.cat(tokens)
        self.last = {"case_id": case.case_id, "frames": len(indices), "keyframes": len(keys),
                     "merged_frames": merged, "visual_tokens": int(out.shape[0]),
                     "keyframe_frames": [indices[p] for p in keys]}
        return out

    def _merge_query(self, case: Case, clip_text: torch.Tensor | None = None) -> torch.Tensor:
        """The merger's query for ``case``: ``linear_q`` of the question's raw CLIP text embedding
        (``clip_text``, encoded here when not given) with the learned merger, else the mean LLM
        input embedding of the question's tokens."""
        if self.merger.learned:
            if clip_text is None:
                clip_text = torch.from_numpy(self.clip.encode_text(case.question))
            return self.merger.project_query(clip_text.to(self.device, self.dtype))
        ids = self.processor.tokenizer(case.question, add_special_tokens=False, return_tensors="pt")["input_ids"]
        emb = self.vlm.get_input_embeddings()(ids.to(self.device))[0]
        return emb.float().mean(0).to(self.dtype)

    # ----- step 3: generation -------------------------------------------------------------
    def prompt_pieces(self, case: Case) -> tuple[str, str]:
        """The prompt text before and after the visual tokens, by the profile."""
        if self.profile.prompt == "vilamp-authors":
            return authors_prompt.chatml_pieces(case.question, case.options)
        conversation = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": case_prompt(case)}]}]
        text = self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        if text.count(self.video_token) != 1:
            raise InputError(self.model_path, f"chat template must place exactly one {self.video_token} for a video")
        before, after = text.split(self.video_token)
        return before, after

    @torch.no_grad()
    def generate(self, visual: torch.Tensor, case: Case) -> Answer:
        """Greedy decoding after the prompt with ``visual`` in place of the video placeholder.

        Under ``released`` the input (prompt + visual tokens) is cut to the checkpoint's
        ``tokenizer_model_max_length`` positions, keeping the head, as the authors'
        ``prepare_inputs_labels_for_multimodal`` does; ``input_cut`` says how many were cut."""
        before, after = self.prompt_pieces(case)
        tok = self.processor.tokenizer
        embed = self.vlm.get_input_embeddings()
        pieces = []
        for text in (before, after):
            ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
            pieces.append(embed(ids)[0])
        inputs = torch.cat([pieces[0], visual.to(pieces[0].dtype), pieces[1]])[None]
        cut = max(0, inputs.shape[1] - self.max_input) if self.max_input is not None else 0
        if cut:
            inputs = inputs[:, :self.max_input]
        self.llm_prefill_tokens += int(inputs.shape[1])
        mask = torch.ones(inputs.shape[:2], dtype=torch.long, device=self.device)
        out = self.vlm.generate(inputs_embeds=inputs, attention_mask=mask, do_sample=False,
                                max_new_tokens=self.options.max_new_tokens)
        # with inputs_embeds and no input_ids, generate returns only the new tokens
        return Answer(tok.batch_decode(out, skip_special_tokens=True)[0].strip(), input_cut=cut)

    # ----- what the model saw, and circular evaluation (runner score --circular) ---------------
    def _with_view(self, case: Case, text: str, selection: Selection) -> Answer:
        """``text`` with the keyframes (case-frame indices given full tokens) and relevance
        diagnostics: ``needle_rank`` (1 = the most question-relevant used frame) of the best
        needle frame, and the highest relevance inside (``relevance_in``) and outside
        (``relevance_out``) the needle (the needles the question is about, in a multi-needle case).
        A needle ranked high but not kept means suppression or the K budget dropped it; one ranked
        low means CLIP did not see the question in it."""
        keyframes, scores, indices = selection.keyframe_frames, selection.relevance, selection.indices
        spans = [(n.start_frame, n.start_frame + n.num_frames) for n in case.asked_needles]
        inside = torch.tensor([any(start <= i < end for start, end in spans) for i in indices], dtype=torch.bool)
        diagnostics: dict[str, Any] = {"needle_rank": None, "relevance_in": None, "relevance_out": None}
        if len(scores) == len(indices) and len(indices):
            scores = scores.float()
            if inside.any():
                best = scores[inside].max()
                diagnostics["needle_rank"] = int((scores > best).sum()) + 1
                diagnostics["relevance_in"] = round(float(best), 6)
            if (~inside).any():
                diagnostics["relevance_out"] = round(float(scores[~inside].max()), 6)
        return Answer(text, full_frames=list(keyframes), diagnostics=diagnostics)

    def answer_rotations(self, case: Case, bench: Benchmark, option_lists: list[list[str]]) -> list[Answer]:
        """The visual tokens (keyframes, merging: they depend on the question only) are computed
        once; the prompt up to where the rotations differ is prefilled once."""
        selection = self.select(case, bench)
        embeds = self.visual_tokens(case, bench, selection)
        cases = [rotated_case(case, options, r) for r, options in enumerate(option_lists)]
        answers = []
        for generated in self.generate_rotations(embeds, cases):
            answer = self._with_view(case, generated.text, selection)
            answer.input_cut = generated.input_cut
            answers.append(answer)
        return answers

    @torch.no_grad()
    def generate_rotations(self, visual: torch.Tensor, cases: list[Case]) -> list[Answer]:
        """:meth:`generate` for each case (the same question, options in other orders) with the
        shared prefix (ChatML head, visual tokens, the common start of the text after them)
        prefilled once (:mod:`runner.models.prefix_cache`). An input the checkpoint's length
        limit would cut goes through :meth:`generate` per rotation, which cuts it as theirs does."""
        tok = self.processor.tokenizer
        embed = self.vlm.get_input_embeddings()
        pieces = [self.prompt_pieces(c) for c in cases]
        before = {b for b, _ in pieces}
        afters = [tok(a, add_special_tokens=False)["input_ids"] for _, a in pieces]
        common = prefix_cache.shareable_prefix_length(afters)
        head_ids = tok(pieces[0][0], add_special_tokens=False)["input_ids"]
        longest = len(head_ids) + visual.shape[0] + max(len(a) for a in afters)
        if len(cases) == 1 or len(before) != 1 or (self.max_input is not None and longest > self.max_input):
            return [self.generate(visual, c) for c in cases]

        def embedded(ids: list[int]) -> torch.Tensor:
            return embed(torch.tensor([ids], dtype=torch.long, device=self.device))[0]

        head = embedded(head_ids)
        prefix = torch.cat([head, visual.to(head.dtype), embedded(afters[0][:common])])
        prompts = [{"inputs_embeds": torch.cat([prefix, embedded(a[common:])])[None]} for a in afters]
        result = prefix_cache.generate_shared(
            self.vlm, prompts, prefix.shape[0],
            {"inputs_embeds": prefix[None],
             "attention_mask": torch.ones((1, prefix.shape[0]), dtype=torch.long, device=self.device)},
            max_new_tokens=self.options.max_new_tokens)
        self.llm_prefill_tokens += result.prefill_tokens
        return [Answer(tok.batch_decode(t[None], skip_special_tokens=True)[0].strip()) for t in result.new_tokens]


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
