"""A tiny benchmark for the edge tests: a manifest and a frame store of indexes only (enough
for ``Benchmark.open``; the models here read no pixels), and a model answering from a table."""
from __future__ import annotations

import json
from pathlib import Path

from niah.results import RUN_INFO_NAME, Result
from niah.schema import DATASET_NAME, MANIFEST_NAME, Case, Needle, Segment


def make_case(i: int, options: list[str] | None = None) -> Case:
    segments = [Segment("hay", i, 20, "haystack"), Segment("ndl", 0, 10, "needle"), Segment("hay", 50 + i, 10, "haystack")]
    return Case(f"L40-{i:04d}", 40, 1.0, round(20 / 30, 6), Needle("ndl", f"q{i}", 20, 10), segments,
                "What colour?", options or ["A. red", "B. blue", "C. green", "D. the sea"], "ABCD"[i % 4], "T")


def write_bench(root: Path, cases: list[Case]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST_NAME).write_text("".join(c.to_json() + "\n" for c in cases))
    (root / DATASET_NAME).write_text(json.dumps({"frame_store": "frames"}))
    store = root / "frames"
    store.mkdir()
    (store / "store.json").write_text(json.dumps({"width": 32, "height": 32, "fps": 1.0, "crf": 18,
                                                  "preset": "ultrafast"}))
    for video, frames in (("hay", 100), ("ndl", 10)):
        (store / f"{video}.json").write_text(json.dumps({"frames": frames, "offsets": [0] * (frames + 1)}))
        (store / f"{video}.h264").write_bytes(b"")
    return root


class Scripted:
    """Answers each case from a table; settings are what the caller says."""

    name = "scripted"

    def __init__(self, answers: dict[str, object], settings: dict | None = None) -> None:
        self.answers, self._settings = answers, settings or {}

    def settings(self) -> dict:
        return self._settings

    def answer(self, case, bench):
        out = self.answers[case.case_id]
        if isinstance(out, Exception):
            raise out
        return out


def result_of(case: Case, prediction: str | None, **changes) -> Result:
    fields = dict(case_id=case.case_id, model="up", prediction=prediction, raw_output=str(prediction),
                  correct=prediction == case.answer, length=case.length, depth=case.depth,
                  task_type=case.task_type, seconds=1.5)
    fields.update(changes)
    return Result(**fields)


def write_run(root: Path, run_id: str, cases: list[Case], right: int, *, seed: int | None, fingerprint: str,
              scored: int | None = None) -> None:
    """``run_id`` scored ``scored`` cases (all by default), the first ``right`` correctly."""
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    lines = []
    for i, case in enumerate(cases[:scored]):
        prediction = case.answer if i < right else "ABCD"[("ABCD".index(case.answer) + 1) % 4]
        lines.append(result_of(case, prediction, model="m" if seed is not None else run_id).to_json())
    (run_dir / "results.jsonl").write_text("".join(l + "\n" for l in lines))
    info = {"run_id": run_id, "model": "m" if seed is not None else run_id, "model_path": None, "revision": None,
            "settings": {"seed": seed} if seed is not None else {}, "manifest_fingerprint": fingerprint,
            "cases_total": len(cases)}
    (run_dir / RUN_INFO_NAME).write_text(json.dumps(info))
