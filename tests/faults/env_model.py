"""``env-settings``: the ``random`` baseline whose settings show two variables of the environment
it loaded in, for the Ray identity tests (importable on Ray workers: tests/faults on PYTHONPATH).

``NIAH_VISION_TOWER`` stands for a variable the Ray driver resolves for its actors,
``NIAH_TEST_FLAVOUR`` for one it does not (as a node's hub cache is not). Each answer ends with
the flavour, so a result says which configuration scored it.
"""
from __future__ import annotations

import os
from typing import Any

from runner.models.base import Answer
from runner.models.random_choice import RandomChoiceModel


class EnvSettings(RandomChoiceModel):
    name = "env-settings"

    def __init__(self, model_path: str | None = None, **options: Any) -> None:
        super().__init__(model_path, **options)
        self.vision_tower = os.environ.get("NIAH_VISION_TOWER")
        self.flavour = os.environ.get("NIAH_TEST_FLAVOUR")

    def settings(self) -> dict:
        return {**super().settings(), "vision_tower": self.vision_tower, "flavour": self.flavour}

    def answer(self, case: Any, bench: Any = None) -> Answer:
        letter = self.choose(case.case_id, list(case.options))
        return Answer(f"{letter} flavour={self.flavour}", full_frames=[])


def load(model_path: str | None = None, **options: Any) -> EnvSettings:
    return EnvSettings(model_path, **options)
