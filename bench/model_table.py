"""Print the model table of docs/runner.md: what each HF video-LLM family sees of a 2K and a 10K-frame case
at its model-card defaults, and its estimated peak GPU memory (runner/models/model_table.py);
with ``--protocols``, docs/protocols.md's table (every family under every protocol).

    .venv/bin/python bench/model_table.py
    .venv/bin/python bench/model_table.py --protocols
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.models.model_table import protocol_table, table  # noqa: E402

if __name__ == "__main__":
    print(protocol_table() if "--protocols" in sys.argv[1:] else table())
