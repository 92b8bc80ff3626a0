"""Finding model weights without surprises: local folders, or hub ids already in the cache.

Every failure here is an :class:`niah.errors.InputError` with one line saying what is
missing, never a stack trace. Nothing is downloaded when ``HF_HUB_OFFLINE`` /
``TRANSFORMERS_OFFLINE`` is set (or ``local_files_only=True`` is passed); otherwise a hub id
not in the cache may be fetched by ``huggingface_hub`` as usual.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from niah.errors import InputError

_TRUE = {"1", "true", "yes", "on"}


def offline() -> bool:
    return any(os.environ.get(v, "").lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _looks_local(model_path: str) -> bool:
    """An existing path, anything starting with . / ~, or anything that cannot be a hub id."""
    return (model_path.startswith((".", "/", "~")) or Path(model_path).expanduser().exists()
            or not _HUB_ID.match(model_path))


def resolve(model_path: str | None, what: str, needs: str = "config.json",
            local_files_only: bool | None = None) -> tuple[Path, str]:
    """A local folder holding ``needs`` for ``model_path`` -> (folder, revision).

    ``revision`` is the hub snapshot commit for cached hub ids, else ``"local:<hash>"`` of the
    folder's ``config.json`` (so two different local folders never look alike in run.json).
    """
    if not model_path:
        raise InputError("--model-path", f"{what} needs a model folder or a Hugging Face hub id")
    if _looks_local(model_path):
        folder = Path(model_path).expanduser()
        if not folder.is_dir():
            raise InputError(model_path, f"no such model folder for {what}")
        if not (folder / needs).exists():
            raise InputError(model_path, f"not a {what} checkpoint folder (missing {needs})")
        return folder, "local:" + file_digest(folder / needs)
    local_only = offline() if local_files_only is None else local_files_only
    try:
        from huggingface_hub import snapshot_download
        folder = Path(snapshot_download(model_path, local_files_only=local_only))
    except Exception as exc:  # LocalEntryNotFoundError, RepositoryNotFoundError, network errors
        if local_only:
            raise InputError(model_path, f"{what} weights are not in the local Hugging Face cache and "
                                         f"downloads are off (HF_HUB_OFFLINE); fetch them first with "
                                         f"`hf download {model_path}`") from None
        raise InputError(model_path, f"cannot get {what} weights from the hub "
                                     f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not (folder / needs).exists():
        raise InputError(model_path, f"cached snapshot has no {needs}; not a {what} checkpoint")
    return folder, folder.name


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def weights_fingerprint(folder: Path, extra: Any = None) -> str:
    """Cheap identity of a checkpoint folder: config + size and head/tail hash of each weight file."""
    digest = hashlib.sha256()
    for name in ("config.json", "open_clip_config.json"):
        if (folder / name).exists():
            digest.update((folder / name).read_bytes())
    for path in sorted(list(folder.glob("*.safetensors")) + list(folder.glob("*.bin")) + list(folder.glob("*.pt"))):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(-(1 << 20), 2)
                digest.update(handle.read(1 << 20))
    if extra is not None:
        digest.update(json.dumps(extra, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def torch_dtype(dtype: str, device: str) -> torch.dtype:
    """"auto" -> bfloat16 on CUDA, float32 elsewhere; else "bfloat16" / "float16" / "float32"."""
    if dtype == "auto":
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    table = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16,
             "fp16": torch.float16, "float32": torch.float32, "fp32": torch.float32}
    if dtype not in table:
        raise InputError("--dtype", f"unknown dtype {dtype!r} (auto, bfloat16, float16, float32)")
    return table[dtype]


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def check_device(device: str) -> str:
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device", f"{device} requested but no CUDA device is available")
    return str(device)
