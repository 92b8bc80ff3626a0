"""Helpers the test modules import (kept out of conftest.py, whose module name is not unique)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SMALL_BUILD = ["--lengths", "100,200", "--cases", "12", "--seed", "0", "--frame-size", "32"]


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <args>`` as a user would; returns the finished process."""
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def demo_bench(out: Path, lengths: str, cases: int):
    """``python -m generator build`` on the built-in demo source into ``out``, opened."""
    from niah.cases import Benchmark
    proc = run_cli("generator", "build", "--lengths", lengths, "--cases", str(cases), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return Benchmark.open(out)


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str,
                   ignore: Callable[[str], bool] | None = None) -> str:
    """Assert a CLI's bad-input contract: exit 2, exactly one ``error:`` line on stderr (lines
    ``ignore`` accepts aside, e.g. Ray's own logging), naming each of ``needles``; returns it."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    lines = [l for l in proc.stderr.strip().splitlines() if not (ignore and ignore(l))]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


def sigint_default() -> None:
    """``preexec_fn`` for a child a test interrupts with SIGINT: a shell that starts the tests
    in the background ignores SIGINT and children inherit that, so Python in the child would
    never raise ``KeyboardInterrupt``; this gives the child the default disposition back."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)



def letter_under(rule: str, raw_output: str, options: list[str], prediction: str | None,
                 answer_rule: str | None, prediction_strict: str | None) -> str | None:
    """One line's letter under ``rule`` by :func:`niah.run_reading.letters_under` (a one-row frame)."""
    import pandas as pd

    from niah import run_reading
    row = pd.DataFrame([[prediction, raw_output, answer_rule, prediction_strict]],
                       columns=list(run_reading.LETTER_INPUTS), dtype=object)
    return run_reading.letters_under(row, [options], rule).iloc[0]
