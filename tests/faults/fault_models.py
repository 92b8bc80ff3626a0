"""Test models for the fault tests; importable on Ray workers (tests/faults on PYTHONPATH).

Both are the ``random`` baseline (same letter per case) with a fault added; ``model_path`` is a
JSON file saying which (so nothing depends on the worker's environment variables):

* ``exit-once``: ``{"marker": PATH, "poison": [CASE_ID, ...]}``: the first ``answer`` call of
  the whole run (across every process: an ``O_EXCL`` marker file) kills its process with
  ``os._exit``, as a segfault or a host OOM kill would; every call on a poison case does too.
* ``slow``: ``{"delay": SECONDS}`` per case, so a run lasts long enough to be killed.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

from runner.models.random_choice import RandomChoiceModel


def _config(model_path: str | None) -> dict[str, Any]:
    if not model_path:
        return {}
    with open(model_path) as handle:
        return json.load(handle)


class ExitOnce(RandomChoiceModel):
    name = "exit-once"

    def answer(self, case: Any, bench: Any = None) -> str:
        config = _config(self.model_path)
        if case.case_id in config.get("poison", []):
            os._exit(3)
        if config.get("marker"):
            try:
                os.close(os.open(config["marker"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(3)
        return super().answer(case, bench)


class Slow(RandomChoiceModel):
    name = "slow"

    def answer(self, case: Any, bench: Any = None) -> str:
        time.sleep(float(_config(self.model_path).get("delay", 0.02)))
        return super().answer(case, bench)


def load_exit_once(model_path: str | None = None, **options: Any) -> ExitOnce:
    return ExitOnce(model_path, **options)


def load_slow(model_path: str | None = None, **options: Any) -> Slow:
    return Slow(model_path, **options)
