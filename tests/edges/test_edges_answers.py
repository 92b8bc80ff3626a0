"""The answer rules at their edges: the last of several statements, an echoed option list,
options without letters, markup and chat tokens, and each rule's refusals."""
from __future__ import annotations

import pytest

from niah.answer_references import lmms_eval_answer, videomme_answer
from niah.answers import DEFAULT_RULE, READINGS, canonical, option_letters, parse_answer
from niah_testlib import letter_under as prediction_under

OPTIONS = ["A. red", "B. blue", "C. green", "D. the sea"]


@pytest.mark.parametrize("text,expected", [
    ("The answer is A… actually the answer is C", "C"),
    ("Answer: B. Wait, no. Final answer: D", "D"),
    ("I choose A. On reflection I choose C.", "C"),
    ("A is correct? No, D is correct.", "D"),
])
def test_the_last_statement_wins(text, expected):
    assert parse_answer(text, OPTIONS) == expected


@pytest.mark.parametrize("text", [
    "A. red\nB. blue\nC. green\nD. the sea",
    "(A) red\n(B) blue\n(C) green",
    "A) red\nB) blue",
])
def test_an_echoed_option_list_without_a_statement_is_no_answer(text):
    assert parse_answer(text, OPTIONS) is None


def test_an_echoed_list_followed_by_a_statement_is_read():
    assert parse_answer("A. red\nB. blue\nC. green\nD. the sea\nThe answer is B.", OPTIONS) == "B"


def test_unlettered_options_get_letters_by_position():
    options = ["x: five", "y: six", "z: seven"]
    assert option_letters(options) == {"A": "x: five", "B": "y: six", "C": "z: seven"}
    assert parse_answer("y: six", options) == "B"
    assert parse_answer("The answer is C", options) == "C"
    assert parse_answer("D", options) is None
    assert videomme_answer("C", options) == "C" == lmms_eval_answer("C", options)


def test_lower_case_lettered_options_are_options_by_position():
    options = ["a. red", "b. blue"]
    assert option_letters(options) == {"A": "a. red", "B": "b. blue"}


@pytest.mark.parametrize("text,expected", [
    ("<|im_start|>assistant\nB<|im_end|>", "B"),
    ("`C`", "C"),
    ("\u201cD\u201d", "D"),
    ("The correct option is (C).", "C"),
    ("blue", "B"),
    ("It is the sea.", "D"),
    ("A man walks past.", None),          # the article, not an option
    ("maybe A or C", None),               # two letters
    ("", None),
    ("   ", None),
    ("I think it's b", "B"),
    ("(b) blue", "B"),
    ("C\n\nExplanation: the car is green.", "C"),
])
def test_strict_rule_edges(text, expected):
    assert parse_answer(text, OPTIONS) == expected


def test_strict_rule_without_options_is_no_answer():
    assert parse_answer("A", []) is None


@pytest.mark.parametrize("text,expected", [
    ("The best answer is D", "D"),
    ("The answer", None),
    ("Best answer: B", "B"),
    ("Best answer: C", "B"),           # the script's missing comma: "Best answer:" is no prefix of its own
    ("The best option is C", "C"),     # ... nor "The best option is": the first capital A-D is C
    ("Answer: C", "A"),                # the A of "Answer"
    ("e", None),
    ("E", None),                       # A-D only
    ("  (C)  ", "C"),
    (None, None),
])
def test_videomme_rule_edges(text, expected):
    assert videomme_answer(text, OPTIONS) == expected


def test_videomme_rule_reads_only_a_to_d_whatever_the_options():
    assert videomme_answer("E", [*OPTIONS, "E. none"]) is None


def test_rules_by_name():
    assert list(READINGS) == ["lmms-eval", "videomme", "strict"] and DEFAULT_RULE == "lmms-eval"
    assert READINGS["videomme"].extract is videomme_answer and READINGS["strict"].extract is parse_answer
    assert READINGS["lmms-eval"].extract is lmms_eval_answer
    assert canonical("official") == "videomme" and READINGS["videomme"].answered_only


def test_prediction_under_every_kind_of_line():
    # a version-2 line: official stored, strict stored beside it; official lines are read again
    assert prediction_under("official", "Based on the video, blue", OPTIONS, "B", "official", "B") == "B"
    assert prediction_under("videomme", "Best answer: C", OPTIONS, "C", "official", "C") == "B"
    assert prediction_under("lmms-eval", "Answer: C", OPTIONS, "A", "official", None) == "C"
    assert prediction_under("strict", "the sea", OPTIONS, "A", "official", "D") == "D"
    # strict not stored: extracted again from the raw output
    assert prediction_under("strict", "the sea", OPTIONS, "A", "official", None) == "D"
    # a line written under the strict rule, read under the official one
    assert prediction_under("official", "The answer is C", OPTIONS, "C", "strict", "C") == "C"
    with pytest.raises(ValueError, match="unknown answer rule 'loose'"):
        prediction_under("loose", "A", OPTIONS, "A", None, None)


@pytest.mark.parametrize("text,expected", [
    ("\u201cb\u201d", "B"),                 # curly quotes around a bare letter
    ("B\nNot D.\nDone.", "B"),              # a letter alone on the first of several lines
    ("B. not A or D", "B"),                 # a leading lettered option, other letters after it
    ("B. not A or D\nas the clip shows", "B"),
    ("Answer: (b I think", "B"),            # marked by its bracket, though a word follows
    ("the answer is a", "A"),               # a bare lower-case "a" that ends the text
    ("I think the answer is a", "A"),       # ... inside a sentence (not the whole-output rule)
    ("I think the answer is a Man", None),  # the article before a word (any case)
    ("the answer is b because", None),      # a bare lower-case letter before a word is no choice
    ("the answer is b Because", None),
])
def test_strict_rule_letters_and_articles(text, expected):
    assert parse_answer(text, OPTIONS) == expected


def test_videomme_rule_looks_only_for_capital_a_to_d():
    assert videomme_answer("X-ray: C", OPTIONS) == "C"


def test_a_stored_strict_reading_is_kept_as_stored():
    # a line written by an older strict parser keeps its reading; nothing is re-extracted
    assert prediction_under("strict", "the sea", OPTIONS, "A", "official", "B") == "B"
    assert prediction_under("videomme", "the sea", OPTIONS, "A", "videomme", "B") == "A"


def test_unknown_rule_message_lists_the_rules():
    with pytest.raises(ValueError) as info:
        prediction_under("loose", "A", OPTIONS, "A", None, None)
    assert str(info.value) == "unknown answer rule 'loose'; known: lmms-eval, videomme, strict"


def test_registering_a_reading_and_the_names_it_may_not_take(monkeypatch):
    """A new reading is offered by name and alias; a name or alias already taken (as a name or
    as another reading's alias) is refused naming each clash, and the registry is unchanged."""
    from niah import answers
    monkeypatch.setattr(answers, "READINGS", dict(answers.READINGS))
    fourth = answers.Reading("loose", lambda text, options: "A", "always A", aliases=("lax", "sloppy"))
    assert answers.register_reading(fourth) is fourth and answers.READINGS["loose"] is fourth
    assert answers.rule_names() == ["lmms-eval", "videomme", "strict", "loose"]
    assert answers.rule_names(aliases=True) == ["lmms-eval", "videomme", "strict", "loose", "official", "lax",
                                                "sloppy"]
    assert answers.canonical("sloppy") == "loose" and answers.extract("lax", "B", []) == "A"
    assert answers.rules_help().endswith("loose: always A (also accepted as lax, sloppy)")
    before = dict(answers.READINGS)
    for clash, names in [(answers.Reading("official", str, "x"), "official"),
                         (answers.Reading("new", str, "x", aliases=("strict", "lax")), "lax, strict")]:
        with pytest.raises(ValueError) as err:
            answers.register_reading(clash)
        assert str(err.value) == f"answer reading name(s) already taken: {names}"
    assert answers.READINGS == before


def test_rules_help_names_the_default_and_the_aliases():
    from niah import answers
    assert answers.rules_help() == "; ".join([
        f"lmms-eval (default): {READINGS['lmms-eval'].description}",
        f"videomme: {READINGS['videomme'].description} (also accepted as official)",
        f"strict: {READINGS['strict'].description}"])


@pytest.mark.parametrize("text, expected", [
    ("BX", None), ("<ANSWER>a</ANSWER>", "A"), ("<Answer> a </Answer>\nwhy", "A"), ("The answer is c\nbecause", "C"),
    ("'C'\nbecause", "C"),
])
def test_strict_rule_whole_answers(text, expected):
    """A whole answer, tags and quotes around it or an answer phrase before it; a letter glued
    to another is none."""
    assert parse_answer(text, ["A. a red kite", "B. two dogs", "C. the green door", "D. nobody"]) == expected
