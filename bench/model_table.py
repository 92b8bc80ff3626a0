"""Print the model table of docs/runner.md: what each HF video-LLM family sees of a 2K and a 10K-frame case
at its model-card defaults, and its estimated peak GPU memory (runner/models/model_table.py).

    .venv/bin/python bench/model_table.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.models.model_table import table  # noqa: E402

if __name__ == "__main__":
    print(table())
