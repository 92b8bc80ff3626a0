"""Synthetic manifests and results folders for the leaderboard's tests and its benchmark
(``bench/bench_leaderboard.py`` imports it from here).
 The manifest written by :func:`write_manifest`
has no frame store (so the page shows it without thumbnails); the results written by
:func:`write_run` follow :mod:`niah.results` exactly, as the runner writes them.
"""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, Iterable

from niah import atomic
from niah.results import RUN_INFO_NAME, Result
from niah.schema import DATASET_NAME, MANIFEST_NAME, Case, Needle, Segment

TASK_TYPES = ["Action Recognition", "Object Recognition", "Counting Problem", "OCR Problems",
              "Temporal Reasoning", "Attribute Perception"]


def make_cases(lengths: Iterable[int] = (300, 600), per_length: int = 10, seed: int = 0,
               videos: int = 7) -> list[Case]:
    """Valid :class:`Case` objects, depths spread evenly over [0, 1] for each length; the
    ``i``-th case of every length asks question ``q<i>`` about needle video ``i % videos``."""
    rng = random.Random(seed)
    cases = []
    for length in lengths:
        for i in range(per_length):
            needle_frames = rng.randint(5, min(200, length // 3))
            depth = i / max(per_length - 1, 1)
            start = round(depth * (length - needle_frames))
            segments = []
            if start:
                segments.append(Segment("hay0", 0, start, "haystack"))
            segments.append(Segment(f"needle{i % videos}", 0, needle_frames, "needle"))
            if length - start - needle_frames:
                segments.append(Segment("hay0", start, length - start - needle_frames, "haystack"))
            case = Case(case_id=f"L{length}-{i:04d}", length=length, fps=1.0,
                        depth=start / (length - needle_frames), needle=Needle(f"needle{i % videos}", f"q{i}", start,
                                                                                needle_frames),
                        segments=segments, question=f"What happens in clip {i}?",
                        options=["A. one", "B. two", "C. three", "D. four"], answer="ABCD"[rng.randrange(4)],
                        task_type=TASK_TYPES[i % len(TASK_TYPES)], domain="Demo")
            case.validate()
            cases.append(case)
    return cases


def write_manifest(root: str | Path, cases: list[Case]) -> str:
    """Write ``manifest.jsonl`` and ``dataset.json`` (no frames); return the fingerprint."""
    root = Path(root)
    data = "".join(c.to_json() + "\n" for c in cases).encode("utf-8")
    atomic.write_bytes(root / MANIFEST_NAME, data)
    atomic.write_json(root / DATASET_NAME, {"schema_version": 1, "cases": len(cases), "synthetic": True})
    return hashlib.sha256(data).hexdigest()


def make_results(cases: list[Case], model: str, skill: float | None, seed: int = 0,
                 fraction: float = 1.0) -> list[Result]:
    """One model's results: accuracy falls with length and is worst mid-depth, like real
    models; ``skill=None`` guesses uniformly (a chance baseline)."""
    rng = random.Random(f"{model}-{seed}")
    longest = max(c.length for c in cases)
    out = []
    for case in cases:
        if fraction < 1.0 and rng.random() > fraction:
            continue
        p = 0.0 if skill is None else \
            skill * (1.0 - 0.4 * case.length / longest) * (1.0 - 0.3 * (1 - abs(case.depth - 0.5) * 2))
        roll = rng.random()
        if roll < 0.02:
            pred, err = None, None  # unparsed
        elif roll < 0.03:
            pred, err = None, "CUDA out of memory"
        else:
            if skill is None:
                pred = rng.choice("ABCD")
            else:
                pred = case.answer if rng.random() < p else rng.choice([x for x in "ABCD" if x != case.answer])
            err = None
        out.append(Result(case_id=case.case_id, model=model, prediction=pred,
                          raw_output=f"The answer is {pred}." if pred else "I cannot tell.",
                          correct=pred == case.answer and err is None, length=case.length,
                          depth=case.depth, task_type=case.task_type, seconds=round(rng.uniform(0.5, 4), 3),
                          error=err))
    return out


def write_run(results_root: str | Path, run_id: str, results: list[Result], info: dict[str, Any],
              shards: int = 1) -> Path:
    """A run folder as the runner writes it: ``run.json`` and one JSONL per shard."""
    run_dir = Path(results_root) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    for k in range(shards):
        part = results[k::shards]
        name = "results.jsonl" if shards == 1 else f"results-shard{k}of{shards}.jsonl"
        (run_dir / name).write_text("".join(r.to_json() + "\n" for r in part), encoding="utf-8")
    (run_dir / RUN_INFO_NAME).write_text(json.dumps({"run_id": run_id, **info}, indent=1), encoding="utf-8")
    return run_dir


def run_info(model: str, fingerprint: str | None, cases_total: int, frames: int = 32, k: int = 8,
             tau: float = 0.5) -> dict[str, Any]:
    return {"model": model, "model_path": f"/models/{model}", "revision": "abc123",
            "settings": {"frames": frames, "keyframes_k": k, "tau": tau}, "code_version": "test",
            "manifest_fingerprint": fingerprint, "cases_total": cases_total}


def write_demo(results_root: str | Path, data_dir: str | Path | None, *, lengths=(300, 600), per_length: int = 10,
               models: int = 3, partial: int = 1, foreign: int = 1, seeds: int = 0, seed: int = 0) -> dict[str, Any]:
    """A small complete demo: a manifest (if ``data_dir``) and ``models`` complete runs,
    ``partial`` partial runs, ``foreign`` runs on another manifest and ``seeds`` runs of a
    guessing model ``random`` that differ only by seed."""
    cases = make_cases(lengths, per_length, seed)
    fp = write_manifest(data_dir, cases) if data_dir is not None else hashlib.sha256(b"demo").hexdigest()
    names = []
    for m in range(models):
        name = f"model-{chr(97 + m)}"
        write_run(results_root, name, make_results(cases, name, 0.95 - 0.15 * m, seed), run_info(name, fp, len(cases)),
                  shards=2 if m == 0 else 1)
        names.append(name)
    for m in range(partial):
        name = f"partial-{m}"
        write_run(results_root, name, make_results(cases, name, 0.99, seed, fraction=0.5),
                  run_info(name, fp, len(cases)))
        names.append(name)
    for m in range(foreign):
        name = f"foreign-{m}"
        write_run(results_root, name, make_results(cases, name, 0.9, seed), run_info(name, "0" * 64, len(cases)))
        names.append(name)
    for k in range(seeds):
        name = f"random-seed{k}"
        info = {**run_info("random", fp, len(cases)), "settings": {"seed": k}, "model_path": None}
        write_run(results_root, name, make_results(cases, "random", None, k), info)
        names.append(name)
    return {"cases": cases, "fingerprint": fp, "runs": names}
