"""Stock Hugging Face video-LLMs over uniformly sampled frames, and the ``needle-oracle`` (the same
model shown only the needle's frames).

One class serves every family: loading goes through ``AutoProcessor`` and
``AutoModelForImageTextToText``; what differs between families (frame count or fps with a cap,
frame size or pixel budget, timestamps) is a :class:`~runner.models.video_families.Family`,
chosen by the registry entry (``family=...``)::

    register("qwen2.5-vl", "runner.models.hf_video:HFVideoLLM", name="qwen2.5-vl", family="qwen2.5-vl")

Frames are read from the frame store at its own resolution; the family says which case frames
(``frame_indices``) and tells the processor the pixel budget and each frame's time
(``VideoMetadata``: the case is 1 FPS, so frame *i* is at *i* s), and the processor resizes and
writes the timestamps the way the released model expects. The prompt is the benchmark's one
(``runner.models.prompt``) inside the checkpoint's chat template. Decoding is greedy.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from niah.cases import Benchmark
from niah.errors import InputError
from niah.schema import Case
from niah.view import NEEDLE_ONLY
from runner.models import hub
from runner.models import prefix_cache
from runner.models.base import Answer, Model
from runner.models.prompt import PROMPT_VERSION, build_prompt, case_prompt
from runner.models.video_families import Family, family as get_family, linspace_floor

DEFAULT_MAX_NEW_TOKENS = 16      # lmms-eval's Video-MME generation_kwargs
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json", "video_preprocessor_config.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer.model")


def uniform_indices(length: int, frames: int) -> list[int]:
    """``frames`` indices spread over ``0..length-1`` (all of them when the case is shorter)."""
    return linspace_floor(length, frames)


def check_checkpoint(folder: Path, model_path: str, fam: Family) -> dict[str, Any]:
    """The folder's config.json, if it is a checkpoint of ``fam`` with processor and tokenizer
    files; else one line naming what is wrong. Reads no weights."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{model_path}/config.json", f"unreadable ({exc})") from None
    model_type = config.get("model_type")
    if model_type not in fam.model_types:
        arch = ",".join(config.get("architectures") or []) or "?"
        raise InputError(model_path, f"config.json is a {model_type!r} checkpoint ({arch}), not {fam.name} "
                                     f"(expects model_type {' or '.join(map(repr, fam.model_types))})")
    if model_type == "llava_qwen":   # the released LLaVA-NeXT layout: processor built from the config
        return config
    if not any((folder / name).exists() for name in PROCESSOR_FILES):
        raise InputError(model_path, f"missing processor files ({' or '.join(PROCESSOR_FILES)})")
    if not any((folder / name).exists() for name in TOKENIZER_FILES):
        raise InputError(model_path, f"missing tokenizer files ({' or '.join(TOKENIZER_FILES)})")
    if not (list(folder.glob("*.safetensors")) or list(folder.glob("*.bin"))):
        raise InputError(model_path, "no weights (*.safetensors or *.bin)")
    return config


def load_hf_vlm(model_path: str | None, what: str, device: str, dtype: str, fam: Family | None = None):
    """(processor, model, folder, revision, torch dtype) for a local folder / cached hub id,
    checked against ``fam`` before any weights load."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from runner.models import llava_checkpoint
    folder, revision = hub.resolve(model_path, what)
    fam = fam or get_family("llava-onevision")
    check_checkpoint(folder, str(model_path), fam)
    if llava_checkpoint.is_released_layout(folder):  # original LLaVA-NeXT format, mapped in memory
        return llava_checkpoint.load_vlm(model_path, what, device, dtype)
    device = hub.check_device(device)
    torch_dtype = hub.torch_dtype(dtype, device)
    try:
        processor = AutoProcessor.from_pretrained(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(model_path, f"cannot load the {what} processor ({' '.join(str(exc).split())[:300]})") from None
    if getattr(processor, "video_processor", None) is None or not getattr(processor, "chat_template", None):
        missing = "video processor" if getattr(processor, "video_processor", None) is None else "chat template"
        raise InputError(model_path, f"the processor has no {missing} (chat_template.jinja / "
                                     f"video_preprocessor_config.json); not a {what} video checkpoint")
    try:
        model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch_dtype).to(device).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(model_path, f"cannot load {what} ({str(exc).splitlines()[0]})") from None
    return processor, model, folder, revision, torch_dtype


class HFVideoLLM(Model):
    """A stock HF video-LLM shown the frames its family's defaults (or options) pick."""

    name = "llava-onevision"
    sampling = "uniform"
    #: the family when the registry entry names none: the one called like the model
    default_family: str | None = None

    def __init__(self, model_path: str | None, device: str = "cpu", dtype: str = "auto",
                 frames: int | None = None, name: str | None = None, family: str | None = None,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, **options: Any) -> None:
        if name:
            self.name = name
        fam = get_family(family or self.default_family or self.name)
        self.options = fam.resolve(frames, options)          # bad options fail before any load
        self.max_new_tokens = int(max_new_tokens)
        self.model_path = model_path
        self.device = device
        self.processor, self.model, self.folder, self.revision, self.dtype = load_hf_vlm(
            model_path, self.name, device, dtype, fam)
        side = _processor_side(self.processor)
        self.family = fam.with_side(side) if side else fam
        self.llm_prefill_tokens = 0  # LLM positions prefilled (stats.json): circular runs share the video's

    # ----- Model interface ----------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        fam = self.family
        return {"model": self.name, "family": fam.name, "model_path": str(self.model_path),
                "revision": self.revision, "architecture": type(self.model).__name__,
                "dtype": hub.dtype_name(self.dtype), "sampling": self.sampling, **self.options,
                "frame_side": fam.side if type(fam).frame_size is Family.frame_size else "dynamic",
                "timestamps": fam.timestamps, "max_new_tokens": self.max_new_tokens, "decoding": "greedy",
                "prompt": PROMPT_VERSION}

    def frame_indices(self, case: Case) -> list[int]:
        return self.family.sample(case.length, self.options)

    def answer(self, case: Case, bench: Benchmark) -> Answer:
        indices = self.frame_indices(case)
        video = bench.frames_at(case, indices)
        prompt = self.family.prompt_prefix(indices, case.length, case.fps, self.options) + case_prompt(case)
        text, seen = self._generate(video, prompt, indices=indices, length=case.length, fps=case.fps)
        return Answer(text, full_frames=indices, diagnostics=seen)

    def answer_rotations(self, case: Case, bench: Benchmark, option_lists: list[list[str]]) -> list[Answer]:
        """The frames are read and the video's prefix prefilled once; each option list only
        prefills its own text (:mod:`runner.models.prefix_cache`)."""
        indices = self.frame_indices(case)
        video = bench.frames_at(case, indices)
        head = self.family.prompt_prefix(indices, case.length, case.fps, self.options)
        prompts = [head + build_prompt(case.question, options) for options in option_lists]
        # only families proven to give the same answers (Family.shared_prefix); the others prefill each
        # rotation whole (Qwen's multimodal rotary positions and VideoLLaMA3's token compression are not covered)
        if self.family.shared_prefix:
            answered = self.generate_shared(video, prompts, indices=indices, length=case.length, fps=case.fps)
        else:
            answered = [self._generate(video, p, indices, case.length, case.fps) for p in prompts]
        return [Answer(text, full_frames=indices, diagnostics=seen) for text, seen in answered]

    def stats(self) -> dict[str, Any]:
        return {"llm_prefill_tokens": self.llm_prefill_tokens}

    # ----- generation -----------------------------------------------------------------
    def _chat_text(self, prompt: str) -> str:
        conversation = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]
        return self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)

    def _inputs(self, video: np.ndarray, prompt: str, indices: list[int] | None = None,
                length: int | None = None, fps: float = 1.0) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The processor's tensors for one prompt and the video, on the device, and what reached
        the model (:meth:`_seen`), returned with them rather than kept for a later step to read."""
        from transformers.video_utils import VideoMetadata
        indices = list(range(len(video))) if indices is None else [int(i) for i in indices]
        length = len(video) if length is None else int(length)
        height, width = int(video.shape[1]), int(video.shape[2])
        metadata = VideoMetadata(total_num_frames=length, fps=float(fps), frames_indices=indices,
                                 height=height, width=width, duration=length / float(fps))
        kwargs = self.family.processor_kwargs(indices, length, fps, height, width, self.options)
        inputs = self.processor(text=[self._chat_text(prompt)], videos=[list(video)], video_metadata=[metadata],
                                return_tensors="pt", **kwargs)
        return ({k: (v.to(self.device, self.dtype) if torch.is_floating_point(v) else v.to(self.device))
                 for k, v in inputs.items() if isinstance(v, torch.Tensor)}, self._seen(inputs))

    def generate(self, video: np.ndarray, prompt: str, indices: list[int] | None = None,
                 length: int | None = None, fps: float = 1.0) -> str:
        """Greedy answer for a (N, H, W, 3) uint8 video and a prompt. ``indices`` (the frames'
        positions in a video of ``length`` frames at ``fps``) give the timestamps; default:
        the video is the whole clip."""
        return self._generate(video, prompt, indices, length, fps)[0]

    @torch.no_grad()
    def _generate(self, video: np.ndarray, prompt: str, indices: list[int] | None = None,
                  length: int | None = None, fps: float = 1.0) -> tuple[str, dict[str, Any]]:
        """:meth:`generate`'s answer with what reached the model."""
        inputs, seen = self._inputs(video, prompt, indices, length, fps)
        self.llm_prefill_tokens += int(inputs["input_ids"].shape[1])
        out = self.model.generate(**inputs, do_sample=False, max_new_tokens=self.max_new_tokens)
        new_tokens = out[0, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new_tokens[None], skip_special_tokens=True)[0].strip(), seen

    @torch.no_grad()
    def generate_shared(self, video: np.ndarray, prompts: list[str], indices: list[int] | None = None,
                        length: int | None = None, fps: float = 1.0) -> list[tuple[str, dict[str, Any]]]:
        """Greedy answers for one video and several prompts, the visual prefix prefilled once.

        The processor runs with the video for the first prompt only; the others are tokenized
        as text and get the first prompt's expanded video tokens spliced in where their one
        placeholder is. If that does not reproduce the processor's own ids for the first prompt,
        or the prompts differ before the video's tokens end, every prompt is prefilled whole.
        Each answer comes with what reached the model."""
        first, seen = self._inputs(video, prompts[0], indices, length, fps)
        ids = [first["input_ids"][0].tolist()]
        spliced = [self._spliced_ids(ids[0], self.processor.tokenizer([self._chat_text(p)])["input_ids"][0])
                   for p in prompts]
        video_end = _video_span(ids[0], self._video_token_id())[1]
        prefix_len = prefix_cache.shareable_prefix_length(spliced) if None not in spliced else 0
        if len(prompts) == 1 or spliced[0] != ids[0] or prefix_len < video_end:
            return [self._generate(video, p, indices, length, fps) for p in prompts]
        extra = {k: v for k, v in first.items() if k not in ("input_ids", "attention_mask")}
        prefix = torch.tensor([spliced[0][:prefix_len]], device=self.device)
        result = prefix_cache.generate_shared(
            self.model, [{"input_ids": torch.tensor([s], device=self.device)} for s in spliced], prefix_len,
            {"input_ids": prefix, "attention_mask": torch.ones_like(prefix), **extra},
            max_new_tokens=self.max_new_tokens)
        self.llm_prefill_tokens += result.prefill_tokens
        return [(self.processor.batch_decode(t[None], skip_special_tokens=True)[0].strip(), dict(seen))
                for t in result.new_tokens]

    def _video_token_id(self) -> int:
        token_id = getattr(self.processor, "video_token_id", None)
        if token_id is None:
            token_id = self.processor.tokenizer.convert_tokens_to_ids(self.processor.video_token)
        return int(token_id)

    def _spliced_ids(self, with_video: list[int], text_only: list[int]) -> list[int] | None:
        """``text_only`` (one video placeholder) with the placeholder replaced by the expanded
        run of video tokens of ``with_video``; ``None`` if the text has not exactly one."""
        token = self._video_token_id()
        if text_only.count(token) != 1:
            return None
        at = text_only.index(token)
        start, end = _video_span(with_video, token)
        return text_only[:at] + with_video[start:end] + text_only[at + 1:]

    def _seen(self, inputs: Any) -> dict[str, Any]:
        """Frames, frame size and visual tokens as they reach the model (from the processor's
        output, not from the family's formulas, so tests can hold one against the other)."""
        ids = {getattr(self.processor, k, None) for k in ("video_token_id", "image_token_id")} - {None}
        tokens = int(sum(int((inputs["input_ids"] == i).sum()) for i in ids))
        if "video_grid_thw" in inputs:
            t, h, w = (int(x) for x in inputs["video_grid_thw"][0])
            vp = self.processor.video_processor
            patch, temporal = int(vp.patch_size), int(getattr(vp, "temporal_patch_size", 1) or 1)
            frames, size = t * temporal, [h * patch, w * patch]
        else:
            pixels = inputs.get("pixel_values_videos", inputs.get("pixel_values"))
            shape = tuple(pixels.shape)
            frames = shape[1] if len(shape) == 5 else shape[0]
            size = list(shape[-2:])
        return {"frames_in": int(frames), "frame_size": [int(s) for s in size], "visual_tokens": tokens}


def _processor_side(processor: Any) -> int | None:
    """The square frame side a fixed-size video processor resizes to (LLaVA, InternVL)."""
    size = getattr(getattr(processor, "video_processor", None), "size", None)
    height = size.get("height") if hasattr(size, "get") else getattr(size, "height", None)
    return int(height) if height else None


def _video_span(ids: list[int], token: int) -> tuple[int, int]:
    """[first, last + 1) of the video placeholder tokens in ``ids`` ((0, 0) when none)."""
    positions = [i for i, t in enumerate(ids) if t == token]
    return (positions[0], positions[-1] + 1) if positions else (0, 0)


class NeedleOracle(HFVideoLLM):
    """The same VLM shown only the needle clips the question is about (``case.asked_needles``:
    the one needle, a distractors case's target, every card or marker of an ordering or counting
    case), played back to back: an upper bound on what retrieval could give. The family's sampler
    runs within those frames."""

    name = "needle-oracle"
    sampling = NEEDLE_ONLY    # what the diagnostics find the oracle by (niah.view.sees_only_the_needle)
    default_family = "llava-onevision"

    def frame_indices(self, case: Case) -> list[int]:
        frames = [n.start_frame + i for n in case.asked_needles for i in range(n.num_frames)]
        return [frames[i] for i in self.family.sample(len(frames), self.options)]
