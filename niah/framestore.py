"""The frame store: every source video decoded once, at 1 FPS, at the model's resolution.

Why this shape: 3,000 cases of up to 10K frames reference ~18M frames, but only the
unique source frames need storing. Each source becomes one all-intra H.264 stream
(``<video_id>.h264``, Annex-B, one access unit per frame, SPS/PPS repeated) and one
JSON index of byte offsets (``<video_id>.json``). Because every frame is an IDR frame
encoded with the same settings:

* any frame range is a byte range, so a case exports as a real H.264 video by
  concatenating byte ranges and stream-copying them into MP4 (no re-encode);
* any frame decodes on its own, so readers seek for free;
* the store costs about 5-40 KB per frame at 384x384 instead of 442 KB raw.

The ``.json`` index is written last, atomically: a video is in the store if and only if
its index exists, so an interrupted ingest is simply redone.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass, fields
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from niah import atomic
from niah.errors import InputError
from niah.ffmpeg import child_of_this_process, ffmpeg_exe
from niah.zipmember import ZipMember

STORE_INFO_NAME = "store.json"
_AUD = re.compile(b"\x00\x00\x00\x01\x09")  # access unit delimiter: x264 writes one per frame
_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
# the first video stream ffmpeg describes is the input's: "..., 1280x720 [SAR 1:1 DAR 16:9], ..."
_VIDEO_SIZE = re.compile(rb"Stream #\d+:\d+[^\n]*?: Video: [^\n]*?, (\d+)x(\d+)(?: \[SAR (\d+):(\d+) DAR)?")
_ROTATION = re.compile(rb"rotation of (-?\d+(?:\.\d+)?) degrees")
#: Frames fetched per read() of a stored stream: large enough for few syscalls, small enough
#: that a 10K-frame case never holds more than ~10 MB of compressed frames.
READ_BLOCK = 256
#: A source decoding to fewer than this share of the frames its container promises is truncated.
TRUNCATED_BELOW = 0.9


class SourceError(Exception):
    """A source video that cannot be used (unreadable, truncated, no video stream)."""


@dataclass(frozen=True)
class StoreSettings:
    """How frames are stored. Changing any field changes what a frame is, so it is
    recorded in ``store.json`` and a store built with other settings is refused."""

    width: int = 384
    height: int = 384
    fps: float = 1.0
    crf: int = 18
    preset: str = "ultrafast"

    def fingerprint(self) -> str:
        text = atomic.dumps_json(asdict(self))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_fingerprint(path: Path | ZipMember) -> dict[str, object]:
    """Identify a source file cheaply: its size and a SHA-256 of its first and last MiB.

    Hashing whole videos (hundreds of GB for Video-MME) would cost more than decoding
    them; size plus head and tail catches a replaced, re-encoded or truncated file.
    """
    if isinstance(path, ZipMember):  # the same numbers from the member's bytes, in place
        return path.fingerprint()
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 2 << 20:
            handle.seek(-(1 << 20), 2)
            digest.update(handle.read(1 << 20))
    return {"size": size, "sha256_head_tail": digest.hexdigest()}


class FrameStore:
    """A folder of 1-FPS frame streams keyed by video id."""

    def __init__(self, root: str | Path, settings: StoreSettings | None = None) -> None:
        """Open (or, when ``settings`` is given, create) the store at ``root``.

        Opening an existing store with different settings raises :class:`InputError`:
        mixing frames of two resolutions would silently corrupt every case.
        """
        self.root = Path(root)
        info_path = self.root / STORE_INFO_NAME
        if info_path.exists():
            stored = _read_settings(info_path)
            if settings is not None and settings != stored:
                raise InputError(info_path, f"frame store was built with {stored}, asked for {settings}")
            self.settings = stored
        elif settings is None:
            raise InputError(self.root, "no frame store here (missing store.json); run `python -m generator build`")
        else:
            self.settings = settings
            atomic.write_json(info_path, asdict(settings))
        self._index_cache: dict[str, dict] = {}

    @property
    def fingerprint(self) -> str:
        """Identifies what a stored frame is (settings); caches of per-frame features key on it."""
        return self.settings.fingerprint()

    # ----- membership and index -------------------------------------------------
    def _stream_path(self, video_id: str) -> Path:
        return self.root / f"{video_id}.h264"

    def _index_path(self, video_id: str) -> Path:
        return self.root / f"{video_id}.json"

    def has(self, video_id: str) -> bool:
        return self._index_path(video_id).exists()

    def index(self, video_id: str) -> dict:
        """The stored index: ``frames``, ``offsets`` (frames+1 byte offsets), ``source``.

        Raises :class:`InputError` naming the file if it is missing or damaged (not JSON,
        offsets that do not match the frame count or the stream's size on disk).
        """
        if video_id not in self._index_cache:
            path = self._index_path(video_id)
            if not path.exists():
                raise InputError(path, f"video {video_id} is not in the frame store")
            self._index_cache[video_id] = self._checked_index(path, self._stream_path(video_id))
        return self._index_cache[video_id]

    @staticmethod
    def _checked_index(path: Path, stream: Path) -> dict:
        damaged = "damaged frame store index ({}); rerun `python -m generator build` to redo this video"
        try:
            index = json.loads(path.read_text())
            frames, offsets = index["frames"], index["offsets"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise InputError(path, damaged.format(f"{type(exc).__name__}: {exc}")) from None
        if not isinstance(frames, int) or not isinstance(offsets, list) or len(offsets) != frames + 1:
            raise InputError(path, damaged.format("offsets do not match the frame count"))
        if not stream.exists() or stream.stat().st_size != offsets[-1]:
            raise InputError(path, damaged.format(f"{stream.name} is missing or not {offsets[-1]} bytes"))
        return index

    def num_frames(self, video_id: str) -> int:
        return int(self.index(video_id)["frames"])

    def aspect(self, video_id: str) -> float:
        """The source's display aspect ratio (width / height, after sample aspect and rotation):
        stored frames are squashed to the store's square, models that need the original
        geometry (ViLAMP's CLIP input) restore it from this."""
        index = self.index(video_id)
        if "aspect" not in index:
            raise InputError(self._index_path(video_id), "frame store made before source aspect ratios were "
                                                         "recorded; rerun `python -m generator build` with the "
                                                         "same arguments to record them")
        return float(index["aspect"])

    def video_ids(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.json") if p.name != STORE_INFO_NAME)

    # ----- ingest ---------------------------------------------------------------
    def ingest(self, video_id: str, source: Path | ZipMember) -> dict:
        """Decode ``source`` at 1 FPS into the store and return its index.

        One ffmpeg process, single-threaded (callers parallelise across videos, which
        scales better than threads inside one decoder): decode, ``fps`` filter, scale,
        intra-only x264. Raises :class:`SourceError` if the file is unreadable, has no
        video stream, or decodes to far fewer frames than its container's duration says.
        """
        s = self.settings
        stream_path = self._stream_path(video_id)
        tmp = stream_path.with_name(f"{stream_path.name}.{os.getpid()}.tmp")  # per process: a killed
        # build's leftovers never collide with its restart
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [
            ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-threads", "1",
            "-i", source.ffmpeg_input() if isinstance(source, ZipMember) else str(source),
            "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", f"fps={s.fps},scale={s.width}:{s.height}:flags=bicubic,format=yuv420p",
            "-c:v", "libx264", "-threads", "1", "-preset", s.preset, "-crf", str(s.crf),
            "-x264-params", "keyint=1:aud=1:repeat-headers=1",
            "-f", "h264", "-y", str(tmp),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, preexec_fn=child_of_this_process())
            if proc.returncode != 0:
                if b"No space left on device" in proc.stderr:  # the disk, not the video ("Conversion failed!")
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
                raise SourceError(_last_error_line(proc.stderr))
            data = tmp.read_bytes()
            offsets = [m.start() for m in _AUD.finditer(data)] + [len(data)]
            frames = len(offsets) - 1
            if frames <= 0:
                raise SourceError("no video frames decoded")
            duration = _container_duration(proc.stderr)
            if duration is not None and frames < TRUNCATED_BELOW * duration * s.fps - 1:
                raise SourceError(
                    f"decoded {frames} frames but the container says {duration:.0f} s (truncated?)")
            tmp.replace(stream_path)
        finally:
            tmp.unlink(missing_ok=True)
        aspect = display_aspect(proc.stderr)
        if aspect is None:
            raise SourceError("ffmpeg did not report the video's size")
        index = {"video_id": video_id, "frames": frames, "offsets": offsets, "aspect": aspect,
                 "source": source_fingerprint(source), "settings": self.fingerprint}
        atomic.write_json(self._index_path(video_id), index)
        self._index_cache[video_id] = index
        return index

    def remove_stale_temporaries(self) -> int:
        """Delete ``*.<pid>.tmp`` files left by ingests whose process is gone (a killed build)."""
        removed = 0
        for path in self.root.glob("*.tmp"):
            pid = path.suffixes[-2].lstrip(".") if len(path.suffixes) >= 2 else ""
            if pid.isdigit() and not _process_alive(int(pid)):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    # ----- read -----------------------------------------------------------------
    def packets(self, video_id: str, start: int, count: int) -> bytes:
        """The raw H.264 bytes of frames ``start .. start+count-1`` (for stream-copy export)."""
        offsets = self._checked_offsets(video_id, start, count)
        with open(self._stream_path(video_id), "rb") as handle:
            handle.seek(offsets[start])
            return handle.read(offsets[start + count] - offsets[start])

    def access_units(self, video_id: str, start: int, count: int) -> Iterator[bytes]:
        """The frames' H.264 access units one by one (Annex-B bytes, each a whole IDR frame),
        read in blocks of :data:`READ_BLOCK` frames: few reads, bounded memory. The range is
        checked at the call (``IndexError``), not when the iterator is first advanced."""
        offsets = self._checked_offsets(video_id, start, count)

        def units() -> Iterator[bytes]:
            for block in range(start, start + count, READ_BLOCK):
                n = min(READ_BLOCK, start + count - block)
                data, base = self.packets(video_id, block, n), offsets[block]
                for i in range(block, block + n):
                    yield data[offsets[i] - base: offsets[i + 1] - base]

        return units()

    def parameter_sets(self, video_id: str) -> bytes:
        """The SPS and PPS NAL units (Annex B) of a stored video: a muxer's codec extradata.
        Equal for every video of the store, since they all use the same encoder settings."""
        # x264 starts the SEI and slice NAL units with 3-byte start codes; a 4-byte one leaves
        # a zero byte at the end of the unit before it (an SPS/PPS itself ends in its stop bit)
        nals = [nal.rstrip(b"\x00") for nal in self.packets(video_id, 0, 1).split(b"\x00\x00\x01")]
        return b"".join(b"\x00\x00\x00\x01" + nal for nal in nals if nal and (nal[0] & 0x1F) in (7, 8))

    def read(self, video_id: str, start: int, count: int,
             size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
        """Decode frames ``start .. start+count-1`` as ``uint8`` arrays of shape (H, W, 3), RGB.

        ``size`` is (width, height); ``None`` keeps the store's resolution.
        """
        return _decode(self.access_units(video_id, start, count),
                       size or (self.settings.width, self.settings.height))

    def read_indices(self, video_id: str, indices: Iterable[int],
                     size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
        """Decode the given frame indices in the given order (every frame is intra, so any
        order works and costs one frame decode each)."""
        offsets = self.index(video_id)["offsets"]
        frames = len(offsets) - 1

        def units() -> Iterator[bytes]:
            with open(self._stream_path(video_id), "rb") as handle:
                for i in indices:
                    if not 0 <= i < frames:
                        raise IndexError(f"frame {i} outside video {video_id} (0..{frames - 1})")
                    handle.seek(offsets[i])
                    yield handle.read(offsets[i + 1] - offsets[i])

        return _decode(units(), size or (self.settings.width, self.settings.height))

    def _checked_offsets(self, video_id: str, start: int, count: int) -> list[int]:
        offsets = self.index(video_id)["offsets"]
        frames = len(offsets) - 1
        if start < 0 or count < 0 or start + count > frames:
            raise IndexError(f"frames {start}..{start + count - 1} outside video {video_id} (0..{frames - 1})")
        return offsets


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _decode(units: Iterable[bytes], size: tuple[int, int]) -> Iterator[np.ndarray]:
    """Decode access units to RGB arrays of ``size`` (width, height).

    One threaded decoder and one reused swscale context per call: reusing the reformatter
    roughly doubles throughput against ``frame.to_ndarray(format="rgb24")``, which builds a
    new conversion context for every frame.
    """
    width, height = size
    ctx = av.CodecContext.create("h264", "r")
    ctx.thread_type = "AUTO"
    reformatter = VideoReformatter()
    for packet in chain(map(av.Packet, units), [None]):  # None flushes the decoder's delayed frames
        for frame in ctx.decode(packet):
            yield reformatter.reformat(frame, width=width, height=height, format="rgb24",
                                       interpolation="BICUBIC").to_ndarray()


def _read_settings(path: Path) -> StoreSettings:
    try:
        raw = json.loads(path.read_text())
        if not isinstance(raw, dict) or set(raw) != {f.name for f in fields(StoreSettings)}:
            raise ValueError(f"keys must be exactly {sorted(f.name for f in fields(StoreSettings))}")
        return StoreSettings(**raw)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(path, f"damaged frame store settings ({exc})") from None


def display_aspect(stderr: bytes) -> float | None:
    """The input video's display aspect ratio from ffmpeg's stream line: coded size times the
    sample aspect ratio, swapped for a +-90 degree rotation (ffmpeg auto-rotates when decoding)."""
    match = _VIDEO_SIZE.search(stderr)
    if not match:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    sar = (int(match.group(3)), int(match.group(4))) if match.group(3) else (1, 1)
    if sar[0] > 0 and sar[1] > 0:
        width = width * sar[0] / sar[1]
    rotation = _ROTATION.search(stderr)
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width
    return round(width / height, 6) if width > 0 and height > 0 else None


def _container_duration(stderr: bytes) -> float | None:
    match = _DURATION.search(stderr)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _last_error_line(stderr: bytes) -> str:
    """ffmpeg's reason for failing: its last line, except where an earlier one says more."""
    if b"matches no streams" in stderr:
        return "no video stream"
    lines = [l for l in stderr.decode(errors="replace").splitlines() if l.strip()]
    return lines[-1].strip() if lines else "ffmpeg failed"
