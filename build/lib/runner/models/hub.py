"""Finding model weights without surprises: local folders, or hub ids already in the cache.

Every failure here is an :class:`niah.errors.InputError` with one line saying what is
missing, never a stack trace. **Nothing is downloaded** unless downloads were allowed
(``runner score --allow-download``, i.e. :func:`allow_downloads`): a hub id must already be in
the local Hugging Face cache, so a run never stalls on, or silently depends on, the network.
torch is imported only where a dtype or device needs it, so the ``random`` model and the CLI's
checks run without it.
"""
from __future__ import annotations

import hashlib
import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from niah.errors import InputError

if TYPE_CHECKING:
    import torch

_downloads_allowed = False


@contextmanager
def allow_downloads(allowed: bool = True) -> Iterator[None]:
    """Within this block :func:`resolve` may fetch hub ids missing from the cache."""
    global _downloads_allowed
    before, _downloads_allowed = _downloads_allowed, allowed
    try:
        yield
    finally:
        _downloads_allowed = before


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
FOLDER_LAYOUT = "a folder with config.json and the *.safetensors weights"


def _looks_local(model_path: str) -> bool:
    """An existing path, anything starting with . / ~, or anything that cannot be a hub id."""
    return (model_path.startswith((".", "/", "~")) or Path(model_path).expanduser().exists()
            or not _HUB_ID.match(model_path))


def resolve(model_path: str | None, what: str, needs: str = "config.json",
            local_files_only: bool | None = None) -> tuple[Path, str]:
    """A local folder holding ``needs`` for ``model_path`` -> (folder, revision).

    ``revision`` is the hub snapshot commit for cached hub ids, else ``"local:<hash>"`` of the
    folder's ``config.json`` (so two different local folders never look alike in run.json).
    A hub id is looked up in the local cache only, unless downloads are allowed
    (:func:`allow_downloads`) and ``local_files_only`` is not ``True``.
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
    local_only = not _downloads_allowed if local_files_only is None else local_files_only
    try:
        from huggingface_hub import snapshot_download
        folder = Path(snapshot_download(model_path, local_files_only=local_only))
    except Exception as exc:  # LocalEntryNotFoundError, RepositoryNotFoundError, network errors
        if local_only:
            raise InputError(model_path, f"{what} weights are not in the local Hugging Face cache "
                                         f"({_cache_dir()}) and this tool does not download by default: "
                                         f"fetch them with `hf download {model_path}`, or pass "
                                         f"--allow-download, or give --model-path {FOLDER_LAYOUT}") from None
        raise InputError(model_path, f"cannot get {what} weights from the hub "
                                     f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not (folder / needs).exists():
        raise InputError(model_path, f"cached snapshot has no {needs}; not a {what} checkpoint")
    return folder, folder.name


def _cache_dir() -> str:
    try:
        from huggingface_hub import constants
        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return "$HF_HOME/hub"


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


def torch_dtype(dtype: str, device: str) -> "torch.dtype":
    """"auto" -> bfloat16 on CUDA, float32 elsewhere; else "bfloat16" / "float16" / "float32"."""
    import torch
    if dtype == "auto":
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    table = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16,
             "fp16": torch.float16, "float32": torch.float32, "fp32": torch.float32}
    if dtype not in table:
        raise InputError("--dtype", f"unknown dtype {dtype!r} (auto, bfloat16, float16, float32)")
    return table[dtype]


def dtype_name(dtype: "torch.dtype") -> str:
    return str(dtype).replace("torch.", "")


def check_device_spelling(device: str) -> str:
    """``device`` if it is ``cpu``, ``cuda`` or ``cuda:N``, else a one-line error."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", str(device)):
        raise InputError("--device", f"{device!r}: expected cpu, cuda or cuda:N")
    return str(device)


def check_device(device: str) -> str:
    """``device`` if this machine has it (``cpu``, ``cuda``, ``cuda:N``), else a one-line error."""
    if check_device_spelling(device).startswith("cuda"):
        try:
            import torch
        except ImportError:
            raise InputError("--device", f"{device}: torch is not installed here (`make install` adds it); "
                                             "use --device cpu") from None
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(str(device).partition(":")[2] or 0)
        if index >= count:
            raise InputError("--device", f"{device} requested but this machine has "
                                         f"{count or 'no'} CUDA device{'s' if count != 1 else ''}; use --device cpu")
    return str(device)
