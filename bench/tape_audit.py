"""The tape's cost to the benchmark's statistics, over many seeds: how evenly each layout uses
the haystack frames, and how many distinct haystack cuts (one video followed by another) a
benchmark samples.

Why: one seed's figure ("at most 34 cases per frame with the tape vs 40 independent") is a
draw, not a property; and the tape fixes which haystack video follows which, so an effect tied
to a pair of adjacent videos (a cut the model might notice) is sampled from the tape's few
hundred neighbour pairs instead of thousands. Effects tied to a video or its content are
unchanged: every haystack frame is used about as often in both layouts.

Both layouts are planned by the generator's own planner (``generator.plan.plan_cases``) on the
Video-MME-sized corpus of ``bench/bench_reuse.py`` (900 videos, 300 of them long haystacks;
3,000 cases at 2K..10K frames), one plan per seed and layout. The maxima are compared with
the two-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``): the seeds of the two layouts
are independent draws, and a maximum is a discrete, skewed statistic, so no normality is
assumed. Manifest only: no frame is decoded. About 1 s a seed on one core.

    .venv/bin/python bench/tape_audit.py
    .venv/bin/python bench/tape_audit.py --seeds 5 --cases 600
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from scipy.stats import mannwhitneyu

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_reuse import videomme_like  # noqa: E402
from generator.plan import LAYOUTS, parse_lengths, plan_cases  # noqa: E402
from niah.schedule import frame_sharing  # noqa: E402
from niah.schema import Case  # noqa: E402


def haystack_cuts(cases: list[Case]) -> set[tuple[str, str]]:
    """Distinct ordered pairs (video, the next haystack video) inside the cases' haystacks.

    The needle splits one haystack video in two; its two parts are the same video, so no cut."""
    cuts: set[tuple[str, str]] = set()
    for case in cases:
        videos = [seg.video_id for seg in case.segments if seg.role == "haystack"]
        cuts.update((a, b) for a, b in zip(videos, videos[1:]) if a != b)
    return cuts


def audit(seeds: int, cases: int) -> dict[str, dict[str, list[float]]]:
    """Per layout: the per-seed mean and max cases per haystack frame and the distinct cuts."""
    needles, haystacks = videomme_like()
    print(f"Video-MME-sized corpus: {len(needles)} needle questions, {len(haystacks)} long haystack videos; "
          f"{cases} cases at 2k..10k, plan seeds 0..{seeds - 1}")
    figures: dict[str, dict[str, list[float]]] = {layout: {"mean": [], "max": [], "cuts": []} for layout in LAYOUTS}
    for seed in range(seeds):
        for layout in LAYOUTS:
            plan = plan_cases(needles, haystacks, parse_lengths("2k..10k"), cases, seed=seed, layout=layout).cases
            mean, peak = frame_sharing(plan)
            figures[layout]["mean"].append(mean)
            figures[layout]["max"].append(peak)
            figures[layout]["cuts"].append(len(haystack_cuts(plan)))
    return figures


def spread(values: list[float]) -> str:
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="plan seeds per layout (default 20)")
    parser.add_argument("--cases", type=int, default=3000, help="cases per benchmark (default 3000)")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds: at least 2, for a standard deviation")
    figures = audit(args.seeds, args.cases)
    print(f"\n| haystack layout | cases per haystack frame, mean | max (mean ± SD over {args.seeds} seeds) "
          f"| distinct haystack cuts (mean ± SD) |")
    print("|---|---|---|---|")
    for layout in LAYOUTS:
        f = figures[layout]
        print(f"| {layout} | {spread(f['mean'])} | {spread(f['max'])} | {spread(f['cuts'])} |")
    test = mannwhitneyu(figures["tape"]["max"], figures["independent"]["max"], alternative="two-sided")
    print(f"\nmax cases per haystack frame, tape vs independent: two-sided Mann-Whitney U = {test.statistic:.1f}, "
          f"p = {test.pvalue:.3f} (scipy.stats.mannwhitneyu, {args.seeds} seeds each)")
    ratio = statistics.mean(figures["independent"]["cuts"]) / statistics.mean(figures["tape"]["cuts"])
    print(f"distinct haystack cuts: independent / tape = {ratio:.1f}x (the tape's cuts are its neighbour pairs)")


if __name__ == "__main__":
    main()
