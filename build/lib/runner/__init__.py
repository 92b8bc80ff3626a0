"""The runner: score models on a Video NIAH benchmark and report accuracy.

    python -m runner score --data data/niah --model vilamp --model-path orange-sk/ViLAMP-llava-qwen --out results/
    python -m runner report --out results/

See :mod:`runner.score` (resumable, shardable scoring), :mod:`runner.answers` (reading the
option letter out of a model's text), :mod:`runner.report` (accuracy tables) and
:mod:`runner.models` (the model registry).
"""

__version__ = "0.1.0"
