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
from runner.models.base import Model
from runner.models.prompt import PROMPT_VERSION, case_prompt

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

    # ----- Model interface ----------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {"model": self.name, "model_path": str(self.model_path), "revision": self.revision,
                "architecture": type(self.model).__name__, "dtype": hub.dtype_name(self.dtype),
                "frames": self.frames, "sampling": self.sampling, "frame_size": list(self.frame_size),
                "max_new_tokens": self.max_new_tokens, "decoding": "greedy", "prompt": PROMPT_VERSION}

    sampling = "uniform"

    def frame_indices(self, case: Case) -> list[int]:
        return uniform_indices(case.length, self.frames)

    def answer(self, case: Case, bench: Benchmark) -> str:
        video = bench.frames_at(case, self.frame_indices(case), size=self.frame_size)
        return self.generate(video, case_prompt(case))

    # ----- generation -----------------------------------------------------------------
    @torch.no_grad()
    def generate(self, video: np.ndarray, prompt: str) -> str:
        """Greedy answer for a (N, H, W, 3) uint8 video and a prompt."""
        conversation = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]
        text = self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = self.processor(text=[text], videos=[list(video)], return_tensors="pt")
        inputs = {k: (v.to(self.device, self.dtype) if torch.is_floating_point(v) else v.to(self.device))
                  for k, v in inputs.items() if isinstance(v, torch.Tensor)}
        out = self.model.generate(**inputs, do_sample=False, max_new_tokens=self.max_new_tokens)
        new_tokens = out[0, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new_tokens[None], skip_special_tokens=True)[0].strip()


class NeedleOracle(HFVideoLLM):
    """The same VLM shown only the needle clip (``case.needle.start_frame .. +num_frames``):
    an upper bound on what retrieval could give. A needle longer than ``frames`` is sampled
    uniformly within itself."""

    name = "needle-oracle"
    sampling = "needle-only"

    def frame_indices(self, case: Case) -> list[int]:
        start = case.needle.start_frame
        return [start + i for i in uniform_indices(case.needle.num_frames, self.frames)]
