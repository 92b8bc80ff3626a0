"""The house's import rules, read from the source (no import is executed):

* ``niah/`` is the foundation: it imports none of ``generator``, ``runner``, ``leaderboard``;
* those three stand on ``niah/`` and never import each other;
* no module of the packages, benches or tests imports a ``__main__`` (each package's command line
  lives in an importable module);
* no two modules import each other, directly or round a longer circle (lazy imports inside
  functions included: they are circles all the same, only deferred).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("niah", "generator", "runner", "leaderboard")
PRODUCTS = ("generator", "runner", "leaderboard")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every module ``path`` imports, anywhere in the file; ``from a import b`` counts as ``a.b``
    when that is a module of the project, else as ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def _top(module: str) -> str:
    return module.split(".")[0]


def test_niah_is_the_foundation_and_products_do_not_import_each_other() -> None:
    wrong = []
    for module, imported in sorted(_graph().items()):
        for target in sorted(imported):
            if _top(target) not in PACKAGES or _top(target) == _top(module):
                continue
            if _top(target) in PRODUCTS:  # niah -> product, or product -> other product
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_nothing_imports_a_main_module() -> None:
    scanned = dict(_modules())
    for folder in ("bench", "tests"):
        scanned.update({str(p.relative_to(ROOT)): p for p in (ROOT / folder).rglob("*.py")})
    known = set(_modules())
    wrong = sorted(f"{name} imports {target}" for name, path in scanned.items()
                   for target in _imports(path, name, known) if target.split(".")[-1] == "__main__")
    assert wrong == []


def test_no_import_circles() -> None:
    graph = _graph()
    edges = {module: {t for t in targets if t in graph and t != module} for module, targets in graph.items()}
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target):] + [module, target]))
            elif target not in state:
                visit(target, path + [module])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert circles == []


def test_the_rules_see_a_violation(tmp_path: Path) -> None:
    """The scanner itself: a lazy import inside a function and a relative import are both seen."""
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from runner.__main__ import main\nfrom . import sibling\n")
    found = _imports(source, "generator.mod", {"generator.sibling"})
    assert found == {"runner.__main__", "generator.sibling"}
