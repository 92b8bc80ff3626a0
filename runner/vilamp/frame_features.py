"""Per-frame vision features kept in memory across the cases of one run.

SigLIP's output for a source frame does not depend on the question, and at real size it is
almost all of a case's cost (a 10K-frame case is ~10K SigLIP-so400m forwards). Haystacks share
source frames, so a frame encoded for one case is kept (host RAM, bounded by ``budget_bytes``,
least recently used evicted) and handed to every later case that uses it; with the cases in
:func:`niah.schedule.locality_order` most of them are still there.

Kept is the vision tower's output (before the projector): 729 x 1152 values per frame at real
size (1.7 MB in fp16), 3.1x less than the projected 729 x 3584. Values are kept exactly as
computed (same dtype), so a reused frame gives the tokens a fresh encode would, up to the
batch-size-dependent rounding of the encoder itself.

Storage is a set of fixed-size slots in blocks allocated as needed (never more than the
budget); with a CUDA model the blocks are pinned, so copies to and from the GPU run at full
bus speed and need no extra host copy (measured on an H100 at 10K frames: a warm case was 3.5x
faster than encoding it with pageable per-frame copies, 6.9x with pinned slots and reference
keys computed once, ``bench/results/``). An on-disk patch cache was tried
before and removed: at real size, reading 1.7 MB per frame from disk cost as much as
recomputing it on an H100.
"""
from __future__ import annotations

import re
from collections import OrderedDict

import torch

from niah.errors import InputError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$")
_UNITS = {"": 1, "k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9, "t": 10 ** 12}
BLOCK_FRAMES = 256


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
    """LRU of per-frame features keyed by (store fingerprint, video, frame), all of one shape.

    ``encoded`` counts frames whose features had to be computed, ``case_frames`` frames asked
    for; ``encoded / case_frames`` is the run's vision encodes per case frame."""

    def __init__(self, budget_bytes: int, pin: bool = False) -> None:
        self.budget = int(budget_bytes)
        self.pin = pin
        self.encoded = 0
        self.case_frames = 0
        self._slots: OrderedDict[tuple[str, str, int], torch.Tensor] = OrderedDict()
        self._free: list[torch.Tensor] = []
        self._blocks: list[torch.Tensor] = []
        self._shape: tuple[tuple[int, ...], torch.dtype] | None = None

    @property
    def used(self) -> int:
        """Bytes allocated for slots (what the budget bounds)."""
        return sum(b.numel() * b.element_size() for b in self._blocks)

    def get(self, key: tuple[str, str, int]) -> torch.Tensor | None:
        """The kept features of ``key`` (a view of its slot; do not keep it), or None."""
        value = self._slots.get(key)
        if value is not None:
            self._slots.move_to_end(key)
        return value

    def put(self, key: tuple[str, str, int], value: torch.Tensor) -> None:
        """Copy ``value`` into a slot (asynchronously from a GPU into pinned memory)."""
        if self.budget <= 0 or key in self._slots:
            return
        slot = self._slot_for(value)
        if slot is None:
            return
        slot.copy_(value, non_blocking=self.pin)
        self._slots[key] = slot

    def _slot_for(self, value: torch.Tensor) -> torch.Tensor | None:
        shape = (tuple(value.shape), value.dtype)
        if self._shape is None:
            self._shape = shape
        elif shape != self._shape:
            raise ValueError(f"features of shape {shape} beside {self._shape}")
        if not self._free:
            frame_bytes = value.numel() * value.element_size()
            room = (self.budget - self.used) // frame_bytes
            if room >= 1:
                block = torch.empty((min(BLOCK_FRAMES, room), *value.shape), dtype=value.dtype,
                                    pin_memory=self.pin)
                self._blocks.append(block)
                self._free.extend(block.unbind(0))
            elif self._slots:
                _, old = self._slots.popitem(last=False)
                self._free.append(old)
            else:
                return None  # one frame is over the budget
        return self._free.pop()
