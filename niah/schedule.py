"""Case order for per-frame feature reuse, and a manifest-only simulation of that reuse.

A model whose per-frame features do not depend on the question (ViLAMP's SigLIP patches) can
encode each source frame once per run and hand it to every case that uses it, if the frame is
still in memory when the next such case comes. Haystacks are runs of the same long videos
read from random offsets, so cases that start in the same video near the same frame share
long stretches: scoring them one after another keeps the shared frames hot.
:func:`locality_order` sorts cases so; :func:`simulate_reuse` replays an order against an LRU
of a given capacity and counts the encodes, without touching a frame.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Sequence

from niah.schema import Case


def locality_key(case: Case) -> tuple:
    """Sort key: the case's source stretches in play order ((video, start) of each segment),
    then its id. Cases opening in the same video at nearby offsets end up next to each other."""
    return tuple((seg.video_id, seg.src_start_frame) for seg in case.segments), case.case_id


def locality_order(cases: Iterable[Case]) -> list[Case]:
    """The cases in locality order (deterministic: depends only on the cases)."""
    return sorted(cases, key=locality_key)


def case_frame_refs(case: Case) -> Iterable[tuple[str, int]]:
    """(video_id, frame) of every frame of the case, in play order."""
    for seg in case.segments:
        for frame in range(seg.src_start_frame, seg.src_start_frame + seg.num_frames):
            yield seg.video_id, frame


@dataclass(frozen=True)
class ReuseStats:
    encoded: int
    case_frames: int
    unique_frames: int

    @property
    def encodes_per_case_frame(self) -> float:
        return self.encoded / self.case_frames if self.case_frames else 0.0


def simulate_reuse(cases: Sequence[Case], capacity_frames: int) -> ReuseStats:
    """Replay ``cases`` in the given order against an LRU of ``capacity_frames`` frames: a
    frame not in it is encoded (and enters it, evicting the least recently used)."""
    lru: OrderedDict[tuple[str, int], None] = OrderedDict()
    encoded = total = 0
    seen: set[tuple[str, int]] = set()
    for case in cases:
        for ref in case_frame_refs(case):
            total += 1
            if ref in lru:
                lru.move_to_end(ref)
                continue
            encoded += 1
            seen.add(ref)
            if capacity_frames > 0:
                lru[ref] = None
                if len(lru) > capacity_frames:
                    lru.popitem(last=False)
    return ReuseStats(encoded, total, len(seen))
