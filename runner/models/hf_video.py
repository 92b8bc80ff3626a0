"""Stock Hugging Face video-LLMs: uniform frame sampling (``llava-onevision``) and the
``needle-oracle`` (the same model shown only the needle's frames).

Any video-LLM whose processor takes ``videos=`` and whose chat template knows
``{"type": "video"}`` plugs in unchanged, because loading goes through ``AutoProcessor`` and
``AutoModelForImageTextToText`` (LLaVA-OneVision, LLaVA-NeXT-Video, Qwen2-VL, Qwen2.5-VL, ...)::

    register("qwen2-vl", lambda **kw: HFVideoLLM(name="qwen2-vl", **kw))   # in runner/models/__init__.py

Frames are read from the frame store at ``frame_size`` (default 384 x 384, the store's and
LLaVA-OneVision's resolution; the processor resizes anything else). Sampling is
``np.linspace(0, length - 1, frames).astype(int)`` (lmms-eval's LLaVA-OneVision sampler);
a case shorter than ``frames`` uses every frame. Decoding is greedy.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from niah.cases import Benchmark
from niah.errors import InputError
from niah.schema import Case
from runner.models import hub
from runner.models import prefix_cache
from runner.models.base import Answer, Model
from runner.models.prompt import PROMPT_VERSION, build_prompt, case_prompt

DEFAULT_FRAMES = 32
DEFAULT_MAX_NEW_TOKENS = 16


def uniform_indices(length: int, frames: int) -> list[int]:
    """``frames`` indices spread over ``0..length-1`` (all of them when the case is shorter)."""
    if length <= frames:
        return list(range(length))
    return np.linspace(0, length - 1, frames).astype(int).tolist()


def load_hf_vlm(model_path: str | None, what: str, device: str, dtype: str):
    """(processor, model, folder, revision, torch dtype) for a local folder / cached hub id."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from runner.models import llava_checkpoint
    folder, revision = hub.resolve(model_path, what)
    if llava_checkpoint.is_released_layout(folder):  # original LLaVA-NeXT format, mapped in memory
        return llava_checkpoint.load_vlm(model_path, what, device, dtype)
    device = hub.check_device(device)
    torch_dtype = hub.torch_dtype(dtype, device)
    try:
        processor = AutoProcessor.from_pretrained(folder)
        model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch_dtype).to(device).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(model_path, f"cannot load {what} ({str(exc).splitlines()[0]})") from None
    return processor, model, folder, revision, torch_dtype


class HFVideoLLM(Model):
    """A stock HF video-LLM given ``frames`` uniformly sampled frames."""

    name = "llava-onevision"

    def __init__(self, model_path: str | None, device: str = "cpu", dtype: str = "auto",
                 frames: int | None = None, name: str | None = None,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 frame_size: tuple[int, int] = (384, 384), **options: Any) -> None:
        if options:
            raise InputError("--model-option", f"unknown option(s) for {name or self.name}: {', '.join(sorted(options))}")
        if name:
            self.name = name
        self.frames = int(frames or DEFAULT_FRAMES)
        if self.frames <= 0:
            raise InputError("--frames", "must be a positive number of frames")
        self.max_new_tokens = int(max_new_tokens)
        self.frame_size = tuple(frame_size)
        self.model_path = model_path
        self.device = device
        self.processor, self.model, self.folder, self.revision, self.dtype = load_hf_vlm(
            model_path, self.name, device, dtype)
        self.llm_prefill_tokens = 0  # LLM positions prefilled (stats.json): circular runs share the video's

    # ----- Model interface ----------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {"model": self.name, "model_path": str(self.model_path), "revision": self.revision,
                "architecture": type(self.model).__name__, "dtype": hub.dtype_name(self.dtype),
                "frames": self.frames, "sampling": self.sampling, "frame_size": list(self.frame_size),
                "max_new_tokens": self.max_new_tokens, "decoding": "greedy", "prompt": PROMPT_VERSION}

    sampling = "uniform"

    def frame_indices(self, case: Case) -> list[int]:
        return uniform_indices(case.length, self.frames)

    def answer(self, case: Case, bench: Benchmark) -> Answer:
        indices = self.frame_indices(case)
        video = bench.frames_at(case, indices, size=self.frame_size)
        return Answer(self.generate(video, case_prompt(case)), full_frames=indices)

    def answer_rotations(self, case: Case, bench: Benchmark, option_lists: list[list[str]]) -> list[Answer]:
        """The frames are read and the video's prefix prefilled once; each option list only
        prefills its own text (:mod:`runner.models.prefix_cache`)."""
        indices = self.frame_indices(case)
        video = bench.frames_at(case, indices, size=self.frame_size)
        texts = self.generate_shared(video, [build_prompt(case.question, options) for options in option_lists])
        return [Answer(text, full_frames=indices) for text in texts]

    def stats(self) -> dict[str, Any]:
        return {"llm_prefill_tokens": self.llm_prefill_tokens}

    # ----- generation -----------------------------------------------------------------
    def _chat_text(self, prompt: str) -> str:
        conversation = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]
        return self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)

    def _inputs(self, video: np.ndarray, prompt: str) -> dict[str, torch.Tensor]:
        """The processor's tensors for one prompt and the video, on the device."""
        inputs = self.processor(text=[self._chat_text(prompt)], videos=[list(video)], return_tensors="pt")
        return {k: (v.to(self.device, self.dtype) if torch.is_floating_point(v) else v.to(self.device))
                for k, v in inputs.items() if isinstance(v, torch.Tensor)}

    @torch.no_grad()
    def generate(self, video: np.ndarray, prompt: str) -> str:
        """Greedy answer for a (N, H, W, 3) uint8 video and a prompt."""
        inputs = self._inputs(video, prompt)
        self.llm_prefill_tokens += int(inputs["input_ids"].shape[1])
        out = self.model.generate(**inputs, do_sample=False, max_new_tokens=self.max_new_tokens)
        new_tokens = out[0, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new_tokens[None], skip_special_tokens=True)[0].strip()

    @torch.no_grad()
    def generate_shared(self, video: np.ndarray, prompts: list[str]) -> list[str]:
        """Greedy answers for one video and several prompts, the visual prefix prefilled once.

        The processor runs with the video for the first prompt only; the others are tokenized
        as text and get the first prompt's expanded video tokens spliced in where their one
        placeholder is. If that does not reproduce the processor's own ids for the first prompt,
        or the prompts differ before the video's tokens end, every prompt is prefilled whole."""
        first = self._inputs(video, prompts[0])
        ids = [first["input_ids"][0].tolist()]
        spliced = [self._spliced_ids(ids[0], self.processor.tokenizer([self._chat_text(p)])["input_ids"][0])
                   for p in prompts]
        video_end = _video_span(ids[0], self._video_token_id())[1]
        prefix_len = prefix_cache.shareable_prefix_length(spliced) if None not in spliced else 0
        if len(prompts) == 1 or spliced[0] != ids[0] or prefix_len < video_end:
            return [self.generate(video, p) for p in prompts]
        extra = {k: v for k, v in first.items() if k not in ("input_ids", "attention_mask")}
        prefix = torch.tensor([spliced[0][:prefix_len]], device=self.device)
        result = prefix_cache.generate_shared(
            self.model, [{"input_ids": torch.tensor([s], device=self.device)} for s in spliced], prefix_len,
            {"input_ids": prefix, "attention_mask": torch.ones_like(prefix), **extra},
            max_new_tokens=self.max_new_tokens)
        self.llm_prefill_tokens += result.prefill_tokens
        return [self.processor.batch_decode(t[None], skip_special_tokens=True)[0].strip() for t in result.new_tokens]

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


def _video_span(ids: list[int], token: int) -> tuple[int, int]:
    """[first, last + 1) of the video placeholder tokens in ``ids`` ((0, 0) when none)."""
    positions = [i for i, t in enumerate(ids) if t == token]
    return (positions[0], positions[-1] + 1) if positions else (0, 0)


class NeedleOracle(HFVideoLLM):
    """The same VLM shown only the needle clip (``case.needle.start_frame .. +num_frames``):
    an upper bound on what retrieval could give. A needle longer than ``frames`` is sampled
    uniformly within itself."""

    name = "needle-oracle"
    sampling = "needle-only"

    def frame_indices(self, case: Case) -> list[int]:
        start = case.needle.start_frame
        return [start + i for i in uniform_indices(case.needle.num_frames, self.frames)]
