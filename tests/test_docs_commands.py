"""Every command in a code block of README.md and docs/*.md runs as pasted.

Why: a newcomer pastes commands in order; a usage synopsis (``[--rule a|b]`` becomes a shell
pipe), a ``...`` placeholder or a flag the command no longer knows fails confusingly far from
its cause. So this test reads every fenced block of every page present (pages other branches
add are read as soon as they exist), and:

* refuses synopses and placeholders inside command blocks (they belong in prose or ``--help``);
* runs each documented ``python -m`` command, ``bench/`` script and ``ray`` subcommand with
  ``--help`` and fails on any ``--flag`` (or ``-x``) its help does not list;
* checks ``make`` targets against the Makefile and that every ``python`` block compiles;
* runs the README's five-minute tour for real, in a temporary folder (the leaderboard server
  is started on a free port and stopped once it answers).
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHONS = {"python", "python3", ".venv/bin/python", ".venv/bin/python3"}
PROJECT_CLIS = {"generator", "runner", "leaderboard"}  # their first word, if not a flag, is a subcommand
SHELL_LANGS = {"bash", "sh", "shell", "console"}
#: an untagged block is a command block when its first command starts with one of these
COMMAND_WORDS = PYTHONS | {"make", "ray", "source", "export", "sbatch", "streamlit", "hf", "cd", "srun"}
#: what may not stand in a command block: synopses and placeholders that the shell or argparse
#: would take literally
PLACEHOLDERS = [(re.compile(r"\.\.\.|…"), "an ellipsis"), (re.compile(r"\[--?\w"), "an [--option] synopsis"),
                (re.compile(r"\w\|\w"), "an a|b choice"), (re.compile(r"<[a-z][\w -]*>"), "a <placeholder>"),
                (re.compile(r"\b(?:HEAD_IP|HOST|PATH/TO)\b"), "a placeholder address or path")]
TOUR_HEADING = "## A five-minute tour"
#: pages the README links to that other branches add (the links are checked once they exist)
PAGES_FROM_OTHER_BRANCHES = {"docs/protocols.md", "docs/lmms-eval.md", "docs/leaderboard.md", "docs/vilamp-speed.md",
                             "docs/tasks.md"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    found, lines = [], page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)(```+)\s*(\S*)", lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence.group(2)))
        found.append(Block(page, i + 1, fence.group(3).lower(), "\n".join(lines[i + 1:end])))
        i = end + 1
    return found


def logical_lines(text: str) -> list[str]:
    """The block's lines with backslash continuations joined and comment-only lines dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip() and not line.strip().startswith("#"):
            out.append(line)
    return out


def tokens(line: str) -> list[str]:
    lex = shlex.shlex(line, posix=True, punctuation_chars="();<>|&")
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        return list(lex)
    except ValueError:  # an unbalanced quote: prose or output, not a command; read it as words
        return line.split()


def first_word(line: str) -> str:
    words = [t for t in tokens(line) if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", t)]
    return words[0] if words else ""


def command_blocks() -> list[Block]:
    chosen = []
    for page in PAGES:
        for block in blocks(page):
            lines = logical_lines(block.text)
            if block.lang in SHELL_LANGS or (block.lang == "" and lines and first_word(lines[0]) in COMMAND_WORDS):
                chosen.append(block)
    return chosen


@dataclass(frozen=True)
class Command:
    kind: str  # "module", "script", "ray", "make"
    name: str  # module, script path, ray subcommand or make target
    sub: str | None
    args: tuple[str, ...]
    where: str


def commands_in(line: str, where: str) -> list[Command]:
    """The commands this project documents inside one shell line (after ``srun``, env
    assignments or ``&&`` too): ``python -m X``, ``python bench/x.py``, ``ray X``, ``make X``."""
    words = tokens(line)
    found = []
    for i, word in enumerate(words):
        rest = words[i + 1:]
        stop = next((k for k, w in enumerate(rest) if w in {";", "&", "&&", "|", "||", ">", ">>", "(", ")"}), len(rest))
        rest = rest[:stop]
        if word in PYTHONS and rest[:1] == ["-m"] and len(rest) > 1:
            module, args = rest[1], rest[2:]
            sub = args[0] if module in PROJECT_CLIS and args and not args[0].startswith("-") else None
            found.append(Command("module", module, sub, tuple(args[1:] if sub else args), where))
        elif word in PYTHONS and rest and rest[0].endswith(".py"):
            args = rest[1:]
            sub = args[0] if args and re.fullmatch(r"[a-z][a-z-]*", args[0]) else None
            found.append(Command("script", rest[0], sub, tuple(args[1:] if sub else args), where))
        elif word == "ray" and rest and not rest[0].startswith("-") and not (i and words[i - 1].startswith("-")):
            found.append(Command("ray", rest[0], None, tuple(rest[1:]), where))
        elif word == "make" and i == 0:
            found.append(Command("make", rest[0] if rest else "", None, tuple(rest[1:]), where))
    return found


def all_commands() -> list[Command]:
    return [cmd for block in command_blocks() for line in logical_lines(block.text)
            for cmd in commands_in(line, block.where)]


def flags(args: tuple[str, ...]) -> list[str]:
    return [a.split("=", 1)[0] for a in args if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", a)]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def takes_options(script: str) -> bool:
    path = ROOT / script
    return path.is_file() and "argparse" in path.read_text(encoding="utf-8")


@cache
def help_text(kind: str, name: str, sub: str | None) -> tuple[int, str]:
    """(exit status, output) of the command's ``--help``. A script that reads no options is
    never run: ``--help`` would not stop it (``tests/edges/check_breaks.py`` rewrites sources)."""
    if kind == "script" and not takes_options(name):
        raise ValueError(f"{name} reads no options: not run for its --help")
    if kind == "module":
        # `runner lmms-eval` hands every argument to lmms-eval's own command line, whose options
        # given without a subcommand are those of its `eval` subcommand
        passthrough = ["eval"] if (name, sub) == ("runner", "lmms-eval") else []
        argv = [sys.executable, "-m", name, *([sub] if sub else []), *passthrough, "--help"]
    elif kind == "script":
        argv = [sys.executable, str(ROOT / name), *([sub] if sub else []), "--help"]
    else:
        argv = [str(Path(sys.executable).with_name("ray")), name, "--help"]
    proc = subprocess.run(argv, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=180)
    return proc.returncode, proc.stdout + proc.stderr


def problems_of(cmd: Command) -> list[str]:
    label = f"{cmd.where}: {cmd.kind} {cmd.name}{' ' + cmd.sub if cmd.sub else ''}"
    if cmd.kind == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M)
        return [] if cmd.name in targets else [f"{label}: no such make target"]
    if cmd.kind == "script":
        if not (ROOT / cmd.name).is_file():
            return [f"{label}: no such script"]
        if not takes_options(cmd.name):
            return [f"{label}: documented with options it cannot read"] if flags(cmd.args) else []
    if cmd.kind == "ray" and not Path(sys.executable).with_name("ray").exists():
        return []  # ray not installed here: nothing to check against
    status, text = help_text(cmd.kind, cmd.name, cmd.sub)
    missing = re.search(r"No module named '([\w.]+)'", text) if status != 0 else None
    if missing and importlib.util.find_spec(missing.group(1).split(".")[0]) is None:
        return []  # needs what this install lacks (torch on `make demo`'s): checked where it is installed
    if status != 0:
        return [f"{label}: --help exits {status}: {text.strip().splitlines()[-1:] }"]
    return [f"{label}: {flag} is not an option of this command (not in its --help)"
            for flag in flags(cmd.args) if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)]


def test_the_docs_have_command_blocks_to_check() -> None:
    kinds = {c.kind for c in all_commands()}
    assert {"module", "script", "make"} <= kinds, kinds
    assert len(all_commands()) > 30


def test_command_blocks_hold_no_synopses_or_placeholders() -> None:
    found = [f"{block.where}: {what} in {line.strip()!r}" for block in command_blocks()
             for line in logical_lines(block.text) for pattern, what in PLACEHOLDERS if pattern.search(line)]
    assert not found, "\n".join(found)


def test_every_documented_command_knows_every_documented_option() -> None:
    commands = all_commands()
    keys = {(c.kind, c.name, c.sub) for c in commands
            if c.kind == "module" or (c.kind == "script" and takes_options(c.name))
            or (c.kind == "ray" and Path(sys.executable).with_name("ray").exists())}
    with ThreadPoolExecutor(2) as pool:  # warm the cache: each --help once, two at a time
        list(pool.map(lambda key: help_text(*key), sorted(keys, key=str)))
    found = [problem for cmd in commands for problem in problems_of(cmd)]
    assert not found, "\n".join(found)


def test_a_renamed_flag_is_caught() -> None:
    """The check itself: a flag the command does not know is reported, a known one is not."""
    good = Command("module", "generator", "build", ("--out", "data/x", "--lengths", "1k"), "here")
    assert problems_of(good) == []
    [problem] = problems_of(Command("module", "generator", "build", ("--outdir", "data/x"), "here"))
    assert "--outdir is not an option" in problem


#: (module, subcommand) -> the options that name where it writes
WRITES = {("generator", "build"): ("--out",), ("generator", "export"): ("-o", "--output"),
          ("runner", "score"): ("--out",), ("runner", "report"): ("--csv",), ("leaderboard", "export"): ("--out",)}


def written_paths(cmd: Command) -> list[str]:
    options = WRITES.get((cmd.name, cmd.sub), ())
    args = list(cmd.args)
    found = [args[i + 1] for i, a in enumerate(args[:-1]) if a in options]
    return found + [a.split("=", 1)[1] for a in args if a.split("=", 1)[0] in options and "=" in a]


def test_documented_outputs_inside_the_checkout_are_ignored_by_git() -> None:
    """What a pasted command writes into the checkout (``case.mp4``, ``site/``, CSV folders)
    must not show up as untracked files: it goes under ``data/`` or ``results/``, or is ignored."""
    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    paths = {(path, cmd.where) for cmd in all_commands() if cmd.kind == "module"
             for path in written_paths(cmd) if not Path(path).is_absolute()}
    assert len(paths) >= 5, paths

    def ignored(path: str) -> bool:  # as a file, or as a folder (``/results/`` matches folders only)
        return any(subprocess.run(["git", "check-ignore", "-q", "--no-index", candidate], cwd=ROOT).returncode == 0
                   for candidate in (path, path.rstrip("/") + "/file"))

    shown = [f"{where}: {path}" for path, where in sorted(paths) if not ignored(path)]
    assert not shown, "written into the checkout and not ignored by git:\n" + "\n".join(shown)


def test_python_blocks_compile() -> None:
    for page in PAGES:
        for block in blocks(page):
            if block.lang == "python":
                compile(block.text, block.where, "exec")


def test_local_links_resolve() -> None:
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue
            path = (page.parent / target).resolve()
            if not path.exists() and str(path.relative_to(ROOT)) not in PAGES_FROM_OTHER_BRANCHES:
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert not missing, "\n".join(missing)


def test_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


def tour() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(TOUR_HEADING, 1)[1].split("\n## ", 1)[0]
    [block] = [b for b in blocks(ROOT / "README.md") if b.lang in SHELL_LANGS and b.text in section]
    return logical_lines(block.text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_until_healthy(argv: list[str], cwd: Path, seconds: float = 90) -> str:
    """Start the page server on a free port, wait for Streamlit's health check, stop it."""
    port = free_port()
    server = subprocess.Popen([*argv, "--port", str(port), "--headless"], cwd=cwd, env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read().decode(errors="replace")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                    return reply.read().decode()
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"the leaderboard did not answer on port {port} within {seconds} s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_readme_tour_runs_as_pasted(tmp_path: Path) -> None:
    """The tour, command by command, in a fresh folder (``python`` is this interpreter, as
    after ``source .venv/bin/activate``); the server is checked to answer and stopped."""
    lines = tour()
    assert lines[0] == "source .venv/bin/activate"
    for line in lines[1:]:
        words = tokens(line)
        assert words[0] == "python" and words[1] == "-m", line
        argv = [sys.executable, *words[1:]]
        if words[2] == "leaderboard" and words[3] != "export":
            assert serve_until_healthy(argv, tmp_path) == "ok"
            continue
        proc = subprocess.run(argv, cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    [run] = [p for p in (tmp_path / "results" / "tour").iterdir() if p.is_dir()]
    assert len((run / "results.jsonl").read_text().splitlines()) == 8
    assert (tmp_path / "data" / "L2000-0000.mp4").stat().st_size > 0
    assert "<table" in (tmp_path / "data" / "tour-site" / "index.html").read_text()
