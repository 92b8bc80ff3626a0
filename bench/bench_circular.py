"""Circular evaluation's cost against a plain run, measured side by side on the same cases.

    python bench/bench_circular.py --data DIR [--per-length 1] [--lengths 2000] [--device cpu]
                                   [--vilamp PATH] [--ov PATH] [--frames 32]

For each model (ViLAMP and llava-onevision; tiny random-weight checkpoints of the real
architectures unless ``--vilamp`` / ``--ov`` name real weights) it scores the chosen cases of
the benchmark twice with a fresh model each time: plain (``answer``) and circular
(``answer_rotations`` over the cyclic rotations of the options). It prints per case, for both,
the LLM prefill tokens, the vision encodes per case frame (ViLAMP; feature memory off, so
every case frame is encoded once per pass unless a pass encodes more) and seconds per case,
and the ratios circular / plain. Whether the greedy outputs of circular rotation 0 equal the
plain ones is printed too.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests" / "runner_models"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from niah.cases import Benchmark  # noqa: E402
from niah.circular import all_rotations  # noqa: E402
from runner.models import load_model  # noqa: E402


def pick_cases(bench: Benchmark, lengths: list[int] | None, per_length: int) -> list:
    chosen, seen = [], {}
    for case in bench.cases:
        if lengths and case.length not in lengths:
            continue
        if seen.get(case.length, 0) < per_length:
            chosen.append(case)
            seen[case.length] = seen.get(case.length, 0) + 1
    return chosen


def measure(name: str, path: str, options: dict, bench: Benchmark, cases: list, circular: bool) -> dict:
    model = load_model(name, path, **options)
    texts, start = [], time.perf_counter()
    for case in cases:
        if circular:
            texts.append(model.answer_rotations(case, bench, all_rotations(case.options))[0].text)
        else:
            texts.append(model.answer(case, bench).text)
    seconds = time.perf_counter() - start
    stats = model.stats()
    encodes = stats.get("vision_frames_encoded")
    frames = stats.get("case_frames")
    return {"prefill": stats["llm_prefill_tokens"] / len(cases), "s": seconds / len(cases), "texts": texts,
            "encodes": encodes / frames if encodes is not None and frames else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--lengths", default="2000", help="comma-separated case lengths to take (default 2000)")
    parser.add_argument("--per-length", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--vilamp", help="ViLAMP weights (default: a tiny random-weight checkpoint)")
    parser.add_argument("--ov", help="LLaVA-OneVision weights (default: a tiny random-weight checkpoint)")
    parser.add_argument("--frames", type=int, default=32)
    args = parser.parse_args()
    bench = Benchmark.open(args.data)
    cases = pick_cases(bench, [int(x) for x in args.lengths.split(",")] if args.lengths else None, args.per_length)
    if not cases:
        print(f"error: --lengths: no case of {args.lengths} frames in {args.data}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        vilamp, ov = args.vilamp, args.ov
        if vilamp is None or ov is None:
            from tiny_models import build_llava_ov, build_vilamp
            vilamp = vilamp or str(build_vilamp(Path(tmp) / "vilamp", learned_merger=True))
            ov = ov or str(build_llava_ov(Path(tmp) / "ov"))
        print(f"{len(cases)} cases ({', '.join(c.case_id for c in cases)}), device {args.device}")
        print("model | pass | LLM prefill tokens/case | vision encodes/case frame | s/case")
        for name, path, options in (
                ("vilamp", vilamp, {"device": args.device, "cache_dir": "none", "feature_memory": 0}),
                ("llava-onevision", ov, {"device": args.device, "frames": args.frames})):
            plain = measure(name, path, options, bench, cases, circular=False)
            circ = measure(name, path, options, bench, cases, circular=True)
            for label, m in (("plain", plain), ("circular", circ)):
                enc = f"{m['encodes']:.3f}" if m["encodes"] is not None else "-"
                print(f"{name} | {label} | {m['prefill']:.1f} | {enc} | {m['s']:.2f}")
            same = sum(a == b for a, b in zip(plain["texts"], circ["texts"]))
            print(f"{name}: circular/plain prefill tokens {circ['prefill'] / plain['prefill']:.3f}x, "
                  f"time {circ['s'] / plain['s']:.2f}x; rotation 0 equal to plain in {same}/{len(cases)} cases")
    return 0


if __name__ == "__main__":
    from niah.errors import InputError
    try:
        raise SystemExit(main())
    except InputError as exc:  # weights not on disk, no CUDA: one line, as `runner score` says it
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except ModuleNotFoundError as exc:  # the core install has no torch
        print(f"error: {exc.name} is not installed: this benchmark needs `make install`", file=sys.stderr)
        raise SystemExit(2) from None
