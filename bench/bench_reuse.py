"""Manifest-only simulation: how often SigLIP runs per case frame under the runner's schedule.

No frame is decoded and no model runs: a Video-MME-sized corpus is made of frame counts only
(900 videos with the release's duration mix: 300 short of 11 s-2 min, 300 medium of 4-15 min,
300 long of 30-60 min; 3 questions per video over its 12 task types), the generator's own
planner (``generator.plan.plan_cases``) makes the 3,000 cases at 2K..10K frames, and
``niah.schedule.simulate_reuse`` replays them against an LRU of the given host-memory budget,
in manifest order and in the runner's locality order. With ``--data`` it does the same for a
built benchmark (e.g. the demo). Bytes per frame: SigLIP-so400m output kept in fp16,
729 x 1152 x 2 B = 1.68 MB.

    .venv/bin/python bench/bench_reuse.py [--data data/niah] [--budgets 8,16,32,64]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.plan import NeedleCandidate, parse_lengths, plan_cases  # noqa: E402
from niah.schedule import locality_order, simulate_reuse  # noqa: E402
from niah.videomme import QA  # noqa: E402

BYTES_PER_FRAME = 729 * 1152 * 2
TASKS = ["Temporal Perception", "Spatial Perception", "Attribute Perception", "Action Recognition",
         "Object Recognition", "OCR Problems", "Counting Problem", "Temporal Reasoning", "Spatial Reasoning",
         "Action Reasoning", "Object Reasoning", "Information Synopsis"]


def videomme_like(seed: int = 0) -> tuple[list[NeedleCandidate], dict[str, int]]:
    """Needle candidates (short videos' questions) and haystack frame counts (long videos)."""
    rng = random.Random(seed)
    needles: list[NeedleCandidate] = []
    haystacks: dict[str, int] = {}
    for n in range(900):
        kind = ("short", "medium", "long")[n // 300]
        seconds = {"short": rng.randint(11, 120), "medium": rng.randint(240, 900),
                   "long": rng.randint(1800, 3600)}[kind]
        video = f"v{n:03d}"
        if kind == "long":
            haystacks[video] = seconds
        for q in range(3):
            qa = QA(video=video, video_id=f"{n:03d}", duration=kind, domain="d", sub_category="s",
                    question_id=f"{n:03d}-{q + 1}", task_type=rng.choice(TASKS), question="?",
                    options=("A. a", "B. b", "C. c", "D. d"), answer="A")
            if kind == "short" and 30 <= seconds <= 120:
                needles.append(NeedleCandidate(qa, seconds))
    return needles, haystacks


def report(name: str, cases: list, budgets_gb: list[float]) -> None:
    frames = sum(c.length for c in cases)
    print(f"\n{name}: {len(cases)} cases, {frames:,} case frames")
    print("| memory budget | frames kept | manifest order | locality order |")
    print("|---|---|---|---|")
    unique = None
    for gb in budgets_gb:
        capacity = int(gb * 1e9 // BYTES_PER_FRAME)
        row = []
        for order in (cases, locality_order(cases)):
            start = time.perf_counter()
            stats = simulate_reuse(order, capacity)
            unique = stats.unique_frames
            row.append(f"{stats.encodes_per_case_frame:.4f} ({time.perf_counter() - start:.0f} s)")
        print(f"| {gb:g} GB | {capacity:,} | {row[0]} | {row[1]} |")
    print(f"unique frames {unique:,}: floor {unique / frames:.4f} vision encodes per case frame "
          f"(1.0 = every case frame encoded, as before)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="also simulate this built benchmark")
    parser.add_argument("--budgets", default="8,16,32,64", help="host memory budgets in GB")
    parser.add_argument("--cases", type=int, default=3000)
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    needles, haystacks = videomme_like()
    plan = plan_cases(needles, haystacks, parse_lengths("2k..10k"), args.cases, seed=0)
    print(f"Video-MME-sized corpus: {len(needles)} needle questions, {len(haystacks)} long videos "
          f"({sum(haystacks.values()):,} haystack frames)")
    report("simulated Video-MME benchmark (2k..10k)", plan.cases, budgets)
    if args.data:
        from niah.cases import Benchmark
        report(f"benchmark {args.data}", Benchmark.open(args.data).cases, budgets)


if __name__ == "__main__":
    main()
