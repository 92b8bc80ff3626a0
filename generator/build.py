"""``generator build``: source -> frame store -> planned cases -> manifest.

Steps, each resumable:

1. read the source (the real release, or the demo source made on the fly);
2. ingest every candidate needle and haystack video into the frame store, in parallel (and,
   for the text, ordering and counting families, the synthetic needles rendered first,
   :mod:`generator.synthetic`),
   skipping (with one warning line each) videos that are missing or do not decode;
   a video whose index exists and whose source fingerprint matches is not redone;
3. plan the cases (pure, seeded) and write ``manifest.jsonl`` then ``dataset.json``,
   each atomically: ``dataset.json`` is written last, so its presence means a whole build.
"""
from __future__ import annotations

import errno
import json
import os
import sys
from collections import Counter
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from generator import synthetic
from generator.demo_source import haystacks_for, make_demo_source
from generator.plan import DEFAULT_LAYOUT, NeedleCandidate, plan_cases
from niah import atomic
from niah.cases import FRAMES_DIR
from niah.errors import InputError
from niah.framestore import FrameStore, SourceError, StoreSettings, source_fingerprint
from niah.schema import DATASET_NAME, DEFAULT_FAMILY, MANIFEST_NAME, SCHEMA_VERSION
from niah.videomme import VIDEO_SUFFIXES, Source, read_source
from niah.zipmember import ZipMember

GENERATOR_VERSION = "0.1.0"
SYNTHETIC_DIR = "synthetic-source"


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides the cases; recorded in ``dataset.json``."""

    source: str | None  # None = built-in demo source
    out: str
    lengths: tuple[int, ...]
    cases: int = 3000
    seed: int = 0
    depths: tuple[float, ...] | None = None
    needle_duration: str = "short"
    haystack_duration: str = "long"
    needle_min_seconds: int = 30
    needle_max_seconds: int = 120
    frame_size: int = 384
    haystacks: str = DEFAULT_LAYOUT  # "tape" or "independent" (generator.plan.LAYOUTS)
    tasks: tuple[str, ...] = (DEFAULT_FAMILY,)  # task families (niah.schema.FAMILIES order)
    workers: int = os.cpu_count() or 1

    def recorded(self) -> dict:
        """The settings as ``dataset.json`` records them (``config``): what makes two builds
        the same benchmark. The folder and the worker count are left out: they change no case."""
        return json.loads(json.dumps({k: v for k, v in asdict(self).items() if k not in ("out", "workers")}
                                     | {"source": self.source or "demo"}))


def warn(message: str) -> None:
    tqdm.write(f"warning: {message}", file=sys.stderr)


#: makes the pool that runs the ingests: ``factory(workers)`` -> a ``concurrent.futures.Executor``
#: (a context manager with ``submit``); ``generator.ray_ingest.RayExecutor`` runs them on Ray.
ExecutorFactory = Callable[[int], Executor]


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says a disk is full: ``OSError(ENOSPC)`` from Python, or ffmpeg's last
    line (``Error closing file …: No space left on device``) in a ``SourceError`` or ``RuntimeError``."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, (SourceError, RuntimeError)) and "No space left on device" in str(exc)


def refuse_another_benchmark(config: BuildConfig) -> None:
    """Refuse to build into a folder that holds a finished build of other settings.

    Why: a rebuild with other settings (``--cases 2`` into the default ``data/niah``) would
    swap the manifest under every existing run, which then reads as "scored on another
    manifest". Nothing is written before this check. A finished build is one with
    ``dataset.json`` (written last); a killed build has none, so resuming it is never refused."""
    path = Path(config.out) / DATASET_NAME
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["config"]
        if not isinstance(recorded, dict):
            raise TypeError("config is not an object")
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"not a readable benchmark's dataset.json ({type(exc).__name__}); pass --replace "
                               "to build over it, or choose another --out") from None
    wanted = config.recorded()
    # A key a finished build did not record predates its option: that build had the option's
    # default behaviour, except the layout, whose default changed to the tape when it came.
    defaults = BuildConfig(source=None, out="", lengths=()).recorded() | {"haystacks": "independent"}
    recorded = {key: recorded.get(key, defaults.get(key)) for key in wanted}
    differ = [key for key in wanted if recorded[key] != wanted[key]]
    if not differ:
        return
    lengths = ",".join(str(n) for n in recorded.get("lengths") or [])
    changes = "; ".join(f"{key} {_shown(wanted[key])} instead of {_shown(recorded.get(key))}" for key in differ)
    raise InputError("--out", f"{config.out} holds another benchmark ({recorded.get('cases')} cases at lengths "
                              f"{lengths}, seed {recorded.get('seed')}, {recorded.get('source')} source): this "
                              f"build asks for {changes}; pass --replace to replace it, or choose another --out")


def _shown(value: object) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def forget_finished_build(out: Path) -> None:
    """``--replace``: remove the old ``dataset.json`` first, so the folder reads as a build in
    progress until the new one is whole (a killed replacement resumes without ``--replace``).
    The frame store stays: videos it holds from the same sources are reused."""
    (out / DATASET_NAME).unlink(missing_ok=True)


def build(config: BuildConfig, executor: ExecutorFactory | None = None) -> dict:
    """Run the whole build and return the ``dataset.json`` contents.

    A full disk is one :class:`InputError` naming the file and how many of the videos are in
    the frame store; everything written stays valid (atomic files, whole videos), so the same
    command after freeing space goes on from there."""
    out = Path(config.out)
    wanted: list[str] = []
    store = FrameStore(out / FRAMES_DIR, StoreSettings(width=config.frame_size, height=config.frame_size))
    try:
        return _build(config, executor, out, store, wanted)
    except (OSError, SourceError, RuntimeError) as exc:
        if not disk_full(exc):
            raise
        where = getattr(exc, "filename", None) or store.root
        stored = sum(store.has(v) for v in wanted)
        raise InputError(where, f"no space left on device ({stored} of {len(wanted)} videos in the frame store; "
                                "rerun to resume)") from None


def _build(config: BuildConfig, executor: ExecutorFactory | None, out: Path, store: FrameStore,
           wanted: list[str]) -> dict:
    """:func:`build`'s steps; fills ``wanted`` (the videos to ingest) as soon as it is known."""
    source_root = Path(config.source) if config.source else make_demo_source(
        out / "demo-source", config.workers, haystacks_for(max(config.lengths)))
    source = read_source(source_root)
    durations = source.durations()
    wanted += sorted(v for v, d in durations.items() if d in (config.needle_duration, config.haystack_duration))
    frames, skipped = ingest(store, source, wanted, config.workers, executor)
    synthetic_frames = ingest_synthetic(config, out, store, wanted, executor)

    needles, excluded = [], Counter()
    for qa in source.questions:
        if durations[qa.video] != config.needle_duration or qa.video not in frames:
            continue
        n = frames[qa.video]
        if config.needle_min_seconds <= n <= config.needle_max_seconds:
            needles.append(NeedleCandidate(qa, n))
        else:
            excluded[qa.video] = n
    haystacks = {v: f for v, f in frames.items() if durations[v] == config.haystack_duration}
    plan = plan_cases(needles, haystacks, list(config.lengths), config.cases, config.seed,
                      list(config.depths) if config.depths else None, layout=config.haystacks,
                      tasks=config.tasks, synthetic_frames=synthetic_frames)

    with atomic.atomic_open(out / MANIFEST_NAME, "w") as handle:
        for case in plan.cases:
            handle.write(case.to_json() + "\n")
    dataset = {
        "schema_version": SCHEMA_VERSION,
        "generator_version": GENERATOR_VERSION,
        "config": config.recorded(),
        "frame_store": FRAMES_DIR,
        "store_settings": asdict(store.settings),
        "sources": {
            "parquet_sha256": source.parquet_sha256,
            "videos": {v: {**store.index(v)["source"], "frames": frames[v]} for v in sorted(frames)},
        },
        "haystacks": {"layout": plan.layout, "tape": plan.tape},
        **({"synthetic_needles": {v: {**store.index(v)["source"], "frames": n}
                                  for v, n in sorted(synthetic_frames.items())}} if synthetic_frames else {}),
        "counts": {
            "cases": len(plan.cases),
            "by_length": {str(k): v for k, v in sorted(Counter(c.length for c in plan.cases).items())},
            "by_length_and_task_type": {str(k): v for k, v in plan.balance.items()},
            **({"by_length_and_family": {str(k): v for k, v in plan.family_balance.items()}}
               if plan.family_balance else {}),
            "needle_questions": len(needles),
            "haystack_videos": len(haystacks),
            "haystack_frames": sum(haystacks.values()),
        },
        "report": {
            "skipped_videos": skipped,
            "needles_outside_duration_range": dict(sorted(excluded.items())),
            "notes": plan.notes,
        },
    }
    atomic.write_json(out / DATASET_NAME, dataset)
    return dataset


def ingest_synthetic(config: BuildConfig, out: Path, store: FrameStore, wanted: list[str],
                     executor: ExecutorFactory | None) -> dict[str, int]:
    """Render the synthetic needles ``config.tasks`` needs (word cards for text and ordering,
    the marker for counting) under ``<out>/synthetic-source`` and ingest them like any source;
    returns frames per synthetic video (empty for Video-MME families only)."""
    graphs = synthetic.graphs(words=bool({"text", "ordering"} & set(config.tasks)), marker="counting" in config.tasks)
    if not graphs:
        return {}
    paths = synthetic.render(out / SYNTHETIC_DIR, graphs, config.workers)
    wanted += sorted(paths)
    frames, skipped = ingest(store, Source(out / SYNTHETIC_DIR, [], dict(paths)), sorted(paths), config.workers,
                             executor)
    if skipped:  # our own lavfi output: a failure here is the machine's, not the data's
        video, reason = next(iter(skipped.items()))
        raise InputError(out / SYNTHETIC_DIR / f"{video}.mp4", f"synthetic needle did not ingest ({reason})")
    return frames


def ingest_one(root: Path, settings: StoreSettings, video: str, path: Path | ZipMember) -> dict:
    """Decode one source into the store at ``root`` (picklable, so an executor may run it in
    another process or on another machine that sees the same paths). A video in an
    unextracted zip is read in place; a deflated one (not how the release ships) is copied to
    a temporary file beside the store for its decode."""
    store = FrameStore(root, settings)
    if isinstance(path, ZipMember) and not path.stored:
        with path.extracted(root) as copy:
            return store.ingest(video, copy)
    return store.ingest(video, path)


def ingest(store: FrameStore, source: Source, videos: list[str], workers: int,
           executor: ExecutorFactory | None = None) -> tuple[dict[str, int], dict[str, str]]:
    """Bring ``videos`` into the store; returns (frames per usable video, reason per skipped video).

    ``executor`` makes the pool that runs the decodes (default: threads in this process)."""
    store.remove_stale_temporaries()
    frames: dict[str, int] = {}
    skipped: dict[str, str] = {}
    todo: list[tuple[str, Path | ZipMember]] = []
    for video in videos:
        path = source.video_paths.get(video)
        if path is None:
            skipped[video] = "video file not found"
            warn(f"{source.root}: video {video} not found (as {'/'.join(VIDEO_SUFFIXES)}, extracted or in a "
                 "zip); skipped")
        elif store.has(video) and _ingested_from(store, video, path):
            frames[video] = store.num_frames(video)
        else:
            todo.append((video, path))
    if not todo:
        if frames:
            tqdm.write(f"ingest: all {len(frames)} videos already in the frame store", file=sys.stderr)
        return frames, dict(sorted(skipped.items()))
    if frames:
        tqdm.write(f"ingest: {len(frames)} videos already in the frame store, {len(todo)} to decode",
                   file=sys.stderr)
    make_pool = executor or ThreadPoolExecutor
    root = store.root.resolve()
    with make_pool(max(1, workers)) as pool, tqdm(total=len(todo), desc="ingest", unit="video") as bar:
        futures = {pool.submit(ingest_one, root, store.settings, video,
                               path.resolve() if isinstance(path, Path) else path): (video, path)
                   for video, path in todo}
        try:
            for future in as_completed(futures):
                video, path = futures[future]
                try:
                    frames[video] = future.result()["frames"]
                except SourceError as exc:
                    if disk_full(exc):  # the disk, not the video: stop (build() says so in one line)
                        raise
                    skipped[video] = str(exc)
                    warn(f"{path}: {exc}; skipped")
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return frames, dict(sorted(skipped.items()))


def _ingested_from(store: FrameStore, video: str, path: Path | ZipMember) -> bool:
    """Whether the store holds ``video`` intact, decoded from this very file and with its aspect
    ratio recorded (stores from before aspect ratios are redone: same frames, one more field)."""
    try:
        index = store.index(video)
        return index.get("source") == source_fingerprint(path) and "aspect" in index
    except InputError as exc:
        warn(f"{exc}; decoding it again")
        return False
