"""Test models for the fault tests; importable on Ray workers (tests/faults is put on PYTHONPATH).

* ``exit-once``: the ``random`` baseline, except that the first ``answer`` call of the whole run
  (across every process: an ``O_EXCL`` marker file at ``model_path``) kills its process with
  ``os._exit``, as a segfault or a host OOM kill would; and every call on a case listed in
  ``NIAH_FAULT_POISON`` (comma-separated case ids) kills its process too.
* ``slow``: the ``random`` baseline taking ``NIAH_FAULT_DELAY`` seconds (default 0.02) per case,
  so that a run lasts long enough to be killed at random points.
"""
from __future__ import annotations

import os
import time
from typing import Any

from runner.models.random_choice import RandomChoiceModel


class ExitOnce(RandomChoiceModel):
    name = "exit-once"

    def answer(self, case: Any, bench: Any = None) -> str:
        poison = {c for c in os.environ.get("NIAH_FAULT_POISON", "").split(",") if c}
        if case.case_id in poison:
            os._exit(3)
        if self.model_path:
            try:
                os.close(os.open(self.model_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(3)
        return super().answer(case, bench)


class Slow(RandomChoiceModel):
    name = "slow"

    def answer(self, case: Any, bench: Any = None) -> str:
        time.sleep(float(os.environ.get("NIAH_FAULT_DELAY", "0.02")))
        return super().answer(case, bench)


def load_exit_once(model_path: str | None = None, **options: Any) -> ExitOnce:
    return ExitOnce(model_path, **options)


def load_slow(model_path: str | None = None, **options: Any) -> Slow:
    return Slow(model_path, **options)
