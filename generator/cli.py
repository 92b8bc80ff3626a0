"""Command line: ``python -m generator build | export | lmms-eval-task | inspect | figure``
(``generator/__main__.py`` only calls :func:`main`; scripts and tests import it from here)."""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

from generator.build import BuildConfig, build, forget_finished_build, refuse_another_benchmark
from generator.families import parse_tasks
from generator.inspect_cmd import case_needles, summary
from generator.plan import DEFAULT_LAYOUT, LAYOUTS, parse_depths, parse_lengths
from niah.cases import Benchmark
from niah.errors import InputError
from niah.schema import DATASET_NAME, MANIFEST_NAME


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator", description="Build the Video NIAH benchmark, export a case as MP4, inspect a build, "
                                                             "draw one case per task family.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the benchmark (resumable: rerun the same command to continue)")
    b.add_argument("--source", help="Video-MME release folder (default: the built-in demo source)")
    b.add_argument("--out", default="data/niah", help="benchmark folder (default data/niah)")
    b.add_argument("--lengths", default="2k..10k", help="2k..10k, 2k..10k:1k, 300,600 or a mix such as 2k..10k,20k,30k (default 2k..10k)")
    b.add_argument("--cases", type=int, default=3000, help="total cases, split evenly over lengths")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--depths", help="fixed depth grid, e.g. 0,0.25,0.5,0.75,1 (default: uniform random)")
    b.add_argument("--needle-seconds", default="30,120", help="needle duration range (default 30,120)")
    b.add_argument("--needle-duration", default="short", help="Video-MME duration class of needles")
    b.add_argument("--haystack-duration", default="long", help="Video-MME duration class of haystacks")
    b.add_argument("--haystacks", choices=LAYOUTS, default=DEFAULT_LAYOUT,
                   help="tape: every haystack a window of one seeded shuffle of the haystack videos, read as a "
                        "circle (neighbouring cases share frames: features are reused); independent: each case "
                        "shuffles the videos on its own (the layout of benchmarks built before the tape)")
    b.add_argument("--tasks", default="needle-qa",
                   help="task families, a comma list of needle-qa, ordering, counting, text, distractors; each "
                        "length's cases are split evenly over them (default needle-qa; docs/tasks.md)")
    b.add_argument("--frame-size", type=int, default=384, help="stored frame side in pixels (default 384)")
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel decoders")
    b.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="where sources are decoded into the frame store: local threads, or Ray tasks "
                        "(the output folder must be on a filesystem every node sees; docs/scaling.md)")
    b.add_argument("--address", help="with --engine ray: Ray cluster to join (auto, HOST:PORT, ray://HOST:PORT); "
                                     "default: start a local Ray instance")
    b.add_argument("--replace", action="store_true",
                   help="replace a finished benchmark of other settings in --out (without it the build refuses "
                        "and changes nothing)")
    e = sub.add_parser("export", help="write one case as an H.264 MP4")
    e.add_argument("--data", default="data/niah")
    e.add_argument("--case", required=True)
    e.add_argument("-o", "--output", required=True)
    t = sub.add_parser("lmms-eval-task", help="write the benchmark as an lmms-eval task folder (--include_path)",
                       description="Write a task folder lmms-eval 0.7.3 loads with --include_path: one task per "
                                   "length (video_niah_2k ...) and the group video_niah; cases become MP4s on "
                                   "first use, in a bounded cache. docs/lmms-eval.md")
    t.add_argument("--data", default="data/niah")
    t.add_argument("--out", default="tasks/video_niah", help="task folder (default tasks/video_niah)")
    t.add_argument("--cache-dir", help="where the MP4s go (default: <out>/mp4; the environment variable "
                                       "VIDEO_NIAH_MP4_CACHE overrides it when lmms-eval runs)")
    t.add_argument("--cache-gb", type=float, default=20.0,
                   help="MP4 cache bound in GB; least recently used MP4s are deleted past it (default 20)")
    i = sub.add_parser("inspect", help="counts by length, depth decile, task type, needle duration")
    i.add_argument("--data", default="data/niah")
    i.add_argument("--case", help="print this case's question and every needle's span instead")
    f = sub.add_parser("figure", help="a PNG of one case per task family: the frames around each needle")
    f.add_argument("--data", default="data/niah")
    f.add_argument("-o", "--output", required=True)
    return parser


def _needle_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(x) for x in text.split(","))
    except ValueError:
        raise InputError("--needle-seconds", f"{text!r} is not MIN,MAX seconds") from None
    if not 0 < low <= high:
        raise InputError("--needle-seconds", f"{text!r}: need 0 < MIN <= MAX")
    return low, high


def _build_state(out: Path) -> tuple[bytes, str] | None:
    """``dataset.json`` and the manifest's SHA-256 of a finished build (``None`` if there is
    none): equal before and after a build means the rerun changed nothing."""
    try:
        manifest = hashlib.sha256((out / MANIFEST_NAME).read_bytes()).hexdigest()
        return (out / DATASET_NAME).read_bytes(), manifest
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            if args.cases <= 0:
                raise InputError("--cases", f"{args.cases} is not a positive number of cases")
            low, high = _needle_range(args.needle_seconds)
            depths = parse_depths(args.depths)
            config = BuildConfig(
                source=args.source, out=args.out, lengths=tuple(parse_lengths(args.lengths)),
                cases=args.cases, seed=args.seed, depths=tuple(depths) if depths else None,
                needle_duration=args.needle_duration, haystack_duration=args.haystack_duration,
                needle_min_seconds=low, needle_max_seconds=high, frame_size=args.frame_size,
                haystacks=args.haystacks, tasks=parse_tasks(args.tasks), workers=args.workers)
            if args.address and args.engine != "ray":
                raise InputError("--address", "only with --engine ray")
            if not args.replace:
                refuse_another_benchmark(config)
            executor = None
            if args.engine == "ray":
                from generator.ray_ingest import factory
                executor = factory(args.address)
            started = time.monotonic()
            if args.replace:
                forget_finished_build(Path(args.out))
            before = _build_state(Path(args.out))
            dataset = build(config, executor)
            if before is not None and before == _build_state(Path(args.out)):
                print(f"build already complete: {args.out} holds these {dataset['counts']['cases']} cases "
                      "(same settings and sources: nothing to decode, manifest unchanged)")
            else:
                print(f"built {dataset['counts']['cases']} cases in {time.monotonic() - started:.1f} s -> {args.out}")
            print(summary(Benchmark.open(args.out)))
        elif args.command == "export":
            bench = Benchmark.open(args.data)
            started = time.monotonic()
            bench.export(bench.case(args.case), args.output)
            print(f"wrote {args.output} ({bench.case(args.case).length} frames) in {time.monotonic() - started:.2f} s")
        elif args.command == "lmms-eval-task":
            from generator.lmms_task import write_task
            names = write_task(Benchmark.open(args.data), args.out, int(args.cache_gb * 1e9), args.cache_dir)
            print(f"wrote {args.out}: tasks {', '.join(names)}; run lmms-eval with --include_path {args.out} "
                  f"--tasks {names[-1]} --log_samples (docs/lmms-eval.md)")
        elif args.command == "figure":
            from generator.figure import render_figure  # Pillow only for this command
            shown = render_figure(Benchmark.open(args.data), args.output)
            print(f"wrote {args.output}: {', '.join(shown)}")
        elif args.case:
            print(case_needles(Benchmark.open(args.data).case(args.case)))
        else:
            print(summary(Benchmark.open(args.data)))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0

