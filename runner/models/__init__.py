"""Model registry: ``load_model(name, model_path, ...) -> Model``.

    from runner.models import MODEL_NAMES, load_model
    model = load_model("vilamp", "orange-sk/ViLAMP-llava-qwen", device="cuda", keyframes=32, tau=0.85)
    text = model.answer(case, bench)

Entries are imported lazily (``"module:callable"``), so ``random`` works without torch or
transformers being importable. Every loader takes
``(model_path, device="cpu", dtype="auto", frames=None, **options)``.
To add another HF video-LLM with the same processor/generate API (e.g. Qwen2-VL)::

    register("qwen2-vl", "runner.models.hf_video:HFVideoLLM", name="qwen2-vl")
"""
from __future__ import annotations

import importlib
from typing import Any

from niah.errors import InputError
from runner.models.base import Model

# name -> (module:callable, fixed keyword arguments)
_REGISTRY: dict[str, tuple[str, dict[str, Any]]] = {
    "vilamp": ("runner.vilamp.model:ViLAMP", {}),
    "llava-onevision": ("runner.models.hf_video:HFVideoLLM", {"name": "llava-onevision"}),
    "needle-oracle": ("runner.models.hf_video:NeedleOracle", {}),
    "random": ("runner.models.random_choice:load", {}),
}
MODEL_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def register(name: str, target: str, **fixed: Any) -> None:
    """Add a model: ``target`` is ``"package.module:callable"`` taking the loader signature."""
    global MODEL_NAMES
    _REGISTRY[name] = (target, dict(fixed))
    MODEL_NAMES = tuple(_REGISTRY)


def registry() -> dict[str, tuple[str, dict[str, Any]]]:
    """A copy of the registry (name -> (target, fixed options)), e.g. to ship to Ray workers so
    models registered at run time load there too."""
    return {name: (target, dict(fixed)) for name, (target, fixed) in _REGISTRY.items()}


def load_model(name: str, model_path: str | None, device: str = "cpu", dtype: str = "auto",
               frames: int | None = None, **options: Any) -> Model:
    """Build a registered model. Bad names, paths or options raise :class:`InputError`."""
    if name not in _REGISTRY:
        raise InputError("--model", f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    target, fixed = _REGISTRY[name]
    module_name, attr = target.split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(model_path, device=device, dtype=dtype, frames=frames, **fixed, **options)


__all__ = ["MODEL_NAMES", "Model", "load_model", "register", "registry"]
