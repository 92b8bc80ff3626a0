"""The core install (``make demo``'s environment: no torch) collects every test module without an
error, so ``make test-fast`` runs there: a pytest subprocess collects the suite with the model
stack hidden by an import blocker, as if it were not installed."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from niah_testlib import ROOT

#: the `models` extra (pyproject.toml) by import name, and what transformers brings with it
HIDDEN = ("torch", "torchvision", "transformers", "open_clip", "safetensors", "tokenizers", "huggingface_hub")

COLLECT_WITHOUT = textwrap.dedent("""
    import importlib.abc, sys
    import pytest

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in sys.argv[1].split(","):
                raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-rs", "tests"]))
""")


def test_collection_without_torch_has_no_errors() -> None:
    proc = subprocess.run([sys.executable, "-c", COLLECT_WITHOUT, ",".join(HIDDEN)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0 and "error" not in summary, proc.stdout[-3000:]
    assert "could not import 'torch'" in proc.stdout  # the blocker worked: the torch modules were skipped
