"""The Video NIAH leaderboard page: read (``loading``), populate (``data``: one aggregation,
cached per folder state and answer rule), display (one module per tab, composed in
:data:`TABS`; a new tab is one line there).

    streamlit run leaderboard/app.py -- --results results/ --data data/niah
    python -m leaderboard [--results results/] [--data data/niah] [--address 127.0.0.1] [--read-only]

The tab, the runs and the view are in the URL (``?tab=Heatmaps&view=...&a=...``): a reload
or a shared link restores them.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `streamlit run` puts leaderboard/ on the path, not the repo
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from leaderboard import data as lb  # noqa: E402
from leaderboard import loading as ld  # noqa: E402
from leaderboard import task_filter  # noqa: E402
from leaderboard import (tab_breakdowns, tab_cases, tab_diagnostics, tab_heatmaps,  # noqa: E402
                         tab_leaderboard, tab_significance, tab_upload)
from leaderboard import upload as up  # noqa: E402
from leaderboard.page import Page, public  # noqa: E402
from niah import answers  # noqa: E402

DEFAULT_RESULTS = "results"
DEFAULT_DATA = "data/niah"
#: The page's tabs, in order: each module has ``TITLE`` and ``render(page)``.
TABS = [tab_leaderboard, tab_significance, tab_heatmaps, tab_breakdowns, tab_cases, tab_upload, tab_diagnostics]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="leaderboard", allow_abbrev=False)
    parser.add_argument("--results", default=os.environ.get("LEADERBOARD_RESULTS", DEFAULT_RESULTS))
    parser.add_argument("--data", default=os.environ.get("LEADERBOARD_DATA", DEFAULT_DATA))
    parser.add_argument("--uploads", default=None, help="uploads folder (default: <results>/uploads)")
    parser.add_argument("--read-only", action="store_true", help="no upload form (a public board)")
    parser.add_argument("--max-uploads", type=int, default=up.MAX_UPLOADS)
    parser.add_argument("--max-uploads-mb", type=float, default=up.MAX_UPLOADS_TOTAL_MB)
    args, _ = parser.parse_known_args(argv)
    if args.uploads is None:
        args.uploads = str(Path(args.results) / ld.UPLOADS_DIR)
    return args


@st.cache_data(show_spinner="Loading results…", max_entries=8)
def load_tables(results_root: str, data_dir: str, uploads_root: str, rule: str,
                signature: tuple, tasks: tuple[str, ...] = ()) -> tuple[lb.Tables, ld.Manifest]:
    """Load and aggregate once per state of the folders (``signature`` is the cache key) and
    task filter (``tasks``: the families kept, () for all)."""
    del signature
    manifest = ld.load_manifest(data_dir)
    loaded = ld.load_results(results_root, uploads_root=uploads_root)
    if tasks:
        loaded, manifest = task_filter.restrict(loaded, manifest, tasks)
    return lb.build_tables(loaded, manifest, rule), manifest


def main() -> None:
    st.set_page_config(page_title="Video NIAH leaderboard", layout="wide")
    args = parse_args(sys.argv[1:])
    st.title("Video NIAH leaderboard")
    rule = st.segmented_control("Answer rule", answers.rule_names(), default=answers.DEFAULT_RULE, required=True,
                                key="rule", bind="query-params", help=answers.rules_help())
    signature = ld.folder_signature(args.results, args.data, args.uploads)
    tables, manifest = load_tables(args.results, args.data, args.uploads, rule, signature)
    tasks = task_filter.choose(manifest)
    if tasks:
        tables, manifest = load_tables(args.results, args.data, args.uploads, rule, signature, tasks)
    page = Page(tables, manifest, args.results, args.data, args.uploads, args.read_only, args.max_uploads,
                int(args.max_uploads_mb * 2**20))
    st.caption(f"Results folder: {Path(args.results).name} · benchmark: {Path(args.data).name}"
               + (f" · {len(manifest.cases)} cases, manifest {manifest.fingerprint[:12]}" if manifest.available
                  else "") + f" · answers read under the '{rule}' rule")
    if manifest.message:
        st.warning(lb.public_text(manifest.message, public(page)))
    tabs = [t for t in TABS if not (args.read_only and t is tab_upload)]
    if tables.leaderboard.empty:
        st.info("No results yet: the results folder holds no runs (folders with a run.json). "
                + ("Score a model with the runner." if args.read_only else
                   "Score a model with the runner, or upload a results file below."))
        page.tables = None
        if not args.read_only:
            st.subheader("Upload results")
            tab_upload.render(page)
        return
    containers = st.tabs([t.TITLE for t in tabs], key="tab", bind="query-params")
    for tab, container in zip(tabs, containers):
        if container.open:  # only the shown tab runs
            with container:
                tab.render(page)


main()
