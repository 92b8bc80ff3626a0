"""One error type for bad input, so every CLI can print one line and exit 2."""
from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input: names the offending file (or argument) and what is wrong with it.

    CLIs catch this, print ``error: <where>: <what>`` on one line and exit with code 2;
    nothing already written is touched, because every writer in this package writes
    to a temporary file and renames it into place only when complete.
    """

    exit_code = 2

    def __init__(self, where: str | Path, what: str) -> None:
        self.where = str(where)
        self.what = what
        super().__init__(f"{self.where}: {self.what}")
