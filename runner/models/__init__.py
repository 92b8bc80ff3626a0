"""Model registry: ``load_model(name, model_path, ...) -> Model``.

    from runner.models import MODEL_NAMES, load_model
    model = load_model("vilamp", "orange-sk/ViLAMP-llava-qwen", device="cuda", keyframes=32, tau=0.85)
    text = model.answer(case, bench)

Entries are imported lazily (``"module:callable"``), so ``random`` works without torch or
transformers being importable. Every loader takes
``(model_path, device="cpu", dtype="auto", frames=None, **options)``.
An HF video-LLM of a supported family (``runner.models.video_families.FAMILIES``) is one line;
its name is the family's unless ``family=`` says otherwise, and fixed options override the
family's model-card defaults, e.g. InternVL3 at 32 frames::

    register("internvl3-32f", HF_VIDEO, family="internvl3", frames=32)
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import Any

from niah.errors import InputError
from runner.models.base import Model

HF_VIDEO = "runner.models.hf_video:HFVideoLLM"


@dataclass(frozen=True)
class Entry:
    """A registered model: its loader, the options it is always built with, what ``--help``
    says it sees, and the device it loads on without ``--device`` (``None``: CUDA if available)."""

    target: str
    fixed: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    default_device: str | None = None


_REGISTRY: dict[str, Entry] = {}
MODEL_NAMES: tuple[str, ...] = ()


def register(name: str, target: str, /, summary: str | None = None, default_device: str | None = None,
             **fixed: Any) -> None:
    """Add a model: ``target`` is ``"package.module:callable"`` taking the loader signature.
    For :data:`HF_VIDEO` the model's ``name`` and ``family`` default to ``name``.
    ``summary``: one line for ``--help``; an HF video-LLM's comes from its family."""
    global MODEL_NAMES
    if target == HF_VIDEO:
        fixed = {"name": name, "family": name, **fixed}
    _REGISTRY[name] = Entry(target, dict(fixed), summary or _family_summary(fixed), default_device)
    MODEL_NAMES = tuple(_REGISTRY)


def _family_summary(fixed: dict[str, Any]) -> str:
    from runner.models.video_families import FAMILIES
    fam = FAMILIES.get(fixed.get("family", ""))
    if fam is None:
        return ""
    opts = {k: v for k, v in fixed.items() if k in fam.defaults}
    if "frames" in fixed:
        opts[fam.frames_key] = fixed["frames"]
    return replace(fam, defaults={**fam.defaults, **opts}).describe()


def default_device(name: str) -> str | None:
    """The device ``name`` loads on without ``--device`` (``None``: CUDA where available)."""
    return _REGISTRY[name].default_device if name in _REGISTRY else None


def summaries() -> dict[str, str]:
    """name -> one line on what the model sees."""
    return {name: entry.summary for name, entry in _REGISTRY.items()}


register("vilamp", "runner.vilamp.model:ViLAMP",
         summary="every 1-FPS frame: K=32 differential keyframes with their patch tokens, one merged token "
                 "per other frame (LLaVA-OneVision-Qwen2 inside)")
for _family in ("llava-onevision", "llava-video", "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "internvl3", "videollama3"):
    register(_family, HF_VIDEO)
register("needle-oracle", "runner.models.hf_video:NeedleOracle", family="llava-onevision",
         summary="LLaVA-OneVision shown only the needle's frames (32 uniformly within it): "
                 "\"can't find\" vs \"can't answer\"")
register("random", "runner.models.random_choice:load", default_device="cpu",
         summary="a seeded uniform choice among the options (chance)")


def registry() -> dict[str, tuple[str, dict[str, Any]]]:
    """A copy of the registry (name -> (target, fixed options)), e.g. to ship to Ray workers so
    models registered at run time load there too."""
    return {name: (entry.target, dict(entry.fixed)) for name, entry in _REGISTRY.items()}


def load_model(name: str, model_path: str | None, device: str = "cpu", dtype: str = "auto",
               frames: int | None = None, **options: Any) -> Model:
    """Build a registered model. Bad names, paths or options raise :class:`InputError`."""
    if name not in _REGISTRY:
        raise InputError("--model", f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    target, fixed = _REGISTRY[name].target, dict(_REGISTRY[name].fixed)
    fixed_frames = fixed.pop("frames", None)      # a registry line's default, --frames wins
    frames = frames if frames is not None else fixed_frames
    module_name, attr = target.split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(model_path, device=device, dtype=dtype, frames=frames, **fixed, **options)


__all__ = ["HF_VIDEO", "MODEL_NAMES", "Model", "default_device", "load_model", "register", "registry", "summaries"]
