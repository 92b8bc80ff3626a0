"""What each HF video-LLM family sees of a case: which frames, at what size, for how many tokens.

A *family* is one HF architecture plus its model card's video defaults. It answers, without
torch or weights (so ``runner score --help`` and the README's table can use it):

* :meth:`Family.sample` - the case-frame indices given to the model (frame count, or an fps with
  a cap, applied to the case's 1-FPS frames);
* :meth:`Family.frame_size` - the (height, width) each frame reaches the vision tower at;
* :meth:`Family.visual_tokens` - the visual tokens the LLM receives (the README's formulas);
* :meth:`Family.processor_kwargs` - what the HF processor is told so it does exactly that
  (pre-sampled frames, their timestamps as ``VideoMetadata``, the pixel budget).

Options (``--frames``, ``--model-option KEY=VALUE``) override the card's defaults; the resolved
values are the model's ``settings()``, so the run id changes with any of them. Families that
need more than a frame count and a fixed frame side (Qwen: fps + cap + pixel budget + timestamps;
VideoLLaMA3: the same plus token compression) are subclasses here. The tests check every
formula against the real HF processor's output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from niah.errors import InputError
from runner.models.shapes import Shapes


def linspace_floor(length: int, frames: int) -> list[int]:
    """lmms-eval's / LLaVA's uniform sampler: ``np.linspace(0, length-1, frames).astype(int)``
    (every frame when the case is shorter)."""
    if length <= frames:
        return list(range(length))
    return np.linspace(0, length - 1, frames).astype(int).tolist()


def smart_resize(height: int, width: int, factor: int, min_pixels: float, max_pixels: float) -> tuple[int, int]:
    """Qwen-VL's resize rule (also VideoLLaMA3's): sides rounded to multiples of ``factor``, area
    scaled into ``[min_pixels, max_pixels]`` keeping the aspect ratio."""
    h_bar, w_bar = round(height / factor) * factor, round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar, w_bar = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class Family:
    """Fixed frame count, fixed square frame side (LLaVA-OneVision, LLaVA-Video, InternVL3).

    ``side``/``patch``/``tokens_per_side`` describe the released checkpoint; a loaded model takes
    its frame side from its own processor (:meth:`with_side`), so tiny test models work too.
    """

    name: str
    model_types: tuple[str, ...]   # config.json "model_type" of a checkpoint of this family
    card: str                      # the hub id whose model card gives the defaults
    defaults: dict[str, Any]
    shapes: Shapes                 # the released checkpoint's sizes (memory estimate)
    #: circular runs prefill the video once and share it across rotations: proven equal to a
    #: full prefill per rotation (tests/runner_models/test_circular_models.py) for this family
    shared_prefix: bool = False
    side: int = 384                # frame side the processor resizes to
    patch: int = 14
    pool: float = 2.0              # LLaVA: 2x2 bilinear pooling (ceil); InternVL: 1/0.5 pixel shuffle
    extra_tokens: int = 1          # LLaVA-OneVision's one image_newline per video
    timestamps: str = "none"

    # ----- options -------------------------------------------------------------------------
    def resolve(self, frames: int | None, options: dict[str, Any]) -> dict[str, Any]:
        """The card's defaults with ``--frames`` and model options applied (unknown keys refused)."""
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            raise InputError("--model-option", f"unknown option(s) for {self.name}: {', '.join(unknown)} "
                                               f"(known: {', '.join(sorted(self.defaults))})")
        out = dict(self.defaults)
        for key, value in options.items():
            kind = type(self.defaults[key])
            try:
                out[key] = kind(value) if kind is not bool else _as_bool(value)
            except (TypeError, ValueError):
                raise InputError(f"--model-option {key}", f"{value!r}: expected {kind.__name__}") from None
        if frames is not None:
            out[self.frames_key] = int(frames)
        for key, value in out.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
                raise InputError("--frames" if key == self.frames_key and frames is not None
                                 else f"--model-option {key}", f"{value}: must be positive")
        return out

    frames_key = "frames"

    def with_side(self, side: int) -> "Family":
        """This family at a checkpoint's own frame side (its processor's ``size``)."""
        return replace(self, side=int(side))

    # ----- what the model sees -------------------------------------------------------------
    def sample(self, length: int, opts: dict[str, Any]) -> list[int]:
        return linspace_floor(length, opts["frames"])

    def frame_size(self, height: int, width: int, frames: int, opts: dict[str, Any]) -> tuple[int, int]:
        return self.side, self.side

    def tokens_per_frame(self, height: int, width: int) -> int:
        grid = height // self.patch
        per_side = math.ceil(grid / self.pool) if self.pool >= 1 else grid
        return per_side * per_side

    def visual_tokens(self, frames: int, height: int, width: int, opts: dict[str, Any]) -> int:
        h, w = self.frame_size(height, width, frames, opts)
        return frames * self.tokens_per_frame(h, w) + self.extra_tokens

    def processor_kwargs(self, indices: list[int], length: int, fps: float, height: int, width: int,
                         opts: dict[str, Any]) -> dict[str, Any]:
        return {}

    def prompt_prefix(self, indices: list[int], length: int, fps: float, opts: dict[str, Any]) -> str:
        """Text the model card puts before the question (LLaVA-Video's time instruction)."""
        return ""

    def describe(self) -> str:
        """One line for ``--help``: what the model sees by default."""
        d = self.defaults
        return (f"{d['frames']} frames uniformly over the case, {self.side}x{self.side}, "
                f"{self.tokens_per_frame(self.side, self.side)} tokens/frame"
                + (f", {self.timestamps}" if self.timestamps != "none" else ""))


@dataclass(frozen=True)
class InternVLFamily(Family):
    """InternVL3: ``frames`` uniform segments (the card's ``get_index``: about each segment's middle), one
    448 px tile each (``max_num=1``), pixel shuffle 0.5 -> 256 tokens, ``FrameN:`` before each."""

    def tokens_per_frame(self, height: int, width: int) -> int:
        return int((height // self.patch) * self.pool) ** 2

    def sample(self, length: int, opts: dict[str, Any]) -> list[int]:
        frames = opts["frames"]
        if length <= frames:
            return list(range(length))
        seg = (length - 1) / frames    # the card's get_index(bound=None, max_frame=length-1)
        return [int(seg / 2 + np.round(seg * i)) for i in range(frames)]


@dataclass(frozen=True)
class LlavaVideoFamily(Family):
    """LLaVA-Video-7B-Qwen2: the card samples ``max_frames_num`` frames uniformly and, when
    ``time_instruction`` is on, says how long the video is and where the frames are."""

    def prompt_prefix(self, indices: list[int], length: int, fps: float, opts: dict[str, Any]) -> str:
        if not opts.get("time_instruction"):
            return ""
        times = ",".join(f"{i / fps:.2f}s" for i in indices)
        return (f"The video lasts for {length / fps:.2f} seconds, and {len(indices)} frames are uniformly "
                f"sampled from it. These frames are located at {times}.Please answer the following "
                f"questions related to this video.\n")


@dataclass(frozen=True)
class QwenFamily(Family):
    """Qwen2-VL / Qwen2.5-VL / Qwen3-VL: frames at ``fps`` (on the case's 1-FPS frames) between
    ``min_frames`` and ``max_frames``, an even count (2 frames per temporal patch), sampled as
    qwen-vl-utils does (``linspace(0, length-1, n).round()``); each frame resized by
    :func:`smart_resize` (sides multiples of 2 x patch) into ``[min_pixels, max_pixels]``;
    a temporal patch of 2 frames costs (h/patch/2) x (w/patch/2) tokens. Timestamps: Qwen2-VL
    none; Qwen2.5-VL absolute time in M-RoPE (``second_per_grid_ts`` = 2/fps); Qwen3-VL the
    text ``<t seconds>`` before each temporal patch."""

    extra_tokens: int = 0
    merge: int = 2
    temporal: int = 2
    #: the processor's pixel budget is for all frames together (Qwen3VLVideoProcessor), not per frame
    budget_per_video: bool = False
    frames_key = "max_frames"

    def sample(self, length: int, opts: dict[str, Any]) -> list[int]:
        t = self.temporal
        max_frames = math.floor(min(opts["max_frames"], length) / t) * t
        min_frames = math.ceil(opts["min_frames"] / t) * t
        n = min(max(length * opts["fps"], min_frames), max_frames, length)
        n = max(t, round(n / t) * t)
        if n > length:    # a case shorter than one temporal patch: every frame (the processor pads)
            return list(range(length))
        return np.linspace(0, length - 1, n).round().astype(int).tolist()

    def pixel_budget(self, frames: int, opts: dict[str, Any]) -> tuple[float, float]:
        """(min, max) pixels per frame; with ``total_pixels`` (Qwen3-VL) the max is also that
        over the frames, floored at 1.05 x min (qwen-vl-utils' per-frame cap)."""
        max_px = opts["max_pixels"]
        if opts.get("total_pixels"):
            max_px = max(min(max_px, opts["total_pixels"] / max(frames, 1)), 1.05 * opts["min_pixels"])
        return opts["min_pixels"], max_px

    def frame_size(self, height: int, width: int, frames: int, opts: dict[str, Any]) -> tuple[int, int]:
        lo, hi = self.pixel_budget(frames, opts)
        return smart_resize(height, width, self.patch * self.merge, lo, hi)

    def visual_tokens(self, frames: int, height: int, width: int, opts: dict[str, Any]) -> int:
        h, w = self.frame_size(height, width, frames, opts)
        return math.ceil(frames / self.temporal) * (h // self.patch // self.merge) * (w // self.patch // self.merge)

    def processor_kwargs(self, indices: list[int], length: int, fps: float, height: int, width: int,
                         opts: dict[str, Any]) -> dict[str, Any]:
        lo, hi = self.pixel_budget(len(indices), opts)
        n = math.ceil(len(indices) / self.temporal) * self.temporal
        scale = n if self.budget_per_video else 1
        size = {"shortest_edge": int(lo * scale), "longest_edge": int(hi * scale)}
        return {"do_sample_frames": False, "size": size, "cap_pixels_per_frame": False}

    def describe(self) -> str:
        d = self.defaults
        budget = f"<= {d['max_pixels']:,} px/frame" + (f" and {d['total_pixels']:,} px in all" if d.get("total_pixels") else "")
        return (f"{d['fps']:g} fps up to {d['max_frames']} frames (even), {budget} (sides x{self.patch * self.merge}), "
                f"{self.patch * self.merge}x{self.patch * self.merge} px per token per 2 frames"
                + (f", {self.timestamps}" if self.timestamps != "none" else ""))


@dataclass(frozen=True)
class VideoLlama3Family(QwenFamily):
    """VideoLLaMA3: ``fps`` frames per second up to ``max_frames`` (the processor's sampler:
    ``arange(0, length, length/n)``), one frame per temporal patch, a visual-token budget for
    the whole video (``max_visual_tokens`` x (2 x 14)^2 px shared by the frames), 2x2 merge,
    ``Time t.ts:`` before each frame; token compression (on by default, as the card) drops
    patches nearly equal to the previous frame's, so the formula is the count before it."""

    temporal: int = 1

    def sample(self, length: int, opts: dict[str, Any]) -> list[int]:
        n = min(max(length * opts["fps"], opts["min_frames"]), opts["max_frames"], length)
        n = int(math.floor(n))
        if n >= length:
            return list(range(length))
        return [int(x) for x in np.arange(0, length, length / n)[:n].astype(np.float32).astype(int)]

    def pixel_budget(self, frames: int, opts: dict[str, Any]) -> tuple[float, float]:
        total = opts["max_visual_tokens"] * (self.patch * self.merge) ** 2
        return opts["min_pixels"], total // max(frames, 1)

    def processor_kwargs(self, indices: list[int], length: int, fps: float, height: int, width: int,
                         opts: dict[str, Any]) -> dict[str, Any]:
        total = opts["max_visual_tokens"] * (self.patch * self.merge) ** 2
        return {"do_sample_frames": False, "size": {"shortest_edge": opts["min_pixels"], "longest_edge": total},
                "use_token_compression": bool(opts["token_compression"])}

    def visual_tokens(self, frames: int, height: int, width: int, opts: dict[str, Any]) -> int:
        h, w = self.frame_size(height, width, frames, opts)
        return frames * (h // self.patch // self.merge) * (w // self.patch // self.merge)

    def describe(self) -> str:
        d = self.defaults
        return (f"{d['fps']:g} fps up to {d['max_frames']} frames, {d['max_visual_tokens']:,} visual tokens "
                f"shared by the frames (28x28 px per token), {self.timestamps}, token compression "
                f"{'on' if d['token_compression'] else 'off'}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    return bool(value)


_QWEN25_VIDEO = {"fps": 1.0, "min_frames": 4, "max_frames": 768, "min_pixels": 128 * 28 * 28,
                 "max_pixels": 360 * 420}
#: name -> family; model-card video defaults (README "Models" says where each value comes from);
#: shapes from each card's config.json
FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("llava-onevision", ("llava_onevision", "llava_qwen"), "llava-hf/llava-onevision-qwen2-7b-ov-hf",
           {"frames": 32},   # lmms-eval's llava_onevision default (and this runner's before)
           # Qwen2-7B LLM + SigLIP-so400m (27 x 27 = 729 patches -> 196 pooled tokens)
           Shapes(8.03, 28, 3584, 18944, 4, 128, 1152, 4304, 729 / 196), shared_prefix=True, side=384),
    LlavaVideoFamily("llava-video", ("llava_onevision",), "llava-hf/LLaVA-Video-7B-Qwen2-hf",
                     {"frames": 64, "time_instruction": True},
                     Shapes(8.03, 28, 3584, 18944, 4, 128, 1152, 4304, 729 / 196), shared_prefix=True,
                     side=384, timestamps="time instruction text"),
    # Qwen2-7B + 675M ViT (32 layers, 1280, MLP 5120); 2x2 merge of 2-frame patches
    QwenFamily("qwen2-vl", ("qwen2_vl",), "Qwen/Qwen2-VL-7B-Instruct", dict(_QWEN25_VIDEO),
               Shapes(8.29, 28, 3584, 18944, 4, 128, 1280, 5120, 4), patch=14),
    QwenFamily("qwen2.5-vl", ("qwen2_5_vl",), "Qwen/Qwen2.5-VL-7B-Instruct", dict(_QWEN25_VIDEO),
               Shapes(8.29, 28, 3584, 18944, 4, 128, 1280, 3420, 4), patch=14, timestamps="absolute time in M-RoPE"),
    # Qwen3-8B (36 layers, 4096, 8 KV heads) + SigLIP2-so400m-style ViT, patch 16
    QwenFamily("qwen3-vl", ("qwen3_vl",), "Qwen/Qwen3-VL-8B-Instruct",
               {"fps": 2.0, "min_frames": 4, "max_frames": 768, "min_pixels": 4096, "max_pixels": 768 * 32 * 32,
                "total_pixels": 25165824}, Shapes(8.77, 36, 4096, 12288, 8, 128, 1152, 4304, 4), patch=16,
               timestamps="'<t seconds>' text per 2 frames", budget_per_video=True),
    # Qwen2.5-7B + InternViT-300M (1024 patches of 448 px -> 256 tokens by pixel shuffle)
    InternVLFamily("internvl3", ("internvl",), "OpenGVLab/InternVL3-8B-hf", {"frames": 8},
                   Shapes(7.94, 28, 3584, 18944, 4, 128, 1024, 4096, 4), side=448, pool=0.5,
                   extra_tokens=0, timestamps="'FrameN:' text per frame"),
    # Qwen2.5-7B + SigLIP-NaViT (2x2 merge for video)
    VideoLlama3Family("videollama3", ("video_llama_3",), "DAMO-NLP-SG/VideoLLaMA3-7B",
                      {"fps": 1.0, "min_frames": 4, "max_frames": 180, "min_pixels": 128 * 28 * 28,
                       "max_visual_tokens": 16384, "token_compression": True},
                      Shapes(8.04, 28, 3584, 18944, 4, 128, 1152, 4304, 4), patch=14,
                      timestamps="'Time t.ts:' text per frame"),
)}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise InputError("--model", f"unknown video family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


@dataclass
class View:
    """What a family sees of a case of ``length`` 1-FPS frames of ``height`` x ``width``."""

    frames: int
    height: int
    width: int
    visual_tokens: int
    indices: list[int] = field(repr=False, default_factory=list)


def view(fam: Family, length: int, height: int = 384, width: int = 384, options: dict[str, Any] | None = None,
         frames: int | None = None) -> View:
    opts = fam.resolve(frames, options or {})
    idx = fam.sample(length, opts)
    h, w = fam.frame_size(height, width, len(idx), opts)
    return View(len(idx), h, w, fam.visual_tokens(len(idx), height, width, opts), idx)
