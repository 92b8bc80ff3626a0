"""The chance baseline: a fixed pseudo-random option letter per (seed, case).

Needs no weights, frames or GPU, so it also exercises the whole scoring pipeline in tests.
The letter depends only on ``seed`` and ``case_id`` (SHA-256, not Python's salted
``hash``), so every process, shard and rerun gives the same answer for a case.
"""
from __future__ import annotations

import hashlib
from typing import Any

from niah.answers import option_letters
from runner.models.base import Model


class RandomChoiceModel(Model):
    """``random``: uniform over the case's option letters, deterministic per (seed, case_id)."""

    name = "random"

    def __init__(self, model_path: str | None = None, device: str = "cpu", dtype: str = "auto",
                 frames: int | None = None, seed: int | None = 0, **_ignored: Any) -> None:
        self.model_path = model_path
        self.seed = 0 if seed is None else int(seed)

    def settings(self) -> dict:
        return {"seed": self.seed}

    def choose(self, case_id: str, options: list[str]) -> str:
        letters = sorted(option_letters(options))
        if not letters:
            return ""
        digest = hashlib.sha256(f"{self.seed}:{case_id}".encode()).digest()
        return letters[int.from_bytes(digest[:8], "big") % len(letters)]

    def answer(self, case: Any, bench: Any = None) -> str:
        return self.choose(case.case_id, list(case.options))


def load(model_path: str | None = None, device: str = "cpu", dtype: str = "auto",
         frames: int | None = None, **options: Any) -> RandomChoiceModel:
    """Registry hook: same signature as ``runner.models.load_model`` minus the name."""
    return RandomChoiceModel(model_path, device, dtype, frames, **options)
