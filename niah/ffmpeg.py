"""The ffmpeg binary this project uses: the one inside the ``imageio-ffmpeg`` wheel.

Using the wheel's binary (which has libx264, drawtext and the lavfi sources) means no
system ffmpeg is needed and every machine decodes and encodes with the same build,
which matters for reproducibility: the 1-FPS frame count of a source comes from this
build's ``fps`` filter.
"""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
from typing import Callable, Sequence


@functools.cache
def ffmpeg_exe() -> str:
    """The bundled binary. Imported here, where ffmpeg is about to be spawned, not at module
    import: reading a frame store (scoring) needs no ffmpeg, and a GPU box set up for scoring
    alone need not have the wheel."""
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def die_with_parent(parent: int | None = None) -> None:
    """``preexec_fn`` for ffmpeg children (:func:`child_of_this_process`): on Linux, SIGKILL them
    when the parent dies, so a killed build leaves no orphan still writing into the store.
    ``parent``: the pid that started the child; if it died between the fork and this request
    (the child already has another parent, and the kernel will never send the signal), the
    child ends itself here."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def child_of_this_process() -> Callable[[], None]:
    """The ``preexec_fn`` of a child that must not outlive the process starting it."""
    return functools.partial(die_with_parent, os.getpid())


def run_ffmpeg(args: Sequence[str], input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg quietly; raises ``RuntimeError`` with ffmpeg's last stderr line on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           *([] if input is not None else ["-nostdin"]), *args]
    proc = subprocess.run(cmd, input=input, capture_output=True, preexec_fn=child_of_this_process())
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"ffmpeg exited with {proc.returncode}")
    return proc
