"""Manifest-only replay: how often SigLIP runs per case frame (X) for each haystack layout and
eviction rule, and what that means for a full run on one H100.

No frame is decoded and no model runs. Two benchmarks:

* a **Video-MME-sized** corpus made of frame counts only (900 videos with the release's
  duration mix: 300 short of 11 s-2 min, 300 medium of 4-15 min, 300 long of 30-60 min; 3
  questions per video over its 12 task types), planned by the generator's own planner
  (``generator.plan.plan_cases``): 3,000 cases at 2K..10K frames;
* with ``--data``, a built benchmark (``make demo``'s ``data/niah``) re-planned from its own
  sources and config in both layouts (the re-plan in the benchmark's own layout is checked
  against its manifest).

Each is replayed frame by frame in the runner's order (``niah.schedule.locality_order``:
window order for a tape) against a memory of each budget, evicting the least recently used
frame (LRU) or the frame needed farthest ahead (next use, what the runner does). Bytes per
frame: SigLIP-so400m output in fp16, 729 x 1152 x 2 B = 1.68 MB. Projected hours use the
per-case seconds measured on an H100 (``bench/results/bench_gpu_h100_run2.txt``): per case,
``t_hit + X * (t_warm - t_hit)`` at each length, 600 cases per length.

    .venv/bin/python bench/bench_reuse.py [--data data/niah] [--budgets 16,32]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.plan import LAYOUTS, NeedleCandidate, parse_lengths, plan_cases  # noqa: E402
from niah.schedule import POLICIES, frame_sharing, locality_order, simulate_reuse  # noqa: E402
from niah.schema import Case  # noqa: E402
from niah.videomme import QA, read_source  # noqa: E402

BYTES_PER_FRAME = 729 * 1152 * 2
H100 = ROOT / "bench" / "results" / "bench_gpu_h100_run2.txt"
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


def videomme_plans(cases: int) -> dict[str, list[Case]]:
    needles, haystacks = videomme_like()
    print(f"Video-MME-sized corpus: {len(needles)} needle questions, {len(haystacks)} long videos "
          f"({sum(haystacks.values()):,} haystack frames)")
    return {layout: plan_cases(needles, haystacks, parse_lengths("2k..10k"), cases, seed=0, layout=layout).cases
            for layout in LAYOUTS}


def replan(data: Path) -> dict[str, list[Case]]:
    """A built benchmark's cases re-planned in each layout from its own sources and config."""
    from niah.cases import Benchmark
    bench = Benchmark.open(data)
    config = bench.dataset["config"]
    source = read_source(data / "demo-source" if config["source"] == "demo" else Path(config["source"]))
    durations = source.durations()
    frames = {v: info["frames"] for v, info in bench.dataset["sources"]["videos"].items()}
    needles = [NeedleCandidate(qa, frames[qa.video]) for qa in source.questions
               if durations[qa.video] == config["needle_duration"] and qa.video in frames
               and config["needle_min_seconds"] <= frames[qa.video] <= config["needle_max_seconds"]]
    haystacks = {v: f for v, f in frames.items() if durations[v] == config["haystack_duration"]}
    plans = {layout: plan_cases(needles, haystacks, list(config["lengths"]), config["cases"], config["seed"],
                                list(config["depths"]) if config.get("depths") else None, layout=layout).cases
             for layout in LAYOUTS}
    own = config.get("haystacks", "independent")
    same = [c.to_json() for c in plans[own]] == [c.to_json() for c in bench.cases]
    print(f"\nbenchmark {data}: {len(haystacks)} long videos ({sum(haystacks.values()):,} haystack frames), "
          f"built as {own}; re-planned {own} cases equal its manifest: {'yes' if same else 'NO'}")
    return plans


def replay(job: tuple[list[Case], int, str]) -> tuple[float, float, float, float]:
    """(X, floor, wall seconds, CPU seconds) of one replay (run in a worker process)."""
    cases, capacity, policy = job
    start, cpu = time.perf_counter(), time.process_time()
    stats = simulate_reuse(cases, capacity, policy)
    return (stats.encodes_per_case_frame, stats.unique_frames / stats.case_frames, time.perf_counter() - start,
            time.process_time() - cpu)


def h100_seconds() -> dict[int, tuple[float, float]]:
    """Per length: (per-case seconds with every frame through SigLIP, seconds with every
    frame's features in memory), from the H100 run's table."""
    rows = re.findall(r"^\| ([\d,]+) \| [^|]+ \| ([\d.]+) \| [^|]+ \| ([\d.]+) \|", H100.read_text(), re.M)
    return {int(n.replace(",", "")): (float(warm), float(hit)) for n, warm, hit in rows}


def project(x: float, seconds: dict[int, tuple[float, float]]) -> float:
    """Hours for 3,000 cases, as many at each measured length, at X encodes per case frame."""
    per_length = 3000 / len(seconds)
    return sum(hit + x * (warm - hit) for warm, hit in seconds.values()) * per_length / 3600


def report(name: str, plans: dict[str, list[Case]], budgets: list[float], pool: ProcessPoolExecutor,
           seconds: dict[int, tuple[float, float]]) -> None:
    ordered = {layout: locality_order(cases) for layout, cases in plans.items()}
    frames = sum(c.length for c in plans["tape"])
    print(f"\n{name}: {len(plans['tape'])} cases, {frames:,} case frames")
    for layout, cases in ordered.items():
        mean, peak = frame_sharing(cases)
        print(f"  {layout}: cases per haystack frame mean {mean:.1f}, max {peak} (max/mean {peak / mean:.2f})")
    jobs = {(layout, policy, gb): (ordered[layout], int(gb * 1e9 // BYTES_PER_FRAME), policy)
            for layout in LAYOUTS for policy in POLICIES for gb in budgets}
    results = dict(zip(jobs, pool.map(replay, jobs.values())))
    print("\n| haystack layout | eviction | " + " | ".join(f"{gb:g} GB ({int(gb * 1e9 // BYTES_PER_FRAME):,} frames)"
                                                     for gb in budgets) + " | floor | projected h (H100) |")
    print("|---|---|" + "---|" * len(budgets) + "---|---|")
    for layout in LAYOUTS:
        for policy in POLICIES:
            row = [results[layout, policy, gb] for gb in budgets]
            hours = " / ".join(f"{project(x, seconds):.2f}" for x, *_ in row)
            print(f"| {layout} | {policy} | " + " | ".join(f"{x:.4f}" for x, *_ in row)
                  + f" | {row[0][1]:.4f} | {hours} |")
    print(f"(replay seconds, wall/CPU: {', '.join(f'{k[0]}/{k[1]}/{k[2]:g}GB {v[2]:.0f}/{v[3]:.0f}' for k, v in results.items())})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="also replay this built benchmark, re-planned in both layouts")
    parser.add_argument("--budgets", default="16,32", help="feature memory budgets in GB (default 16,32)")
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2, help="replays in parallel (default 2)")
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    seconds = h100_seconds()
    print(f"H100 seconds per case (every frame encoded / every frame in memory), {H100.name}: "
          + ", ".join(f"{n}: {w:.2f}/{h:.2f}" for n, (w, h) in seconds.items()))
    print(f"projected hours are for 3,000 cases at 600 per length, at each budget in turn; "
          f"every frame encoded: {project(1.0, seconds):.2f} h, every frame in memory: "
          f"{project(0.0, seconds):.2f} h")
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        report("simulated Video-MME benchmark (2k..10k)", videomme_plans(args.cases), budgets, pool, seconds)
        if args.data:
            report(f"benchmark {args.data}, both layouts", replan(Path(args.data)), budgets, pool, seconds)
    print(f"\ntotal {time.perf_counter() - started:.0f} s wall, this process {time.process_time():.0f} s CPU "
          f"(replays in {args.workers} worker processes: CPU seconds above)")


if __name__ == "__main__":
    main()
