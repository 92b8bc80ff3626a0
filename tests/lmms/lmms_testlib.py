"""Helpers the lmms-eval tests import (a module name of its own: ``conftest`` is not unique)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def offline_env(hf_home: Path) -> dict[str, str]:
    """What lmms-eval runs under in these tests: no hub, no datasets download, and any HTTP(S)
    connection sent to a closed local port, so a network access fails instead of passing."""
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(hf_home),
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
    env.pop("VIDEO_NIAH_MP4_CACHE", None)
    return env


DUMMY_RESPONSE = "The answer is (C)"


def run_lmms_eval(args: list[str], hf_home: Path, timeout: float = 900):
    """``python -m runner lmms-eval ARGS`` (lmms-eval's own command line) offline; the finished process."""
    return subprocess.run([sys.executable, "-m", "runner", "lmms-eval", *args], cwd=ROOT, env=offline_env(hf_home),
                          capture_output=True, text=True, timeout=timeout)
