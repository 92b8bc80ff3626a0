"""``python -m leaderboard [--results DIR] [--data DIR] [--port N] [--address A] [--read-only]``:
start the page; ``python -m leaderboard export --results DIR --data DIR --out DIR``: write
the static page (:mod:`leaderboard.export`).

Runs ``streamlit run leaderboard/app.py -- --results DIR --data DIR`` with this Python,
bound to 127.0.0.1 (this machine only) unless ``--address`` says otherwise. Lives here, not
in ``__main__.py``, so tests and tools can build the command without importing a ``__main__``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
LOCAL = "127.0.0.1"


def build_command(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m leaderboard", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--data", default="data/niah", help="benchmark folder (default: data/niah)")
    parser.add_argument("--port", type=int, default=None, help="port (default: Streamlit's, 8501)")
    parser.add_argument("--address", default=LOCAL,
                        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0: every interface, "
                             "e.g. to share it on a lab network)")
    parser.add_argument("--headless", action="store_true", help="do not open a browser")
    parser.add_argument("--read-only", action="store_true", help="no upload form (a public board)")
    parser.add_argument("--uploads", default=None, help="uploads folder (default: <results>/uploads)")
    parser.add_argument("--max-uploads", type=int, default=None, help="cap on uploaded runs (default 50)")
    parser.add_argument("--max-uploads-mb", type=float, default=None, help="cap on the uploads' total size (500)")
    args = parser.parse_args(argv)
    from leaderboard.upload import MAX_UPLOAD_MB  # the server's limit is the page's and the widget's

    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--browser.gatherUsageStats", "false",
           "--server.maxUploadSize", str(MAX_UPLOAD_MB), "--client.toolbarMode", "minimal"]
    if args.port is not None:
        cmd += ["--server.port", str(args.port)]
    cmd += ["--server.address", args.address]
    if args.headless:
        cmd += ["--server.headless", "true"]
    app_args = ["--", "--results", args.results, "--data", args.data]
    if args.read_only:
        app_args.append("--read-only")
    for flag, value in (("--uploads", args.uploads), ("--max-uploads", args.max_uploads),
                        ("--max-uploads-mb", args.max_uploads_mb)):
        if value is not None:
            app_args += [flag, str(value)]
    return cmd + app_args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export"]:
        from leaderboard.export import main as export_main
        return export_main(argv[1:])
    cmd = build_command(argv)
    if os.name == "posix":
        # become the server (no child left running when this process is signalled)
        os.execv(cmd[0], cmd)
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130

