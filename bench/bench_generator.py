"""Generator benchmark: ingestion vs the raw decode limit, export vs naive moviepy, disk per case.

Run: ``.venv/bin/python bench/bench_generator.py [--data data/niah] [--case L2000-0000]``.
Everything is measured in one run on the same files, because these machines are noisy;
the printed ratios are what docs/generator.md quotes.

(a) ingestion (decode + 1 FPS + scale + intra encode, one core) against
    ``ffmpeg -threads 1 -i X -vf fps=1 -f null -`` on the same file (target >= 0.8);
    measured on a realistic 1280x720 30 FPS H.264 source and on a demo haystack.
(b) ``export`` of one case (stream copy) against the naive moviepy approach: cut each
    segment from its source video, concatenate, ``write_videofile`` at 1 FPS (target >= 50x).
(c) disk bytes per case: frame store + manifest, divided by the number of cases.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.inspect_cmd import storage_bytes  # noqa: E402
from niah.cases import Benchmark  # noqa: E402
from niah.ffmpeg import ffmpeg_exe, run_ffmpeg  # noqa: E402
from niah.framestore import FrameStore, StoreSettings  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def best_of(n: int, fn) -> float:
    return min(timed(fn) for _ in range(n))


def raw_decode(path: Path) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-threads", "1", "-i", str(path), "-vf", "fps=1", "-f", "null", "-"],
                   check=True)


def bench_ingest(path: Path, work: Path, label: str) -> float:
    store = FrameStore(work / f"store-{label}", StoreSettings())
    ingest = best_of(3, lambda: store.ingest("v", path))
    raw = best_of(3, lambda: raw_decode(path))
    ratio = raw / ingest
    print(f"(a) ingest {label}: raw decode {raw:.2f} s, ingest {ingest:.2f} s, "
          f"{store.num_frames('v')} frames -> ratio {ratio:.2f} of the decode limit (target >= 0.8)")
    return ratio


def naive_moviepy_export(bench: Benchmark, case_id: str, source: Path, out: Path) -> None:
    """What a user without a frame store writes: cut each segment from its source, resize to
    the benchmark's frame size (so both exports hold the same frames), concatenate, encode."""
    from moviepy import VideoFileClip, concatenate_videoclips

    case = bench.case(case_id)
    clips, opened = [], {}
    for seg in case.segments:
        if seg.video_id not in opened:
            opened[seg.video_id] = VideoFileClip(str(source / "data" / f"{seg.video_id}.mp4"), audio=False)
        clip = opened[seg.video_id]
        size = (bench.store.settings.width, bench.store.settings.height)
        clips.append(clip.subclipped(seg.src_start_frame / case.fps,
                                     (seg.src_start_frame + seg.num_frames) / case.fps).resized(size))
    concatenate_videoclips(clips).write_videofile(str(out), fps=case.fps, codec="libx264", audio=False, logger=None)
    for clip in opened.values():
        clip.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/niah", help="a demo build (made if missing)")
    parser.add_argument("--case", default="L2000-0000", help="case to export")
    parser.add_argument("--seconds", type=int, default=40, help="length of the realistic 720p source")
    parser.add_argument("--parts", default="abc", help="which measurements to run (default abc)")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "dataset.json").exists():
        subprocess.run([sys.executable, "-m", "generator", "build", "--out", str(data)], check=True)
    bench = Benchmark.open(data)
    source = Path(bench.dataset["config"]["source"])
    source = data / "demo-source" if str(source) == "demo" else source
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        realistic = work / "realistic.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=30:d={args.seconds},noise=alls=12:allf=t",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(realistic)])
        print(f"sources: {realistic.name} 1280x720 30 FPS {args.seconds} s; benchmark {data} "
              f"({len(bench.cases)} cases)")
        if "a" in args.parts:
            bench_ingest(realistic, work, "720p30")
            haystack = next(v for v, d in bench.dataset["sources"]["videos"].items() if d["frames"] > 1000)
            bench_ingest(source / "data" / f"{haystack}.mp4", work, "demo-haystack")
        case = bench.case(args.case)
        ours = best_of(3, lambda: bench.export(case, work / "ours.mp4"))
        if "b" in args.parts:
            naive = timed(lambda: naive_moviepy_export(bench, args.case, source, work / "naive.mp4"))
            print(f"(b) export {args.case} ({case.length} frames at {bench.store.settings.width}px): ours {ours:.3f} s, "
                  f"moviepy {naive:.2f} s -> {naive / ours:.0f}x faster (target >= 50x)")

        store_bytes, manifest_bytes = storage_bytes(bench)
        naive_bytes = (work / "ours.mp4").stat().st_size / case.length * sum(c.length for c in bench.cases)
        print(f"(c) disk: frame store {store_bytes / 1e6:.1f} MB + manifest {manifest_bytes / 1e6:.1f} MB "
              f"= {(store_bytes + manifest_bytes) / len(bench.cases) / 1e3:.1f} KB per case; "
              f"materialising every case as video would take ~{naive_bytes / 1e9:.1f} GB "
              f"({naive_bytes / (store_bytes + manifest_bytes):.0f}x more)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
