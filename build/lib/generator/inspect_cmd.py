"""``generator inspect``: what a built benchmark holds, as tables a researcher checks first."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from niah.accuracy import needle_duration_bin
from niah.cases import Benchmark
from niah.schedule import frame_sharing


def case_table(bench: Benchmark) -> pd.DataFrame:
    """One row per case with the columns the summaries group by."""
    return pd.DataFrame({
        "length": [c.length for c in bench.cases],
        "depth_decile": [c.depth_decile for c in bench.cases],
        "task_type": [c.task_type for c in bench.cases],
        # the leaderboard's and `runner report`'s bins, from the one definition
        "needle_seconds": needle_duration_bin([c.needle.num_frames / c.fps for c in bench.cases]),
    })


def storage_bytes(bench: Benchmark) -> tuple[int, int]:
    """(frame store bytes, manifest bytes)."""
    store = sum(p.stat().st_size for p in Path(bench.store.root).iterdir() if p.is_file())
    return store, (bench.root / "manifest.jsonl").stat().st_size


def summary(bench: Benchmark) -> str:
    """The printed report: counts by length x task type, by depth decile and needle duration."""
    table = case_table(bench)
    parts = [f"{bench.root}: {len(table)} cases, manifest sha256 {bench.fingerprint[:16]}"]
    if table.empty:
        return parts[0]
    parts.append("\ncases by length x task type:\n"
                 + pd.crosstab(table.length, table.task_type, margins=True, margins_name="all").to_string())
    parts.append("\ncases by length x needle depth decile:\n"
                 + pd.crosstab(table.length, table.depth_decile, margins=True, margins_name="all").to_string())
    parts.append("\ncases by needle duration:\n"
                 + table.needle_seconds.value_counts(sort=False).to_string())
    store, manifest = storage_bytes(bench)
    frames = sum(bench.store.num_frames(v) for v in bench.store.video_ids())
    parts.append(f"\nframe store: {len(bench.store.video_ids())} videos, {frames} frames, {store / 1e6:.1f} MB "
                 f"({store / max(frames, 1) / 1e3:.1f} KB/frame); cases reference {int(table.length.sum())} frames"
                 f"\ndisk per case: {(store + manifest) / len(table) / 1e3:.1f} KB "
                 f"(store + manifest, shared by all cases)")
    parts.append(haystack_layout(bench))
    report = bench.dataset.get("report", {})
    for video, reason in report.get("skipped_videos", {}).items():
        parts.append(f"skipped video {video}: {reason}")
    for note in report.get("notes", []):
        parts.append(f"note: {note}")
    return "\n".join(parts)


def haystack_layout(bench: Benchmark) -> str:
    """Which haystack layout the benchmark uses and how evenly its cases share source frames."""
    recorded = bench.dataset.get("haystacks") or {}
    layout = recorded.get("layout") or "independent (built before layouts were recorded)"
    tape = recorded.get("tape")
    mean, peak = frame_sharing(bench.cases)
    return (f"haystack layout: {layout}" + (f" (a tape of {len(tape)} videos)" if tape else "")
            + f"; cases per haystack frame: mean {mean:.1f}, max {peak}")
