"""A video inside a zip archive, read in place: Video-MME ships its 900 videos as
``videos_chunked_01.zip`` ... ``videos_chunked_20.zip`` (~5 GB each), and unzipping 100 GB
just to decode every video once is a cost nobody should pay.

The release's zips *store* their videos (MP4 does not deflate), so a member is one contiguous
byte range of the archive: ffmpeg reads it through its ``subfile`` protocol, seeking freely,
with no copy and the very bytes an extracted file would have (so the frame store is identical
to one built from the extracted release, and so is the source fingerprint).
A *deflated* member has no such byte range; :meth:`ZipMember.extracted` copies that one
member to a temporary file for the duration of its decode.

Standard library only: the frame store imports this.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import struct
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra field length
_MIB = 1 << 20


@dataclass(frozen=True)
class ZipMember:
    """``name`` inside ``archive``; ``size`` is its uncompressed size."""

    archive: Path
    name: str
    header_offset: int
    size: int
    stored: bool

    def __str__(self) -> str:  # how messages name it
        return f"{self.archive}:{self.name}"

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    def data_offset(self) -> int:
        """Where the member's bytes start in the archive (after its local header, whose extra
        field may differ from the central directory's)."""
        with open(self.archive, "rb") as handle:
            handle.seek(self.header_offset)
            signature, name_len, extra_len = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
        if signature != b"PK\x03\x04":
            raise OSError(f"{self}: bad local file header")
        return self.header_offset + _LOCAL_HEADER.size + name_len + extra_len

    def ffmpeg_input(self) -> str:
        """ffmpeg's ``-i`` for this member: the byte range of the archive (stored members only)."""
        if not self.stored:
            raise ValueError(f"{self}: deflated members have no byte range; use extracted()")
        start = self.data_offset()
        return f"subfile,,start,{start},end,{start + self.size},,:{self.archive}"

    def fingerprint(self) -> dict[str, object]:
        """Size and SHA-256 of the first and last MiB, exactly as
        :func:`niah.framestore.source_fingerprint` computes them for the extracted file."""
        digest = hashlib.sha256()
        with self._open() as handle:
            digest.update(handle.read(_MIB))
            if self.size > 2 * _MIB:
                handle.seek(self.size - _MIB)
                digest.update(handle.read(_MIB))
        return {"size": self.size, "sha256_head_tail": digest.hexdigest()}

    @contextmanager
    def extracted(self, folder: Path) -> Iterator[Path]:
        """This member copied to a temporary file in ``folder``, removed afterwards."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.stem}{Path(self.name).suffix}.{os.getpid()}.tmp"
        try:
            with self._open() as source, open(path, "wb") as target:
                shutil.copyfileobj(source, target, 4 * _MIB)
            yield path
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def _open(self) -> Iterator[Any]:
        """The member's bytes as a seekable file: a window on the archive when stored (seeks
        cost nothing), zipfile's decompressing stream otherwise."""
        if self.stored:
            start = self.data_offset()
            with open(self.archive, "rb") as handle:
                yield _Window(handle, start, self.size)
        else:
            with zipfile.ZipFile(self.archive) as archive, archive.open(self.name) as handle:
                yield handle


class _Window:
    """``read``/``seek`` on the bytes of a stored member, relative to its start and never past
    its end (the next member's header follows)."""

    def __init__(self, handle: BinaryIO, start: int, size: int) -> None:
        self._handle, self._start, self._size, self._pos = handle, start, size, 0
        handle.seek(start)

    def read(self, size: int) -> bytes:
        data = self._handle.read(max(0, min(size, self._size - self._pos)))
        self._pos += len(data)
        return data

    def seek(self, offset: int) -> None:
        self._pos = offset
        self._handle.seek(self._start + offset)


def video_members(archive: Path, suffixes: tuple[str, ...]) -> list[ZipMember]:
    """The members of ``archive`` whose name ends in one of ``suffixes`` (read from the
    central directory only: no member is opened)."""
    with zipfile.ZipFile(archive) as handle:
        return [ZipMember(archive, info.filename, info.header_offset, info.file_size,
                          info.compress_type == zipfile.ZIP_STORED)
                for info in handle.infolist()
                if not info.is_dir() and info.filename.endswith(suffixes)]


__all__ = ["ZipMember", "video_members"]
