"""Runner throughput benchmark: ViLAMP's pipeline on tiny random-weight models (CPU by default).

Measures, side by side in one run, per case length:

* ``frames-store``   : reading every case frame from the frame store (what the runner does);
* ``frames-moviepy`` : the naive way: export the case to MP4, decode it with moviepy at 1 FPS;
* ``vilamp-uncached``: full ViLAMP, empty CLIP cache, every case frame through SigLIP
  (``feature_memory=0``: the per-case schedule);
* ``vilamp-cached``  : the same cases in a fresh process with the warm CLIP cache, still
  every case frame through SigLIP;
* ``vilamp-reuse``   : warm CLIP cache and SigLIP features reused across the cases of the
  length (the runner's default), cases in locality order;

and prints cases/hour, peak memory (peak RSS of the process; with ``--device cuda`` also
``torch.cuda.max_memory_allocated``; each configuration runs in its own process, so peaks do
not mix) and the ratios side by side: store vs moviepy decoding, cached vs uncached CLIP features, and
reused vs per-case SigLIP features (with the vision encodes per case frame). Models are the tiny random-weight LLaVA-OneVision + CLIP from
``tests/runner_models/tiny_models.py``, so numbers measure the pipeline (decode, cache,
streaming, merging), not a 7B LLM.

    python bench/bench_runner.py                                  # lengths 60,120 x 2 cases (quick)
    python bench/bench_runner.py --lengths 2k..10k --cases 1      # 2K/4K/6K/8K/10K frames, 1 case each
    python bench/bench_runner.py --lengths 300 --cases 2 --device cuda
    python bench/bench_runner.py --data /tmp/bench_niah --lengths 2k..10k --cases 1
    python bench/bench_runner.py --lengths 3k,30k --cases 1 --configs vilamp-uncached   # memory past 10K frames

``--lengths`` takes the generator's syntax (``2k..10k`` = 2K step 2K, ``2k..10k:1k``, ``300,600``);
``--long`` is ``--lengths 2k..10k``. Without ``--data`` a benchmark with ``--cases`` cases per
length is built first (``python -m generator build``). ``--configs`` runs some of the
configurations only (the ratio tables then show those they can). The tiny ViLAMP has the
released checkpoint's input limit (``tokenizer_model_max_length`` 32,768): a case of more
frames is cut, and the rows say by how many positions (``input cut``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "runner_models")]

CONFIGS = ["frames-store", "frames-moviepy", "vilamp-uncached", "vilamp-cached", "vilamp-reuse"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def moviepy_frames(bench, case, tmp: Path):
    """Naive: export the case to MP4 and decode it from scratch with moviepy."""
    from moviepy import VideoFileClip
    path = tmp / f"{case.case_id}.mp4"
    bench.export(case, path)
    clip = VideoFileClip(str(path), audio=False)
    try:
        for i, frame in enumerate(clip.iter_frames(fps=case.fps, dtype="uint8")):
            if i >= case.length:
                break
            yield frame
    finally:
        clip.close()
        path.unlink(missing_ok=True)


def child(args: argparse.Namespace) -> dict:
    """One configuration on the cases of one length, in this (fresh) process."""
    import torch
    from niah.cases import Benchmark
    from niah.schedule import locality_order
    from runner.models import load_model

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    bench = Benchmark.open(args.data)
    cases = locality_order([c for c in bench.cases if c.length == args.length][: args.cases])
    tmp = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    model = None
    if args.config.startswith("vilamp"):
        memory = "4GB" if args.config == "vilamp-reuse" else 0
        model = load_model("vilamp", args.model, device=args.device, cache_dir=args.cache_dir, chunk=args.chunk,
                           feature_memory=memory)
    base = peak_rss_mb()
    start = time.perf_counter()
    frames = cut = 0
    for case in cases:
        if args.config == "frames-store":
            frames += sum(1 for _ in bench.frames(case))
        elif args.config == "frames-moviepy":
            frames += sum(1 for _ in moviepy_frames(bench, case, tmp))
        else:
            cut += model.answer(case, bench).input_cut
            frames += case.length
    seconds = time.perf_counter() - start
    out = {"config": args.config, "length": args.length, "cases": len(cases), "frames": frames,
           "seconds": seconds, "cases_per_hour": len(cases) / seconds * 3600 if seconds else 0.0,
           "peak_rss_mb": peak_rss_mb(), "rss_before_mb": base, "input_cut": cut}
    if str(args.device).startswith("cuda"):
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if model is not None:
        out["stats"] = model.stats()
    return out


def run_child(config: str, length: int, ns: argparse.Namespace, cache_dir: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", "--config", config, "--length", str(length),
           "--data", str(ns.data), "--model", str(ns.model), "--cases", str(ns.cases),
           "--device", ns.device, "--chunk", str(ns.chunk), "--cache-dir", str(cache_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{config} L={length} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", default="60,120",
                   help="case lengths in frames: 2k..10k, 2k..10k:1k or 300,600 (default 60,120)")
    p.add_argument("--long", action="store_true", help="use lengths 2k..10k (2K, 4K, 6K, 8K, 10K)")
    p.add_argument("--cases", type=int, default=2, help="cases per length (default 2)")
    p.add_argument("--data", help="existing benchmark folder (default: build one with the generator)")
    p.add_argument("--model", help="ViLAMP checkpoint folder (default: a tiny random one)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--chunk", type=int, default=64)
    p.add_argument("--work", help="scratch folder (default: a temp folder)")
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"comma list of {', '.join(CONFIGS)} (default all)")
    # child mode
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--length", type=int, help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", help=argparse.SUPPRESS)
    ns = p.parse_args()
    if ns.child:
        print(json.dumps(child(ns)))
        return 0

    from generator.plan import parse_lengths
    lengths = parse_lengths("2k..10k" if ns.long else ns.lengths)
    configs = [c for c in CONFIGS if c in ns.configs.split(",")]
    if not configs or len(configs) != len(ns.configs.split(",")):
        raise SystemExit(f"error: --configs: {ns.configs!r}: expected a comma list of {', '.join(CONFIGS)}")
    started = time.perf_counter()
    work = Path(ns.work or tempfile.mkdtemp(prefix="bench-runner-"))
    work.mkdir(parents=True, exist_ok=True)
    if not ns.data:
        ns.data = work / "niah"
        if not (ns.data / "manifest.jsonl").exists():
            print(f"building benchmark lengths {lengths} x {ns.cases} cases in {ns.data} ...", flush=True)
            subprocess.run([sys.executable, "-m", "generator", "build", "--lengths", ",".join(map(str, lengths)),
                            "--cases", str(ns.cases * len(lengths)), "--out", str(ns.data)],
                           cwd=ROOT, check=True, capture_output=True)
    if not ns.model:
        from tiny_models import build_vilamp
        ns.model = work / "tiny-vilamp"
        if not (ns.model / "config.json").exists():
            build_vilamp(ns.model, learned_merger=True,
                         settings={"max_frame_num": 32, "tokenizer_model_max_length": 32768})
    rows = []
    for length in lengths:
        cache_dir = work / f"cache-{length}-{time.time_ns()}"
        for config in configs:   # vilamp-uncached fills cache_dir, the later ones read it
            row = run_child(config, length, ns, cache_dir)
            rows.append(row)
            if row["cases"] == 0:
                raise SystemExit(f"no case of length {length} in {ns.data}")
            gpu = f" peak GPU {row['peak_gpu_mb']:>7.0f} MB" if "peak_gpu_mb" in row else ""
            print(f"  L={length:>6} {config:<16} {row['cases_per_hour']:>10.1f} cases/h "
                  f"peak RSS {row['peak_rss_mb']:>7.0f} MB{gpu}  ({row['seconds']:.1f} s, input cut "
                  f"{row['input_cut']})", flush=True)
    print()
    print(f"device {ns.device}, chunk {ns.chunk}, {ns.cases} case(s) per length, model {ns.model}, "
          f"total wall {time.perf_counter() - started:.0f} s")
    gpu_col = any("peak_gpu_mb" in r for r in rows)
    print(f"| length | config | cases | s/case | cases/hour | peak RSS MB |{' peak GPU MB |' if gpu_col else ''} "
          f"clip cache reuse |")
    print(f"|---|---|---|---|---|---|{'---|' if gpu_col else ''}---|")
    for r in rows:
        reuse = r.get("stats", {}).get("clip_cache", {}).get("reuse_ratio")
        gpu = f" {r.get('peak_gpu_mb', 0):.0f} |" if gpu_col else ""
        print(f"| {r['length']} | {r['config']} | {r['cases']} | {r['seconds'] / max(r['cases'], 1):.2f} | "
              f"{r['cases_per_hour']:.0f} | {r['peak_rss_mb']:.0f} |{gpu} {'' if reuse is None else f'{reuse:.2f}'} |")
    print()
    print("cases/hour side by side (peak RSS MB in parentheses)")
    print("| length | " + " | ".join(configs) + " |")
    print("|---|" + "---|" * len(configs))
    for length in lengths:
        by = {r["config"]: r for r in rows if r["length"] == length}
        print(f"| {length} | " + " | ".join(f"{by[c]['cases_per_hour']:.0f} ({by[c]['peak_rss_mb']:.0f})"
                                           for c in configs) + " |")
    print()
    for config in configs if len(lengths) > 1 else []:
        by = {r["length"]: r for r in rows if r["config"] == config}
        first, last = lengths[0], lengths[-1]
        print(f"{config}: {last / first:.1f}x the frames ({first} -> {last}), peak RSS "
              f"{by[last]['peak_rss_mb'] / by[first]['peak_rss_mb']:.2f}x ({by[first]['peak_rss_mb']:.0f} -> "
              f"{by[last]['peak_rss_mb']:.0f} MB)")
    if set(CONFIGS) - set(configs):
        return 0
    print()
    print("| length | store / moviepy frames | cached / uncached CLIP | reuse / per-case SigLIP | "
          "vision encodes per case frame (reuse) |")
    print("|---|---|---|---|---|")
    for length in lengths:
        by = {r["config"]: r for r in rows if r["length"] == length}

        def ratio(a, b):
            return f"{by[a]['cases_per_hour'] / by[b]['cases_per_hour']:.2f}x" if by[b]["cases_per_hour"] else "n/a"
        st = by["vilamp-reuse"].get("stats", {})
        x = st.get("vision_frames_encoded", 0) / max(st.get("case_frames", 0), 1)
        print(f"| {length} | {ratio('frames-store', 'frames-moviepy')} | {ratio('vilamp-cached', 'vilamp-uncached')} | "
              f"{ratio('vilamp-reuse', 'vilamp-cached')} | {x:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
