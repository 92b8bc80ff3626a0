"""``make mutate`` reports on every file the mutmut configuration mutates: a module added to
``niah/`` (or moved out of a listed file) is in the printed figure, not silently left out."""
from __future__ import annotations

import fnmatch
import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_reported_modules_are_exactly_the_mutated_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    mutated = {p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
               for folder in config["source_paths"] for p in (ROOT / folder).rglob("*.py")
               if any(fnmatch.fnmatch(p.relative_to(ROOT).as_posix(), g) for g in config["only_mutate"])
               and p.name != "__init__.py"}
    spec = importlib.util.spec_from_file_location("mutate", ROOT / "tests" / "mutation" / "mutate.py")
    mutate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutate)
    assert sorted(mutate.MODULES) == sorted(mutated)
    for path in config["pytest_add_cli_args_test_selection"]:
        assert path.startswith("-") or not path.startswith("tests") or (ROOT / path).exists(), path
