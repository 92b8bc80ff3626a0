"""CLIP ViT-B-32 for keyframe selection: image embeddings per frame, text embedding per question.

Accepted ``clip_path`` forms:

* an HF ``CLIPModel`` folder (what the released ViLAMP checkpoint ships, as the
  sentence-transformers folder ``clip-ViT-B-32/0_CLIPModel``; the parent folder with a
  ``0_CLIPModel`` sub-folder is accepted too) or a hub id such as ``openai/clip-vit-base-patch32``;
* ``open_clip:ViT-B-32:<weights file>`` (open_clip's ViT-B-32; its bundled BPE tokenizer needs
  no download). ``open_clip:ViT-B-32:random`` builds random weights (benchmarks only).

Images: the frames come from the frame store (384 x 384 RGB, squashed from the source's
shape). Two inputs, by the profile (:mod:`runner.vilamp.profiles`):

* ``centre-crop`` (``released``): what the authors' ``CLIPProcessor`` does to the original
  frame. The source's display aspect ratio (recorded by the store) is restored and the short
  side brought to 224 in one antialiased bicubic resize (384 x 384 -> 224 x int(224 * aspect)
  for a landscape source), then the central 224 x 224 is cut out, as
  ``CLIPImageProcessor`` (``shortest_edge`` 224, ``crop_size`` 224) does;
* ``squash``: the square frame resized to 224 x 224, no crop.

Both run in torch on the model's device and normalise with the checkpoint's mean/std.
Embeddings are returned as CLIP computed them, **not normalised**, in float32 arrays that hold
the model dtype's values exactly (an fp16 embedding stored as float32 is the same number): the
``released`` walk normalises them in that dtype, as the authors' ``util.cos_sim`` does.
Text is truncated to CLIP's 77 tokens, as in the public ViLAMP evaluation code.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from niah.errors import InputError
from runner.models import hub

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer.json")


def tokenizer_digest(folder: Path) -> str:
    """Identity of an HF tokenizer folder by content (its vocabulary, merges and
    ``tokenizer.json``), for a run's settings: where it was found does not change answers."""
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        if (folder / name).is_file():
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return "hf:" + digest.hexdigest()[:16]


class ClipEncoder:
    """``encode_images(frames uint8 (B, H, W, 3)) -> (B, D)``, ``encode_text(str) -> (D,)``."""

    def __init__(self, spec: str, device: str = "cpu", dtype: torch.dtype = torch.float32,
                 crop: bool = True) -> None:
        self.spec = spec
        self.crop = crop
        self.device = device
        self.dtype = dtype
        if spec.startswith("open_clip:"):
            self._load_open_clip(spec)
        else:
            self._load_hf(spec)
        self.fingerprint = hub.weights_fingerprint(self.folder, {
            "backend": self.backend, "arch": self.arch, "size": self.size, "mean": self.mean,
            "std": self.std, "dtype": hub.dtype_name(dtype), "preprocess": self.preprocessing,
            "output": self.OUTPUT_FORM,
        }) if self.folder is not None else hub.weights_fingerprint(Path("/nonexistent"), {
            "backend": self.backend, "arch": self.arch, "random": True, "preprocess": self.preprocessing,
            "output": self.OUTPUT_FORM})

    # ----- loading ----------------------------------------------------------------
    def _load_hf(self, spec: str) -> None:
        from transformers import AutoTokenizer, CLIPModel
        folder = Path(spec).expanduser()
        if folder.is_dir() and not (folder / "config.json").exists() and (folder / "0_CLIPModel").is_dir():
            spec = str(folder / "0_CLIPModel")
        folder, self.revision = hub.resolve(spec, "CLIP")
        try:
            self.model = CLIPModel.from_pretrained(folder, dtype=self.dtype).to(self.device).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
            self.tokenizer_source = tokenizer_digest(folder)
            self.tokenizer_found = str(folder)
        except (OSError, ValueError) as exc:
            raise InputError(spec, f"cannot load CLIP ({str(exc).splitlines()[0]})") from None
        self.folder = folder
        self.backend, self.arch = "hf", self.model.config.vision_config.model_type
        pre = {}
        for name in ("preprocessor_config.json", "image_processor_config.json"):
            if (folder / name).exists():
                pre = json.loads((folder / name).read_text())
                break
        self.mean = tuple(pre.get("image_mean", OPENAI_MEAN))
        self.std = tuple(pre.get("image_std", OPENAI_STD))
        self.size = int(self.model.config.vision_config.image_size)
        self.max_text = int(self.model.config.text_config.max_position_embeddings)

    def _load_open_clip(self, spec: str) -> None:
        import open_clip
        parts = spec.split(":", 2)
        arch = parts[1] if len(parts) > 1 and parts[1] else "ViT-B-32"
        weights = parts[2] if len(parts) > 2 else ""
        if not weights:
            raise InputError(spec, "open_clip CLIP needs a weights file: open_clip:ViT-B-32:/path/to/weights.bin")
        if weights != "random" and not Path(weights).expanduser().is_file():
            raise InputError(weights, "no such open_clip weights file")
        try:
            model = open_clip.create_model(arch, pretrained=None if weights == "random" else str(Path(weights).expanduser()))
        except Exception as exc:  # unknown arch, bad file
            raise InputError(spec, f"cannot load open_clip {arch} ({str(exc).splitlines()[0]})") from None
        self.model = model.to(self.device, self.dtype).eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.tokenizer_source = self.tokenizer_found = f"open_clip {arch} bundled BPE"
        self.folder = Path(weights).expanduser().parent if weights != "random" else None
        self.revision = "open_clip:" + (hub.file_digest(Path(weights).expanduser()) if weights != "random" else "random")
        self.backend, self.arch = "open_clip", arch
        cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
        self.mean = tuple(cfg.get("mean", OPENAI_MEAN))
        self.std = tuple(cfg.get("std", OPENAI_STD))
        size = getattr(model.visual, "image_size", 224)
        self.size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.max_text = 77

    # ----- encoding ---------------------------------------------------------------
    @property
    def dim(self) -> int:
        if self.backend == "hf":
            return int(self.model.config.projection_dim)
        return int(self.model.text_projection.shape[-1]) if hasattr(self.model, "text_projection") else 512

    #: what ``encode_images`` returns (part of the fingerprint: a cache of normalised float32
    #: embeddings written before this form must never be read back as raw ones)
    OUTPUT_FORM = "raw-model-dtype"

    @property
    def preprocessing(self) -> str:
        """Names the image preprocessing (part of the fingerprint: cached embeddings differ)."""
        return "short-side-centre-crop-v1" if self.crop else "squash-bicubic-antialias"

    def preprocess(self, frames: np.ndarray, aspect: float | None = None) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> normalised (B, 3, S, S). ``aspect`` = the source's display
        width / height; required when cropping (the stored frame no longer shows it)."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        size = self.size
        if self.crop:
            if aspect is None or not aspect > 0:
                raise ValueError("centre-crop CLIP input needs the source's aspect ratio")
            # CLIPImageProcessor: short side -> size, long side -> int(size * long / short)
            h, w = (size, int(size * aspect)) if aspect >= 1 else (int(size / aspect), size)
            x = F.interpolate(x, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
            top, left = (h - size) // 2, (w - size) // 2
            x = x[:, :, top:top + size, left:left + size]
        elif x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
        mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)
        return ((x - mean) / std).to(self.dtype)

    @torch.no_grad()
    def encode_images(self, frames: np.ndarray, aspect: float | None = None) -> np.ndarray:
        """(B, H, W, 3) uint8 of one source (display ``aspect``) -> (B, D) float32 holding CLIP's
        image features exactly as computed in the model dtype (not normalised)."""
        pixels = self.preprocess(frames, aspect)
        if self.backend == "hf":
            out = self.model.get_image_features(pixel_values=pixels)
            emb = out if isinstance(out, torch.Tensor) else out.pooler_output
        else:
            emb = self.model.encode_image(pixels)
        return emb.float().cpu().numpy()

    @torch.no_grad()
    def encode_text(self, text: str) -> np.ndarray:
        """One string -> (D,) float32 holding CLIP's text features as computed in the model dtype,
        not normalised: the released learned merger was trained on the raw ``get_text_features``
        output (its ``linear_q`` has a bias, so scaling the input changes its output), and the
        walk normalises it itself."""
        if self.backend == "hf":
            tokens = self.tokenizer([text], return_tensors="pt", truncation=True, max_length=self.max_text)
            out = self.model.get_text_features(input_ids=tokens["input_ids"].to(self.device),
                                               attention_mask=tokens.get("attention_mask").to(self.device)
                                               if tokens.get("attention_mask") is not None else None)
            emb = out if isinstance(out, torch.Tensor) else out.pooler_output
        else:
            emb = self.model.encode_text(self.tokenizer([text]).to(self.device))
        return emb.float()[0].cpu().numpy()
