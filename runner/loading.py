"""Checking a model request and loading it, the same way in the CLI and on Ray actors.

Both ``runner.cli`` (the local engine) and ``runner.ray_engine`` (one replica per actor) load
models through :func:`load_model`, so a bad path, option or device is the same one-line
:class:`~niah.errors.InputError` wherever the model loads. Everything here that can be
checked without weights (:func:`check_model_name`, :func:`check_device`) is, so the CLI
refuses a bad request before any multi-GB load.
"""
from __future__ import annotations

from typing import Any

from niah.errors import InputError

#: The modules of the ``models`` extra (pyproject.toml), missing from a ``make demo`` install.
MODELS_EXTRA = ("torch", "torchvision", "transformers", "open_clip", "safetensors")


def check_model_name(name: str) -> None:
    from runner.models import MODEL_NAMES
    if name not in MODEL_NAMES:
        raise InputError("--model", f"unknown model {name!r}; known: {', '.join(sorted(MODEL_NAMES))}")


def check_device(device: str | None, model_name: str) -> str:
    """The device to load on: ``--device`` if this machine has it (``cpu``, ``cuda``, ``cuda:N``),
    else a one-line error; without ``--device``, the registry entry's default device (``random``:
    CPU), else CUDA where available."""
    from runner.models import default_device, hub
    if device is None:
        return default_device(model_name) or _default_device()
    return hub.check_device(device)


def check_device_spelling(device: str | None) -> None:
    """Only the spelling of ``--device``: where the model runs elsewhere (a Ray cluster), whether
    it has a GPU is the cluster's to say."""
    from runner.models import hub
    if device is not None:
        hub.check_device_spelling(device)


def _default_device() -> str:
    try:
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def load_model(name: str, model_path: str | None, device: str, dtype: str, frames: int | None,
               allow_download: bool = False, **options: Any) -> Any:
    """A model from the registry (``runner.models``), with loader failures as one-line errors.
    Hub ids come from the local cache only unless ``allow_download``."""
    from runner import models
    from runner.models import hub
    check_model_name(name)
    try:
        with hub.allow_downloads(allow_download):
            return models.load_model(name, model_path, device=device, dtype=dtype, frames=frames, **options)
    except InputError:
        raise
    except ModuleNotFoundError as exc:  # the light install (`make demo`) has no torch stack
        if exc.name and exc.name.split(".")[0] in MODELS_EXTRA:
            raise InputError(f"--model {name}", f"needs {exc.name}, which is not installed here: `make install` "
                             "(torch + torchvision, transformers, open_clip; ~5.5 GB) or "
                             "`pip install -e '.[models]'`") from None
        raise
    except TypeError as exc:
        raise InputError(f"--model {name}", f"bad options ({exc})") from None
    except (OSError, ValueError) as exc:
        where = f"--model-path {model_path}" if model_path else f"--model {name}"
        raise InputError(where, f"cannot load model ({type(exc).__name__}: {' '.join(str(exc).split())})") from None


__all__ = ["check_device", "check_device_spelling", "check_model_name", "load_model"]
