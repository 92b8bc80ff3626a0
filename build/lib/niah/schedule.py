"""Case order for per-frame feature reuse, eviction by next use, and a manifest-only replay.

A model whose per-frame features do not depend on the question (ViLAMP's SigLIP patches) can
encode each source frame once per run and hand it to every case that uses it, if the frame is
still in memory when the next such case comes. Three pieces decide how often that happens:

* the **case order** (:func:`locality_order`): on a ``tape`` benchmark (``generator.plan``)
  cases are scored in window order, the order of their start on the tape, so each case shares
  almost all its frames with the one before; otherwise by their source stretches;
* the **eviction rule**: the runner knows the whole case order before the first case, so it
  drops the frame whose next use is farthest in the future, or never comes (Belady's rule,
  optimal for a known sequence); :class:`NextUse` says when each frame of a case is needed
  next;
* the **memory budget**, in frames.

:func:`simulate_reuse` replays an order against either rule (``"lru"`` or ``"next-use"``) at
frame granularity and counts the encodes, without touching a frame.

The tape is not passed around: :func:`tape_order` reads it back from the cases themselves
(consecutive haystack videos of a window are tape neighbours), so any subset of a tape
benchmark (a shard, the cases left after a resume) sorts consistently with the whole.
"""
from __future__ import annotations

import heapq
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from niah.schema import Case

#: next-use time of a frame never needed again
NEVER = np.iinfo(np.int64).max
POLICIES = ("lru", "next-use")


def locality_key(case: Case) -> tuple:
    """Sort key: the case's source stretches in play order ((video, start) of each segment),
    then its id. Cases opening in the same video at nearby offsets end up next to each other."""
    return tuple((seg.video_id, seg.src_start_frame) for seg in case.segments), case.case_id


def haystack_runs(case: Case) -> list[tuple[str, int, int]]:
    """(video, first frame, frames) of the haystack in play order, the needle taken out (a run
    the needle splits is one run again)."""
    runs: list[tuple[str, int, int]] = []
    for seg in case.segments:
        if seg.role != "haystack":
            continue
        if runs and runs[-1][0] == seg.video_id and runs[-1][1] + runs[-1][2] == seg.src_start_frame:
            video, first, frames = runs[-1]
            runs[-1] = (video, first, frames + seg.num_frames)
        else:
            runs.append((seg.video_id, seg.src_start_frame, seg.num_frames))
    return runs


def tape_order(cases: Iterable[Case]) -> list[str] | None:
    """The tape the cases were cut from, read back from them, or None if they are not windows
    of one tape (an ``independent`` benchmark: a video followed by different videos).

    Every pair of consecutive haystack videos in a case is a tape edge (the second read from
    its frame 0). Edges form paths, or one circle when the cases go all round the tape; a circle
    is cut at its smallest video id, paths and circles are listed by their first video id."""
    after: dict[str, str] = {}
    before: dict[str, str] = {}
    videos: set[str] = set()
    for case in cases:
        runs = haystack_runs(case)
        videos.update(v for v, _, _ in runs)
        for (a, _, _), (b, start, _) in zip(runs, runs[1:]):
            if start != 0 or after.setdefault(a, b) != b or before.setdefault(b, a) != a:
                return None
    if not after:
        return None
    order: list[str] = []
    placed: set[str] = set()
    heads = sorted(v for v in videos if v not in before)
    for start in heads + sorted(videos):  # paths first, then what is left: circles
        video: str | None = start
        while video is not None and video not in placed:
            placed.add(video)
            order.append(video)
            video = after.get(video)
    return order


def locality_order(cases: Iterable[Case]) -> list[Case]:
    """The cases in scoring order (deterministic: depends only on the cases).

    Windows of one tape: by where the window starts on the tape (window order), so the run
    walks the tape once. Otherwise by :func:`locality_key`."""
    cases = list(cases)
    tape = tape_order(cases)
    if tape is None:
        return sorted(cases, key=locality_key)
    position = {video: i for i, video in enumerate(tape)}

    def window_start(case: Case) -> tuple:
        video, first, _ = haystack_runs(case)[0]
        return position[video], first, case.case_id

    return sorted(cases, key=window_start)


def case_frame_refs(case: Case) -> Iterable[tuple[str, int]]:
    """(video_id, frame) of every frame of the case, in play order."""
    for seg in case.segments:
        for frame in range(seg.src_start_frame, seg.src_start_frame + seg.num_frames):
            yield seg.video_id, frame


class NextUse:
    """When each frame of a case is needed next, for cases scored in a known order.

    Time is the position in the whole run's stream of case frames: case ``r`` of the order
    starts at the sum of the lengths before it. :meth:`after` gives, for every frame of case
    ``r`` in play order, the time of that frame's first use in a later case (:data:`NEVER` if
    none). Built per video from the segments, so it costs memory per segment, not per frame."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self.cases = list(cases)
        self.rank = {case.case_id: r for r, case in enumerate(self.cases)}
        self.start = np.cumsum([0] + [c.length for c in self.cases]).tolist()
        spans: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)  # (rank, first, end, time of first)
        for r, case in enumerate(self.cases):
            pos = self.start[r]
            for seg in case.segments:
                spans[seg.video_id].append((r, seg.src_start_frame, seg.src_start_frame + seg.num_frames, pos))
                pos += seg.num_frames
        self._spans = {v: np.array(s, dtype=np.int64).reshape(-1, 4) for v, s in spans.items()}

    def after(self, r: int) -> np.ndarray:
        """Next-use times of case ``r``'s frames, in play order (int64, :data:`NEVER` = none)."""
        out = []
        for seg in self.cases[r].segments:
            first, end = seg.src_start_frame, seg.src_start_frame + seg.num_frames
            nxt = np.full(end - first, NEVER, dtype=np.int64)
            spans = self._spans[seg.video_id]
            later = spans[(spans[:, 0] > r) & (spans[:, 1] < end) & (spans[:, 2] > first)]
            left = len(nxt)
            for _, s_first, s_end, s_time in later:  # in case order: the first one to cover a frame wins
                lo, hi = max(first, s_first), min(end, s_end)
                view = nxt[lo - first:hi - first]
                unset = view == NEVER
                if unset.any():
                    view[unset] = (s_time - s_first + np.arange(lo, hi, dtype=np.int64))[unset]
                    left -= int(unset.sum())
                    if not left:
                        break
            out.append(nxt)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class ReuseStats:
    encoded: int
    case_frames: int
    unique_frames: int

    @property
    def encodes_per_case_frame(self) -> float:
        return self.encoded / self.case_frames if self.case_frames else 0.0


def frame_ids(cases: Sequence[Case]) -> np.ndarray:
    """Every case frame of the run as one integer per source frame (int64), in play order."""
    extent: dict[str, int] = {}
    for case in cases:
        for seg in case.segments:
            extent[seg.video_id] = max(extent.get(seg.video_id, 0), seg.src_start_frame + seg.num_frames)
    base, offset = {}, 0
    for video in sorted(extent):
        base[video], offset = offset, offset + extent[video]
    starts = np.array([base[s.video_id] + s.src_start_frame for c in cases for s in c.segments], dtype=np.int64)
    sizes = np.array([s.num_frames for c in cases for s in c.segments], dtype=np.int64)
    if not len(sizes):
        return np.zeros(0, dtype=np.int64)
    # arange per segment, vectorised: a running index minus each segment's start in the stream
    stream_start = np.cumsum(sizes) - sizes
    return np.repeat(starts - stream_start, sizes) + np.arange(int(sizes.sum()), dtype=np.int64)


def next_use_times(ids: np.ndarray) -> np.ndarray:
    """For each position of the stream ``ids``, the position of the next use of the same id
    (:data:`NEVER` if none): one stable sort."""
    order = np.argsort(ids, kind="stable")
    nxt = np.full(len(ids), NEVER, dtype=np.int64)
    same = ids[order[1:]] == ids[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same]
    return nxt


def simulate_reuse(cases: Sequence[Case], capacity_frames: int, policy: str = "lru") -> ReuseStats:
    """Replay ``cases`` in the given order, frame by frame, against a memory of
    ``capacity_frames`` frames: a frame not in it is encoded and then kept, evicting the least
    recently used frame (``"lru"``) or the frame needed farthest in the future, never-needed
    first (``"next-use"``; a fresh frame needed later than everything kept is not kept)."""
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r}: expected one of {POLICIES}")
    ids = frame_ids(cases)
    unique = int(len(np.unique(ids)))
    if capacity_frames <= 0:
        return ReuseStats(len(ids), len(ids), unique)
    if policy == "lru":
        encoded = _replay_lru(ids.tolist(), capacity_frames)
    else:
        encoded = _replay_next_use(ids.tolist(), next_use_times(ids).tolist(), capacity_frames)
    return ReuseStats(encoded, len(ids), unique)


def _replay_lru(ids: list[int], capacity: int) -> int:
    lru: OrderedDict[int, None] = OrderedDict()
    touch, evict = lru.move_to_end, lru.popitem
    encoded = 0
    for f in ids:
        if f in lru:
            touch(f)
            continue
        encoded += 1
        lru[f] = None
        if len(lru) > capacity:
            evict(last=False)
    return encoded


def _replay_next_use(ids: list[int], nexts: list[int], capacity: int) -> int:
    """Belady's rule with a max-heap of next uses; each entry packs (next use, frame) into one
    int, ``-(next << 32 | frame)``, which is what makes a pure-Python replay of 18M case frames
    take seconds. An entry whose frame was used again or evicted since (its next use is not the
    frame's current one) is stale and skipped; the heap is rebuilt when stale entries pile up."""
    size = max(ids, default=-1) + 1
    kept = [-1] * size  # frame -> its next use while kept
    heap: list[int] = []
    push, pop = heapq.heappush, heapq.heappop
    mask, count, encoded = (1 << 32) - 1, 0, 0
    for f, nxt in zip(ids, nexts):
        if kept[f] >= 0:
            if nxt == NEVER:
                kept[f] = -1
                count -= 1
            else:
                kept[f] = nxt
                push(heap, -(nxt << 32 | f))
            continue
        encoded += 1
        if nxt == NEVER:
            continue
        if count >= capacity:
            while True:  # the live frame needed farthest ahead
                top = -heap[0]
                g = top & mask
                if kept[g] == top >> 32:
                    break
                pop(heap)
            if top >> 32 <= nxt:
                continue  # the fresh frame is needed last: not kept
            pop(heap)
            kept[g] = -1
            count -= 1
        kept[f] = nxt
        count += 1
        push(heap, -(nxt << 32 | f))
        if len(heap) > 4 * capacity + 1024:
            heap = [-(n << 32 | g) for g, n in enumerate(kept) if n >= 0]
            heapq.heapify(heap)
    return encoded


def frame_sharing(cases: Sequence[Case], role: str = "haystack") -> tuple[float, int]:
    """(mean, max) number of cases that use each source frame used at least once as ``role``."""
    edges: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for case in cases:
        for seg in case.segments:
            if seg.role == role:
                edges[seg.video_id].append((seg.src_start_frame, seg.src_start_frame + seg.num_frames))
    uses, frames, peak = 0, 0, 0
    for spans in edges.values():
        end = max(e for _, e in spans)
        depth = np.zeros(end + 1, dtype=np.int64)
        for first, last in spans:
            depth[first] += 1
            depth[last] -= 1
        count = np.cumsum(depth)[:end]
        used = count[count > 0]
        uses, frames, peak = uses + int(used.sum()), frames + len(used), max(peak, int(used.max(initial=0)))
    return (uses / frames if frames else 0.0), peak


__all__ = ["locality_order", "locality_key", "tape_order", "haystack_runs", "NextUse", "simulate_reuse",
           "ReuseStats", "frame_sharing", "NEVER", "POLICIES"]
