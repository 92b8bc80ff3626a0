"""``make mutate``: mutation testing of the core, module by module, at the lowest CPU priority.

For each module it runs ``mutmut run "<module>.*"`` (configuration: ``[tool.mutmut]`` in
pyproject.toml: which files are mutated, which fast in-process tests run), keeps mutmut's
own output in ``mutants/<module>.log``, then prints the killed share per module and every
surviving mutant with the line it changed, so each survivor gets a test or a README line
saying why it is equivalent.

    python tests/mutation/mutate.py                       # every module (40 min on 2 cores)
    python tests/mutation/mutate.py niah.schema niah.cases  # some modules
    python tests/mutation/mutate.py --report              # only print what mutants/ holds

"Killed" counts mutants a test failed on; a timeout (the mutant's tests never finished, a
hang), "no tests" (no selected test reaches the function), "suspicious" and "survived" count
as not killed. The report is also written to ``mutants/report.txt``.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import fnmatch
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"
MODULES = ["niah.accuracy", "niah.answers", "niah.atomic", "niah.cases", "niah.circular", "niah.clusters",
           "niah.comparisons", "niah.diagnostics",
           "niah.errors", "niah.ffmpeg", "niah.framestore", "niah.ray_cluster", "niah.results", "niah.run_reading",
           "niah.schedule",
           "niah.schema", "niah.videomme", "niah.view", "niah.zipmember", "generator.plan", "runner.score",
           "leaderboard.data", "leaderboard.ranking", "leaderboard.copies", "leaderboard.upload"]
KILLED = {1, 3}  # mutmut's exit codes for a failing test
TIMEOUT = {36, -24, 24, 152, 255}  # slower than the limit: a hang, or only a busy machine; not counted as killed


def sync_unmutated() -> None:
    """Copy source files mutmut does not mutate into ``mutants/`` where they changed: mutmut
    regenerates the files it mutates, but keeps its first copy of every other one. A file
    newly on the list has its plain copy removed, and mutmut's record of which tests reach
    which function with it (that record predates the file's mutants: they would all read
    "no tests")."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    newly_listed = False
    for folder in config["source_paths"]:
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if not path.is_file() or "__pycache__" in relative:
                continue
            target = MUTANTS / relative
            if relative.endswith(".py") and any(fnmatch.fnmatch(relative, p) for p in config["only_mutate"]):
                if target.exists() and "__mutmut_" not in target.read_text():
                    target.unlink()  # copied here before it was on the list: let mutmut mutate it
                    newly_listed = True
                continue
            if not target.exists() or target.read_bytes() != path.read_bytes():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    if newly_listed:
        (MUTANTS / "mutmut-stats.json").unlink(missing_ok=True)


def run(module: str, children: int) -> float:
    """One module's mutants; returns the seconds it took."""
    log = MUTANTS / f"{module}.log"
    MUTANTS.mkdir(exist_ok=True)
    sync_unmutated()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut puts mutants/ first itself
    env["NIAH_MUTATION"] = "1"  # tests/conftest.py: a per-process progress-bar lock
    start = time.monotonic()
    mutmut = Path(sys.executable).with_name("mutmut")
    with open(log, "w") as handle:
        proc = subprocess.run(["nice", "-n", "19", str(mutmut), "run", "--max-children", str(children), f"{module}.*"],
                              cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        print(f"{module}: mutmut exited {proc.returncode}; see {log}", flush=True)
    return time.monotonic() - start


def results(module: str) -> dict[str, int | None]:
    meta = MUTANTS / (module.replace(".", "/") + ".py.meta")
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def changed_lines(module: str, names: list[str]) -> dict[str, str]:
    """``mutant -> "-old / +new"`` from the mutated copy, where mutmut keeps each variant as a function."""
    path = MUTANTS / (module.replace(".", "/") + ".py")
    source = path.read_text()
    lines = source.splitlines()  # sliced by line numbers: ast.get_source_segment re-splits per call
    bodies = {node.name: "\n".join(lines[node.lineno - 1:node.end_lineno])
              for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    out = {}
    for name in names:
        function = name[len(module) + 1:]
        base = function.rsplit("__mutmut_", 1)[0]
        original = bodies.get(base + "__mutmut_orig", "").replace(base + "__mutmut_orig", base)
        mutated = bodies.get(function, "").replace(function, base)
        diff = [l for l in difflib.unified_diff(original.splitlines(), mutated.splitlines(), lineterm="", n=0)
                if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        out[name] = " / ".join(l[0] + l[1:].strip() for l in diff)[:240]
    return out


def report(modules: list[str]) -> float:
    rows, survivors, total_killed, total = [], {}, 0, 0
    for module in modules:
        codes = results(module)
        if not codes:
            rows.append((module, 0, 0, "not run"))
            continue
        killed = sum(code in KILLED for code in codes.values())
        unchecked = sum(code is None for code in codes.values())
        slow = sum(code in TIMEOUT for code in codes.values())
        notes = [f"{slow} timeout" if slow else "", f"{unchecked} not checked" if unchecked else ""]
        rows.append((module, killed, len(codes), ", ".join(n for n in notes if n)))
        total_killed, total = total_killed + killed, total + len(codes)
        left = sorted((k for k, c in codes.items() if c not in KILLED and c is not None),
                      key=lambda k: (k.rsplit("_", 1)[0], int(k.rsplit("_", 1)[1]) if k[-1].isdigit() else 0))
        if left:
            survivors[module] = (left, codes)
    print("\nSurviving mutants (mutmut show NAME prints the diff):")
    for module, (names, codes) in survivors.items():
        lines = changed_lines(module, names)
        for name in names:
            status = {0: "survived", 33: "no tests", 5: "no tests", None: "not checked"}.get(
                codes[name], "timeout" if codes[name] in TIMEOUT else str(codes[name]))
            print(f"  {name} [{status}]: {lines[name]}")
    print("\nKilled share per module:")
    for module, killed, n, note in rows:
        share = f"{100 * killed / n:5.1f} %" if n else "   -  "
        print(f"  {module:22s} {share}  ({killed}/{n}){'  ' + note if note else ''}")
    share = 100 * total_killed / total if total else 0.0
    print(f"  {'all':22s} {share:5.1f} %  ({total_killed}/{total})")
    return share


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--report", action="store_true", help="print the last results only")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    args = parser.parse_args()
    modules = args.modules or MODULES
    unknown = set(modules) - set(MODULES)
    if unknown:
        print(f"error: modules: unknown {sorted(unknown)}; known: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    if not args.report:
        for module in modules:
            seconds = run(module, args.children)
            codes = results(module)
            killed = sum(code in KILLED for code in codes.values())
            print(f"{module}: {killed}/{len(codes)} killed in {seconds:.0f} s", flush=True)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        report(modules)
    print(buffer.getvalue(), end="")
    MUTANTS.mkdir(exist_ok=True)
    (MUTANTS / "report.txt").write_text(buffer.getvalue())  # kept for the README's survivor list
    return 0


if __name__ == "__main__":
    sys.exit(main())
