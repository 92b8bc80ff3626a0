"""Per-frame vision features kept in memory across the cases of one run.

SigLIP's output for a source frame does not depend on the question, and at real size it is
almost all of a case's cost (a 10K-frame case is ~10K SigLIP-so400m forwards). Haystacks share
source frames, so a frame encoded for one case is kept (bounded by ``budget_bytes``) and
handed to every later case that uses it.

* **Eviction by next use.** The runner scores the cases in :func:`niah.schedule.locality_order`,
  known before the first case, so the frame dropped is the one needed farthest in the future,
  or never again (:class:`niah.schedule.NextUse`; Belady's rule). With the cases of a ``tape``
  benchmark this keeps the sliding window of the tape that the next cases read.
* **Two tiers.** Up to ``device_budget_bytes`` of it stays where it was computed, in device
  memory, so a frame already there is used without crossing the bus; the rest spills to host
  RAM (pinned with a CUDA model). The frames needed soonest are kept on the device.
  ``bytes_to_device`` counts the host-to-device bytes of features; on a CPU model the
  "device" tier is host memory too and the counter says what would have crossed.

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

import heapq
import itertools
import re
from typing import Any

import torch

from niah.errors import InputError
from niah.schedule import NEVER, NextUse, locality_order

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


Key = tuple[str, str, int]


def default_device_budget(device: str, budget: int) -> int:
    """The part of ``budget`` kept on the device when not given: on CUDA 16 GB (about the
    window a tape benchmark's next cases read, 9.5K real-size frames) or a quarter of the GPU,
    whichever is less; on a CPU nothing (every reuse counts as a host-to-device copy)."""
    if not device.startswith("cuda"):
        return 0
    total = torch.cuda.get_device_properties(torch.device(device)).total_memory
    return min(budget, 16 * 10 ** 9, total // 4)


class _Tier:
    """Fixed-size slots in blocks allocated as needed (never more than ``capacity`` frames) on
    one device, with a max-heap of the kept frames by next use."""

    def __init__(self, budget: int, device: str, pin: bool) -> None:
        self.budget, self.device, self.pin = budget, device, pin
        self.capacity = 0
        self.slots: dict[Key, torch.Tensor] = {}
        self.free: list[torch.Tensor] = []
        self.blocks: list[torch.Tensor] = []
        self.heap: list[tuple[int, int, Key]] = []

    def size(self, frame_bytes: int) -> None:
        self.capacity = max(0, self.budget // frame_bytes)

    @property
    def used(self) -> int:
        return sum(b.numel() * b.element_size() for b in self.blocks)

    def full(self) -> bool:
        return len(self.slots) >= self.capacity

    def take(self, like: torch.Tensor) -> torch.Tensor:
        """A free slot (the caller made room first)."""
        if not self.free:
            count = min(BLOCK_FRAMES, self.capacity - len(self.slots) - len(self.free))
            block = torch.empty((count, *like.shape), dtype=like.dtype, device=self.device,
                                pin_memory=self.pin and self.device == "cpu")
            self.blocks.append(block)
            self.free.extend(block.unbind(0))
        return self.free.pop()


class FrameFeatures:
    """Per-frame features keyed by (store fingerprint, video, frame), all of one shape, in a
    device tier and a host tier, evicted by next use (see the module docstring).

    ``encoded`` counts frames whose features had to be computed, ``case_frames`` frames asked
    for (``encoded / case_frames`` is the run's vision encodes per case frame) and
    ``bytes_to_device`` the feature bytes copied from the host tier to the model's device.
    ``host_device``: where the host tier lives ("cpu"; ``meta`` when ``bench/bench_ledger.py``
    counts a real-size case without its memory)."""

    def __init__(self, budget_bytes: int, pin: bool = False, device_budget_bytes: int = 0,
                 device: str = "cpu", host_device: str = "cpu") -> None:
        self.budget = int(budget_bytes)
        self.pin = pin
        self.device = device
        on_device = min(max(0, int(device_budget_bytes)), max(0, self.budget))
        self._device = _Tier(on_device, device, False)
        self._host = _Tier(max(0, self.budget) - on_device, host_device, pin)
        self.encoded = 0
        self.case_frames = 0
        self.bytes_to_device = 0
        self._shape: tuple[tuple[int, ...], torch.dtype] | None = None
        self._frame_bytes = 0
        self._prio: dict[Key, tuple[int, int]] = {}  # key -> (next use, insertion number)
        self._seq = itertools.count()
        self._schedule: dict[str, NextUse] = {}
        self._upcoming: dict[Key, int] = {}

    # ----- the schedule ------------------------------------------------------------------
    def begin(self, case: Any, bench: Any) -> None:
        """Learn when each frame of ``case`` is needed next. The order is the benchmark's
        locality order, the order the runner scores in; a shard or a Ray actor's run is a
        contiguous part of it, so uses outside it all lie beyond its end and the rule stays
        exact for it."""
        fp = bench.store.fingerprint
        if fp not in self._schedule:
            self._schedule[fp] = NextUse(locality_order(bench.cases))
        schedule = self._schedule[fp]
        rank = schedule.rank.get(case.case_id)
        if rank is None:
            self._upcoming = {}
            return
        keys = [(fp, seg.video_id, frame) for seg in case.segments
                for frame in range(seg.src_start_frame, seg.src_start_frame + seg.num_frames)]
        self._upcoming = dict(zip(keys, schedule.after(rank).tolist()))

    # ----- lookups ---------------------------------------------------------------------------
    @property
    def used(self) -> int:
        """Bytes allocated for slots in both tiers (what the budget bounds)."""
        return self._device.used + self._host.used

    def get(self, key: Key) -> torch.Tensor | None:
        """The kept features of ``key`` (its slot, on whichever tier; do not keep it), or None."""
        for tier in (self._device, self._host):
            if key in tier.slots:
                return tier.slots[key]
        return None

    @property
    def frame_shape(self) -> tuple[tuple[int, ...], torch.dtype] | None:
        """(shape, dtype) of one frame's features, once any was offered; None before."""
        return self._shape

    def fetch(self, keys: list[Key], device: str, out: torch.Tensor | None = None) -> list[torch.Tensor | None]:
        """The kept features of ``keys`` copied to ``device`` (None where not kept), counting
        ``case_frames`` and the host-to-device bytes: row ``i`` of ``out`` (``len(keys)`` rows,
        e.g. a chunk buffer the caller reuses; allocated when not given) holds ``keys[i]``'s, so
        a chunk whose frames are all kept needs no further copy. A frame taken from the host
        tier moves to the device tier if it is needed sooner than something there."""
        self.case_frames += len(keys)
        kept = [self.get(k) for k in keys]
        first = next((slot for slot in kept if slot is not None), None)
        if first is None:
            return [None] * len(keys)
        if out is None:
            out = torch.empty((len(keys), *first.shape), dtype=first.dtype, device=device)
        rows: list[torch.Tensor | None] = []
        for row, key, slot in zip(out, keys, kept):
            if slot is None:
                rows.append(None)
                continue
            row.copy_(slot, non_blocking=self.pin)
            if key in self._host.slots:
                self.bytes_to_device += self._frame_bytes
            rows.append(row)
        for key, row in zip(keys, rows):
            if row is not None:
                self._touch(key, row)
        return rows

    def put(self, key: Key, value: torch.Tensor) -> None:
        """Keep ``value`` (features just computed) unless everything kept is needed sooner."""
        if self.budget <= 0 or key in self._prio:
            return
        self._check_shape(value)
        prio = (self._upcoming.get(key, NEVER), next(self._seq))
        if self._device.capacity + self._host.capacity == 0:
            return
        if len(self._device.slots) + len(self._host.slots) >= self._device.capacity + self._host.capacity:
            tier, worst = self._worst_overall()
            if worst is None:
                return
            far = self._prio[worst][0]
            if prio[0] > far or (prio[0] == far and far != NEVER):
                return  # needed later than everything kept: not kept
            self._drop(tier, worst)  # (among frames never needed again, the oldest goes)
        self._prio[key] = prio
        self._place(key, value)

    # ----- internals -------------------------------------------------------------------------
    def _check_shape(self, value: torch.Tensor) -> None:
        shape = (tuple(value.shape), value.dtype)
        if self._shape is None:
            self._shape = shape
            self._frame_bytes = value.numel() * value.element_size()
            self._device.size(self._frame_bytes)
            self._host.size(self._frame_bytes)
        elif shape != self._shape:
            raise ValueError(f"features of shape {shape} beside {self._shape}")

    def _touch(self, key: Key, value: torch.Tensor) -> None:
        """``key`` was just used (``value``: its copy on the model's device): its priority is now
        its next use after this case; from the host tier it moves up if it is needed sooner
        than the device tier's farthest frame."""
        tier = self._device if key in self._device.slots else self._host
        nxt = self._upcoming.get(key, NEVER)
        if nxt == NEVER:  # never needed again: free its slot now
            self._drop(tier, key)
            return
        self._prio[key] = (nxt, next(self._seq))
        if tier is self._host and self._device.capacity:
            worst = self._worst(self._device) if self._device.full() else None
            if not self._device.full() or (worst is not None and self._prio[worst][0] > nxt):
                self._host.free.append(self._host.slots.pop(key))
                if self._device.full():
                    self._demote(worst)
                target = self._device.take(value)
                target.copy_(value)
                self._device.slots[key] = target
                tier = self._device
        heapq.heappush(tier.heap, (-nxt, self._prio[key][1], key))

    def _place(self, key: Key, value: torch.Tensor) -> None:
        """A new frame goes to the device tier if it has room or the frame is needed sooner
        than the device's farthest (which then moves to the host)."""
        nxt = self._prio[key][0]
        if self._device.capacity:
            worst = None if not self._device.full() else self._worst(self._device)
            if worst is None or self._prio[worst][0] > nxt:
                if worst is not None:
                    self._demote(worst)
                self._store(self._device, key, value)
                return
        self._store(self._host, key, value)

    def _store(self, tier: _Tier, key: Key, value: torch.Tensor) -> None:
        slot = tier.take(value)
        slot.copy_(value, non_blocking=self.pin)
        tier.slots[key] = slot
        heapq.heappush(tier.heap, (-self._prio[key][0], self._prio[key][1], key))

    def _demote(self, key: Key) -> None:
        """Move ``key`` from the device tier to the host tier (which has room: the caller made it)."""
        slot = self._device.slots.pop(key)
        self._store(self._host, key, slot)
        self._device.free.append(slot)

    def _worst(self, tier: _Tier) -> Key | None:
        """The frame of ``tier`` needed farthest ahead (oldest first among equals)."""
        heap = tier.heap
        while heap:
            far, seq, key = heap[0]
            if key in tier.slots and self._prio.get(key) == (-far, seq):
                return key
            heapq.heappop(heap)
        return None

    def _worst_overall(self) -> tuple[_Tier, Key | None]:
        candidates = [(t, k) for t in (self._device, self._host) if (k := self._worst(t)) is not None]
        if not candidates:
            return self._host, None
        return max(candidates, key=lambda tk: (self._prio[tk[1]][0], -self._prio[tk[1]][1]))

    def _drop(self, tier: _Tier, key: Key) -> None:
        tier.free.append(tier.slots.pop(key))
        del self._prio[key]
