"""Joining or starting a Ray cluster, for both ``generator build`` and ``runner score``.

It lives in ``niah/`` because the generator and the runner both spread work over Ray and
neither may import the other. Ray is imported lazily: nothing else needs it installed.

A cluster with token authentication (Ray >= 2.5x: a head started where ``~/.ray/auth_token``
exists, or with ``RAY_AUTH_MODE=token``) refuses a client that does not present the token.
Ray then logs a wall of ``InvalidAuthToken`` lines from its C++ core before ``ray.init``
fails; :func:`init_ray` keeps Ray's stderr aside while it connects and turns that case into
one line saying how to pass the token.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from typing import Any, Callable

from niah.errors import InputError

#: What Ray prints or raises when the cluster wants a token this process did not present.
_AUTH_SIGNS = ("InvalidAuthToken", "UNAUTHENTICATED", "Unauthenticated", "AuthenticationError",
               "authentication token")
TOKEN_HELP = ("the Ray cluster requires token authentication: run with RAY_AUTH_MODE=token and the "
              "cluster's token in RAY_AUTH_TOKEN, or in a file named by RAY_AUTH_TOKEN_PATH "
              "(default ~/.ray/auth_token; `ray get-auth-token` on the head prints it)")


class RayClusterError(InputError):
    """Ray is missing or the cluster cannot be used: one line, exit 2."""


def import_ray(flag: str = "--engine ray") -> Any:
    """The ``ray`` module, or a one-line error saying how to get it."""
    try:
        import ray
    except ImportError:
        raise RayClusterError(flag, "ray is not installed; `pip install ray` (or use --engine local)") from None
    return ray


def init_ray(address: str | None, flag: str = "--engine ray") -> tuple[Any, bool]:
    """Connect to ``address`` (``auto``, ``host:port`` or ``ray://host:port``), or start a
    local Ray instance when ``address`` is ``None``. Returns ``(ray, started_here)``; a
    caller that started Ray shuts it down."""
    ray = import_ray(flag)
    if ray.is_initialized():
        return ray, False
    # Workers import the project as installed on their node (a local instance's workers inherit
    # this process's environment, PYTHONPATH included); no runtime_env: it costs seconds per worker.
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address is None:
        kwargs.update(address="local", include_dashboard=False, num_cpus=os.cpu_count() or 1)
    else:
        kwargs["address"] = address
    where = f"--address {address}" if address else flag
    expected = (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError)
    # Joining: Ray's stderr kept aside (see the module docstring). Starting: left alone, as the
    # processes a local instance spawns would inherit the spool file.
    error, logged = _run(lambda: ray.init(**kwargs), expected, aside=address is not None)
    if error is None:
        sys.stderr.write(logged)  # Ray's own warnings, as they would have appeared
        return ray, True
    if any(sign in f"{type(error).__name__}: {error}\n{logged}" for sign in _AUTH_SIGNS):
        raise RayClusterError(where, TOKEN_HELP) from None
    raise RayClusterError(where, "cannot start or reach a Ray cluster "
                                 f"({' '.join(str(error).split())[:300]})") from None


def _run(call: Callable[[], object], expected: tuple[type[BaseException], ...],
         aside: bool) -> tuple[BaseException | None, str]:
    """Run ``call``; returns the ``expected`` exception it raised (or ``None``) and, with
    ``aside``, what it wrote to file descriptor 2 (Python's and Ray's C++ core's), which is
    sent to a temporary file meanwhile."""
    if not aside:
        try:
            call()
        except expected as exc:
            return exc, ""
        return None, ""
    sys.stderr.flush()
    saved = os.dup(2)
    error: BaseException | None = None
    with tempfile.TemporaryFile() as spool:
        os.dup2(spool.fileno(), 2)
        try:
            call()
        except expected as exc:
            error = exc
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        spool.seek(0)
        return error, spool.read().decode("utf-8", "replace")


__all__ = ["RayClusterError", "TOKEN_HELP", "import_ray", "init_ray"]
