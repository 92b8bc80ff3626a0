"""The multiple-choice prompt, as in the paper's evaluation (LLaVA-OneVision / lmms-eval
Video-MME style): the question, then the options one per line, then the instruction.

    Which object appears in the kitchen?
    A. A red kettle
    B. A blue mug
    C. A toaster
    D. A bread knife
    Answer with the option's letter from the given choices directly.

``PROMPT_VERSION`` changes whenever the text a model sees changes; it is part of every
model's ``settings()``, so runs with different prompts never share a run id.
Video-MME options already carry their letter ("A. ..."); options without one get it added.
"""
from __future__ import annotations

import re

from niah.schema import Case

PROMPT_VERSION = "mc-v1"
INSTRUCTION = "Answer with the option's letter from the given choices directly."
_LETTERED = re.compile(r"^\s*\(?[A-Z][.):]\s")


def format_options(options: list[str]) -> list[str]:
    """One line per option, each starting with its letter ("A. ...")."""
    lines = []
    for i, option in enumerate(options):
        option = " ".join(str(option).split())
        lines.append(option if _LETTERED.match(option) else f"{chr(ord('A') + i)}. {option}")
    return lines


def build_prompt(question: str, options: list[str], instruction: str = INSTRUCTION) -> str:
    """Question, options one per line, instruction."""
    return "\n".join([" ".join(question.split()), *format_options(options), instruction])


def case_prompt(case: Case) -> str:
    return build_prompt(case.question, case.options)
