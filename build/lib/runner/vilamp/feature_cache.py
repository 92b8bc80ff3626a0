"""On-disk cache of question-independent per-frame features (CLIP image embeddings), shared by
every case that uses the same source frame.

Key: (store fingerprint, model fingerprint, kind, video_id, frame). The store fingerprint says
what a stored frame *is* (resolution, fps, codec settings: ``bench.store.fingerprint``); the
model fingerprint says what computed the feature (weights identity + preprocessing). Either
changing gives a different folder, so a stale feature can never be read back.

Layout::

    <root>/<kind>-<store_fp>-<model_fp>-<dtype>/<video_id>/<chunk_start:08d>.npz

One ``.npz`` per ``chunk`` consecutive source frames of one video holds ``mask`` (bool, which
frames are present) and ``values`` (chunk, *shape). Files are written through
:mod:`niah.atomic` (temp file + rename), so a reader sees an old chunk or a new one, never half
of one; an unreadable chunk (e.g. two processes racing on the same temp name) is treated as a
miss and rewritten. Chunks just read or written stay in a small in-memory LRU.

**One representation.** A feature is always returned as it is stored (``dtype``, float32 by
default), whether it was just computed or read back: a computed value is cast to the storage
dtype before anyone sees it. Otherwise a cold run would use the exact values and a warm or
resumed run the stored (rounded) ones, and one run id would hold two behaviours.

``hits`` / ``misses`` count frame lookups; :meth:`FeatureCache.stats` gives the reuse ratio.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from niah import atomic

_SAFE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _safe_name(video_id: str) -> str:
    if _SAFE.match(video_id) and not video_id.startswith("."):
        return video_id
    return "h-" + hashlib.sha256(video_id.encode()).hexdigest()[:24]


class FeatureCache:
    """Per-frame features of one kind, e.g. ``FeatureCache(root, "clip", store_fp, model_fp)``.

    ``root=None`` keeps everything in memory only (still counts hits, still reused across
    cases within the process).
    """

    def __init__(self, root: str | Path | None, kind: str, store_fingerprint: str,
                 model_fingerprint: str, chunk: int = 256, dtype: str = "float32",
                 memory_chunks: int = 64) -> None:
        self.root = Path(root) if root is not None else None
        self.kind = kind
        self.chunk = int(chunk)
        self.dtype = np.dtype(dtype)
        self.namespace = f"{kind}-{store_fingerprint}-{model_fingerprint}-{self.dtype.name}"
        self.memory_chunks = memory_chunks
        self._mem: OrderedDict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    # ----- paths and chunks -----------------------------------------------------
    def _path(self, video_id: str, start: int) -> Path | None:
        if self.root is None:
            return None
        return self.root / self.namespace / _safe_name(video_id) / f"{start:08d}.npz"

    def _load(self, video_id: str, start: int) -> tuple[np.ndarray, np.ndarray] | None:
        key = (video_id, start)
        if key in self._mem:
            self._mem.move_to_end(key)
            return self._mem[key]
        path = self._path(video_id, start)
        if path is None or not path.exists():
            return None
        try:
            with np.load(path) as data:
                entry = (data["mask"].astype(bool), data["values"])
            if entry[0].shape != (self.chunk,) or entry[1].shape[0] != self.chunk:
                return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return None
        self._remember(key, entry)
        return entry

    def _remember(self, key: tuple[str, int], entry: tuple[np.ndarray, np.ndarray]) -> None:
        self._mem[key] = entry
        self._mem.move_to_end(key)
        while len(self._mem) > self.memory_chunks:
            self._mem.popitem(last=False)

    # ----- public ---------------------------------------------------------------
    def get(self, video_id: str, frames: Sequence[int]) -> tuple[list[np.ndarray | None], list[int]]:
        """Look up ``frames`` of one video: (values or None per frame, positions that missed)."""
        out: list[np.ndarray | None] = []
        missing: list[int] = []
        for pos, frame in enumerate(frames):
            start = (frame // self.chunk) * self.chunk
            entry = self._load(video_id, start)
            if entry is not None and entry[0][frame - start]:
                out.append(entry[1][frame - start])
                self.hits += 1
            else:
                out.append(None)
                missing.append(pos)
                self.misses += 1
        return out, missing

    def put(self, video_id: str, frames: Sequence[int], values: np.ndarray) -> None:
        """Store ``values[i]`` for ``frames[i]``, merging into existing chunks, one write per chunk."""
        values = np.asarray(values)
        by_chunk: dict[int, list[int]] = {}
        for i, frame in enumerate(frames):
            by_chunk.setdefault((frame // self.chunk) * self.chunk, []).append(i)
        for start, items in by_chunk.items():
            entry = self._load(video_id, start)
            if entry is None or entry[1].shape[1:] != values.shape[1:]:
                mask = np.zeros(self.chunk, bool)
                data = np.zeros((self.chunk, *values.shape[1:]), self.dtype)
            else:
                mask, data = entry[0].copy(), entry[1].copy()
            for i in items:
                mask[frames[i] - start] = True
                data[frames[i] - start] = values[i]
            self._remember((video_id, start), (mask, data))
            path = self._path(video_id, start)
            if path is not None:
                buffer = io.BytesIO()
                np.savez(buffer, mask=mask, values=data)
                atomic.write_bytes(path, buffer.getvalue())

    def get_or_compute(self, refs: Sequence[tuple[str, int]],
                       compute: Callable[[list[int]], np.ndarray]) -> np.ndarray:
        """Features for ``refs`` (``(video_id, frame)`` pairs, any order, duplicates allowed).

        ``compute(positions)`` is called once with the positions in ``refs`` that missed
        (deduplicated: one position per unique missing ref) and must return their features
        in that order; they are stored and the full (len(refs), ...) array is returned.
        """
        found: list[np.ndarray | None] = [None] * len(refs)
        by_video: dict[str, list[int]] = {}
        for pos, (video_id, _) in enumerate(refs):
            by_video.setdefault(video_id, []).append(pos)
        missing_refs: dict[tuple[str, int], list[int]] = {}
        for video_id, positions in by_video.items():
            values, missed = self.get(video_id, [refs[p][1] for p in positions])
            for p, v in zip(positions, values):
                found[p] = v
            for m in missed:
                missing_refs.setdefault(refs[positions[m]], []).append(positions[m])
        if missing_refs:
            first = [positions[0] for positions in missing_refs.values()]
            computed = np.asarray(compute(first)).astype(self.dtype)  # the stored representation
            if computed.shape[0] != len(first):
                raise ValueError(f"compute returned {computed.shape[0]} rows for {len(first)} frames")
            per_video: dict[str, tuple[list[int], list[np.ndarray]]] = {}
            for (ref, positions), value in zip(missing_refs.items(), computed):
                # a frame repeated inside this request is computed once: count the repeats as hits
                self.misses -= len(positions) - 1
                self.hits += len(positions) - 1
                for p in positions:
                    found[p] = value
                frames, vals = per_video.setdefault(ref[0], ([], []))
                frames.append(ref[1])
                vals.append(value)
            for video_id, (frames, vals) in per_video.items():
                self.put(video_id, frames, np.stack(vals))
        return np.stack([np.asarray(v) for v in found]) if found else np.zeros((0,), self.dtype)

    def stats(self) -> dict[str, float | int]:
        total = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses,
                "reuse_ratio": (self.hits / total) if total else 0.0}

    def reset_stats(self) -> None:
        self.hits = self.misses = 0
