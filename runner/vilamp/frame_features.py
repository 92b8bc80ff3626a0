"""Per-frame vision features kept in memory across the cases of one run.

SigLIP's output for a source frame does not depend on the question, and at real size it is
almost all of a case's cost (a 10K-frame case is ~10K SigLIP-so400m forwards). Haystacks share
source frames, so a frame encoded for one case is kept (host RAM, bounded by ``budget_bytes``,
least recently used evicted) and handed to every later case that uses it; with the cases in
:func:`niah.schedule.locality_order` most of them are still there.

Kept is the vision tower's output (before the projector): 729 x 1152 values per frame at real
size (1.7 MB in fp16), 3.1x less than the projected 729 x 3584. The features are kept exactly
as computed (same dtype), so a reused frame gives the tokens a fresh encode would, up to
the batch-size-dependent rounding of the encoder itself.
An on-disk patch cache was tried and removed: at real size reading 1.7 MB per frame from disk
cost as much as recomputing it on an H100.
"""
from __future__ import annotations

import re
from collections import OrderedDict

import torch

from niah.errors import InputError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$")
_UNITS = {"": 1, "k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9, "t": 10 ** 12}


def parse_bytes(text: str | int, option: str = "--feature-memory") -> int:
    """``"32GB"``, ``"500MB"``, ``"0"`` -> bytes (decimal units; ``GiB`` is read as binary)."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise InputError(option, f"{text!r} is not a size (e.g. 32GB, 500MB, 0 to turn reuse off)")
    number, unit, suffix = match.groups()
    scale = _UNITS[unit.lower()]
    if suffix and suffix.lower().startswith("i"):
        scale = 1024 ** ("kmgt".index(unit.lower()) + 1) if unit else 1
    return int(float(number) * scale)


class FrameFeatures:
    """LRU of per-frame feature tensors keyed by (store fingerprint, video, frame).

    ``encoded`` counts frames whose features had to be computed, ``case_frames`` frames asked
    for; ``encoded / case_frames`` is the run's vision encodes per case frame."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = int(budget_bytes)
        self.used = 0
        self._items: OrderedDict[tuple[str, str, int], torch.Tensor] = OrderedDict()
        self.encoded = 0
        self.case_frames = 0

    def get(self, key: tuple[str, str, int]) -> torch.Tensor | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: tuple[str, str, int], value: torch.Tensor) -> None:
        size = value.numel() * value.element_size()
        if size > self.budget or key in self._items:
            return
        self._items[key] = value
        self.used += size
        while self.used > self.budget:
            _, old = self._items.popitem(last=False)
            self.used -= old.numel() * old.element_size()
