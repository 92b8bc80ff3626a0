"""Write files so that a reader never sees a half-written one.

Every output of the generator and runner that a later step trusts goes through here:
the bytes land in a temporary file beside the target and are renamed into place,
which is atomic on POSIX filesystems. An interrupted run leaves at most a ``*.tmp``
file behind, which nothing reads.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open ``path.<pid>.tmp`` for writing and rename it to ``path`` only if the block succeeds.

    The pid in the name keeps two processes writing the same file (shards sharing a
    cache) from mixing their bytes: each renames a whole file, the last one wins.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def dumps_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, fixed separators) so equal data gives equal bytes."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, dumps_json(obj))
