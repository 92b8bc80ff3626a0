"""The ffmpeg binary this project uses: the one inside the ``imageio-ffmpeg`` wheel.

Using the wheel's binary (which has libx264, drawtext and the lavfi sources) means no
system ffmpeg is needed and every machine decodes and encodes with the same build,
which matters for reproducibility: the 1-FPS frame count of a source comes from this
build's ``fps`` filter.
"""
from __future__ import annotations

import ctypes
import functools
import signal
import subprocess
from typing import Sequence


@functools.cache
def ffmpeg_exe() -> str:
    """The bundled binary. Imported here, where ffmpeg is about to be spawned, not at module
    import: reading a frame store (scoring) needs no ffmpeg, and a GPU box set up for scoring
    alone need not have the wheel."""
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def die_with_parent() -> None:
    """``preexec_fn`` for ffmpeg children: on Linux, SIGKILL them when the parent dies, so a
    killed build leaves no orphan still writing into the store."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_ffmpeg(args: Sequence[str], input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg quietly; raises ``RuntimeError`` with ffmpeg's last stderr line on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           *([] if input is not None else ["-nostdin"]), *args]
    proc = subprocess.run(cmd, input=input, capture_output=True, preexec_fn=die_with_parent)
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"ffmpeg exited with {proc.returncode}")
    return proc
