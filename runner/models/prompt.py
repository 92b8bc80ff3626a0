"""The one multiple-choice prompt every uniform-sampling model gets: lmms-eval's Video-MME task
prompt, so accuracies here compare with published Video-MME figures.

lmms-eval (EvolvingLMMs-Lab/lmms-eval, ``lmms_eval/tasks/videomme/utils.py::videomme_doc_to_text``
with ``videomme.yaml``'s ``default`` kwargs, ``pre_prompt: ""``, read at commit 75571cf) builds::

    Select the best answer to the following multiple-choice question based on the video and the subtitles. Respond with only the letter (A, B, C, or D) of the correct option.
    Which object appears in the kitchen?
    A. A red kettle
    B. A blue mug
    C. A toaster
    D. A bread knife

    Answer with the option's letter from the given choices directly.

(the blank line is there: the yaml's post prompt starts with a newline; "and the subtitles" is
there too, although Video-MME without subtitles is what it scores). The model's own chat
template wraps this text after the video. ViLAMP's ``released`` profile keeps its authors'
prompt (``runner/vilamp/prompt.py``).

``PROMPT_VERSION`` changes whenever the text a model sees changes; it is part of every
model's ``settings()``, so runs with different prompts never share a run id.
Video-MME options already carry their letter ("A. ..."); options without one get it added.
"""
from __future__ import annotations

import re

from niah.schema import Case

PROMPT_VERSION = "lmms-eval-videomme-v1"
PRE_PROMPT = ("Select the best answer to the following multiple-choice question based on the video and the "
              "subtitles. Respond with only the letter (A, B, C, or D) of the correct option.")
INSTRUCTION = "Answer with the option's letter from the given choices directly."
POST_PROMPT = "\n" + INSTRUCTION
_LETTERED = re.compile(r"^\s*\(?[A-Z][.):]\s")


def format_options(options: list[str]) -> list[str]:
    """One line per option, each starting with its letter ("A. ...")."""
    lines = []
    for i, option in enumerate(options):
        option = " ".join(str(option).split())
        lines.append(option if _LETTERED.match(option) else f"{chr(ord('A') + i)}. {option}")
    return lines


def build_prompt(question: str, options: list[str]) -> str:
    """lmms-eval's Video-MME prompt: instruction line, question, options one per line, post prompt."""
    return "\n".join([PRE_PROMPT, " ".join(question.split()), *format_options(options), POST_PROMPT])


def case_prompt(case: Case) -> str:
    return build_prompt(case.question, case.options)


# ----- lmms-eval 0.7.3's Video-MME prompts (tasks/videomme/utils.py with videomme.yaml's kwargs) ---
#: videomme_doc_to_text's fixed first line
LMMS_OPTION_PROMPT = ("Select the best answer to the following multiple-choice question based on the video and the "
                      "subtitles. Respond with only the letter (A, B, C, or D) of the correct option.")
#: lmms_eval_specific_kwargs of videomme.yaml by style: (pre prompt, post prompt)
LMMS_KWARGS = {
    "videomme": ("", "\nAnswer with the option's letter from the given choices directly."),   # default
    "videomme-llava-vid": ("", "The best answer is:"),                                          # llava_vid
    "videomme-qwen3vl": ("Question: ", "Answer with the option letter only."),                  # qwen3_vl
}
PROMPT_STYLES = ("runner", *LMMS_KWARGS)


def _lettered(options: list[str]) -> list[str]:
    """Options as Video-MME stores them ("A. ..."), untouched; an option without a letter gets one."""
    return [str(o) if _LETTERED.match(str(o)) else f"{chr(ord('A') + i)}. {o}" for i, o in enumerate(options)]


def protocol_prompt(style: str, question: str, options: list[str]) -> str:
    """The prompt text of a protocol's style: ``runner`` is :func:`build_prompt` (whitespace
    collapsed); the others are lmms-eval's ``videomme_doc_to_text`` (``videomme-qwen3vl``:
    ``videomme_doc_to_text_qwen3vl``) with that style's kwargs, the text passed as it is."""
    if style == "runner":
        return build_prompt(question, options)
    pre, post = LMMS_KWARGS[style]
    listed = "\n".join(_lettered(options))
    if style == "videomme-qwen3vl":
        return f"{pre}{question}\nOptions:\n{listed}\n{post}"
    return LMMS_OPTION_PROMPT + "\n" + question + "\n" + listed + "\n" + post
