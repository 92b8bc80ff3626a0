"""``generator inspect``: what a built benchmark holds, as tables a researcher checks first."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from niah.accuracy import needle_duration_bin
from niah.cases import Benchmark
from niah.schedule import frame_sharing
from niah.schema import DEFAULT_FAMILY, FAMILIES, Case


def case_table(bench: Benchmark) -> pd.DataFrame:
    """One row per case with the columns the summaries group by."""
    return pd.DataFrame({
        "length": [c.length for c in bench.cases],
        "depth_decile": [c.depth_decile for c in bench.cases],
        "task_type": [c.task_type for c in bench.cases],
        "family": pd.Categorical([c.family for c in bench.cases], categories=list(FAMILIES)),
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
    if set(table.family) != {DEFAULT_FAMILY}:
        parts.append("\ncases by length x task family:\n" + pd.crosstab(
            table.length, table.family.cat.remove_unused_categories(), margins=True, margins_name="all").to_string())
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


def case_needles(case: Case) -> str:
    """One case as ``generator inspect --case`` prints it: its question and every needle's span."""
    lines = [f"{case.case_id}: {case.family}, {case.length} frames at {case.fps:g} FPS, depth {case.depth:.3f}",
             f"question: {case.question}", *(f"  {o}" for o in case.options), f"answer: {case.answer}"]
    if case.about:
        lines.append(f"about: {case.about}")
    for i, n in enumerate(case.all_needles, 1):
        asked = " (asked about)" if n in case.asked_needles and len(case.all_needles) > 1 else ""
        lines.append(f"needle {i}: frames {n.start_frame}..{n.start_frame + n.num_frames - 1} "
                     f"({n.num_frames} frames) from {n.video_id}, {n.question_id}{asked}")
    return "\n".join(lines)


def haystack_layout(bench: Benchmark) -> str:
    """Which haystack layout the benchmark uses and how evenly its cases share source frames."""
    recorded = bench.dataset.get("haystacks") or {}
    layout = recorded.get("layout") or "independent (built before layouts were recorded)"
    tape = recorded.get("tape")
    mean, peak = frame_sharing(bench.cases)
    return (f"haystack layout: {layout}" + (f" (a tape of {len(tape)} videos)" if tape else "")
            + f"; cases per haystack frame: mean {mean:.1f}, max {peak}")
