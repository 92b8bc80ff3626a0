"""Property tests of the answer rules: a letter embedded in generated text is found, or refused,
by the rule each one states (``niah.answers``; the reference readings against their references:
``test_prop_reference_readings.py``)."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from niah.answer_references import videomme_answer as official_answer
from niah.answers import option_letters, parse_answer

FAST = settings(max_examples=80, deadline=None)
OPTIONS = ["A. a red kite", "B. two dogs", "C. the green door", "D. nobody"]
LETTERS = "ABCD"
# words that state nothing and name no option: filler a model wraps its answer in
FILLER = ["those", "video", "shows", "someone", "walking", "near", "water", "then", "scene", "changes", "quickly",
          "after", "that", "we", "see", "more", "of", "this", "clip", "because", "here"]
filler = st.lists(st.sampled_from(FILLER), max_size=12).map(" ".join)
letters = st.sampled_from(LETTERS)
WRAPS = ["{}", "({})", "{}.", "[{}]", "**{}**", "{})", "Option {}", "<answer>{}</answer>", " {} \n", "{{{}}}"]


@FAST
@given(letters, st.sampled_from(WRAPS))
def test_a_wrapped_letter_alone_is_that_letter_under_both_rules(letter, wrap):
    text = wrap.format(letter)
    assert parse_answer(text, OPTIONS) == letter
    assert official_answer(text, OPTIONS) == letter


@FAST
@given(filler, letters, filler)
@example("", "A", "")
def test_a_stated_answer_in_filler_is_found(before, letter, after):
    text = f"{before} The answer is {letter}. {after}".strip()
    assert parse_answer(text, OPTIONS) == letter
    assert official_answer(text, OPTIONS) == letter  # the prefix goes, the first capital letter left is it


@FAST
@given(filler, letters, filler, letters)
def test_the_last_of_two_statements_wins_under_the_strict_rule(before, first, between, last):
    text = f"{before} the answer is {first}. {between} so the answer is {last}."
    assert parse_answer(text, OPTIONS) == last


@FAST
@given(filler, st.lists(letters, min_size=1, max_size=4), filler)
def test_the_official_rule_takes_the_first_capital_option_letter(before, said, after):
    text = f"{before} {' then '.join(said)} {after}"
    assert official_answer(text, OPTIONS) == said[0]


def test_shrunk_a_lone_word_inside_one_option_is_that_option():
    # Hypothesis' first find: "the" is a fragment of exactly one option's text ("the green
    # door"), which the strict rule's fragment reading (rule 4) takes as that option
    assert parse_answer("the", OPTIONS) == "C"
    assert parse_answer("the video", OPTIONS) is None and official_answer("the", OPTIONS) is None


@FAST
@given(filler)
def test_filler_alone_is_no_answer(text):
    assert parse_answer(text, OPTIONS) is None
    assert official_answer(text, OPTIONS) is None


@FAST
@given(filler, st.lists(letters, min_size=2, max_size=3, unique=True))
def test_two_lone_letters_without_a_statement_are_refused_by_the_strict_rule(text, said):
    assert parse_answer(f"{text} maybe {' or '.join(said)}", OPTIONS) is None


@FAST
@given(st.text(max_size=60), st.integers(1, 6))
def test_any_text_gives_an_option_letter_or_nothing(text, n):
    options = [f"{LETTERS[i] if i < 4 else 'EF'[i - 4]}. option {i}" for i in range(n)]
    allowed = set(option_letters(options))
    assert parse_answer(text, options) in allowed | {None}
    assert official_answer(text, options) in set(LETTERS) | {None}      # Video-MME's script: A-D, whatever the options


@FAST
@given(st.sampled_from(range(4)), filler)
def test_an_options_text_is_read_as_that_option(index, before):
    body = OPTIONS[index].split(". ", 1)[1]
    assert parse_answer(f"{before} {body}.".strip(), OPTIONS) == LETTERS[index]
