"""Open a built benchmark and read its cases' frames: what the runner and leaderboard use.

    bench = Benchmark.open("data/niah")
    case = bench.case("L2000-0007")
    for frame in bench.frames(case, size=(384, 384)):   # uint8 (H, W, 3) RGB, in case order
        ...
    bench.export(case, "case.mp4")                      # a real H.264 video, stream-copied
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from itertools import groupby
from pathlib import Path
from typing import Iterator, Sequence

import av
import numpy as np

from niah.errors import InputError
from niah.framestore import FrameStore
from niah.schema import DATASET_NAME, MANIFEST_NAME, Case

FRAMES_DIR = "frames"


@dataclass(frozen=True)
class FrameRef:
    """Where one case frame comes from: frame ``frame`` of source ``video_id``.

    Frames with the same ref are the same pixels in every case, which is what lets the
    runner cache per-frame features once per unique source frame.
    """

    video_id: str
    frame: int


class Benchmark:
    """A built benchmark folder: ``manifest.jsonl``, ``dataset.json`` and the frame store."""

    def __init__(self, root: Path, cases: list[Case], dataset: dict, store: FrameStore,
                 fingerprint: str) -> None:
        self.root = root
        self.cases = cases
        self.dataset = dataset
        self.store = store
        self.fingerprint = fingerprint
        self._by_id = {c.case_id: c for c in cases}

    @classmethod
    def open(cls, root: str | Path) -> "Benchmark":
        """Read and validate a benchmark; raises :class:`InputError` naming the bad file and line."""
        root = Path(root)
        manifest = root / MANIFEST_NAME
        dataset_path = root / DATASET_NAME
        if not manifest.exists() or not dataset_path.exists():
            raise InputError(root, f"not a built benchmark (needs {MANIFEST_NAME} and {DATASET_NAME}); "
                                   "run `python -m generator build`")
        data = manifest.read_bytes()
        cases: list[Case] = []
        for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                cases.append(Case.from_dict(json.loads(line)))
            except (json.JSONDecodeError, ValueError) as exc:
                raise InputError(f"{manifest}:{number}", str(exc)) from None
        try:
            dataset = json.loads(dataset_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(dataset_path, f"not valid JSON ({exc})") from None
        store = FrameStore(root / dataset.get("frame_store", FRAMES_DIR))
        bench = cls(root, cases, dataset, store, hashlib.sha256(data).hexdigest())
        bench._check_frame_ranges(manifest)
        return bench

    def _check_frame_ranges(self, manifest: Path) -> None:
        """Refuse a manifest whose segments point outside the stored videos (a hand edit, a
        store from another build) before any model time is spent on it."""
        for case in self.cases:
            for seg in case.segments:
                if not self.store.has(seg.video_id):
                    raise InputError(manifest, f"case {case.case_id}: video {seg.video_id} not in frame store")
                if seg.src_start_frame + seg.num_frames > self.store.num_frames(seg.video_id):
                    raise InputError(manifest, f"case {case.case_id}: frames {seg.src_start_frame}.."
                                     f"{seg.src_start_frame + seg.num_frames - 1} outside video {seg.video_id}")

    def case(self, case_id: str) -> Case:
        try:
            return self._by_id[case_id]
        except KeyError:
            raise InputError(self.root / MANIFEST_NAME, f"no case {case_id!r}") from None

    # ----- frames ---------------------------------------------------------------
    @staticmethod
    def frame_refs(case: Case) -> list[FrameRef]:
        """The source of every frame of the case, in order (``len == case.length``)."""
        return [FrameRef(seg.video_id, seg.src_start_frame + i)
                for seg in case.segments for i in range(seg.num_frames)]

    def frames(self, case: Case, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
        """All frames of the case in order, decoded one at a time (constant memory)."""
        for seg in case.segments:
            yield from self.store.read(seg.video_id, seg.src_start_frame, seg.num_frames, size)

    def frames_at(self, case: Case, indices: Sequence[int],
                  size: tuple[int, int] | None = None) -> np.ndarray:
        """The case frames at ``indices`` (any order, e.g. uniform sampling) as (N, H, W, 3)."""
        case_refs = self.frame_refs(case)
        return self.frames_of([case_refs[i] for i in indices], size)

    def frames_of(self, refs: Sequence[FrameRef], size: tuple[int, int] | None = None) -> np.ndarray:
        """The source frames ``refs`` (any videos, any order) as (N, H, W, 3)."""
        out: list[np.ndarray] = []
        for video_id, run in groupby(refs, key=lambda ref: ref.video_id):  # one decoder per run of a video
            out.extend(self.store.read_indices(video_id, [ref.frame for ref in run], size))
        if not out:
            width, height = size or (self.store.settings.width, self.store.settings.height)
            return np.zeros((0, height, width, 3), np.uint8)
        return np.stack(out)

    def export(self, case: Case, out: str | Path) -> None:
        """Write the case as an H.264 MP4 at the case's fps with exactly its frames.

        Stream copy, in process: the stored access units are muxed as they are (the MP4
        muxer turns their start codes into length prefixes), so the exported pixels equal
        what :meth:`frames` returns, bit for bit, and nothing is decoded or encoded.
        Written to a temporary name and renamed, so a failed export never leaves a
        half-written file under the asked-for name.
        """
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.mp4")
        tick = Fraction(1) / Fraction(case.fps)
        try:
            with av.open(str(tmp), "w", format="mp4") as container:
                stream = container.add_stream("h264", rate=Fraction(case.fps))
                stream.width, stream.height = self.store.settings.width, self.store.settings.height
                stream.pix_fmt = "yuv420p"
                stream.codec_context.extradata = self.store.parameter_sets(case.segments[0].video_id)
                number = 0
                for seg in case.segments:
                    for access_unit in self.store.access_units(seg.video_id, seg.src_start_frame, seg.num_frames):
                        packet = av.Packet(access_unit)
                        packet.time_base, packet.pts, packet.dts, packet.duration = tick, number, number, 1
                        packet.is_keyframe = True
                        packet.stream = stream
                        container.mux(packet)
                        number += 1
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
