"""The chance baseline: a fixed pseudo-random option letter per (seed, case).

Needs no weights, frames or GPU, so it also exercises the whole scoring pipeline in tests.
The letter depends only on ``seed`` and ``case_id`` (SHA-256, not Python's salted
``hash``), so every process, shard and rerun gives the same answer for a case. In a circular
run each rotation after the first draws its own letter (``seed:case_id:rotation``), as an
independent guesser would: asking the plain draw again would give the same *letter* every
rotation, which can never pass them all. Rotation 0 is the plain draw.
"""
from __future__ import annotations

import hashlib
from typing import Any

from niah.answers import option_letters
from runner.models.base import Answer, Model


class RandomChoiceModel(Model):
    """``random``: uniform over the case's option letters, deterministic per (seed, case_id)."""

    name = "random"

    def __init__(self, model_path: str | None = None, device: str = "cpu", dtype: str = "auto",
                 frames: int | None = None, seed: int | None = 0, **_ignored: Any) -> None:
        self.model_path = model_path
        self.seed = 0 if seed is None else int(seed)

    def settings(self) -> dict:
        return {"seed": self.seed}

    def choose(self, case_id: str, options: list[str], rotation: int = 0) -> str:
        letters = sorted(option_letters(options))
        if not letters:
            return ""
        key = f"{self.seed}:{case_id}" + (f":{rotation}" if rotation else "")
        digest = hashlib.sha256(key.encode()).digest()
        return letters[int.from_bytes(digest[:8], "big") % len(letters)]

    def answer(self, case: Any, bench: Any = None) -> Answer:
        return Answer(self.choose(case.case_id, list(case.options)), full_frames=[])

    def answer_rotations(self, case: Any, bench: Any, option_lists: list[list[str]]) -> list[str | Answer]:
        return [Answer(self.choose(case.case_id, options, r), full_frames=[]) for r, options in enumerate(option_lists)]


def load(model_path: str | None = None, device: str = "cpu", dtype: str = "auto",
         frames: int | None = None, **options: Any) -> RandomChoiceModel:
    """Registry hook: same signature as ``runner.models.load_model`` minus the name."""
    return RandomChoiceModel(model_path, device, dtype, frames, **options)
