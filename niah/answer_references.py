"""The two reference harnesses' answer extraction, transcribed to behave exactly as they do.

* :func:`videomme_answer` - Video-MME's ``evaluation/eval_your_results.py``
  (``extract_characters_regex``; MME-Benchmarks/Video-MME, last at commit 4e7566d, removed from
  the repository later). Its prefix list lacks two commas, so Python joins
  ``"The best option is" "The correct option is"`` and ``"Best answer:" "Best option:"`` into
  one string each: ``"Best answer: C"`` keeps its prefix and reads **B** (the B of "Best").
  The script then takes the first capital A-D anywhere (whatever the number of options) and,
  when that finds none, gives no answer; its accuracy is over the *answered* questions only
  (``niah.answers.Reading.answered_only``).
* :func:`lmms_eval_answer` - lmms-eval 0.7.3's ``extract_mcq_answer``
  (``lmms_eval/tasks/_task_utils/mcq_extract.py``) as its Video-MME task calls it
  (``choices=["A", "B", "C", "D"]``): every candidate letter is found in several formats
  (``(B)``, ``B.``, ``B:``, ``B)``, ``B ``, after an answer phrase, at the start, at the end,
  anywhere) and the highest-ranked format wins, the later position breaking ties:
  ``"Answer: C"`` reads C (the end of the text), ``"B. because C"`` reads B (the start).

Both return ``None`` where the harness returns ``""``. ``tests/property`` holds them against an
independent transcription of the script and against lmms-eval's own function.
"""
from __future__ import annotations

import re
from typing import Sequence

# ----- Video-MME's evaluation script -------------------------------------------------------------
#: the script's prefixes as Python reads its list (two pairs of adjacent literals concatenated)
VIDEOMME_PREFIXES = ("The best answer is", "The correct answer is", "The answer is", "The answer",
                     "The best option is" "The correct option is", "Best answer:" "Best option:")
_ABCD = re.compile("[ABCD]")


def videomme_answer(text: str | None, options: Sequence[str] = ()) -> str | None:
    """Video-MME's ``extract_characters_regex``; ``options`` are not looked at (A-D, fixed)."""
    del options
    if text is None:
        return None
    stripped = text.strip()
    for prefix in VIDEOMME_PREFIXES:
        stripped = stripped.replace(prefix, "")
    found = _ABCD.search(stripped)
    # the script's "over 10 words and no A-D -> no answer" gives the same as finding none
    return found.group(0) if found else None


# ----- lmms-eval 0.7.3's extract_mcq_answer ------------------------------------------------------
LMMS_EVAL_CHOICES = ("A", "B", "C", "D")    # what the Video-MME task passes
LMMS_EVAL_PHRASES = ("the answer is", "answer is", "the correct answer is", "correct answer is",
                     "the best answer is", "best answer is", "the correct option is", "correct option is",
                     "the best option is", "best option is", "the choice is", "choice is",
                     "the correct choice is", "correct choice is", "i choose", "i select", "i pick",
                     "my answer is", "my choice is", "옵션", "정답은", "답은", "답:", "答案是", "答案为", "选",
                     "答えは")
#: (format, how the letter is written in it) tried in this order; ranked by LMMS_EVAL_RANK
_LMMS_EVAL_MARKS = (("parentheses", "({})"), ("period", "{}."), ("colon", "{}:"), ("right_paren", "{})"),
                    ("space", "{} "))
#: the formats' ranks; "start" and "end" each name at most one letter and outrank the rest, so
#: they are answered first below, before any position is compared
LMMS_EVAL_RANK = {"start": 10, "end": 9, "phrase": 7, "parentheses": 6, "period": 5, "colon": 4,
                  "right_paren": 3, "space": 2, "fallback": 0}


def lmms_eval_answer(text: str | None, options: Sequence[str] = ()) -> str | None:
    """lmms-eval 0.7.3's ``extract_mcq_answer(text, choices=["A", "B", "C", "D"])``."""
    del options
    if not text or not text.strip():
        return None
    body = text.strip()
    for mark in (",", ".", "!", "?", ";", ":", "'", '"'):   # one after the other, not as a set
        body = body.strip(mark)
    bare = body.strip()
    # a standalone letter: not followed (at the start) or preceded (at the end) by a letter
    if bare[:1] in LMMS_EVAL_CHOICES and not bare[1:2].isalpha():
        return bare[0]
    if bare[-1:] in LMMS_EVAL_CHOICES and not bare[-2:-1].isalpha():
        return bare[-1]
    padded = f" {body} "
    found: list[tuple[int, int, str]] = []                 # (rank, position, letter)
    for name, form in _LMMS_EVAL_MARKS:
        for letter in LMMS_EVAL_CHOICES:
            written = form.format(letter)
            if written in padded:
                found.append((LMMS_EVAL_RANK[name], padded.rfind(written), letter))
    lowered = padded.lower()            # may be longer than padded ("İ"); positions mix as lmms-eval's do
    for phrase in LMMS_EVAL_PHRASES:
        at = lowered.find(phrase)
        if at == -1:
            continue
        for letter in LMMS_EVAL_CHOICES:
            position = padded.find(letter, at + len(phrase))
            if position != -1:
                found.append((LMMS_EVAL_RANK["phrase"], position, letter))
    if not found:
        found = [(LMMS_EVAL_RANK["fallback"], padded.rfind(letter), letter)
                 for letter in LMMS_EVAL_CHOICES if letter in padded]
    # highest rank, then latest position; equal (rank, position) only ever name the same letter
    return max(found)[2] if found else None
