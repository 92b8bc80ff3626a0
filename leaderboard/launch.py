"""``python -m leaderboard [--results DIR] [--data DIR] [--port N] [--headless]``: start the page.

Runs ``streamlit run leaderboard/app.py -- --results DIR --data DIR`` with this Python. Lives
here, not in ``__main__.py``, so tests and tools can build the command without importing a
``__main__``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def build_command(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m leaderboard", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--data", default="data/niah", help="benchmark folder (default: data/niah)")
    parser.add_argument("--port", type=int, default=None, help="port (default: Streamlit's, 8501)")
    parser.add_argument("--address", default=None, help="address to bind (e.g. 127.0.0.1)")
    parser.add_argument("--headless", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    from leaderboard.upload import MAX_UPLOAD_MB  # the server's limit is the page's and the widget's

    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--browser.gatherUsageStats", "false",
           "--server.maxUploadSize", str(MAX_UPLOAD_MB)]
    if args.port is not None:
        cmd += ["--server.port", str(args.port)]
    if args.address:
        cmd += ["--server.address", args.address]
    if args.headless:
        cmd += ["--server.headless", "true"]
    return cmd + ["--", "--results", args.results, "--data", args.data]


def main(argv: list[str] | None = None) -> int:
    cmd = build_command(argv)
    if os.name == "posix":
        # become the server (no child left running when this process is signalled)
        os.execv(cmd[0], cmd)
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130

