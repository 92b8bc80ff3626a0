"""``python -m generator build --engine ray``: decode the sources into the frame store on Ray.

Decoding every source video at 1 FPS is the expensive part of a build; planning and writing
the manifest are not. :class:`RayExecutor` is a ``concurrent.futures``-style executor that
:func:`generator.build.ingest` uses instead of its thread pool, so the ingest logic (what is
already in the store, what is skipped and reported) is the same code for both engines:

* each ingest is a Ray task (``num_cpus=1``: one single-threaded ffmpeg) that writes
  ``<video>.h264`` and then its ``.json`` index into the frame store. The store and the
  source videos must therefore be at the same path on every node: a shared filesystem;
* a worker that dies mid-decode (OOM kill, lost node) leaves at most a ``*.tmp`` file, which
  nothing reads; Ray runs the task again (``max_retries``); a video whose worker died on every
  try stops the build with one ``error:`` line (exit 2), and a rerun resumes it;
* a source that does not decode is a :class:`niah.framestore.SourceError` on the worker, sent
  back as such: skipped and reported exactly as with the local engine.

Ray is imported lazily (:mod:`niah.ray_cluster`, shared with ``runner score --engine ray``):
nothing else needs it installed.
"""
from __future__ import annotations

from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, Callable

from niah.errors import InputError
from niah.framestore import SourceError
from niah.ray_cluster import import_ray, init_ray
from niah.zipmember import ZipMember

#: Ray runs a task whose worker died this many more times before giving up on the video
MAX_RETRIES = 3


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[str, Any]:
    """Runs on the worker: a bad source comes back as a value, not as a Ray task error."""
    try:
        return "ok", fn(*args, **kwargs)
    except SourceError as exc:
        return "source", str(exc)


class RayExecutor(Executor):
    """Submit functions as Ray tasks; futures resolve on the driver.

    ``RayExecutor(workers)`` is what :func:`generator.build.build` calls (``executor=``); use
    :func:`factory` to bind an address. ``workers`` is ignored: the cluster's CPUs bound how
    many decodes run at once.
    """

    def __init__(self, workers: int = 0, address: str | None = None, max_retries: int = MAX_RETRIES) -> None:
        self.ray, self._own = init_ray(address)
        self._remote = self.ray.remote(num_cpus=1, max_retries=max_retries)(_call)
        self._refs: dict[Any, tuple[Future, str]] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        ref = self._remote.remote(fn, args, kwargs)
        outer: Future = Future()
        label = _label(args)
        self._refs[ref] = (outer, label)
        ref.future().add_done_callback(lambda inner: self._resolve(ref, inner))
        return outer

    def _resolve(self, ref: Any, inner: Future) -> None:
        outer, label = self._refs.pop(ref, (None, ""))
        if outer is None or outer.done():
            return
        try:
            kind, value = inner.result()
        except self.ray.exceptions.RayTaskError as exc:  # the function raised (a bug): as a thread pool would
            outer.set_exception(exc)
            return
        except self.ray.exceptions.RayError as exc:  # worker crashed / node died / OOM-killed, every try
            outer.set_exception(InputError(label or "--engine ray", "the Ray worker decoding it died "
                                           f"{1 + MAX_RETRIES} times ({type(exc).__name__}); rerun to "
                                           "resume, or move the file away to skip it"))
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's future.result()
            outer.set_exception(exc)
            return
        if kind == "source":
            outer.set_exception(SourceError(value))
        else:
            outer.set_result(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for ref, (outer, _label_) in list(self._refs.items()):
            outer.cancel()
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished
                pass
        self._refs.clear()
        if self._own and self.ray.is_initialized():
            self.ray.shutdown()
            self._own = False


def factory(address: str | None = None) -> Callable[[int], RayExecutor]:
    """``build(config, executor=factory(address))``: ingest on the Ray cluster at ``address``
    (``None``: a local Ray instance started for the build and stopped after it). Fails at once
    (:class:`InputError`) where ray is not installed; Ray itself starts when the ingest does."""
    import_ray()
    return lambda workers: RayExecutor(workers, address)


def _label(args: tuple) -> str:
    paths = [a for a in args if isinstance(a, ZipMember) or (isinstance(a, Path) and a.suffix)]
    return str(paths[-1]) if paths else ""


__all__ = ["RayExecutor", "factory"]
