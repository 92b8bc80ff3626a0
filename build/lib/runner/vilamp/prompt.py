"""The prompt of the authors' Video-MME evaluation (``scripts/eval/exp_vMME.py`` in
``steven-ccq/ViLAMP``), used by the ``released`` profile.

Their query is ``"{question}. Please choose the right answer from the following options:
{options}."`` with ``options`` the Python list of option strings formatted as a list
(``['A. red', 'B. blue']``), placed after the image token and a newline in the ``qwen_1_5``
conversation (ChatML with the system prompt "You are a helpful assistant."). With one new token
the model answers with a letter.
"""
from __future__ import annotations

from typing import Sequence

PROMPT_VERSION = "vilamp-authors-v1"
QUERY = "{question}. Please choose the right answer from the following options: {options}."
SYSTEM = "You are a helpful assistant."


def query(question: str, options: Sequence[str]) -> str:
    """The user text, exactly as ``str.format`` prints it (a list prints as its ``repr``)."""
    return QUERY.format(question=question, options=[str(o) for o in options])


def chatml_pieces(question: str, options: Sequence[str]) -> tuple[str, str]:
    """The prompt before and after the visual tokens (which replace the ``<image>`` token)."""
    before = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
    after = f"\n{query(question, options)}<|im_end|>\n<|im_start|>assistant\n"
    return before, after
