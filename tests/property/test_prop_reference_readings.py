"""The reference readings equal their references on thousands of generated outputs.

* ``lmms-eval``: lmms-eval 0.7.3's own ``extract_mcq_answer`` (imported; skipped where lmms-eval
  is not installed - ``make test`` installs it), called as its Video-MME task calls it.
* ``videomme``: an independent transcription, written here, of Video-MME's
  ``evaluation/eval_your_results.py`` (``extract_characters_regex``, commit 4e7566d).
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from niah import answers
from niah.answer_references import lmms_eval_answer, videomme_answer

MANY = settings(max_examples=2000, deadline=None)
OPTIONS = ["A. a red kite", "B. two dogs", "C. the green door", "D. nobody"]
# pieces models answer with: letters in every wrapping, the phrases both references look for,
# punctuation they strip or match, words that start with a capital A-D, other scripts
PIECES = ["A", "B", "C", "D", "E", "a", "b", "c", "d", "(", ")", ".", ":", ",", "!", "?", ";", "'", '"', " ", " ",
          "\n", "**", "The answer is", "The best answer is", "The correct answer is", "The answer",
          "The best option is", "The correct option is", "Best answer:", "Best option:", "Answer:", "answer is",
          "the correct option is", "I choose", "my answer is", "Option", "Because", "Dogs", "Clearly", "Both",
          "video", "shows", "it", "is", "答案是", "选", "정답은", "İ", "ß"]
outputs = st.one_of(st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
                    st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join),
                    st.text(max_size=40))


# ----- lmms-eval -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def extract_mcq_answer():
    spec = importlib.util.find_spec("lmms_eval")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lmms-eval 0.7.3 is not installed (make install adds it)")
    return load_extract_mcq_answer()


def load_extract_mcq_answer():
    """lmms-eval's file itself, loaded without importing the lmms_eval package (15 s of imports
    that this one dependency-free module does not need)."""
    spec = importlib.util.find_spec("lmms_eval")
    path = Path(next(iter(spec.submodule_search_locations))) / "tasks" / "_task_utils" / "mcq_extract.py"
    module_spec = importlib.util.spec_from_file_location("lmms_eval_mcq_extract", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.extract_mcq_answer


@MANY
@given(outputs)
@example("Answer: C")
@example("B. because C")
@example(".,A,")
@example("The answer is (B), not A")
def test_lmms_eval_reading_is_lmms_evals_own_function(extract_mcq_answer, text):
    expected = extract_mcq_answer(text, choices=["A", "B", "C", "D"]) or None
    assert lmms_eval_answer(text, OPTIONS) == expected
    assert answers.extract("lmms-eval", text, OPTIONS) == expected


# ----- Video-MME's script, transcribed independently ------------------------------------------------
# The script's list as it is written: two commas are missing, so Python concatenates two pairs.
SCRIPT_PREFIXES = [
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option is"
    "The correct option is",
    "Best answer:"
    "Best option:",
]


def script_extract(s: str) -> str:
    """extract_characters_regex as the script states it: "" for no answer."""
    s = s.strip()
    for prefix in SCRIPT_PREFIXES:
        s = s.replace(prefix, "")
    if len(s.split()) > 10 and not re.search("[ABCD]", s):
        return ""
    first = re.search(r"[ABCD]", s)
    return "" if first is None else first[0]


@MANY
@given(outputs)
@example("Best answer: C")
@example("The best option is D")
@example("The best option isThe correct option is C")
def test_videomme_reading_is_the_scripts(text):
    assert videomme_answer(text, OPTIONS) == (script_extract(text) or None)
    assert answers.extract("official", text, OPTIONS) == (script_extract(text) or None)   # the old name


# Outputs random text seldom forms, each with the letter both lmms-eval and this reading give:
# every stripped mark decides the answer once (unstripped, the end letter is lost to "(A)"), the
# later of two equal formats wins, a phrase with no letter after it adds nothing, and no phrase
# at all adds no phrase candidate.
LMMS_EVAL_CASES = [(f"Not (A) but B{mark}", "B") for mark in (",", ".", "!", "?", ";", ":", "'", '"')] + [
    ("(A) (B) (A)", "A"), ("Maybe B. The answer is unclear", "B"), ("Not (A) but B, surely", "A"),
    ("Bob (C) x", "C"), ("B x C", "B"), ("   ", None), ("...", None), ("x. (D)", "D"), ("(C) or D", "D"),
    ("Not (A) but BX", "A"), ("Ab1 (C)", "C")]   # strip() takes a set of characters; one letter after the start


@pytest.mark.parametrize("text, letter", LMMS_EVAL_CASES)
def test_lmms_eval_reading_on_outputs_random_text_seldom_forms(text, letter):
    assert lmms_eval_answer(text) == letter
    spec = importlib.util.find_spec("lmms_eval")
    if spec is not None:   # and lmms-eval's own function agrees, where it is installed
        assert (load_extract_mcq_answer()(text, choices=["A", "B", "C", "D"]) or None) == letter


def test_lmms_eval_reading_of_no_text():
    assert lmms_eval_answer(None) is None and lmms_eval_answer("") is None


def test_videomme_prefix_formed_by_removing_another():
    """Removing "The answer is" joins "Be" and "st answer:Best option:" into the last prefix,
    which is then removed too (the script removes, it does not blank out): C, not the B of "Best"."""
    text = "BeThe answer isst answer:Best option: C"
    assert script_extract(text) == "C" and videomme_answer(text) == "C"


def test_the_quirks_the_issue_names():
    assert videomme_answer("Best answer: C") == "B" and lmms_eval_answer("Best answer: C") == "C"
    assert videomme_answer("Answer: C") == "A" and lmms_eval_answer("Answer: C") == "C"
